"""Resolve raw time points into time windows (Asia/Shanghai), relative to a publication date.

Contract: :func:`find_spans` never raises on any input and every span it returns has
``start <= end`` (or ``end is None``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from huabei_watch.clock import SHANGHAI
from watcher.notices import schedules as sched
from watcher.notices.lunar import lunar_new_year_day
from watcher.notices.timeparse import RawPoint, find_duration

_MORNING = frozenset({"凌晨", "早上", "早晨", "清晨", "上午", "早"})
_NOON = frozenset({"中午", "正午", "午间"})
_PM = frozenset({"下午", "傍晚"})
_EVENING = frozenset({"晚上", "晚间", "夜间", "夜里", "深夜", "午夜", "晚", "夜"})
_REL_PERIOD = {"今晚": "晚上", "明晚": "晚上", "当晚": "晚上", "今早": "早上", "今晨": "早上",
               "明早": "早上", "明晨": "早上", "昨晚": "晚上"}
_REL_OFFSET = {"今天": 0, "今日": 0, "今晚": 0, "今早": 0, "今晨": 0, "明天": 1, "明日": 1, "明晚": 1,
               "明早": 1, "明晨": 1, "后天": 2, "昨天": -1, "昨日": -1, "昨晚": -1, "前天": -2}
_NEXT_DAY = frozenset({"次日", "翌日", "第二天", "隔天", "隔日"})
_SAME_DAY = frozenset({"当天", "当日", "当晚"})

_SEP_RE = re.compile(r"\s*(?:起|开始)?\s*(?:[-—–~―─]+|至|到|直至|直到)\s*$")
_LABEL_SEP_RE = re.compile(r"\s*[,;]?\s*(?:结束时间|截止时间|恢复时间|结束于|截至)\s*(?:为|是)?\s*:?\s*$")
_START_LABEL_RE = re.compile(r"(?:开始时间|起始时间|开始于)\s*(?:为|是)?\s*:?\s*$")
_DAILY_RE = re.compile(r"\s*(?:期间)?\s*(?:的)?\s*(?:每日|每天|每晚)\s*(?:的)?\s*$")
_SERVICE_HOURS_RE = re.compile(r"客服|热线|咨询|服务时间|工作时间|营业时间|人工|工作日|受理时间|办公时间")
_OPEN_AFTER_RE = re.compile(r"\s*(?:左右)?\s*(?:起|开始|前后)")
_OPEN_BEFORE_RE = re.compile(r"(?:于|自|从|在)\s*$")
_RECOVERED_AFTER_RE = re.compile(
    r"\s*(?:左右)?\s*(?:起|开始)?\s*[,]?\s*(?:将|预计)?\s*(?:已经|已|逐步|全面|全部|均|陆续|基本)*\s*(?:恢复|修复|解决)"
    r"|\s*(?:前|之前|以前)?\s*(?:完成|结束)"
)
_HALF_YEAR = timedelta(days=183)
_SENTENCE_END_RE = re.compile(r"[。;!?\n]")


@dataclass(frozen=True, slots=True)
class Span:
    """A window found in normalised text: ``pos``/``end_pos`` delimit the points it came from."""

    start: datetime
    end: datetime | None
    pos: int
    end_pos: int
    how: str  # "range" | "days" (no clock times) | "duration" | "open" | "daily"


@dataclass(slots=True)
class _Resolver:
    published: date
    last: date | None = None
    flags: list[str] = field(default_factory=list)
    pending: tuple[RawPoint, date] | None = None  # a lone time that a later "...恢复" may close

    def flag(self, reason: str) -> None:
        if reason not in self.flags:
            self.flags.append(reason)

    def infer_year(self, month: int, day: int, base: date) -> date | None:
        for year in (base.year, base.year + 1, base.year - 1):
            try:
                cand = date(year, month, day)
            except ValueError:
                continue
            if year == base.year:
                if cand < base - _HALF_YEAR:
                    return _safe_date(year + 1, month, day)
                if cand > base + _HALF_YEAR:
                    return _safe_date(year - 1, month, day)
            return cand
        return None

    def date_of(self, p: RawPoint, anchor: date | None) -> date | None:
        """The calendar date a point names, or None when it names none (or an invalid one)."""
        base = anchor or self.last or self.published
        d: date | None = None
        if p.day is not None:
            if p.year is not None and p.month is not None:
                d = _safe_date(p.year, p.month, p.day)
            elif p.month is not None:
                d = self.infer_year(p.month, p.day, anchor or self.published)
            else:
                d = _safe_date(base.year, base.month, p.day)
                if d is not None and anchor is not None and d < anchor:
                    nxt = base.replace(day=1) + timedelta(days=32)
                    d = _safe_date(nxt.year, nxt.month, p.day)
            if d is None:
                self.flag(f"invalid date {p.year or ''}-{p.month or ''}-{p.day}")
        elif p.rel is not None:
            if p.rel in _REL_OFFSET:
                d = self.published + timedelta(days=_REL_OFFSET[p.rel])
            elif p.rel == "除夕" or p.rel.startswith("初"):
                d = lunar_new_year_day(self.published, 0 if p.rel == "除夕" else int(p.rel[1:]))
                if d is None:
                    self.flag(f"{p.rel}: no Spring Festival date known for {self.published.year}")
            elif p.rel in _NEXT_DAY:
                d = base + timedelta(days=1)
            else:
                d = base
        elif p.week is not None:
            weeks, wd = p.week
            if weeks is None:
                d = self.published + timedelta(days=(wd - self.published.weekday()) % 7)
            else:
                monday = self.published - timedelta(days=self.published.weekday())
                d = monday + timedelta(days=7 * weeks + wd)
        if d is not None and p.weekday_tag is not None and d.weekday() != p.weekday_tag:
            self.flag(f"weekday written does not match {d.isoformat()}")
        return d

    def hour24(self, p: RawPoint, inherited: str | None, start_hour: int | None, start_minute: int = 0) -> int:
        """Hour on a 0..24 clock; ``inherited``/``start_hour`` are the range start's, for its end."""
        assert p.hour is not None
        h = p.hour
        period = p.period or _REL_PERIOD.get(p.rel or "")
        if period is None and inherited is not None and start_hour is not None:
            # "下午2点到4点": the end shares the start's half of the day.
            if inherited in _EVENING and h == 12:
                return 24
            pm = inherited in _PM or inherited in _EVENING
            if pm and h < 12 and start_hour * 60 + start_minute <= (h + 12) * 60 + p.minute <= 24 * 60:
                return h + 12
            return h
        if period is None or period in _MORNING:
            return 0 if (period == "凌晨" and h == 12) else h
        if period in _NOON:
            return h + 12 if h < 11 else h
        if period in _PM:
            return h + 12 if h < 12 else h
        # evening words
        if 6 <= h < 12:
            return h + 12
        if h == 12:
            return 24
        if h < 6:
            self.flag(f"{period}{h}点 read as {h:02d}:00 of the date written; check the day")
        return h


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _at(d: date, hour: int, minute: int) -> datetime:
    extra = hour // 24
    return datetime.combine(d + timedelta(days=extra), time(hour % 24, minute), tzinfo=SHANGHAI)


def _period_of(p: RawPoint) -> str | None:
    return p.period or _REL_PERIOD.get(p.rel or "")


def find_spans(
    norm: str, points: list[RawPoint], published: date, *, allow_open: bool, allow_recovery: bool
) -> tuple[list[Span], list[str], _Resolver]:
    """Windows in ``norm``: ranges, daily ranges, start + duration, and (when ``allow_open``)
    single start points with no end. Returns the spans, the doubts met, and the resolver (whose
    ``last`` context can be reused for deadline dates)."""
    r = _Resolver(published)
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
    spans = _drop_summaries(spans)
    spans.sort(key=lambda s: s.pos)
    return spans, r.flags, r


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


def _take_list(r: _Resolver, points: list[RawPoint], i: int, run: int, used: int, spans: list[Span]) -> None:
    """One window per date of a list sharing the same hours (``points[i:i+used]``)."""
    days = sched.list_dates(points, i, run, r.date_of)
    a, b = points[i + used - 2], points[i + used - 1]
    sh = r.hour24(a, None, None)
    eh = r.hour24(b, _period_of(a), sh, a.minute)
    for day in days:
        start = _at(day, sh, a.minute)
        end = _at(day, eh, b.minute)
        if end < start:
            end += timedelta(days=1)
        spans.append(Span(start, end, points[i].start, b.end, "daily"))
    if days:
        r.last = days[0]


def _take_range(r: _Resolver, norm: str, points: list[RawPoint], i: int, spans: list[Span]) -> int:
    """Handle the range starting at ``points[i]``; returns how many points it used."""
    p, q = points[i], points[i + 1]
    n = len(points)
    before = norm[max(0, p.start - 14) : p.start]
    if _SERVICE_HOURS_RE.search(before):
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
            eh = r.hour24(b, _period_of(a), sh, a.minute)
            for k in range((last - first).days + 1):
                day = first + timedelta(days=k)
                s = _at(day, sh, a.minute)
                e = _at(day, eh, b.minute)
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
    r: _Resolver, norm: str, p: RawPoint, nxt: int, spans: list[Span], *, allow_open: bool, allow_recovery: bool
) -> None:
    d = r.date_of(p, None) if p.has_date else None
    if not p.has_time:
        if d is not None:
            r.last = d
        return
    if allow_recovery and _RECOVERED_AFTER_RE.match(norm, p.end):
        if not _close_open(r, spans, p, d) and r.pending is not None:
            # "约3:15 ... 出现异常，约3:40恢复": the last lone time before a recovery is its start.
            first, first_day = r.pending
            start = _at(first_day, r.hour24(first, None, None), first.minute)
            end = _at(d or first_day, r.hour24(p, None, None), p.minute)
            if end < start and d is None:
                end += timedelta(days=1)
            if end >= start:
                spans.append(Span(start, end, first.start, p.end, "range"))
        r.pending = None
        return
    seconds = find_duration(norm, p.end, min(40, nxt - p.end + 12))
    if seconds is None:
        # "凌晨2:00……，凌晨4:30……，每次暂停15~30分钟": one duration shared by the times before it.
        stop = _SENTENCE_END_RE.search(norm, p.end)
        seconds = find_duration(norm, p.end, min(80, (stop.start() if stop else len(norm)) - p.end), shared_only=True)
    open_start = allow_open and (
        bool(_OPEN_AFTER_RE.match(norm, p.end)) or bool(_OPEN_BEFORE_RE.search(norm, max(0, p.start - 4), p.start))
    )
    if seconds is None and open_start:
        # "预计停机2小时，自12月1日凌晨1点开始"
        line_start = max(0, p.start - 30, norm.rfind("\n", 0, p.start) + 1)
        seconds = find_duration(norm, line_start, p.start - line_start)
    if seconds is None and not open_start:
        if d is not None:
            r.last = d
        r.pending = (p, d or r.last or r.published)
        return
    day = d or r.last
    if day is None:
        day = r.published
        r.flag("no date given for a window; assumed the publication date")
    start = _at(day, r.hour24(p, None, None), p.minute)
    r.last = day
    if seconds is not None:
        spans.append(Span(start, start + timedelta(seconds=seconds), p.start, p.end, "duration"))
    else:
        spans.append(Span(start, None, p.start, p.end, "open"))


def _close_open(r: _Resolver, spans: list[Span], p: RawPoint, d: date | None) -> bool:
    """End every open span before ``p`` at ``p`` ("……起恢复"); False when there is none to end."""
    closed = False
    for k in range(len(spans) - 1, -1, -1):
        s = spans[k]
        if s.end is None and s.pos < p.start:
            day = d or s.start.date()
            end = _at(day, r.hour24(p, None, None), p.minute)
            if end < s.start and d is None:
                end += timedelta(days=1)
            if end >= s.start:
                spans[k] = Span(s.start, end, s.pos, p.end, "range")
            closed = True
    return closed


def _range(r: _Resolver, p: RawPoint, q: RawPoint) -> Span | None:
    d1 = r.date_of(p, None) if p.has_date else None
    if d1 is None:
        d1 = r.last
        if d1 is None:
            d1 = r.published
            r.flag("no date given for a window; assumed the publication date")
    sh = r.hour24(p, None, None) if p.has_time else 0
    start = _at(d1, sh, p.minute if p.has_time else 0)
    r.last = d1
    explicit_end_date = q.has_date and q.rel not in _SAME_DAY
    d2 = r.date_of(q, d1) if q.has_date else d1
    if d2 is None:
        d2 = d1
    if q.has_time:
        eh = r.hour24(q, _period_of(p) if p.has_time else None, sh if p.has_time else None, p.minute)
        end = _at(d2, eh, q.minute)
    else:
        end = _at(d2, 24, 0)
        if not p.has_time:
            r.flag("whole-day window (no times written)")
    if end < start and not explicit_end_date:
        end += timedelta(days=1)
    if end < start:
        r.flag("window end is before its start; end dropped")
        return Span(start, None, p.start, q.end, "range")
    return Span(start, end, p.start, q.end, "range" if p.has_time or q.has_time else "days")
