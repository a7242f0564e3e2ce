"""What kind of notice this is, from weighted keywords in title and body.

The title counts three times. Returns the kind, how sure (0..1) and reasons for ops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from watcher.notices.model import Kind

_WORDS: dict[Kind, dict[str, int]] = {
    "maintenance": {
        "停机": 3, "维护": 3, "系统升级": 3, "升级维护": 3, "升级改造": 3, "暂停服务": 3, "服务暂停": 3,
        "暂停": 2, "改造": 2, "割接": 3, "迁移": 2, "切换": 2, "检修": 3, "演练": 2, "停止服务": 2, "升级": 2,
        "例行": 1, "优化": 1, "投产": 2, "变更": 1, "无法使用": 1, "暂停使用": 2,
        # disruption wording seen in bank and clearing notices
        "停止使用": 2, "功能停用": 2, "暂停受理": 3, "停止受理": 3, "受到波及": 2, "短时中断": 3,
        "短暂中断": 3, "秒级瞬断": 3, "瞬断": 2, "交易缓慢": 3, "无法办理": 2, "停止运行": 3, "停运": 3,
        "暂停运行": 3, "暂停办理": 2, "维护窗口": 3, "系统切换": 3, "系统转换": 3, "转换作业": 2, "切转": 2, "停止对外服务": 3,
        "暂停对外服务": 2, "网络抖动": 2, "不稳定": 1, "可能不成功": 2, "暂停提供": 2, "停止提供服务": 3,
        "系统提升": 3, "系统维护": 3, "系统更新": 2, "下线": 1,
        # platforms and utilities: degraded functions, planned supply cuts, works
        "降级": 3, "功能降级": 3, "暂不支持": 2, "停水": 4, "停电": 4, "停气": 4, "停止供水": 4, "暂停供水": 2,
        "停止供电": 4, "停止供气": 4, "施工": 2, "停服": 3, "关服维护": 3, "更换新系统": 3, "系统更换": 3,
        "停收": 2, "暂停收费": 2, "新旧系统": 2, "旧系统": 2, "新系统": 1, "停用": 1, "关机": 1, "不能": 1,
        "临时关闭": 3, "暂时关闭": 3, "系统测试": 2, "测试": 1, "扩容": 3, "数据迁移": 3, "数据库": 1, "机房": 1, "网络设备": 2, "停止充值": 2, "暂停充值": 2,
        # "维护" that is not maintenance, and stops that are a customer's own: counted as nothing
        "停止维护": 0, "终止维护": 0, "不再维护": 0, "欠费停机": 0, "自动停机": 0, "停车": 0, "安全维护": 0,
        "停机保号": 0, "停诊": 0,
        # an upgrade that makes something new ("升级为金卡会员", "升级新版即可领取") stops nothing
        "升级为": 0, "升级成": 0, "升级新版": 0, "升级到新版": 0, "升级至新版": 0,
        # games and apps: an update that keeps players out
        "版本更新": 3, "停服更新": 3, "更新维护": 3, "无法进入": 2, "无法登入": 2, "无法登陆": 2,
        # more wordings of a stop or a degradation
        "受限": 2, "暂不开放": 2, "不开放": 1, "延时": 1, "卡顿": 2, "中止": 2, "断断续续": 2, "无响应": 2,
        "登录不了": 2, "未能登入": 2, "未能使用": 2, "暂停运作": 3, "关停": 2, "冻结": 1, "停止运作": 3, "封网": 3, "闪断": 3,
        # supplies and places cut off, sales stopped
        "断网": 1, "断电": 1, "断水": 1, "断气": 1, "停网": 2, "掉线": 1, "停售": 2,
        "停止售票": 2, "暂停售票": 2, "机房搬迁": 3, "搬迁": 1,
        # works on a supply network: repairs and connections planned ahead ("今晚11时进行第二阶段维修")
        "维修": 2, "工程": 1, "试运转": 2, "供水调度": 2,
        # game servers merged: closed while their data move
        "合服": 3, "合区": 3, "并服": 3, "合并服务器": 3, "服务器合并": 3, "数据互通": 2, "合服维护": 3,
        # the same characters in other words ("综合服务", "合并服务", "综合区")
        "合服务": 0, "并服务": 0, "并服从": 0, "合区域": 0, "综合区": 0, "混合区": 0,
    },
    "outage": {
        "故障": 3, "异常": 2, "中断": 2, "波动": 2, "报错": 2, "失败率": 2, "不稳定": 2, "突发": 2,
        "紧急": 1, "超时": 2, "排查": 2, "无法正常": 1, "受损": 2, "不可用": 1, "延迟": 1,
        "正在紧急": 2, "紧急处理": 2, "正在处理": 2, "正在修复": 3, "正在排查": 3, "全力抢修": 3,
        "无法打开": 2, "无法登录": 2, "打不开": 2, "用户反映": 2, "用户反馈": 2, "网友反映": 2,
        "当机": 3, "宕机": 3, "瘫痪": 3, "崩溃": 3, "崩了": 3, "抢修": 3, "未恢复": 3, "尚未恢复": 3, "误判": 2,
        "挖断": 3, "断缆": 3, "跳电": 3, "跳闸": 3,
        # a supply lost without warning ("突然停电", "无预警停电", "水管爆裂")
        "原因调查中": 3, "仍在调查": 3, "原因不明": 3, "不明原因": 3, "派员": 1,
        "无预警": 3, "突然停": 3, "突然中断": 3, "爆裂": 3, "爆管": 3, "破裂": 2, "未复电": 3, "未复水": 3,
        "停机保号": 0,
    },
    "recovery": {
        "已恢复": 4, "恢复正常": 3, "已修复": 4, "已解决": 3, "全面恢复": 4, "已排除": 3, "逐步恢复": 3,
        "已全部恢复": 4, "已经恢复": 4, "全部恢复": 4, "均已恢复": 4, "修复完成": 4, "陆续恢复": 3,
        "回复正常": 3, "已陆续恢复": 4, "致歉": 1, "补偿": 1,
        # a supply back ("已复电", "恢复供水"); said of a planned cut too, so zeroed there (see classify)
        "复电": 2, "复水": 2, "恢复供电": 2, "恢复供水": 2, "未复电": 0, "未复水": 0,
    },
    "interface": {
        "接口": 2, "SDK": 3, "sdk": 3, "插件": 3, "版本": 2, "下线": 3, "停止支持": 4, "不再支持": 4,
        "废弃": 4, "弃用": 4, "API": 2, "证书": 2, "密钥": 2, "公钥": 2, "验签": 2, "加签": 2,
        "兼容": 2, "开放平台": 1, "网关": 1, "参数": 1, "开发者": 2, "集成": 1, "对接": 1, "商户系统": 1,
        "停止维护": 4, "终止维护": 4, "不再维护": 4, "字段": 2, "更新日志": 3,
    },
    "fee_policy": {
        "费率": 4, "手续费": 4, "服务费": 3, "收费": 3, "资费": 3, "政策": 2, "协议": 3, "条款": 3,
        "计费": 3, "价格": 2, "规则": 1, "标准": 1, "隐私": 2,
        # limits, deadlines and account rules: dates in them are effective dates, not windows
        "限额": 3, "额度": 2, "上限": 2, "大额申购": 3, "大额转换": 2, "续约": 3, "续费": 3, "欠费": 3,
        "欠费停机": 3, "逾期": 2, "违约金": 3, "罚款": 3, "罚锾": 3, "滞纳金": 3, "缴费期限": 3, "业务调整": 2,
        "挂失": 2, "注销": 2, "到期": 1, "缴款": 1, "费用": 1, "学杂费": 3, "学费": 2, "水费": 2, "电费": 2,
        "生效": 2, "收费系统": 0, "计费系统": 0,  # a system that charges is not a fee
    },
    "other": {
        "活动": 2, "优惠": 2, "免息": 2, "抽奖": 3, "返现": 3, "立减": 3, "招聘": 3, "节日": 2, "福利": 2,
        "春节": 1, "放假": 2, "诈骗": 3, "防骗": 3, "提醒": 1,
        # opening hours of branches and holidays look like windows but stop no system
        "营业时间": 4, "营业安排": 4, "轮休": 3, "网点": 2, "调休": 3, "暂停营业": 3, "防疫": 3,
        "门诊": 3, "停诊": 3, "就医": 3, "连假": 2, "假期": 1, "结束营运": 3, "停止营运": 3, "终止营运": 3,
        "停止运营": 3, "营运终止": 3,
    },
}
# "维护" also means to uphold (维护持有人利益, 维护交易秩序): those say nothing about a service.
_UPHOLD_RE = re.compile(
    r"维护(?![期时中后前工作窗升])[^,。;\n期时间]{0,8}?(?:利益|权益|秩序|安全|形象|稳定|公平|声誉|合法|健康|环境)"
)
_RES = {k: re.compile("|".join(sorted(map(re.escape, w), key=len, reverse=True))) for k, w in _WORDS.items()}
_KIND_ORDER: tuple[Kind, ...] = tuple(_WORDS)
# One scan instead of one per kind: every word of any list, and what each kind's own scan would
# count inside it (its longest words there), so the sums equal the per-kind scans.
_ALL_RE = re.compile("|".join(sorted({re.escape(w) for ws in _WORDS.values() for w in ws}, key=len, reverse=True)))
_VECTOR: dict[str, tuple[int, ...]] = {
    w: tuple(sum(_WORDS[k][m.group()] for m in _RES[k].finditer(w)) for k in _KIND_ORDER)
    for ws in _WORDS.values() for w in ws
}
_RECOVERED_AT_RE = re.compile(
    r"已于[^。;\n]{0,24}(?:恢复|修复|解决|解除|排除)|\d\s*(?:左右)?\s*(?:已经|已|全部|全面|均|基本)*\s*(?:恢复|修复)"
)
# Said after the fact: a failure that is over (已恢复, 已修复, 现已回复正常).
# supplies back: "已复电", "已于下午3时复水"
PAST_RECOVERY_RE = re.compile(
    r"(?:已经?|现已|均已|目前已|当晚已|随后已)\s*(?:全部|全面|基本|大致|陆续|逐步|完成)?\s*(?:恢复|修复|解决|解除|排除|回复|复电|复水|复通)"
    # "故障已于21:30排除": the time it came back between
    r"|已经?于[^。;,\n]{1,24}?(?:全部|全面|基本|陆续|逐步)?(?:恢复|修复|解决|解除|排除|复电|复水|复通)"
)
_DEV_RE = re.compile(
    r"接口|SDK|sdk|API|api|插件|证书|密钥|公钥|私钥|开发者|开发|参数|字段|网关|对接|集成|验签|加签|签名|商户系统|开放平台"
    r"|服务端|客户端版本|调用|协议版本|TLS|tls|HTTPS|https|域名|IP|回调"
)
_PAST_OUTAGE_RE = re.compile(r"(?:出现|发生|遇到)[^。;\n]{0,12}(?:故障|异常|中断|问题)")


# Kinds that lead to the same action: doubt between two of one group needs nobody's review.
_GROUP: dict[Kind, int] = {"maintenance": 0, "outage": 1, "recovery": 1, "interface": 2, "fee_policy": 3, "other": 3}


@dataclass(frozen=True, slots=True)
class KindResult:
    kind: Kind
    confidence: float
    reasons: tuple[str, ...]
    scores: dict[Kind, int]
    unclear: bool = False
    in_title: frozenset[Kind] = frozenset()  # kinds whose words appear in the title

    def best_besides(self, kind: Kind) -> Kind:
        """The best-scoring kind other than ``kind`` ("other" when none scores 2 or more)."""
        ranked = sorted(((k, v) for k, v in self.scores.items() if k != kind),
                        key=lambda kv: (-kv[1], list(_WORDS).index(kv[0])))
        return ranked[0][0] if ranked and ranked[0][1] >= 2 else "other"


def _score(text: str, weight: int) -> dict[Kind, int]:
    if "维护" in text:
        text = _UPHOLD_RE.sub("", text)
    totals = [0] * len(_KIND_ORDER)
    for m in _ALL_RE.finditer(text):
        for i, v in enumerate(_VECTOR[m.group()]):
            totals[i] += v
    return {k: t * weight for k, t in zip(_KIND_ORDER, totals, strict=True)}


def classify(title: str, body: str, *, has_window: bool, has_range: bool) -> KindResult:
    """Kind of a notice from its normalised title and body. Never raises.

    ``unclear`` is set only when the two best kinds lead to different actions (maintenance,
    outage/recovery, interface, fee/other) and are close."""
    t = _score(title, 3)
    b = _score(body, 1)
    s = {k: t[k] + b[k] for k in _WORDS}
    in_title = frozenset(k for k, v in t.items() if v > 0)
    reasons: list[str] = []
    # Maintenance notices often promise that service "恢复正常" afterwards; that is not a recovery
    # report unless something went wrong first or the notice says it is over.
    past = PAST_RECOVERY_RE.search(title) or PAST_RECOVERY_RE.search(body)
    if s["recovery"] and not (s["outage"] >= 3 or past or _PAST_OUTAGE_RE.search(body)):
        s["maintenance"] += s["recovery"] // 2
        s["recovery"] = 0
    if _RECOVERED_AT_RE.search(body):
        s["recovery"] += 4
    if s["recovery"] and s["outage"]:
        s["recovery"] += s["outage"]
    # An interface change is for integrators: without any word of theirs, versions and 下线 are an
    # app's release notes or a product retired, not an interface change.
    if s["interface"] and not (_DEV_RE.search(title) or _DEV_RE.search(body)):
        s["interface"] = 0
    # Interface words appear in maintenance notices ("接口调用失败"); a time range tilts to maintenance.
    if has_range and s["maintenance"] >= 2:
        s["maintenance"] += 3
    if has_window and s["outage"] >= 2:
        s["outage"] += 1
    ranked = sorted(s.items(), key=lambda kv: (-kv[1], list(_WORDS).index(kv[0])))
    (top, top_score), (second, second_score) = ranked[0], ranked[1]
    if top_score < 2:
        return KindResult("other", 0.6 if top_score == 0 else 0.5, ("no kind keywords",), s, False, in_title)
    kind: Kind = top
    margin = (top_score - second_score) / top_score
    confidence = min(1.0, 0.5 + 0.5 * margin + min(top_score, 10) / 40)
    unclear = margin < 0.25 and _GROUP[top] != _GROUP[second]
    if unclear:
        reasons.append(f"kind unclear: {top} {top_score} vs {second} {second_score}")
    return KindResult(kind, round(confidence, 2), tuple(reasons), s, unclear, in_title)
