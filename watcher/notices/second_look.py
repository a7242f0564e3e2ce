"""A second look at a notice the words read as maintenance: a safety drill, a holiday arrangement,
a branch closed, work said to leave services running, no dated window, or a report after the
fact is not a window ahead. Pure helpers for :mod:`watcher.notices.understand`."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from watcher.notices import products as prod
from watcher.notices import reports
from watcher.notices.closure import market_closure
from watcher.notices.kinds import PAST_RECOVERY_RE, KindResult
from watcher.notices.lasting import retired
from watcher.notices.model import Kind
from watcher.notices.resolve import Resolver
from watcher.notices.review import EXCEPT_RE, disrupts
from watcher.notices.span import Span
from watcher.notices.status import CANCEL_RE, POSTPONE_RE
from watcher.notices.timeparse import RawPoint
from watcher.notices.vocab import (
    ARREARS_RE,
    DISRUPTION_RE,
    LATER_RE,
    NORMAL_RE,
    RESUME_AFTER_RE,
    STOP_RE,
    TECHNICAL_RE,
    sentence_bounds,
)

# A holiday: stops over one with no work on a system or supply are holiday arrangements (a desk
# or phone orders off over 春节, a post office closed on 中秋), not maintenance.
_HOLIDAY_RE = re.compile(
    r"春节|除夕|大年初|正月初|国庆|中秋|清明|端午|元旦|劳动节|五一|十一假期|连假|假期|放假|节假日|节日期间|年假|休假"
)
_WORK_RE = re.compile(
    r"维护|升级|割接|切换|切转|迁移|施工|检修|停水|停电|停气|停机|停服(?!务)|演练|测试|扩容|改造|更换|工程|调试|系统|服务器|机房"
    r"|网络|线路|设备|故障|异常|版本|更新|上线|下线|投产|整合|整并"
)
# A physical outlet that stops serving ("旗下3间流动银行自24日起暂停服务", "该网点暂停对外营业"):
# a branch closed, not a service window, when no work on a system or supply is named (an online
# counter, "网上营业厅", is a service).
_OUTLET_STOP_RE = re.compile(
    r"(?<!网上)(?<!线上)(?<!电子)(?<!掌上)(?<!手机)(?<!微信)(?<!网络)(?<!在线)(?<!智能)(?<!自助)"
    r"(?:网点|支行|分行|营业部|营业厅|营业点|营业网点|流动银行|流动分行|门店|分店|柜台|分理处|服务点|服务中心|办事处"
    r"|客户中心|客服中心)"
    r"[^。;\n]{0,16}?(?:暂停|停止|关闭|停业|歇业)"
)
# A safety drill ("消防演练", "停电应急演练"): a drill of people or a supply, not work on a service.
_SAFETY_DRILL_RE = re.compile(r"(?:消防|疏散|逃生|防震|地震|防灾|防汛|反恐|安全|停电|停水|应急)[^。;,\n]{0,4}?演练")
# A clause offering other ways to be served ("客户可使用手机银行或就近的自助设备办理"): what it names
# keeps running, so its words say nothing of work on a system.
_ALTERNATIVE_RE = re.compile(r"[^,;。\n]*(?:可使用|可通过|改用|建议|请使用|可前往|可到|可改)[^,;。\n]*")
# A clause saying what keeps running ("网上银行、ATM等自助渠道维持正常服务", "金管局会维持……系统运作")
# or work done in a break that exists anyway ("利用休市间隙对销售系统进行调整维护"): what it names
# is not what stops, so its words say nothing of the stop.
_CLAUSE_RE = re.compile(r"[^,;。\n]+")
_SENTENCE_RE = re.compile(r"[^。;!?\n]+[。;!?]?")
_RUNNING_RE = re.compile(r"维持[^,;。\n]{0,30}?(?:运作|运行|服务|营运)|继续(?:提供|运作|运行|营业)")
_IN_BREAK_RE = re.compile(
    r"利用[^,;。\n]{0,12}?(?:间隙|间歇|空档|空隙)"
    # due dates moved to the next working day ("信用卡的到期还款……顺延至下一个工作天"): a rule, no stop
    r"|到期[^,;。\n]{0,16}?(?:顺延|延至|延后|推迟)"
    # work told as done ("我行已于5月31日00:00-06:00完成核心系统升级", "……的系统维护已结束"): it is over
    r"|已(?:于|在|经)?[^,;。\n]{0,30}?(?:完成|结束|完毕)"
)
# A clause with no number that words work only as a condition, a habit or a possibility ("如遇系统
# 维护，请以页面提示为准", "我行持续优化升级系统", "系统维护期间可能影响部分功能"): boilerplate, it
# names no work of this notice.
_GENERIC_RE = re.compile(r"如遇|如有|如因|若遇|若有|倘若|如果|持续|不断|定期|日常|不定期|一直|可能|或将|或会")
_NUMBER_RE = re.compile(r"\d")
# What things are like after a switch-over or launch ("切换后：账号不变", "启用后直接刷卡").
_AFTER_SWITCH_RE = re.compile(r"(?:切换|启用|上线|升级|更新|迁移|改版)(?:完成)?(?:后|以后|之后)")
_FEATURE_RE = re.compile(r"升级(?:后|为|成|至|到)|新增|新版|全新|推出|支持|体验|享受|权益")


# What a customer is asked to do ahead or keep up to date ("请留意余额并提前充值", "请及时更新联系人
# 信息"): their own preparation, no work on a system and no pay service stopping (unless the clause
# words a stop). A stop for arrears ("避免欠费停服") is the customer's own too.
_OWN_DETAILS_RE = re.compile(
    r"请[^,;。\n]{0,12}?(?:提前|及时|尽早|尽快|预先|留意|注意)[^,;。\n]{0,12}?"
    r"(?:充值|续费|缴费|还款|储值|更新|修改|完善|核对|补充)"
)


# A stop said not to happen ("不受中断", "不会中断", "服务不中断", "无需停机", "不停机"), or the label of
# a field that tells the impact ("影响：……"): no stop by itself.
_NEGATED_STOP_RE = re.compile(
    r"(?:不受|不会|不致|无需|无须|毋须|不必|不)(?:到)?(?:任何)?(?:中断|停机|停服|暂停|断线)"
    r"|(?:^|(?<=[\n。]))\s*[-*•]?\s*影响(?:范围|说明)?\s*:"
)


def _stopped_part(text: str) -> str:
    """``text`` without its clauses that offer other ways to be served, say something keeps running
    or place work in a break that exists anyway: the words left are those of what stops."""
    # a sentence retiring an old system with its successor there to move to ("旧版支付接口将于1月10日
    # 下线，请开发者于……前完成迁移") is a lasting change, not what stops
    text = _SENTENCE_RE.sub(lambda m: "" if retired(m.group(), 0) else m.group(), text)
    return "\n".join(
        c.group() for c in _CLAUSE_RE.finditer(text)
        if not (_ALTERNATIVE_RE.fullmatch(c.group()) or NORMAL_RE.search(c.group())
                or _RUNNING_RE.search(c.group()) or _IN_BREAK_RE.search(c.group())
                or ARREARS_RE.search(c.group())
                or (_OWN_DETAILS_RE.search(c.group()) and not STOP_RE.search(c.group()))
                or (_GENERIC_RE.search(c.group()) and not _NUMBER_RE.search(c.group())))
    )


def _no_work_stops(head: str, body: str) -> bool:
    """Whether what the notice says stops names no work on a system or supply and no pay service
    (the clauses of :func:`_stopped_part` set aside)."""
    stopped = _stopped_part(head + "\n" + body)
    products, _ = prod.merge(prod.scan(stopped, 0, len(stopped)))
    return not (_WORK_RE.search(stopped) or any(p.channels for p in products))


def not_maintenance(k: KindResult) -> Kind:
    """The kind a notice the words read as maintenance takes when it announces no stop: the best
    other kind, but not a report (nothing is said to have failed)."""
    kind = k.best_besides("maintenance")
    return "other" if kind in ("outage", "recovery") else kind


# The start of a sentence that speaks of the period just named ("工程期间……", "届时……").
_DURING_NEXT_RE = re.compile(r"[\s\n]*[^。;!?\n,]{0,6}?(?:期间|其间|届时|此间|该时段)")


def _said_of(norm: str, pos: int) -> list[tuple[int, int]]:
    """The sentence holding ``pos``, and the next one when it opens on the period just named
    ("时间为周四晚上11时至翌日凌晨4时。工程期间……水质可能出现波动")."""
    lo, hi = sentence_bounds(norm, pos)
    out = [(lo, hi)]
    if hi < len(norm) and _DURING_NEXT_RE.match(norm, hi + 1):
        out.append((hi + 1, sentence_bounds(norm, hi + 1)[1]))
    return out


def stop_worded(norm: str, pos: int) -> bool:
    """Whether what is said of the time at ``pos`` (see :func:`_said_of`) words a disruption."""
    return any(DISRUPTION_RE.search(norm, lo, hi) for lo, hi in _said_of(norm, pos))


def today_or_ahead_with_stop(norm: str, spans: list[Span], pub: date) -> bool:
    return any(s.how not in ("open", "dayopen") and s.start.date() >= pub and stop_worded(norm, s.pos)
               for s in spans)


def running_with_stop(norm: str, spans: list[Span], pub: date) -> bool:
    """A window that ends after the day of publication, or an open stop whose end is left to a later
    notice, with disruption wording in its sentence: not over yet, whatever else the notice reports
    as recovered."""
    day_after = datetime.combine(pub + timedelta(days=1), time(0))
    for s in spans:
        lo, hi = sentence_bounds(norm, s.pos)
        if not DISRUPTION_RE.search(norm, lo, hi):
            continue
        if s.end is not None and s.end.replace(tzinfo=None) > day_after:
            return True
        if s.end is None and LATER_RE.search(norm, lo, hi):  # "……起暂停……，恢复时间另行通知"
            return True
    return False


_AHEAD_WORD_RE = re.compile(r"\s*(?:今晚|今夜|明天|明日|明晚|明早|后天)")


def said_ahead(norm: str, spans: list[Span]) -> bool:
    """Whether a window is dated in words that put it ahead of the writer (今晚, 明天 ...) and its
    sentence tells of no recovery: a report of a failure would not be written so."""
    return any(_AHEAD_WORD_RE.match(norm, s.pos) and not PAST_RECOVERY_RE.search(norm, *sentence_bounds(norm, s.pos))
               for s in spans)


def ahead_with_stop(norm: str, spans: list[Span], pub: date) -> bool:
    return any(s.how not in ("open", "dayopen") and s.start.date() > pub and stop_worded(norm, s.pos)
               for s in spans)


def second_look(
    k: KindResult, spans: list[Span], pub: date, recurring: int, head: str, body: str,
    points: list[RawPoint], products: list[prod.Product], reasons: list[str], doubts: list[str],
) -> Kind:
    """Maintenance wording is not enough: with no dated window at all, a notice is maintenance only
    when it announces a timetable in its title; a notice whose windows all began before it was
    published and that tells of a failure or a recovery is a report after the fact."""
    # what is left once the drill is named ("演练期间" included) must stop nothing and name no system
    drill = _SAFETY_DRILL_RE.sub("", head + "\n" + body).replace("演练", "")
    if _SAFETY_DRILL_RE.search(head + "\n" + body) and not (
        STOP_RE.search(drill) or TECHNICAL_RE.search(drill) or any(p.channels for p in products)
    ):
        # "12月5日9点至11点进行消防演练，期间可能有警报声": people or a supply drilled, nothing stops
        kind = k.best_besides("maintenance")
        reasons.append(f"a safety drill, with no system named and nothing said to stop: read as {kind}")
        return kind
    if not (TECHNICAL_RE.search(head) or TECHNICAL_RE.search(body) or any(p.channels for p in products)):
        kind = k.best_besides("maintenance")
        reasons.append(f"stops named, but no system, supply or pay service: read as {kind}")
        return kind
    # a stop said not to happen ("DM 任务持续运行、不受中断", "服务不中断") is no stop
    plain_head, plain_body = (_NEGATED_STOP_RE.sub(lambda m: " " * len(m.group()), t) for t in (head, body))
    if spans and NORMAL_RE.search(body) and not any(
        r.search(t) for r in (STOP_RE, EXCEPT_RE, CANCEL_RE, POSTPONE_RE) for t in (plain_head, plain_body)
    ) and not any(disrupts(plain_body, *sentence_bounds(body, s.pos)) for s in spans):
        # "12月5日22:00-23:00系统升级，升级期间各项业务正常办理": work announced, nothing said to stop.
        kind = not_maintenance(k)  # nothing failed: never a report
        reasons.append(f"work announced, but services are said to run as usual and nothing stops: read as {kind}")
        return kind
    if _HOLIDAY_RE.search(head + body) and _no_work_stops(head, body):
        kind = not_maintenance(k)  # nothing failed: never a report
        reasons.append(f"stops over a holiday, with no work on a system or supply: a holiday arrangement, read as {kind}")
        return kind
    if market_closure(head, body):
        kind = not_maintenance(k)
        reasons.append(f"services closed for a market closure, with no work on a system: read as {kind}")
        return kind
    if _OUTLET_STOP_RE.search(head + "\n" + body) and _no_work_stops(head, body):
        kind = k.best_besides("maintenance")
        reasons.append(f"a branch or outlet stops serving, with no work on a system or supply: read as {kind}")
        return kind
    if spans and all(s.end is None for s in spans) and _AFTER_SWITCH_RE.search(body) and not STOP_RE.search(head) and not any(
        r.search(body, *sentence_bounds(body, s.pos)) for r in (STOP_RE, POSTPONE_RE, CANCEL_RE, LATER_RE) for s in spans
    ):
        # "计划于11月19日20:00切换登录认证。切换后：……": a switch-over or launch from a time on, told by
        # what things are like after it, with no end, nothing said to stop, moved or called off and no
        # end to be announced ("……开始升级，结束时间另行通知" is work under way); a person checks
        # whether anything stops.
        kind = not_maintenance(k)
        reasons.append(f"a switch-over or launch from a time on, no end and nothing said to stop: read as {kind}")
        doubts.append("a start with no end and no stop worded next to it: check whether anything stops")
        return kind
    if not spans:
        if recurring and "maintenance" in k.in_title:
            reasons.append("maintenance timetable (hours repeating every day or week), no dated window")
            return "maintenance"
        kind = k.best_besides("maintenance")
        if kind in ("outage", "recovery") and not reports.tells_of_failure(head, body) and (
            reports.said_done(head) or reports.said_done(body)
        ):
            # "……已于8月5日上午10:00完成系统升级": work over, nothing failed; neither a window nor a report
            reasons.append("maintenance wording, no time window, the work said to be done and nothing failed: "
                           "read as other")
            return "other"
        if kind in ("outage", "recovery") and not reports.tells_of_failure(head, body):
            # A report needs something that failed or came back; without one the notice announces
            # a stop whose time could not be read ("停电保养预定时间表（详如附件）"): ops must look.
            reasons.append(f"maintenance wording, no time window, and no failure reported (not {kind}): "
                           "read as maintenance")
            return "maintenance"
        reasons.append(f"maintenance wording but no time window: read as {kind}")
        # A date still ahead in a sentence that words a disruption may be a window we could not read.
        dates = Resolver(pub)
        # an old version retired for good, its successor in use, is no window to look for
        # so is a date with its hour still ahead in a notice whose title announces maintenance
        # ("服务器维护通知" … "2021年3月21日 | 晚上10点", the line itself wording nothing)
        titled = "maintenance" in k.in_title
        if any(p.has_date and (dates.date_of(p, None) or pub) >= pub
               and (any(_words_stop(body, lo, hi) for lo, hi in _said_of(body, p.end))
                    or (titled and any(q.has_time and q.start >= p.start and "\n" not in body[p.start:q.start]
                                       for q in points)))
               and not retired(body, p.end) for p in points):
            doubts.append("maintenance wording near a date, but no window could be read: check the notice")
        elif (STOP_RE.search(plain_head) or STOP_RE.search(plain_body)) and any(
            _ahead(dates.date_of(p, None), p.has_time, pub) and not retired(body, p.end)
            and not ARREARS_RE.search(body, *sentence_bounds(body, p.start))  # a rule for accounts in arrears
            for p in points if p.has_date
        ):
            # never silent, also where the grammar reads no window: maintenance wording, a stop said (not
            # "不受影响") and a date still ahead anywhere in the notice (one of the day of publication only with
            # its hour: alone, it is the publication line) go to a person
            doubts.append("maintenance wording and a date not yet past, but no window could be read: check the notice")
        return kind
    failed = reports.reports_failure(head) or reports.reports_failure(body)
    trouble = failed or reports.tells_trouble(head, body)
    before = all(s.start.date() < pub for s in spans) and bool(
        trouble or PAST_RECOVERY_RE.search(head) or PAST_RECOVERY_RE.search(body)
    )
    # a failure of the day of publication, over or still being dealt with; or a stop of that day
    # said to be back ("今晚8时起停电，于9时10分已全部复电")
    # (planned work said done on its day is completed work, below: not a report)
    of_the_day = (trouble and (all(_back_by(body, s, pub) or _still_down(body, s, pub) for s in spans)
                               or reports.back_within_the_day(body, spans, pub))) or (
        all(_back_by(body, s, pub, told=True) for s in spans)
        and not (reports.said_done(head) or reports.said_done(body))
    )
    if before or of_the_day:
        report: Kind = "recovery" if k.scores["recovery"] >= k.scores["outage"] else "outage"
        reasons.append(f"every window began before publication (or by its day, and is over or still down) and the "
                       f"text reports a failure or a recovery that happened: read as {report}")
        return report
    if all(s.start.date() <= pub for s in spans) and (
        reports.said_done(head) or all(reports.done_next_to(body, s.pos, s.end_pos) for s in spans)
    ) and not (
        reports.tells_trouble(head, body) and not PAST_RECOVERY_RE.search(body)
    ):
        # "12月5日00:00-06:00的系统维护已顺利完成": work that is over, told on its day or after;
        # nothing failed, so it is neither a window ahead nor a recovery from a failure.
        kind = k.best_besides("maintenance")
        kind = "other" if kind in ("outage", "recovery") else kind
        reasons.append(f"every window began by the day of publication and the work is said to be done: read as {kind}")
        return kind
    return "maintenance"


def _ahead(day: date | None, timed: bool, pub: date) -> bool:
    """A date after the day of publication, or on it with an hour."""
    return day is not None and (day > pub or (day == pub and timed))


def _back_by(norm: str, s: Span, pub: date, *, told: bool = False) -> bool:
    """Whether ``s`` is over by the end of the day of publication and its end is told as a recovery
    that happened ("……已于下午四点陆续恢复供电"): a failure of that day, reported."""
    if s.end is None or s.start.date() > pub or s.end.date() > pub:
        return False
    lo, hi = sentence_bounds(norm, max(s.pos, s.end_pos - 1))
    if PAST_RECOVERY_RE.search(norm, lo, hi) is not None:
        return True
    if told:
        return False
    # "……于4时05分全数复电" with nothing that makes it a plan (预计, 将 ...)
    return RESUME_AFTER_RE.match(norm, s.end_pos) is not None and _PLANNED_RE.search(norm, lo, hi) is None


# Words that make a resumption a plan rather than a fact.
_PLANNED_RE = re.compile(r"预计|预期|预定|预订|计划|拟|将|可望|有望|会|届时|定于|以便|需|须|请")
# A failure still being dealt with ("正全力抢修中", "恢复时间未定", "尚未恢复").
_ONGOING_RE = re.compile(r"正在?(?:全力|紧急|加紧)?(?:抢修|修复|处理|排查)|抢修中|处理中|排查中|恢复时间未定|尚未恢复|仍未恢复")


def _still_down(norm: str, s: Span, pub: date) -> bool:
    """Whether ``s`` began by the day of publication, has no end or only an expected one ("预计约一个
    半小时可以复电"), and the notice says the failure is still being dealt with: an outage being
    reported."""
    if s.start.date() > pub or _ONGOING_RE.search(norm) is None:
        return False
    return s.end is None or _EXPECTED_RE.search(norm, *sentence_bounds(norm, max(s.pos, s.end_pos - 1))) is not None


# An end only expected, not planned: a guess at when a failure is over.
_EXPECTED_RE = re.compile(r"预计|预期|可望|有望|估计")


def _words_stop(norm: str, lo: int, hi: int) -> bool:
    """Whether ``norm[lo:hi]`` words a disruption, other than an upgrade that adds something
    ("收银台将于12月5日升级，升级后支持……", "即可升级为金卡会员")."""
    if DISRUPTION_RE.search(norm, lo, hi) is None or ARREARS_RE.search(norm, lo, hi) is not None:
        return False
    if STOP_RE.search(norm, lo, hi) is not None:
        return True
    # "系统将于12月5日升级，升级期间业务正常办理" says nothing stops
    return _FEATURE_RE.search(norm, lo, hi) is None and NORMAL_RE.search(norm, lo, hi) is None
