"""Wording that decides what a time in a notice means: disruption, a stop, a resumption, a period
that is the customer's to act in, hours that repeat every day. Pure regular expressions over
normalised (simplified, half-width) text, shared by the window and kind rules.
"""

from __future__ import annotations

import re

# Any wording of a service being stopped, degraded or changed over: a sentence with none of it
# does not describe a disruption window (a time in it is a deadline, an effective date, ...).
DISRUPTION_RE = re.compile(
    r"暂停|停止|中断|瞬断|停机|停运|停用|停办|停收|停水|停电|停气|停服|关服|无法|不能|不可用|不支持|暂不|缓慢|延迟|延后"
    r"|受影响|受到影响|(?<![不无])影响|波及|不稳定|不成功|失败|维护|升级|割接|切换|切转|切到|切至|切回|迁移|下线|关闭|关机|故障|异常|施工|检修"
    r"|演练|降级|停顿|暂缓|不提供|不受理|停止受理"
)
# Something technical, or a service said to stop: maintenance stops a system, a supply or a service.
# Business arrangements (a fund closing subscriptions over a holiday, branch hours) have none.
TECHNICAL_RE = re.compile(
    r"系统|维护|升级|割接|切换|切转|迁移|网络|服务器|伺服器|机房|设备|平台|通道|线路|停水|停电|停气|施工|工程|检修"
    r"|演练|停机|停服|上线|下线|数据|接口|程序|故障|异常|技术|电力|管线|终端|网站|官网|APP|App|app|服务暂停|暂停服务"
    r"|停止服务|停止对外服务|暂停对外服务"
    # payment services: a stop of these is a service stop even with no system named
    r"|网银|网上银行|手机银行|ATM|POS|柜面|跨行|汇款|转账|交易|支付|缴费|充值|扣款|提现|清算|结算|快捷|银行卡|借记卡|信用卡"
    r"|降级|退款|后台|入口"
)
SENTENCE_END_RE = re.compile(r"[。;!?\n]")

# Right after a time: the service stops then ("17点停止服务", "22:00起暂停", "7月27日17点停").
STOP_AFTER_RE = re.compile(
    r"[\s)]*(?:左右|前后)?\s*(?P<onward>起|开始|后|以后|之后)?\s*[,]?\s*(?:将|会|系统|服务|业务|临时|暂时|全天|当天|当日|整天)?\s*"
    r"(?:暂停|停止|停机|停运|停用|停办|停收|停服|中断|关闭|关机|下线|停(?![车放留靠泊]))"
)
# Right after a time: it comes back then. ``strong`` verbs end something that stopped; ``weak``
# ones (上线, 开放) only close a window already open; ``kick`` (启动) closes one, or else starts
# one ("凌晨2:00启动切换").
RESUME_AFTER_RE = re.compile(
    r"[\s)]*(?:左右|前后)?\s*(?:起|开始|后)?\s*[,]?\s*(?:将|预计|会|可|即可|系统|业务|服务|各项业务|所有业务)?\s*"
    r"(?:已经|已|逐步|全面|全部|均|陆续|基本|正式|重新)*\s*"
    r"(?:(?P<strong>恢复|修复|解决|复机|复电|复水|复通)|(?P<kick>启动)|(?P<weak>开通|上线|启用|启运|开机|开放|启(?![事示]))"
    r"|(?P<done>(?:前|之前|以前)?\s*(?:完成|结束)(?!时间)))"
    r"|[^,。;\n]{0,12}?(?:完成|结束)后[^,。;\n]{0,8}?(?P<after>恢复)"
)
# Before a time: a labelled end ("预计恢复时间：9月2日06:00").
RESUME_BEFORE_RE = re.compile(r"(?:恢复时间|预计恢复|结束时间|完成时间|恢复服务时间|开放时间)\s*(?:为|是|约|预计)?\s*:?\s*$")
# A stop on a date with no hours lasts that day ("5月27日停止提供……当天暂停运作").
WHOLE_DAY_RE = re.compile(r"当天|当日|全天|一天|整天|该日|是日")
# Before a time: "自……起" / "于……": the start of something.
OPEN_BEFORE_RE = re.compile(r"(?:于|自|从|在|由)\s*$")
# "12月31日前完成" / "23:59:59之前提交": a deadline, never the start of a window.
DEADLINE_AFTER_RE = re.compile(r"\s*(?:前|之前|以前|为止|止)(?![后])")
# "原定于12月8日的切换推迟": the day a postponed window was to start.
ORIGINAL_BEFORE_RE = re.compile(r"(?:原定|原计划|原订|原通知)\s*(?:于|在)?\s*$")
OPEN_AFTER_RE = re.compile(r"[\s)]*(?:左右)?\s*(?:起|开始|前后)")

# A range that is the customer's to act in, not a disruption: "请于9月15日至11月30日到卡务中心
# 登记", "1月27日15:00至2月2日24:00期间受理的申购……", "12月26日至1月15日续约者……".
ACTION_BEFORE_RE = re.compile(
    r"(?:请|须|需|应|务必|可)(?:您|各位|用户|客户|市民|民众|家长|同学|玩家|持卡人|商户|商家)?\s*(?:于|在|在此期间)?\s*$"
)
SUBMISSION_AFTER_RE = re.compile(
    r"\s*(?:期间|之间|以内|内)?\s*(?:(?:所|内)?(?:受理|提交|申请|下单|购买|登记|注册|认购|申购|预约|续约|缴费|报名|领取)"
    r"(?:的|者|之))"
)
# Hours that repeat ("每日", "每周三", "星期一至六", "工作日"): a range with no date of its own
# after these is a timetable, not a dated window.
RECURRING_BEFORE_RE = re.compile(
    r"(?:每日|每天|每晚|每夜|每周|每星期|每礼拜|每月|每逢|逢周|日常|平日|工作日|节假日|公众假期|例假日"
    r"|(?:星期|周|礼拜)[一二三四五六日天1-7]\s*(?:至|到|-|~)\s*(?:星期|周|礼拜)?[一二三四五六日天1-7])"
    r"[^。;\n\d]{0,8}$"
)
# A range said to run as usual ("十一假期(……)照常监控", "……期间正常服务"): no disruption.
NORMAL_RE = re.compile(r"照常|正常服务|正常营业|正常办理|正常使用|正常运行|正常运作|不受影响|不会受到影响|可正常")
# The end is announced later: an open start stays open rather than being dropped.
LATER_RE = re.compile(r"另行通知|另行公告|另行告知|另行公布|待定|另候通知|直至另行|恢复时间将|具体恢复时间|完工后恢复")
# A range labelled as service or opening hours, not a disruption.
SERVICE_HOURS_RE = re.compile(r"客服|热线|咨询|服务时间|工作时间|营业时间|人工|受理时间|办公时间|开放时间|门诊")


def sentence_bounds(norm: str, pos: int) -> tuple[int, int]:
    """Start and end offsets of the sentence holding ``pos``."""
    lo = 0
    for m in SENTENCE_END_RE.finditer(norm, max(0, pos - 400), pos):
        lo = m.end()
    m2 = SENTENCE_END_RE.search(norm, pos)
    return lo, (m2.start() if m2 else len(norm))


def disruption_near(norm: str, pos: int) -> bool:
    """Whether the sentence holding ``pos`` words a disruption."""
    lo, hi = sentence_bounds(norm, pos)
    return DISRUPTION_RE.search(norm, lo, hi) is not None
