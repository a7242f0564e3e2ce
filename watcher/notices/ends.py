"""Where windows end: resumptions that close open starts, extensions, restarts after a range, and
days moved to other days. Pure helpers for :mod:`watcher.notices.windows` and
:mod:`watcher.notices.singles`."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from watcher.notices import vocab
from watcher.notices.resolve import Resolver, at, own_date
from watcher.notices.span import Span
from watcher.notices.timeparse import RawPoint

HOURS_RE = re.compile(r"\d{1,2}\s*(?::\s*\d{2}|[点时](?![间候段期效限长]))")


def has_open(spans: list[Span], before: int) -> bool:
    return any(s.end is None and s.pos < before for s in spans)


def end_at(r: Resolver, p: RawPoint, day: date, start_period: str | None, start: datetime) -> datetime:
    """The moment a resumption point ``p`` ends a window that started at ``start``: a time written
    without 凌晨/下午/晚上 shares the start's ("晚8点10分起……于8点50分恢复" ends at 20:50); a
    point with no time ends at the start of its day."""
    if not p.has_time:
        return at(day, 0, 0)
    if p.period is None and start_period is not None and start.date() == day:
        end = at(day, r.hour24(p, start_period, start.hour, start.minute), p.minute)
    else:
        end = r.moment(p, day)
    return end + timedelta(minutes=1) if p.second == 59 else end


# Before a date: a window moved to it ("原定12月5日的维护推迟至12月12日").
MOVED_TO_RE = re.compile(r"(?:推迟|延期|调整|改期|改|顺延|延后|挪|移|提前)(?:至|到)[^\S\n]*$")


def moved_day(r: Resolver, norm: str, p: RawPoint, d: date, spans: list[Span]) -> bool:
    """"原定12月5日的系统维护推迟至12月12日": the old day (an open start after 原定 in this
    sentence) becomes that whole day, and the new day ``d`` a whole day too, sent to review when
    no hours follow. False when no old day is open in the sentence."""
    lo, _ = vocab.sentence_bounds(norm, p.start)
    old = [k for k, s in enumerate(spans) if s.end is None and s.how == "dayopen" and lo <= s.pos < p.start]
    if not old:
        return False
    k = old[-1]
    s = spans[k]
    if not vocab.DISRUPTION_RE.search(norm, s.end_pos, p.start):
        # "原定5月1日抄表的用户顺延至5月2日": what moves is no work or stop (a meter reading, a
        # meeting): neither day is a window
        del spans[k]
        r.set_aside.append("a date moved to another day set aside: what moves is no work or stop")
        return True
    spans[k] = Span(s.start, s.start + timedelta(days=1), s.pos, s.end_pos, "days", s.dated)
    spans.append(Span(at(d, 0, 0), at(d, 24, 0), p.start, p.end, "days", own_date(p)))
    r.last = d
    if HOURS_RE.search(norm, p.end) is None:
        r.flag("a window moved to another day, with no hours of its own written: check its hours")
    return True


def old_day_whole(norm: str, p: RawPoint, spans: list[Span]) -> None:
    """"原定于12月6日进行的系统升级已改期至12月10日23:00至12月11日6:00": the old day, an open start
    after 原定 in this sentence with work or a stop named, is that whole day (not open until the
    new range)."""
    lo, _ = vocab.sentence_bounds(norm, p.start)
    old = [k for k, s in enumerate(spans) if s.end is None and s.how == "dayopen" and lo <= s.pos < p.start]
    if old and vocab.DISRUPTION_RE.search(norm, spans[old[-1]].end_pos, p.start):
        s = spans[old[-1]]
        spans[old[-1]] = Span(s.start, s.start + timedelta(days=1), s.pos, s.end_pos, "days", s.dated)


# Before a lone time: the window is extended to it ("维护时间延长至12月5日8:00").
EXTEND_BEFORE_RE = re.compile(r"延长(?:至|到)[^\S\n]*(?:次日|当日|当天)?[^\S\n]*$")
# What else gets extended: a validity, a campaign, a deadline ("优惠券有效期延长至12月6日").
# A hedge is a caveat, not an extension ("如遇特殊情况，维护时间可能延长至8点").
EXTEND_OTHER_RE = re.compile(
    r"有效|期限|活动|优惠|报名|缴费|申请|截止|受理期|营业|可能|或将|如遇|若|如有|视情况|最迟|或延长|可延长|必要时|有需要"
)


# An extension told as a fact ("维护作业有所延长，可能持续到11:00"): the hedge is on the new end, not on
# whether the work runs longer, so 可能 does not make it a caveat.
_TOLD_EXTENSION_RE = re.compile(r"(?:已经?|有所|已被)\s*延长|延长了")
_TOLD_END_BEFORE_RE = re.compile(r"(?:持续|延续|延长|进行)?[^\S\n]*(?:至|到)[^\S\n]*(?:次日|当日|当天)?[^\S\n]*$")
_HEDGES = frozenset({"可能", "或将"})


def extension_before(norm: str, pos: int) -> bool:
    """Whether the lone time at ``pos`` is the new end of a window extended ("维护时间延长至8:00",
    "维护作业有所延长，可能持续到11:00"), not a caveat or another thing extended."""
    lo = clause_before(norm, pos)
    told = _TOLD_EXTENSION_RE.search(norm, lo, pos) is not None
    if not (EXTEND_BEFORE_RE.search(norm, max(0, pos - 10), pos)
            or (told and _TOLD_END_BEFORE_RE.search(norm, max(0, pos - 10), pos))):
        return False
    return not any(not (told and m.group() in _HEDGES) for m in EXTEND_OTHER_RE.finditer(norm, lo, pos))


def clause_before(norm: str, pos: int) -> int:
    """Where the clause before the one holding ``pos`` starts, within its sentence: a condition
    may stand in its own clause ("如有需要,升级时段或延长至3月8日16:00")."""
    lo = max(norm.rfind(c, 0, pos) for c in "。;\n")
    cuts = [m.start() for m in re.finditer(r"[,，]", norm[lo + 1 : pos])]
    return lo + 1 + cuts[-2] if len(cuts) >= 2 else lo + 1 if lo >= 0 else 0
# How far a window may be extended and still be the one before.
_MAX_EXTENSION = timedelta(days=3)


def extend_last(r: Resolver, spans: list[Span], p: RawPoint, d: date | None) -> bool:
    """"原定0:00-6:00的系统维护……延长至8:00": the last window written before ``p`` now ends at
    ``p``. False when there is none, or ``p`` is not later than its end (by at most
    ``_MAX_EXTENSION``)."""
    prior = [k for k, s in enumerate(spans) if s.end is not None and s.end_pos <= p.start]
    if not prior:
        return False
    k = prior[-1]
    s = spans[k]
    assert s.end is not None
    e = end_at(r, p, d or s.end.date(), s.period, s.start)
    if d is None and e <= s.end:
        e += timedelta(days=1)
    if not s.end < e <= s.end + _MAX_EXTENSION:
        return False
    # the range keeps where it was written: a zone written after it still holds for the new end
    spans[k] = Span(s.start, e, s.pos, s.end_pos, "range", s.dated, s.period)
    r.note(f"the window is extended to {e:%m-%d %H:%M} (as written)")
    return True


# How long after a range's end a restart may come and still end that range's window.
_RESTART_SLACK = timedelta(hours=6)


def restart_after(r: Resolver, norm: str, spans: list[Span], p: RawPoint, d: date | None) -> bool:
    """"12月5日22时至12月6日7时停机维护，12月6日8时重启服务": a resumption written right after a
    range (its sentence or the next), later than the range's end by at most ``_RESTART_SLACK``,
    is when the service is back: the window ends then. False when no range is so ended."""
    if not spans:
        return False
    s = spans[-1]
    if s.end is None or s.how != "range" or s.end_pos > p.start:
        return False
    if vocab.SENTENCE_END_RE.search(norm, s.end_pos, p.start) and len(
        vocab.SENTENCE_END_RE.findall(norm, s.end_pos, p.start)
    ) > 1:
        return False
    e = end_at(r, p, d or s.end.date(), s.period, s.start)
    if d is None and e < s.end:
        e += timedelta(days=1)
    if not s.end < e <= s.end + _RESTART_SLACK:
        return False
    spans[-1] = Span(s.start, e, s.pos, p.end, "range", s.dated, s.period)
    r.note(f"the service is said to be back at {e:%H:%M}, after the range written: the window ends then")
    return True


def close_open(
    r: Resolver, spans: list[Span], p: RawPoint, day: date, before: int, *, rolls: bool = False, only_first: bool = False
) -> bool:
    """End every open span before offset ``before`` at resumption point ``p`` on ``day``
    ("……起恢复"), or with ``only_first`` the one opened first; False when there is none to end.
    ``rolls``: the end had no date of its own, so it may fall on the next day."""
    closed = False
    order = range(len(spans) - 1, -1, -1)
    if only_first:
        order = range(len(spans))
    for k in order:
        s = spans[k]
        if s.end is None and s.pos < before:
            if only_first and closed:
                break
            e = end_at(r, p, day, s.period, s.start)
            if e < s.start and rolls:
                e += timedelta(days=1)
            if e >= s.start:
                spans[k] = Span(s.start, e, s.pos, s.end_pos, "range", s.dated, s.period)
            closed = True
    return closed
