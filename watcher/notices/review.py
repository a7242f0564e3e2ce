"""Never silent: which time ranges are not yet past and which wording of a stop concerns them, so
that a notice read as another kind with ranges ahead and a stop goes to a person. Pure helpers
for :mod:`watcher.notices.understand`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from watcher.notices import fields, layout, reports
from watcher.notices.lasting import retired
from watcher.notices.span import Span
from watcher.notices.timeparse import RawPoint, find_points
from watcher.notices.vocab import ARREARS_RE, DISRUPTION_RE, MERGE, NORMAL_RE, STOP_RE, sentence_bounds

# "除花呗外其他支付方式不受影响": what is excepted from "runs as usual" stops.
EXCEPT_RE = re.compile(r"除[^。;\n]{1,20}?(?:外|以外|之外)")
# Work on a system named as such (not a product upgraded for customers: "升级为金卡").
_SYSTEM_WORK_RE = re.compile(
    r"(?:系统|平台|主机|机房|网络|服务器|伺服器)[^。;\n]{0,8}?(?:维护|升级|割接|切换|迁移|整并|整合|停机|作业|演练|演习)"
    r"|(?:维护|升级|割接|切换|迁移|整并)[^。;\n]{0,8}?(?:系统|平台|主机|机房|服务器|伺服器)|维护作业|停机维护"
)
# A stop said to be temporary: paused, interrupted, or to come back ("暂停……直至完成为止", "恢复时间另行通知").
_TEMPORARY_RE = re.compile(r"暂|中断|恢复|直至|直到")


def ranges_ahead(src: str, spans: list[Span], pub: date) -> list[Span]:
    """The ranges not yet past. A range whose own clause says the work is done ("已于今日2:00至4:00
    完成系统维护") is over; a start with no end is ahead when it is temporary ("自12月30日23:00起
    暂停……直至完成为止"): a service closed for good ("8月1日00:00关闭充值服务") is no window."""
    return [s for s in spans if (s.end or s.start).date() >= pub
            and (s.how != "open" or _TEMPORARY_RE.search(src, *sentence_bounds(src, s.pos)))
            and not (s.start.date() <= pub and reports.said_done(src, *reports.clause_bounds(src, s.pos, s.end_pos)))]


def live_ranges(src: str, head: str, spans: list[Span], pub: date) -> tuple[list[Span], str | None]:
    """Never silent: the ranges not yet past that a stop may concern, and the wording of the stop.
    A range's own sentence words one; or a list's intro does ("下列功能将停用：网银：……"); or, when
    none is next to a range, the notice announces work on a system with a stop elsewhere (the title,
    another sentence: "另，本行将进行系统升级，期间网银暂停：12月5日0:00-2:00；12月6日……")."""
    ahead = ranges_ahead(src, spans, pub)
    hit = None
    live = []
    for s in ahead:
        lo, hi = sentence_bounds(src, s.pos)
        m = DISRUPTION_RE.search(src, lo, hi)
        if m is not None and disrupts(src, lo, hi):
            hit = hit or m.group()
            live.append(s)
        elif fields.stop_in_next_field(src, s.pos):  # "调整时间：……\n调整内容：接口限流"
            hit = hit or "a stop in the next field"
            live.append(s)
    if hit is not None:
        return [s for s in ahead if s in live or layout.tied(src, s)], hit
    w = announced_stop(src, head)
    if ahead and w:
        return ahead, w
    return [], None


def worded_by_its_window(src: str, live: list[Span], pub: date) -> bool:
    """Whether a notice with no kind words at all is a maintenance notice by its windows alone: every
    range not yet past is a whole range (no open start) from the day of publication on, and its own
    sentence words a stop of a service ("12月5日22:00至次日6:00，网上银行无法使用")."""
    return bool(live) and all(
        s.how in ("range", "days", "duration") and s.start.date() >= pub and s.end is not None
        # written as one range in that sentence, not an open start closed by a later deadline
        and s.end_pos <= sentence_bounds(src, s.pos)[1]
        and (s.how == "duration" or len(find_points(src[s.pos:s.end_pos])) >= 2)
        and STOP_RE.search(src, *sentence_bounds(src, s.pos)) is not None
        and disrupts(src, *sentence_bounds(src, s.pos))
        for s in live
    )


def announced_stop(src: str, head: str) -> str | None:
    """The wording of work on a system when the notice (title or body) announces such work and a
    stop in a clause that does not say things run as usual; None otherwise."""
    both = head + "\n" + src
    w = _SYSTEM_WORK_RE.search(both)
    if w and any(not NORMAL_RE.search(both, *_clause_bounds(both, m.start())) for m in STOP_RE.finditer(both)):
        return w.group()
    return None


_CLAUSE_END_RE = re.compile(r"[,;。!?\n]")


def _clause_bounds(norm: str, pos: int) -> tuple[int, int]:
    """The clause holding ``pos``: "分行暂停营业，并于26日按正常营业时间重新开门" has a stop in its
    first clause; the second, which says hours are back to normal, does not undo it."""
    lo, hi = sentence_bounds(norm, pos)
    before = [m.end() for m in _CLAUSE_END_RE.finditer(norm, lo, pos)]
    after = _CLAUSE_END_RE.search(norm, pos, hi)
    return (before[-1] if before else lo), (after.start() if after else hi)


def works_and_stops(norm: str, s: Span) -> bool:
    """Whether the sentence of ``s`` names work on a system and a stop of a service in it."""
    lo, hi = sentence_bounds(norm, s.pos)
    return bool(_SYSTEM_WORK_RE.search(norm, lo, hi) and STOP_RE.search(norm, lo, hi)
                and not NORMAL_RE.search(norm, lo, hi))


# Days a desk is off or at work ("1月31日至2月6日放假，2月7日至2月8日正常上班"): office days.
_OFFICE_DAYS_RE = re.compile(r"放假|上班|调休|休假|休息日")
# A library or hall closed over a holiday ("年初一至年初三……图书馆休馆"): its opening days, too.
_CLOSED_RE = re.compile(r"休馆|闭馆")
_HOLIDAY_WORD_RE = re.compile(r"节|假期|假日|年初|除夕|元旦|春节|新年|圣诞|平安夜|公众假期|连假")


def section_ranges(norm: str, live: list[Span]) -> list[Span]:
    """Of the ranges ``live``, those of a section that announces work with a stop (see
    :func:`works_and_stops`) or are tied to one, other than office days in a sentence that names
    no work on a system: the rest of a fee, policy or holiday notice has no window."""
    return [s for s in live if works_and_stops(norm, s) or (
        layout.tied(norm, s) and not _OFFICE_DAYS_RE.search(norm, *sentence_bounds(norm, s.pos)))]


def office_days(norm: str, spans: list[Span]) -> tuple[list[Span], int]:
    """``spans`` without the office days of a sentence that names no work on a system and no stop
    ("1月30日至2月5日放假，2月6日起正常上班", a library closed over a holiday), and how many were
    dropped."""
    def office(s: Span) -> bool:
        lo, hi = sentence_bounds(norm, s.pos)
        closed = _CLOSED_RE.search(norm, lo, hi) and _HOLIDAY_WORD_RE.search(norm, lo, hi)
        return bool(_OFFICE_DAYS_RE.search(norm, lo, hi) or closed) and not (
            _SYSTEM_WORK_RE.search(norm, lo, hi) or STOP_RE.search(norm, lo, hi))

    kept = [s for s in spans if not office(s)]
    return kept, len(spans) - len(kept)


def disrupts(norm: str, lo: int, hi: int) -> bool:
    """Whether ``norm[lo:hi]`` words a disruption: any wording of one, unless it only names work
    and says services run as usual ("升级期间各项业务正常办理，不受影响")."""
    if DISRUPTION_RE.search(norm, lo, hi) is None or ARREARS_RE.search(norm, lo, hi) is not None:
        return False
    return (STOP_RE.search(norm, lo, hi) is not None or NORMAL_RE.search(norm, lo, hi) is None
            or EXCEPT_RE.search(norm, lo, hi) is not None)


# A firm stop of a service that is temporary by its wording (暂停, 中断, 停机 ...), or servers merged;
# not a branch's hours (暂停营业), fees not charged (暂停收费) or a fund's business (暂停申购).
_NOT_SERVICE = r"(?!营业|营运|运营|收费|计费|申购|赎回|定期定额|大额)"
_FIRM_STOP_RE = re.compile(r"(?:暂停|暂时停止|临时停止|暂时关闭|临时关闭|中断|停机|停服|停水|停电|停气|封网)" + _NOT_SERVICE
                           + r"|(?:暂时|短暂)(?:未能|无法|不能|不可)|" + MERGE)
# A stop worded for good (停止, 关闭, 停用, 下线) is temporary when something comes back, or lasts a
# while ("停止清算业务两天", "关闭……直至升级完成").
_LASTING_STOP_RE = re.compile(r"(?:停止|关闭|停用|下线)" + _NOT_SERVICE + r"|(?:未能|无法|不能)(?:提供|使用|登入|登录|访问|办理)")
_COMES_BACK_RE = re.compile(r"恢复|直至|直到|重新开放|\d+\s*(?:个)?(?:天|小时|分钟)|[两三四五六七八九十]\s*(?:个)?(?:天|小时)")
_KINDS_LOOKED_AT = ("other", "fee_policy")
# A report (outage, recovery) tells of what happened; a day after publication with work planned
# for it ("本行将于2月1日凌晨进行系统调整，届时服务可能出现异常") is work ahead, not a report.
_REPORT_KINDS = ("outage", "recovery")
_PLANNED_RE = re.compile(r"将于|将在|定于|订于|拟于|计划于|预定于|预计于")
# A sentence about the customer's own account or a business rule: a stop for those who let a plan
# lapse or do not agree (逾期, 到期, 续约者, 不同意), a fund's subscriptions, fees, hours that repeat.
_CUSTOMER_OWN_RE = re.compile(r"逾期|到期|续约|续费|不同意|未同意|申购|赎回|收费|逢|每(?:日|天|周|星期|月)")


def stop_on_a_day_ahead(kind: str, src: str, points: list[RawPoint],
                        date_of: Callable[[RawPoint], date | None], pub: date) -> str | None:
    """Never silent, in general: the wording of a firm stop in the sentence of a date not yet past
    ("本行将于2月1日起停止清算业务两天"), unless that sentence retires something for good or says
    services run as usual; None when there is none. The notice need not be read as maintenance:
    a person checks. Only for a notice read as ``other`` or ``fee_policy`` (an interface notice's
    retirements are lasting); for one read as a report (``outage``, ``recovery``), work planned
    ("将于", "定于") for a day after publication with wording of a disruption."""
    if kind not in _KINDS_LOOKED_AT + _REPORT_KINDS:
        return None
    for p in points:
        if not p.has_date:
            continue
        day = date_of(p)
        if day is None or day < pub:
            continue
        lo, hi = sentence_bounds(src, p.start)
        if kind in _REPORT_KINDS:
            said = DISRUPTION_RE.search(src, lo, hi)
            if day > pub and said is not None and _PLANNED_RE.search(src, lo, p.start) and disrupts(src, lo, hi):
                return said.group()
            continue
        m = _FIRM_STOP_RE.search(src, lo, hi)
        if m is None and _COMES_BACK_RE.search(src, lo, hi):
            m = _LASTING_STOP_RE.search(src, lo, hi)
        if m is None and DISRUPTION_RE.search(src, lo, hi) and not reports.said_done(src, lo, hi):
            # work on a system named in the sentence, with any disruption ("本行将进行年度系统演习，部分
            # 服务可能受到影响")
            m = _SYSTEM_WORK_RE.search(src, lo, hi)
        if m is not None and disrupts(src, lo, hi) and not retired(src, p.end) and not _CUSTOMER_OWN_RE.search(src, lo, hi):
            return m.group()
    return None
