"""Resolve raw time points into time windows (Asia/Shanghai), relative to a publication date.

Contract: :func:`find_spans` never raises on any input and every span it returns has
``start <= end`` (or ``end is None``).

How a time is read depends on the words around it (:mod:`watcher.notices.vocab`):

* two points joined by 至 / - / ~ / 到 (or "……开始，……前结束") are a range; a range that is
  the customer's to act in ("请于……至……办理", "……期间提交的") or a timetable with no date
  ("每日20:30-次日3:00", "星期一至六22:00至1:30") is not a window;
* a lone point followed by a stop ("22:00起暂停", "17点停止服务") or introduced by 于/自/从 in a
  sentence that words a disruption opens a window; a lone point followed by a resumption
  ("……起恢复", "……上线", "……前完成") closes the open windows before it, and any window still
  open at the end takes the first resumption after its start found anywhere in the notice
  ("3月21日0时全面恢复。另自2月21日0时起停止受理" -> 2月21日 to 3月21日);
* a date with no time followed by 起 and a stop is a whole-day start; it is a window only when a
  resumption closes it or the notice says the end will be announced (otherwise it is a lasting
  change: "自4月21日起不再支持……");
* a start followed by a duration ("预计10分钟", also in the next sentence) ends after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from watcher.notices import schedules as sched
from watcher.notices import vocab
from watcher.notices.resolve import NEXT_DAY, SAME_DAY, Resolver, at, own_date, period_of
from watcher.notices.timeparse import RawPoint, find_duration

_SEP_RE = re.compile(r"\s*(?:起|开始)?\s*(?:[-—–~―─]+|至|到|直至|直到)\s*$")
_LABEL_SEP_RE = re.compile(r"\s*[,;]?\s*(?:结束时间|截止时间|恢复时间|结束于|截至)\s*(?:为|是)?\s*:?\s*$")
_START_LABEL_RE = re.compile(r"(?:开始时间|起始时间|开始于)\s*(?:为|是)?\s*:?\s*$")
_DAILY_RE = re.compile(r"\s*[,]?\s*(?:期间)?\s*(?:的)?\s*(?:每日|每天|每晚|每夜|各日|每)\s*(?:的)?\s*$")
_MAX_OPEN_TO_RESUME = timedelta(days=120)


@dataclass(frozen=True, slots=True)
class Span:
    """A window found in normalised text: ``pos``/``end_pos`` delimit the points it came from."""

    start: datetime
    end: datetime | None
    pos: int
    end_pos: int
    how: str  # "range" | "days" (no clock times) | "duration" | "open" | "dayopen" | "daily"
    dated: bool = True  # False: no date of its own (the day was inherited or assumed)
    period: str | None = None  # the start's 凌晨/下午/晚上, shared by an end written without one


def find_spans(
    norm: str, points: list[RawPoint], published: date, *, allow_open: bool, allow_recovery: bool
) -> tuple[list[Span], list[str], Resolver]:
    """Windows in ``norm``: ranges, daily ranges, start + duration, and (when ``allow_open``)
    single start points with no end. Returns the spans, the doubts met, and the resolver (whose
    ``last`` context can be reused for deadline dates)."""
    r = Resolver(published)
    spans: list[Span] = []
    n = len(points)
    i = 0
    while i < n:
        p = points[i]
        q = points[i + 1] if i + 1 < n else None
        run, used = sched.date_list(norm, points, i)
        if run:
            _take_list(r, points, i, run, used, spans)
            i += used
            continue
        if q is not None and (
            _SEP_RE.fullmatch(norm, p.end, q.start) is not None
            or (
                p.has_time and q.has_time
                and sched.START_END_SEP_RE.fullmatch(norm, p.end, q.start) is not None
                and sched.END_AFTER_RE.match(norm, q.end) is not None
            )
            or (
                _LABEL_SEP_RE.fullmatch(norm, p.end, q.start) is not None
                and _START_LABEL_RE.search(norm, max(0, p.start - 10), p.start) is not None
            )
        ):
            i += _take_range(r, norm, points, i, spans)
            continue
        nxt = q.start if q is not None else len(norm)
        _take_single(r, norm, p, nxt, spans, allow_open=allow_open, allow_recovery=allow_recovery)
        i += 1
    spans = _close_late(r, norm, spans)
    if r.recurring:
        undated = sum(1 for s in spans if not s.dated)
        spans = [s for s in spans if s.dated]
        r.note(f"{r.recurring + undated} range(s) repeat every day or week: a timetable, not dated windows")
    spans = _drop_summaries(spans)
    spans.sort(key=lambda s: s.pos)
    return spans, r.flags, r


def _close_late(r: Resolver, norm: str, spans: list[Span]) -> list[Span]:
    """Windows still open take the first resumption after their start; a whole-day start nobody
    closes is a lasting change unless the notice says the end will be announced; an open start
    that repeats the start of a closed window is that window."""
    if all(s.end is not None for s in spans):
        return spans
    later = vocab.LATER_RE.search(norm) is not None
    ends = sorted(r.resumptions)
    closed_starts = {s.start for s in spans if s.end is not None}
    out: list[Span] = []
    for s in spans:
        if s.end is None:
            end = next((e for e in ends if s.start < e <= s.start + _MAX_OPEN_TO_RESUME), None)
            if end is not None:
                s = Span(s.start, end, s.pos, s.end_pos, "range", s.dated, s.period)
            elif s.start in closed_starts or (s.how == "dayopen" and not later):
                continue
        out.append(s)
    return out


def _drop_summaries(spans: list[Span]) -> list[Span]:
    """A whole-day range ("8月28日至8月29日") that contains windows with clock times is the notice's
    overall period, not a window of its own."""
    timed = [s for s in spans if s.how != "days"]
    out: list[Span] = []
    for s in spans:
        if s.how == "days" and s.end is not None and any(
            t.start >= s.start and t.end is not None and t.end <= s.end + timedelta(hours=12) for t in timed
        ):
            continue
        out.append(s)
    return out


def _take_list(r: Resolver, points: list[RawPoint], i: int, run: int, used: int, spans: list[Span]) -> None:
    """One window per date of a list sharing the same hours (``points[i:i+used]``)."""
    days = sched.list_dates(points, i, run, r.date_of)
    a, b = points[i + used - 2], points[i + used - 1]
    sh = r.hour24(a, None, None)
    eh = r.hour24(b, period_of(a), sh, a.minute)
    next_day = b.rel in NEXT_DAY
    for day in days:
        start = at(day, sh, a.minute)
        end = at(day + timedelta(days=1) if next_day else day, eh, b.minute)
        if end < start:
            end += timedelta(days=1)
        spans.append(Span(start, end, points[i].start, b.end, "daily"))
    if days:
        r.last = days[0]


def _skip_range(r: Resolver, norm: str, p: RawPoint, q: RawPoint) -> bool:
    """Ranges that are not disruption windows: service hours, the customer's own period to act,
    and (counted in ``r.recurring``) timetables repeating every day or week."""
    before = norm[max(0, p.start - 14) : p.start]
    if vocab.SERVICE_HOURS_RE.search(before):
        return True
    if vocab.ACTION_BEFORE_RE.search(before) or vocab.SUBMISSION_AFTER_RE.match(norm, q.end):
        return True
    lo, hi = vocab.sentence_bounds(norm, p.start)
    if vocab.NORMAL_RE.search(norm, lo, hi) and not vocab.DISRUPTION_RE.search(norm, lo, hi):
        return True
    if not own_date(p) and not own_date(q):
        clause_lo = max(norm.rfind(c, 0, p.start) for c in "。;\n,:")
        if vocab.RECURRING_BEFORE_RE.search(norm, max(0, clause_lo + 1, p.start - 24), p.start):
            r.recurring += 1
            return True
    return False


def _take_range(r: Resolver, norm: str, points: list[RawPoint], i: int, spans: list[Span]) -> int:
    """Handle the range starting at ``points[i]``; returns how many points it used."""
    p, q = points[i], points[i + 1]
    n = len(points)
    if _skip_range(r, norm, p, q):
        return 2
    # "12月1日至12月3日每日凌晨1:00-3:00": one window per day.
    if (
        not p.has_time and not q.has_time and p.has_date and q.has_date and i + 3 < n
        and _DAILY_RE.fullmatch(norm, q.end, points[i + 2].start) is not None
        and _SEP_RE.fullmatch(norm, points[i + 2].end, points[i + 3].start) is not None
    ):
        first = r.date_of(p, None)
        last = r.date_of(q, first) if first else None
        a, b = points[i + 2], points[i + 3]
        if first and last and a.has_time and b.has_time and 0 <= (last - first).days <= 31:
            sh = r.hour24(a, None, None)
            eh = r.hour24(b, period_of(a), sh, a.minute)
            for k in range((last - first).days + 1):
                day = first + timedelta(days=k)
                s = at(day, sh, a.minute)
                e = at(day, eh, b.minute)
                if e < s:
                    e += timedelta(days=1)
                spans.append(Span(s, e, p.start, b.end, "daily"))
            r.last = first
            return 4
    span = _range(r, p, q)
    if span is not None:
        spans.append(span)
    return 2


def _take_single(
    r: Resolver, norm: str, p: RawPoint, nxt: int, spans: list[Span], *, allow_open: bool, allow_recovery: bool
) -> None:
    d = r.date_of(p, None) if p.has_date else None
    resume = vocab.RESUME_AFTER_RE.match(norm, p.end, min(nxt, p.end + 30)) if allow_recovery else None
    weak = resume is not None and (resume.group("weak") or resume.group("kick")) is not None
    kick = resume is not None and resume.group("kick") is not None  # 启动: closes, or else starts
    if allow_recovery and resume is None:
        resume = vocab.RESUME_BEFORE_RE.search(norm, max(0, p.start - 12), p.start)
    stop_m = vocab.STOP_AFTER_RE.match(norm, p.end, min(nxt, p.end + 16))
    stop = stop_m is not None
    if not p.has_time:
        if d is None:
            return
        r.last = d
        if resume is not None and not stop:
            r.resumptions.append(at(d, 0, 0))
            _close_open(r, spans, p, d, p.start)
        elif allow_open and stop_m is not None and stop_m.group("onward") is None and _one_day(norm, p.end):
            # "本周六停止提供……当天暂停运作": that whole day.
            spans.append(Span(at(d, 0, 0), at(d, 24, 0), p.start, p.end, "days", own_date(p)))
            r.note("whole-day window (no times written)")
        elif allow_open and (stop or (
            (vocab.OPEN_AFTER_RE.match(norm, p.end) or vocab.ORIGINAL_BEFORE_RE.search(norm, max(0, p.start - 6), p.start))
            and vocab.disruption_near(norm, p.end)
        )):
            spans.append(Span(at(d, 0, 0), None, p.start, p.end, "dayopen", own_date(p)))
        return
    if resume is not None and not stop:
        day = d or r.last or r.published
        r.resumptions.append(r.moment(p, day, end=True))
        if not kick or _has_open(spans, p.start):
            closed = _close_open(r, spans, p, d or day, p.start, rolls=d is None)
            if not closed and r.pending is not None and not weak:
                # "约3:15 ... 出现异常，约3:40恢复": the last lone time before a recovery is its start.
                first, first_day = r.pending
                start = r.moment(first, first_day)
                end = _end_at(r, p, d or first_day, period_of(first), start)
                if end < start and d is None:
                    end += timedelta(days=1)
                if end >= start:
                    spans.append(Span(start, end, first.start, p.end, "range", own_date(first) or own_date(p),
                                      period_of(first)))
            r.pending = None
            if d is not None:
                r.last = d
            return
    seconds = find_duration(norm, p.end, min(40, nxt - p.end + 12))
    if seconds is None:
        # "凌晨2:00……，凌晨4:30……，每次暂停15~30分钟": one duration shared by the times before it.
        stop_m = vocab.SENTENCE_END_RE.search(norm, p.end)
        seconds = find_duration(norm, p.end, min(80, (stop_m.start() if stop_m else len(norm)) - p.end),
                                shared_only=True)
    deadline = vocab.DEADLINE_AFTER_RE.match(norm, p.end) is not None  # "10月10日23:59前处理完"
    open_start = allow_open and not deadline and (stop or (
        (kick
         or bool(vocab.OPEN_AFTER_RE.match(norm, p.end))
         or bool(vocab.OPEN_BEFORE_RE.search(norm, max(0, p.start - 4), p.start)))
        and vocab.disruption_near(norm, p.end)
    ))
    if seconds is None and open_start:
        # "预计停机2小时，自12月1日凌晨1点开始"
        line_start = max(0, p.start - 30, norm.rfind("\n", 0, p.start) + 1)
        seconds = find_duration(norm, line_start, p.start - line_start)
        if seconds is None:
            # "凌晨2:00启动切换。……切转期间预计暂停15分钟到30分钟": a duration in the next sentence.
            _, hi = vocab.sentence_bounds(norm, p.end)
            _, hi2 = vocab.sentence_bounds(norm, min(len(norm), hi + 1))
            seconds = find_duration(norm, p.end, min(nxt, hi2, p.end + 160) - p.end)
    if seconds is None and not open_start:
        if d is not None:
            r.last = d
        r.pending = (p, d or r.last or r.published)
        return
    day = d or r.last or _assumed_day(r)
    start = r.moment(p, day)
    r.last = day
    if seconds is not None:
        spans.append(Span(start, start + timedelta(seconds=seconds), p.start, p.end, "duration", own_date(p)))
    else:
        spans.append(Span(start, None, p.start, p.end, "open", own_date(p), period_of(p)))


def _assumed_day(r: Resolver) -> date:
    r.flag("no date given for a window; assumed the publication date")
    return r.published


def _one_day(norm: str, pos: int) -> bool:
    """Whether the sentence at ``pos`` or the next one says the stop lasts that day only."""
    lo, hi = vocab.sentence_bounds(norm, pos)
    _, hi2 = vocab.sentence_bounds(norm, min(len(norm), hi + 1))
    return vocab.WHOLE_DAY_RE.search(norm, lo, hi2) is not None


def _has_open(spans: list[Span], before: int) -> bool:
    return any(s.end is None and s.pos < before for s in spans)


def _end_at(r: Resolver, p: RawPoint, day: date, start_period: str | None, start: datetime) -> datetime:
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


def _close_open(r: Resolver, spans: list[Span], p: RawPoint, day: date, before: int, *, rolls: bool = False) -> bool:
    """End every open span before offset ``before`` at resumption point ``p`` on ``day``
    ("……起恢复"); False when there is none to end. ``rolls``: the end had no date of its own, so it
    may fall on the next day."""
    closed = False
    for k in range(len(spans) - 1, -1, -1):
        s = spans[k]
        if s.end is None and s.pos < before:
            e = _end_at(r, p, day, s.period, s.start)
            if e < s.start and rolls:
                e += timedelta(days=1)
            if e >= s.start:
                spans[k] = Span(s.start, e, s.pos, s.end_pos, "range", s.dated, s.period)
            closed = True
    return closed


def _range(r: Resolver, p: RawPoint, q: RawPoint) -> Span | None:
    d1 = r.date_of(p, None) if p.has_date else None
    if d1 is None:
        d1 = r.last
        if d1 is None:
            d1 = r.published
            r.flag("no date given for a window; assumed the publication date")
    sh = r.hour24(p, None, None) if p.has_time else 0
    start = at(d1, sh, p.minute if p.has_time else 0)
    r.last = d1
    explicit_end_date = q.has_date and q.rel not in SAME_DAY
    d2 = r.date_of(q, d1) if q.has_date else d1
    if d2 is None:
        d2 = d1
    dated = own_date(p) or own_date(q)
    if q.has_time:
        eh = r.hour24(q, period_of(p) if p.has_time else None, sh if p.has_time else None, p.minute)
        end = at(d2, eh, q.minute) + (timedelta(minutes=1) if q.second == 59 else timedelta())
    else:
        end = at(d2, 24, 0)
        if not p.has_time:
            r.note("whole-day window (no times written)")
    if end < start and not explicit_end_date:
        end += timedelta(days=1)
    if end < start:
        r.flag("window end is before its start; end dropped")
        return Span(start, None, p.start, q.end, "range", dated)
    return Span(start, end, p.start, q.end, "range" if p.has_time or q.has_time else "days", dated)
