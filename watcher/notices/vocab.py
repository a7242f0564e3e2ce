"""Wording that decides what a time in a notice means: disruption, a stop, a resumption, a period
that is the customer's to act in, hours that repeat every day. Pure regular expressions over
normalised (simplified, half-width) text, shared by the window and kind rules.
"""

from __future__ import annotations

import re

# "受影响客户" / "受影響的居民": the people a notice is for (a fire, a flood), not a service that stops.
_PEOPLE = r"的?(?:客户|客戶|用户|民众|市民|居民|住户|人士|乘客|旅客|会员|持卡人|商户|家庭|学生)"
# A service answering slower: "响应时间将有多次短暂延长", "访问速度变慢", "处理时效延长" (degraded).
_SLOWER = (r"(?:响应|访问|处理|加载|到账)(?:时间|速度|时效)[^,;。\n]{0,8}?(?:延长|变长|变慢|较慢|偏慢)"
           r"|响应(?:变慢|较慢|偏慢)|时延(?:增加|变长|较长)")
# A supply or a network wavering ("水质可能出现波动", "电压不稳或瞬间跳电"); prices and markets waver too,
# so only what a utility or a network delivers counts.
_WAVERING = r"(?:水质|水压|电压|电力|供电|供水|网络|信号|服务)[^,;。\n]{0,6}?(?:波动|抖动|混浊|浑浊)"
# A supply cut off, a sale stopped, a service answering slower (闭馆 is also a closing hour: not here).
_CUT = r"断网|断电|断水|断气|断线|掉线|停网|停售|停止售票|" + _SLOWER
# Game servers merged ("合服", "合区", "并服", "服务器合并", "数据互通"): the servers are closed while
# their data are moved, so a merge is a stop of those servers.
# "综合服务", "配合服务", "合并服务", "综合区" hold the same characters and are no merge.
MERGE = (r"合服(?!务)|(?<![综混结融整联])合区(?!域)|并服(?![务从])|并区(?!域)|(?:服务器|伺服器|区服|服务区|游戏服)[^,;。\n]{0,6}?(?:合并|整合|互通)"
         r"|(?:合并|整合)[^,;。\n]{0,4}?(?:服务器|伺服器|区服)|数据互通|服务器互通|区服互通")
# Any wording of a service being stopped, degraded or changed over: a sentence with none of it
# does not describe a disruption window (a time in it is a deadline, an effective date, ...).
DISRUPTION_RE = re.compile(
    # a branch closing for a holiday (暂停营业) is business hours, not a service disruption
    r"暂停(?!营业(?!厅))|停止(?!营业(?!厅)|营运|运营)|中断|瞬断|闪断|停机|停运|停用|停办|停收|停水|停电|停气|停服|关服|无法|不能|不可用|不可|不支持|暂不"
    r"|缓慢|延迟|延误|延后|延时|(?<![不无])受影响(?!" + _PEOPLE + r")|(?<![不无])受到影响(?!" + _PEOPLE + r")|(?<![不无会受到])影响|波及|不稳|不成功|失败|维护|升级|割接|切换|切转|切到|切至"
    r"|切回|迁移|下线|关闭|关停|关机|故障|异常|施工|检修|维修|演练|降级|停顿|暂缓|不提供|不受理|停止受理|受限|中止|卡顿|冻结|无响应|断断续续|离线|只读|关站|(?<![不无])间断"
    r"|间歇|不开放|登录不了|用不了|登不上|打不开|停摆|封网|停止运作|未能|暂停运作|搬迁|流控|限流|不返回|"
    # a closure for days or for repairs ("闭馆12天", "闭馆进行岁修"); a closing hour ("下午5时休馆") is not
    r"(?:闭馆|闭园|休馆)(?=[^\S\n]*\d{1,2}[^\S\n]*[天日]|[^。,;!?\n\d]{0,4}(?:维修|修缮|岁修|整修|装修|施工|改造))|" + _CUT
    + r"|" + _WAVERING + r"|" + MERGE
)
# The part of DISRUPTION_RE that says something stops or degrades (not only that work is done:
# 维护, 升级, 割接 ...): a sentence with one of these says what a window does to a service.
STOP_RE = re.compile(
    r"暂停|停止|中断|瞬断|闪断|停机|停运|停用|停办|停收|停水|停电|停气|停服|关服|无法|不能|不可用|不可|不支持|暂不|缓慢|延迟|延误|延时"
    r"|(?<![不无])受影响(?!" + _PEOPLE + r")|(?<![不无])受到影响(?!" + _PEOPLE + r")|(?<![不无会受到])影响(?!如下)|波及|不稳定|不成功|失败|下线|关闭|关停|关机|降级|停顿|暂缓|不提供|不受理|受限|中止"
    r"|卡顿|冻结|无响应|断断续续|离线|只读|关站|(?<![不无])间断|间歇|停止运作|不开放|登录不了|用不了|登不上|打不开|停摆|封网|流控|限流|不返回|" + _CUT
    + r"|" + MERGE
)
# Something technical, or a service said to stop: maintenance stops a system, a supply or a service.
# Business arrangements (a fund closing subscriptions over a holiday, branch hours) have none.
TECHNICAL_RE = re.compile(
    r"系统|维护|升级|割接|切换|切转|迁移|网络|服务器|伺服器|机房|设备|平台|通道|线路|停水|停电|停气|施工|工程|检修"
    r"|演练|停机|停服|上线|下线|数据|接口|程序|故障|异常|技术|电力|管线|终端|网站|官网|APP|App|app|服务暂停|暂停服务"
    # utilities: what a water, power or gas company supplies and its works
    r"|供水|供电|供气|供应|维修|水管|输水|水掣|水表|电表|变电|线路|机组|发电|电压|电网|输电|配电|跳电"
    r"|停止服务|停止对外服务|暂停对外服务"
    # payment services: a stop of these is a service stop even with no system named
    r"|网银|网上银行|手机银行|ATM|POS|柜面|跨行|汇款|转账|交易|支付|缴费|充值|扣款|提现|清算|结算|快捷|银行卡|借记卡|信用卡"
    r"|降级|退款|后台|入口|付款|收款|收银|储值|代收|代缴|代扣|代付|扣费|划扣|托收|圈存|一卡通"
    # online services of an institution: mail, sign-in, anything done on the web
    r"|邮件|邮箱|认证|网上|线上|在线"
    # apps and games: what players and users log in to
    r"|游戏|版本|更新|客户端|小程序|商城|页面|功能|账号|登录|登入|" + MERGE
)
SENTENCE_END_RE = re.compile(r"[。;!?\n]")

# Right after a time: the service stops then ("17点停止服务", "22:00起暂停", "7月27日17点停").
STOP_AFTER_RE = re.compile(
    r"(?:[^\S\n]|\))*(?:左右|前后)?[^\S\n]*(?P<onward>起|开始|后|以后|之后)?[^\S\n]*[,]?[^\S\n]*(?:将|会|系统|服务|业务|临时|暂时|全天|当天|当日|整天)?[^\S\n]*"
    r"(?:暂停|停止|停机|停运|停用|停办|停收|停服|中断|关闭|关机|下线|停(?![车放留靠泊]))"
)
# Right after a time: it comes back then. ``strong`` verbs end something that stopped; ``weak``
# ones (上线, 开放) only close a window already open; ``kick`` (启动) closes one, or else starts
# one ("凌晨2:00启动切换").
RESUME_AFTER_RE = re.compile(
    # "预计12:00前恢复": by that time, the same end as "12:00恢复" (``by``: only for a start with its hour)
    r"(?:[^\S\n]|\))*(?:左右|前后|(?P<by>之前|以前|前))?[^\S\n]*(?:起|开始|后)?[^\S\n]*[,]?[^\S\n]*(?:将|预计|会|可|即可)?[^\S\n]*"
    r"(?:(?:新系统|系统|各项|所有|全部|各类|各|业务|服务|功能|渠道|平台|网站)[^\S\n]*){0,3}"
    # or any short name of what comes back ("晨5时认证恢复"), as long as it is not a stop or a negation
    r"(?:[^\W\d_停暂止断闭关不未无非前后]{1,6}?[^\S\n]*)?"
    r"(?:已经|已|逐步|全面|全部|均|陆续|基本|正式|重新)*[^\S\n]*"
    r"(?:(?P<strong>恢复|修复|解决|排除|复机|复电|复水|复通|开服|复工)|(?P<kick>启动)|(?P<weak>开通|上线|启用|启运|开机|开放|试运行|运行|投产|投入使用|启(?![事示]))"
    r"|(?P<done>(?:提前|前|之前|以前)?[^\S\n]*(?:完成|结束)(?!时间)))"
    r"|[^,。;\n]{0,12}?(?:完成|结束)后[^,。;\n]{0,8}?(?P<after>恢复)"
)
# Said of a resumption: everything comes back at once ("全部业务恢复"), not one service.
UNIVERSAL_RE = re.compile(r"全部|所有|全面|各项|一切|均|各渠道")
# Another time with a resumption later in the sentence ("……，8:00恢复交易").
RESUME_AGAIN_RE = re.compile(r"[,、]\s*[^。;\n]{0,12}?\d{1,2}(?::\d{2}|\s*[点时])[^。;\n,]{0,4}?(?:恢复|开放|上线|启用)")
# After a date: the same hours as the range before ("12月6日同一时段", "次日相同时间段").
SAME_HOURS_AFTER_RE = re.compile(
    r"[^\S\n]*(?:的)?(?:同一|相同|同样)?(?:时段|时间段|时间)(?=[^\S\n]*(?:内|亦|也|将|暂停|停|[,，]))"
    # "延期至12月19日同一时段进行"
    r"|[^\S\n]*(?:的)?(?:同一|相同|同样)(?:时段|时间段|时间)(?=[^\S\n]*(?:进行|实施|执行|[。;]))"
)
# Before a time: a labelled end ("预计恢复时间：9月2日06:00").
RESUME_BEFORE_RE = re.compile(
    # a bare "结束:" field ("- 开始:……\n- 结束:……"), not "活动结束:"
    r"(?:(?<![^\W\d_])结束(?=\s*:)|恢复时间|预计恢复|结束时间|完成时间|恢复服务时间|开放时间|(?:复电|复水|送电|送水|复机|复通|恢复供电|恢复供水)(?:时间)?|(?:停机|停服|维护|升级|暂停|割接)(?:结束|完成))"
    r"\s*(?:为|是|约|预计)?\s*:?\s*$"
)
# Before a lone time: "……开始维护，预计维护至下午3点", "……起暂停服务，至12月6日6时止": the end of a
# window opened before it (closes only a window still open).
END_BEFORE_RE = re.compile(r"(?:维护|升级|停机|停服|暂停|中断|持续|延续|延长|一直|预计|进行)?\s*(?:至|到|直至|直到)\s*$")
# "已购买的船票可使用到10月7日24时": how long something may still be used or done, not the end of a stop.
ALLOWED_UNTIL_RE = re.compile(r"(?:可以?|仍可|均可|仍能|可继续)\s*[\u4e00-\u9fff]{0,3}?\s*(?:至|到|直至|直到)\s*$")
# Before a lone time: a labelled start ("停机开始时间为12月5日22:00").
START_LABEL_RE = re.compile(
    r"(?:(?<![^\W\d_])开始(?=\s*:)|开始时间|起始时间|开始于|(?:停机|停服|维护|升级|暂停|割接|中断|合服|合区|并服|互通)(?:开始)?(?:时间|时刻)?\s*:"
    # "迁移时间定为2011年5月13日24时": the time of work, set
    r"|(?:停机|停服|维护|升级|割接|切换|迁移)(?:开始)?时间\s*(?:定为|定于|定在))\s*(?:为|是)?\s*:?\s*$"
)
# A stop on a date with no hours lasts that day ("5月27日停止提供……当天暂停运作").
WHOLE_DAY_RE = re.compile(r"当天|当日|全天|全日|一天|整天|整日|该日|是日")
# Before a time: "自……起" / "于……": the start of something.
OPEN_BEFORE_RE = re.compile(r"(?:于|自|从|在|由)\s*$")
# "12月31日前完成" / "23:59:59之前提交": a deadline, never the start of a window.
DEADLINE_AFTER_RE = re.compile(r"\s*(?:前|之前|以前|为止|止)(?![后])")
# "不晚于8月27日06:00的任一时间", "最迟于……": a latest time, never the start of a window.
DEADLINE_BEFORE_RE = re.compile(r"(?:不晚于|不迟于|最迟|最晚)\s*(?:于|在|为)?\s*$")
# The original plan ("原定于12月8日的切换推迟", "原通知的维护时间"): one word list; ORIGINAL_BEFORE_RE
# is the day a postponed window was to start.
_ORIGINAL = r"原定|原计划|原订|原通知|原公告"
ORIGINAL_RE = re.compile(_ORIGINAL)
ORIGINAL_BEFORE_RE = re.compile(r"(?:" + _ORIGINAL + r")\s*(?:于|在)?\s*$")
OPEN_AFTER_RE = re.compile(r"(?:[^\S\n]|\))*(?:左右)?[^\S\n]*(?:起|开始|前后|(?:以|之)?后(?=[^\S\n]*,?[^\S\n]*(?:期间|其间|届时)))")

# A range that is the customer's to act in, not a disruption: "请于9月15日至11月30日到卡务中心
# 登记", "1月27日15:00至2月2日24:00期间受理的申购……", "12月26日至1月15日续约者……".
ACTION_BEFORE_RE = re.compile(
    r"(?:请|须|需|应|务必|可)(?:您|各位|用户|客户|市民|民众|家长|同学|玩家|持卡人|商户|商家)?\s*(?:于|在|在此期间)?\s*$"
    # whoever is asked, named in a few letters ("请各部门于", "请全体教职工在"); not the work's own
    # verb ("请注意本行将于")
    r"|(?:请|须|务必)(?:(?!将|拟|定|已|于|在)[^\W\d_]){1,6}(?:于|在)\s*$"
)
# Right after a range, what customers do in it ("各部门于8月24日至8月26日下载并填写登记表",
# "6月1日至6月3日提交续用申请"): their period, unless the clause says something stops.
ACTION_AFTER_RE = re.compile(
    r"\s*(?:期间|之间|以内|内)?\s*(?:自行|尽快|提前|先)?\s*"
    r"(?:下载|填写|填报|提交|报名|登记|备份|核对|领取|预约|注册|申领|递交|上传|迁出|导出)"
)
SUBMISSION_AFTER_RE = re.compile(
    r"\s*(?:期间|之间|以内|内)?\s*(?:(?:所|内)?(?:受理|提交|申请|下单|购买|登记|注册|认购|申购|预约|续约|缴费|报名|领取)"
    r"(?:的|者|之)"
    # "3月28日至31日缴纳3月份社保费的不加收滞纳金": a payment made in the period, with what is paid
    r"|(?:缴纳|交纳|缴交|缴付|补缴)[^。;,\n]{0,10}?(?:的|者))"
)
# Hours that repeat ("每日", "每周三", "星期一至六", "工作日"): a range with no date of its own
# after these is a timetable, not a dated window.
RECURRING_BEFORE_RE = re.compile(
    r"(?:每日|每天|每晚|每夜|每周|每星期|每礼拜|每月|每逢|逢(?:周|星期|礼拜)|日常|平日|工作日|节假日|公众假期|例假日|交易日|营业日"
    r"|(?:星期|周|礼拜)[一二三四五六日天1-7]\s*(?:至|到|-|~)\s*(?:星期|周|礼拜)?[一二三四五六日天1-7])"
    r"[^。;\n\d]{0,8}$"
    # a weekday read as a point right after 每 ("每周日 01:00-04:00", "每个周二", "每月第2个周六")
    r"|(?:每\s*个?|逢)\s*$|每月\s*的?\s*(?:第\s*\d{1,2}\s*个|最后一个)\s*$"
)
# A stop that happens to a customer who has not paid ("余额低于0元时……次日上午8时左右暂停供电",
# "欠费超过30天的将停机"): a rule for accounts in arrears, not a window of the service.
ARREARS_RE = re.compile(r"欠费|余额不足|余额低于|余额为负|余额小于|未交费|未缴费|未缴清|未及时(?:交|缴)|逾期未|未足额|超期未|拖欠")
# A range said to run as usual ("十一假期(……)照常监控", "……期间正常服务"): no disruption.
NORMAL_RE = re.compile(r"照常|正常服务|正常提供|正常营业|正常办理|正常使用|正常运行|正常运作|不受影响|不会受到影响|可正常")
# The end is announced later: an open start stays open rather than being dropped.
LATER_RE = re.compile(r"另行通知|另行公告|另行告知|另行公布|待定|另候通知|直至另行|恢复时间将|具体恢复时间|完工后恢复")
# "如有变更，另行通知": boilerplate for any change, not an end to be announced.
_IF_CHANGED_RE = re.compile(r"(?:如|若|倘)(?:有|遇|需)?(?:任何)?(?:变更|变动|更改|调整|改变)[,\s]*$")


def end_told_later(norm: str) -> bool:
    """Whether ``norm`` says the end is announced later (:data:`LATER_RE`), not only as the
    boilerplate for a change ("如有变更另行通知")."""
    return any(not _IF_CHANGED_RE.search(norm, max(0, m.start() - 10), m.start()) for m in LATER_RE.finditer(norm))


# Right before a range: it is the period of something else ("活动期间（12月5日至12月12日）",
# "有效期：……", "报名时间为……"), not a disruption.
_OTHER_PERIODS = (
    r"(?:活动|促销|优惠|报名|申报|征|有效|生效|适用|试运行|试用|体验|开放|预售|尾款|考试|领取|兑换|投票|预约|抢购|秒杀|公示|缴费|申请"
    r"|(?<![停止])(?:办理|受理)|登记|报到|选课|入网"
    # more periods customers act in: answering a survey, voting, confirming, drawing lots, bidding
    r"|填答|填报|作答|答题|评教|问卷|调查|测评|申领|确认|核对|对账|抽签|抽奖|竞价|竞拍|拍卖|认购|申购|领奖|补考|面试|签到|打卡"
    # phases of a plan in which things go on ("正常期(即日起至1月31日)", "宽限期:"); not 过渡 (a
    # switch-over's transition may be the stop itself, see transition.py)
    r"|正常|宽限|缓冲|保留"
    # the time the notice itself was issued ("发布时间：2026-11-20 10:30"), never a start of a stop
    r"|发布|发文|印发|签发|成文"
    # getting ready for the work ("数据迁移准备期"), which stops nothing yet
    r"|准备|预备|筹备)"
)
OTHER_PERIOD_BEFORE_RE = re.compile(_OTHER_PERIODS + r"(?:时间|期间|日期|时段|期)\s*(?:为|是)?\s*[:(]?\s*$")
# The same label written after the range ("6月13日至6月14日为数据迁移准备期").
OTHER_PERIOD_AFTER_RE = re.compile(r"\s*(?:为|是)\s*[^\W\d_]{0,8}?" + _OTHER_PERIODS + r"(?:期|时间|阶段)(?!间)")
# In the clause of a range with no disruption wording: the hours of something that keeps running
# ("营业厅（8:30-17:30）可正常办理", "当日9:00-18:00客服在线答疑").
# A campaign's words ("会员答谢活动", "新春促销"): its period, never a function that stops.
# A place named after what is done there ("大学生活动中心", "社区活动室") is not a campaign.
CAMPAIGN = r"活动(?!中心|室|场[地所馆]|馆)|促销|优惠|抽奖|庆典|嘉年华"
OTHER_CLAUSE_RE = re.compile(
    r"客服|热线|咨询|营业|办公时间|工作时间|服务时间|人工|" + CAMPAIGN + r"|报名|答疑|值班|开业|考试|领取|兑换|过渡期|并行|试运行|试点|公示"
    # an opening period ("8月30日至9月6日开放现场优先借书"), not a stop
    r"|(?<![不未停])开放"
)
# A range labelled as service or opening hours, not a disruption.
SERVICE_HOURS_RE = re.compile(
    r"客服|热线|咨询|(?<!暂停|停止|中断|维护)(?:服务时间|受理时间|开放时间)|工作时间|营业时间|人工|办公时间|门诊"
)


def sentence_bounds(norm: str, pos: int) -> tuple[int, int]:
    """Start and end offsets of the sentence holding ``pos``."""
    lo = 0
    for m in SENTENCE_END_RE.finditer(norm, max(0, pos - 400), pos):
        lo = m.end()
    m2 = SENTENCE_END_RE.search(norm, pos)
    return lo, (m2.start() if m2 else len(norm))


# No longer offered: a stop that is a window only when something comes back later (the start takes
# the first resumption after it; with none, :mod:`watcher.notices.lasting` sets it aside).
_NO_LONGER_OFFERED_RE = re.compile(r"不再(?:对外|向[^。;\n]{1,8}?)?(?:提供|受理|开放)")


_POINTER_AFTER_RE = re.compile(r"\s*(?:期间|其间)")


def disruption_near(norm: str, pos: int, *, own: bool = False) -> bool:
    """Whether the sentence holding ``pos`` words a disruption (or says a service is no longer
    offered from then on). With ``own``, a stop named only to point at its period before ``pos``
    ("暂停期间……的费用，自3月15日起由医保机构报销") does not count."""
    lo, hi = sentence_bounds(norm, pos)
    if own:
        return any(m.start() >= pos or not _POINTER_AFTER_RE.match(norm, m.end())
                   for m in DISRUPTION_RE.finditer(norm, lo, hi)) or _NO_LONGER_OFFERED_RE.search(norm, lo, hi) is not None
    return DISRUPTION_RE.search(norm, lo, hi) is not None or _NO_LONGER_OFFERED_RE.search(norm, lo, hi) is not None
