"""Is a notice a report after the fact? Failure wording that is told, not hedged; complaints, causes
and recoveries; planned work said to be done. Pure helpers for :mod:`watcher.notices.understand`."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from watcher.notices.kinds import PAST_RECOVERY_RE
from watcher.notices.span import Span
from watcher.notices.vocab import DISRUPTION_RE, sentence_bounds

# A failure, as reports after the fact word it (not a planned 中断).
FAILURE_RE = re.compile(
    r"故障|异常|当机|宕机|瘫痪|崩溃|崩了|抢修|误判|误封|bug|BUG|出错|报错|未恢复|挖断|断缆|跳电|跳闸"
    # a supply lost without warning, an attack, an emergency repair
    r"|无预警|突然(?:停|断|中断)|爆裂|爆管|破裂|攻击|入侵|DDoS|DDOS|紧急(?:维修|修复|检修)"
)
# Also told in reports: failed payments, fluctuations (hedged when planned: "可能出现支付失败").
# An interruption told as having happened ("服务先后于3月29日、5月5日发生大规模中断"), not one
# announced ("期间将发生短暂中断").
_FAILURE_TOLD_RE = re.compile(
    FAILURE_RE.pattern + r"|失败|波动|抖动|(?:供应|供电|电力|电压|网络|网路|连线|连接|系统)不稳|变慢|塞车|壅塞|(?<![将会要])发生了?[^。;,\n]{0,8}?(?:中断|停摆|瘫痪|停电|停水|断电|断水)"
)
# Only a report says these: complaints received, a cause found, a time things came back.
_REPORT_RE = re.compile(
    r"已于[^。;\n]{0,24}?(?:恢复|修复|解决|解除|排除)|(?:用户|网友|客户|商户|市民|玩家|民众|有人)(?:反映|反馈|投诉|报告)"
    # trouble at one point, told after it ("连线一度塞车", "一度只剩一座机房支援")
    r"|一度[^。;,\n]{0,6}?(?:中断|停摆|瘫痪|塞车|变慢|缓慢|无法|停止|只剩|卡顿|延迟)"
    r"|经排查|经初步排查|排查发现|原因为|原因是|所致"
    # a cause still being looked for ("停电原因仍在调查")
    r"|原因[^。;,\n]{0,4}?调查|调查中|原因不明|不明原因"
    # an incident told afterwards: its account or report, a cause found, a failure that set in
    # ("事故经过", "事故公开报告", "其后查明", "连线开始中断")
    r"|事故[^。;,\n]{0,4}?(?:报告|经过|调查|检讨|原因)|查明|(?:开始|相继|陆续)(?:中断|断线|失效|瘫痪)"
)
# Planned work said to be over ("维护已顺利完成", "已于今日完成升级", "进行了系统升级，目前已恢复").
_DONE_RE = re.compile(r"(?:已经?|现已|业已|均已|已(?:提前|提早)?于[^。;\n,，]{0,40}?)\s*(?:顺利|圆满|全部|提前)?\s*(?:完成|结束|完工|竣工)(?!后)|进行了")
_MAYBE_RE = re.compile(r"或(?:许|有|出现)?\s*$|可能|或将|或会|如遇|如有|如出现|若|避免|防止|以防|减少|预防|排查隐患")
_CLAUSE_STOP = re.compile(r"[,，;。!?\n]")


def reports_failure(text: str, failure: re.Pattern[str] = FAILURE_RE) -> bool:
    """Whether ``text`` tells of a failure, not of one that may happen ("期间可能出现交易异常",
    "如遇故障")."""
    def hedged(at: int) -> bool:
        # the hedge may stand before a list of failures: "可能出现中断、网络波动、超时、报错"
        clause_start = max(text.rfind(c, 0, at) for c in ",，。;\n") + 1
        lo = min(max(0, at - 10), max(clause_start, at - 30))
        return _MAYBE_RE.search(text, lo, at) is not None

    return any(not hedged(m.start()) for m in failure.finditer(text))


def tells_of_failure(head: str, body: str) -> bool:
    """Whether the notice reports a failure or says one is over (a report, not an announcement):
    failure wording not hedged ("可能出现……"), users' complaints, a cause found, a recovery."""
    return any(
        reports_failure(t, _FAILURE_TOLD_RE) or PAST_RECOVERY_RE.search(t) or _REPORT_RE.search(t)
        for t in (head, body)
    )


# Trouble told as having happened ("上周三早盘……出现委托回报缓慢"); hedged ("可能出现……") it is none.
_TOLD_TROUBLE_RE = re.compile(r"出现[^。;,\n]{0,12}?(?:缓慢|迟缓|延迟|卡顿|中断|故障|异常|问题)")


def tells_trouble(head: str, body: str) -> bool:
    """Whether the notice tells of something that went wrong (not hedged): failure wording, a cause
    found ("原因为……"), users' complaints, trouble that appeared ("出现……缓慢"). Unlike
    :func:`tells_of_failure`, a recovery alone is not enough (planned work also ends "已恢复正常")."""
    return any(
        reports_failure(t, _FAILURE_TOLD_RE) or reports_failure(t, _TOLD_TROUBLE_RE) or _REPORT_RE.search(t)
        for t in (head, body)
    )


def said_done(text: str, lo: int = 0, hi: int | None = None) -> bool:
    """Whether ``text[lo:hi]`` says planned work is over ("已顺利完成", "进行了……")."""
    return _DONE_RE.search(text, lo, len(text) if hi is None else hi) is not None


def done_next_to(text: str, lo: int, hi: int) -> bool:
    """Whether the clause holding ``text[lo:hi]``, or the next clause of its sentence, says the work
    is over ("原订今日9时至17时之停水作业，已提前于下午3时完工")."""
    start, end = clause_bounds(text, lo, hi)
    if said_done(text, start, end):
        return True
    if end < len(text) and text[end] in ",，":
        nxt = clause_bounds(text, end + 1, end + 1)
        return said_done(text, *nxt)
    return False


def clause_bounds(text: str, lo: int, hi: int) -> tuple[int, int]:
    """The clause holding ``text[lo:hi]`` (between commas or sentence ends)."""
    start = max(text.rfind(c, 0, lo) for c in ",，;。!?\n") + 1
    m = _CLAUSE_STOP.search(text, hi)
    return start, m.start() if m else len(text)


def back_within_the_day(norm: str, spans: list[Span], pub: date) -> bool:
    """Whether every range lies within the day of publication (an end at 24:00 included), none is
    written next to wording of a stop or of work, and the notice tells that things came back
    ("时间：9/16 0:00至24:00 …… 因电力供应不稳……关闭。目前各项服务已陆续恢复"): the ranges head a
    report of that day's trouble, not a window. The caller checks that trouble is told."""
    day_end = datetime.combine(pub + timedelta(days=1), time(0))
    return bool(spans) and PAST_RECOVERY_RE.search(norm) is not None and all(
        s.end is not None and s.start.date() == pub and s.end.replace(tzinfo=None) <= day_end
        and DISRUPTION_RE.search(norm, *sentence_bounds(norm, s.pos)) is None
        for s in spans
    )
