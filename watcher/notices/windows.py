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
from datetime import date, timedelta

from watcher.notices import impact, layout, moments, nights, vocab
from watcher.notices import schedules as sched
from watcher.notices.ends import MOVED_TO_RE, old_day_whole
from watcher.notices.lasting import RETIRE_RE, changed_from, for_good
from watcher.notices.range_filter import other_hours, skip_range
from watcher.notices.resolve import NEXT_DAY, SAME_DAY, Resolver, at, own_date, period_of, safe_date
from watcher.notices.singles import take_single
from watcher.notices.span import Span
from watcher.notices.timeparse import RawPoint

_SEP_RE = re.compile(
    r"\s*(?:左右|前后)?\s*(?:起|开始)?\s*,?\s*(?:[-—–~―─]+|(?:持续|一直|延续)?(?:至|到)|直至|直到"
    # "自12月26日起暂停至12月27日止", "……起停机至……"
    r"|(?:暂停|停止|停机|中断|关闭)(?:服务|使用|办理|运行)?\s*(?:至|到|直至))\s*$"
)
_LABEL_SEP_RE = re.compile(r"\s*[,;]?\s*(?:结束时间|截止时间|恢复时间|结束于|截至)\s*(?:为|是)?\s*:?\s*$")
_RUN_OF_DAYS_RE = re.compile(
    r"[\s)]*(?:起|开始)?[\s,]*(?:连续|一连)\s*(?P<n>\d{1,2})\s*(?:天|个?晚上)[\s,]*(?:的)?\s*(?:每日|每天|每晚|每夜|各日|每)?\s*(?:的)?\s*"
)
# "12月5日至12月6日（共）两天，每天……": a count of the days may stand before 每天.
_DAILY_RE = re.compile(
    r"[\s),]*(?:为止|止)?[\s),]*(?:共\s*)?(?:\d{1,2}\s*[天日])?[\s),]*(?:期间|内)?[\s,]*(?:的)?\s*(?:每日|每天|每晚|每夜|各日|每)\s*(?:的)?\s*$"
)
_MAX_OPEN_TO_RESUME = timedelta(days=120)



def find_spans(
    norm: str, points: list[RawPoint], published: date, *, allow_open: bool, allow_recovery: bool,
    day: date | None = None,
) -> tuple[list[Span], list[str], Resolver]:
    """Windows in ``norm``: ranges, daily ranges, start + duration, and (when ``allow_open``)
    single start points with no end. ``day`` is the date hours written before any date are on
    (the one date of the title), else the publication date. Returns the spans, the doubts met, and
    the resolver (whose ``last`` context can be reused for deadline dates)."""
    r = Resolver(published, last=day)
    spans: list[Span] = []
    n = len(points)
    i = 0
    while i < n:
        p = points[i]
        q = points[i + 1] if i + 1 < n else None
        used = _take_run_of_days(r, norm, points, i, spans) or nights.take(r, norm, points, i, spans)
        if used:
            i += used
            continue
        run, used = sched.date_list(norm, points, i)
        if run:
            _take_list(r, norm, points, i, run, used, spans)
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
                and vocab.START_LABEL_RE.search(norm, max(0, p.start - 10), p.start) is not None
            )
        ):
            i += _take_range(r, norm, points, i, spans)
            continue
        nxt = q.start if q is not None else len(norm)
        take_single(r, norm, p, nxt, spans, allow_open=allow_open, allow_recovery=allow_recovery)
        i += 1
    spans = moments.around(r, norm, points, spans)
    spans = _close_late(r, norm, spans)
    spans = [_year_slip(r, s) for s in spans]
    if r.recurring:
        # an undated range on the line of a dated window before it, in the same sentence or list
        # ("12月5日0:00至2:00网银暂停；4:00至6:00手机银行暂停"), goes on from that date; the others
        # are part of the timetable
        # A range on a bare weekday that falls on a day the notice names ("本月27日（周四）……时间为周四
        # 晚上11时至翌日凌晨4时。工程期间……") is that day, not every such weekday.
        named = _named_days(points, r.published)
        kept = [s for s in spans if s.dated or (_row_stops(norm, s) and any(
            t.dated and t.pos < s.pos and not _LINE_OR_SENTENCE_END_RE.search(norm, t.pos, s.pos) for t in spans))
            or (s.start.date() in named and _WEEKDAY_AT_RE.match(norm, s.pos) and layout.tied(norm, s)
                and not _REPEATS_RE.search(norm, *vocab.sentence_bounds(norm, s.pos)))]
        undated = len(spans) - len(kept)
        spans = kept
        r.note(f"{r.recurring + undated} range(s) repeat every day or week: a timetable, not dated windows")
    arrears = [s for s in spans if vocab.ARREARS_RE.search(norm, *vocab.sentence_bounds(norm, s.pos))]
    if arrears:
        r.set_aside.append(f"{len(arrears)} time(s) set aside: a stop for accounts in arrears is a rule, not a window")
        spans = [s for s in spans if s not in arrears]
    spans = _drop_summaries(norm, impact.keep_impact(norm, spans))
    if len(spans) > 1:
        spans = layout.drop_frames(norm, spans)
    spans.sort(key=lambda s: s.pos)
    return spans, r.flags, r


# A window is never this long: a start this far before its end (and before publication) has a
# slip in its written year ("2018年4月29日0:00起升级……2019年5月2日8:30恢复" in a 2019 notice).
_LONGEST_WINDOW = timedelta(days=300)
_SLIP_BEFORE_PUBLICATION = timedelta(days=183)


def _year_slip(r: Resolver, s: Span) -> Span:
    """``s`` with its start moved to the year of its end when it runs for more than 300 days across
    the publication date and the same month and day a year later still comes before its end and
    lies within half a year of publication; flagged for review."""
    if s.end is None or s.end - s.start <= _LONGEST_WINDOW or s.end.date() < r.published:
        return s
    if r.published - s.start.date() <= _SLIP_BEFORE_PUBLICATION:
        return s
    for years in (1, 2):
        moved = safe_date(s.start.year + years, s.start.month, s.start.day)
        if moved is not None and moved < s.end.date() and abs(moved - r.published) <= _SLIP_BEFORE_PUBLICATION:
            start = s.start.replace(year=moved.year)
            r.flag(f"a window of more than 300 days from {s.start.date()}: read as starting {moved} (a slip "
                   "of the year written); check the day")
            return Span(start, s.end, s.pos, s.end_pos, s.how, s.dated, s.period)
    return s


def _take_run_of_days(r: Resolver, norm: str, points: list[RawPoint], i: int, spans: list[Span]) -> int:
    """"自12月5日起连续3天，每天凌晨1点至5点": one window a day for that many days; returns the
    points used (0 when this is not such a run)."""
    if i + 2 >= len(points):
        return 0
    p, a, b = points[i], points[i + 1], points[i + 2]
    m = _RUN_OF_DAYS_RE.fullmatch(norm, p.end, a.start)
    if (m is None or not p.has_date or p.has_time or not a.has_time or a.has_date or not b.has_time
            or _SEP_RE.fullmatch(norm, a.end, b.start) is None):
        return 0
    first = r.date_of(p, None)
    count = int(m.group("n"))
    if first is None or not 1 <= count <= 31:
        return 0
    sh = r.hour24(a, None, None)
    eh = r.hour24(b, period_of(a), sh, a.minute)
    for k in range(count):
        day = first + timedelta(days=k)
        s, e = at(day, sh, a.minute), at(day, eh, b.minute)
        spans.append(Span(s, e if e > s else e + timedelta(days=1), p.start, b.end, "daily"))
    r.last = first
    return 3


_LINE_OR_SENTENCE_END_RE = re.compile(r"[。!?\n]")
_ROW_END_RE = re.compile(r"[。;!?\n]")


def _named_days(points: list[RawPoint], published: date) -> set[date]:
    """The days written with a day of the month, each read after the one before it (no flags)."""
    rr = Resolver(published)
    out: set[date] = set()
    for p in points:
        if p.day is not None and (d := rr.date_of(p, None)) is not None:
            rr.last = d
            out.add(d)
    return out


# A sentence of a timetable ("另设定期维护：星期一至五……、星期日02:30至06:30").
_REPEATS_RE = re.compile(r"定期|每|逢|例行|(?:星期|周|礼拜)[一二三四五六日天]\s*(?:至|到|-|~)")
_WEEKDAY_AT_RE = re.compile(r"\s*(?:本|这|下)?(?:周|星期|礼拜)[一二三四五六日天]")


def _row_stops(norm: str, s: Span) -> bool:
    """Whether the row holding ``s`` (up to the next ; or sentence end) words a disruption."""
    m = _ROW_END_RE.search(norm, s.end_pos)
    return vocab.DISRUPTION_RE.search(norm, s.pos, m.start() if m else len(norm)) is not None


def _close_late(r: Resolver, norm: str, spans: list[Span]) -> list[Span]:
    """Windows still open take the first resumption after their start; a whole-day start nobody
    closes is a lasting change unless the notice says the end will be announced; an open start
    that repeats the start of a closed window is that window."""
    if all(s.end is not None for s in spans):
        return spans
    later = vocab.end_told_later(norm)
    ends = sorted(r.resumptions)
    closed_starts = {s.start for s in spans if s.end is not None}
    out: list[Span] = []
    for s in spans:
        if s.end is None:
            end = next((e for e in ends if s.start < e <= s.start + _MAX_OPEN_TO_RESUME), None)
            if end is None:
                # "将于11月1日20:00至11月3日20:00升级系统，期间部分业务受影响：2、自11月1日23:30开始，
                # 暂停……": a stop from a time inside the stated period written before it lasts to its end
                end = next((t.end for t in spans if t.end is not None and t.pos < s.pos
                            and t.start <= s.start < t.end and t.how == "range"), None)
            if end is not None:
                s = Span(s.start, end, s.pos, s.end_pos, "range", s.dated, s.period)
            elif s.start in closed_starts or (s.how == "dayopen" and not later and not _vague_end(norm, s)):
                continue
            elif not later and RETIRE_RE.search(norm, *vocab.sentence_bounds(norm, s.pos)):
                # "12月5日00:00起，旧版App停止使用，请升级至新版": something old retired for good
                r.set_aside.append("open start set aside: an old version or system retired for good, not a window")
                continue
            elif not later and for_good(norm, s.pos):
                # "1月1日零时起停用……刷卡机，不再受理……，之后将陆续拆除": stopped for good
                r.set_aside.append("open start set aside: something stopped for good (no longer offered or removed), "
                                   "not a window")
                continue
            elif not later and changed_from(norm, s):
                # "12月5日0:00起，提现到账时间由T+1调整为实时": the day a change takes effect
                r.set_aside.append("open start set aside: the date a change takes effect, and nothing stops")
                continue
        out.append(s)
    return out


# The end said only roughly ("工程预计明年3月下旬完成", "预计年底重新开放"): a stop from a day on that
# is temporary, its end unknown, like an end to be announced.
_ROUGH_END_RE = re.compile(r"预计[^。;\n]{0,24}?(?:完成|完工|竣工|恢复|重开|重新开放)")
_PAUSED_RE = re.compile(r"暂停|暂时")


def _vague_end(norm: str, s: Span) -> bool:
    """Whether the whole-day start ``s`` pauses something ("……起暂停服务") and its sentence or the
    next says only roughly when it ends."""
    lo, hi = vocab.sentence_bounds(norm, s.pos)
    if not _PAUSED_RE.search(norm, lo, hi):
        return False
    _, hi2 = vocab.sentence_bounds(norm, min(len(norm), hi + 1))
    return _ROUGH_END_RE.search(norm, s.pos, hi2) is not None


def _own_item(norm: str, s: Span, t: Span) -> bool:
    """Whether the whole-day span ``s`` is on a later line than the timed window ``t`` and its own
    sentence words a stop."""
    return "\n" in norm[t.end_pos:s.pos] and vocab.STOP_RE.search(norm, *vocab.sentence_bounds(norm, s.pos)) is not None


def _drop_summaries(norm: str, spans: list[Span]) -> list[Span]:
    """A whole-day range ("8月28日至8月29日") that contains windows with clock times written after
    it, or a span of several days anywhere, is the notice's overall period, not a window of its
    own; a single whole day written after the timed windows ("……；提现功能12月5日全天暂停") is one
    more window, and so is a span of several days on a later line than the timed windows whose own
    sentence words a stop (an item of its own: "二、……9月20日晚上7时至翌日上午9时暂停\n三、……9月6日至
    18日暂停服务"; not "缴费期限落在12月26日至27日者……")."""
    timed = [s for s in spans if s.how != "days"]
    out: list[Span] = []
    for s in spans:
        if s.how == "days" and s.end is not None and any(
            t.start >= s.start and t.end is not None and t.end <= s.end + timedelta(hours=12)
            and (t.pos > s.pos or (s.end - s.start > timedelta(days=1) and not _own_item(norm, s, t)))
            for t in timed
        ):
            continue
        out.append(s)
    return out


def _take_list(r: Resolver, norm: str, points: list[RawPoint], i: int, run: int, used: int, spans: list[Span]) -> None:
    """One window per date of a list sharing the same hours (``points[i:i+used]``); none when the hours are
    a lecture's or a campaign's (:func:`other_hours`)."""
    a, b = points[i + used - 2], points[i + used - 1]
    if other_hours(r, norm, points[i].start, a, b):
        return
    days = sched.list_dates(points, i, run, r.date_of)
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


# Between hours and the date written right after them: a comma, a bracket, a space, on the same line (a date on
# the next line starts the next row: "12月5日 | 0:00-6:00\n12月12日 | 0:00-6:00").
_DATE_AFTER_RE = re.compile(r"(?:[^\S\n]|[,(])*")
# A point whose match took the line break after it ("8点-22点\n2号教学楼……"): what follows is the next row.
_ENDS_LINE_RE = re.compile(r"\n\s*$")
# A date that starts a range of its own ("……，12月5日至12月7日……") is not the hours' date.
_RANGE_ON_RE = re.compile(r"[\s)]*(?:[-~]|至|到|起)")


# Hours said to hold on the days of the daily range just read ("同一期间每日", "上述期间每天").
# So are hours said to hold on each day too, in a sentence that adds a stop ("另每晚23:50至隔日00:30，……亦暂停").
_SAME_DAYS_RE = re.compile(
    r"(?:(?:同一|相同|同样|上述|以上|同)(?:期间|时期|日期|几天|数日|时段内?)[^。;\n\d]{0,6}?|(?:另外?|此外|并且?)[,\s]*(?:于|在)?)"
    # a bare 每 when 晚 starts the hours' point ("另每晚23:50": the point is "晚23:50")
    r"(?:每日|每天|每晚|每夜|每)\s*(?:的)?\s*$"
)


def _each_day(r: Resolver, a: RawPoint, b: RawPoint, first: date, last: date, pos: int, spans: list[Span]) -> None:
    """One window a day from ``first`` to ``last`` with the hours ``a`` to ``b``."""
    sh = r.hour24(a, None, None)
    eh = r.hour24(b, period_of(a), sh, a.minute)
    for k in range((last - first).days + 1):
        day = first + timedelta(days=k)
        s = at(day, sh, a.minute)
        e = at(day, eh, b.minute)
        if e < s:
            e += timedelta(days=1)
        spans.append(Span(s, e, pos, b.end, "daily"))
    r.last = first
    r.daily_days = (first, last)


def _take_range(r: Resolver, norm: str, points: list[RawPoint], i: int, spans: list[Span]) -> int:
    """Handle the range starting at ``points[i]``; returns how many points it used."""
    p, q = points[i], points[i + 1]
    n = len(points)
    if (r.daily_days is not None and not p.has_date and (not q.has_date or (q.day is None and q.rel in NEXT_DAY))
            and p.has_time and q.has_time
            and _SAME_DAYS_RE.search(norm, max(0, p.start - 24), p.start)):
        # "即日起至7月25日，每日下午1时至2时暂停……；同一期间每日下午1时15分至1时45分暂停……": the
        # days of the daily range before, with hours of their own
        _each_day(r, p, q, *r.daily_days, p.start, spans)
        return 2
    if skip_range(r, norm, p, q):
        # the daily hours of a period set aside ("会员日：5月26日至6月10日，每日10:00-21:00") are that
        # period's too: neither windows nor a timetable of the notice
        if (not p.has_time and not q.has_time and i + 3 < n and points[i + 2].has_time and points[i + 3].has_time
                and not points[i + 2].has_date and _DAILY_RE.fullmatch(norm, q.end, points[i + 2].start) is not None
                and _SEP_RE.fullmatch(norm, points[i + 2].end, points[i + 3].start) is not None):
            return 4
        return 2
    if MOVED_TO_RE.search(norm, max(0, p.start - 8), p.start):
        old_day_whole(norm, p, spans)
    # "12月1日至12月3日每日凌晨1:00-3:00": one window per day; so is "12月5日至12月7日0:00-6:00",
    # where the hours are written on the last day of the span.
    daily = _daily_hours(norm, points, i)
    if (daily is None and not p.has_time and not q.has_time and p.has_date and q.has_date and i + 3 < n
            and _SPAN_LIST_RE.fullmatch(norm, q.end, points[i + 2].start) is not None
            and _SEP_RE.fullmatch(norm, points[i + 2].end, points[i + 3].start) is not None):
        # "9月15日至18日、9月22日至25日每晚22:00至次日6:00": the hours after the last span of a list
        # of spans hold for every span of it
        later = _daily_hours(norm, points, i + 2)
        if later is not None:
            daily = (later[0], later[1], 2)
    if daily is not None:
        first = r.date_of(p, None)
        last = r.date_of(q, first) if first else None
        a, b, used = daily
        if first and last and a.has_time and b.has_time and 0 <= (last - first).days <= 31:
            _each_day(r, a, b, first, last, p.start, spans)
            return used
    if not p.has_time and not q.has_time and (p.period or q.period):
        # "3月19日-27日夜间多个时段": days with a part of the day but no hours: no window can be read.
        r.set_aside.append("time range set aside: days with a part of the day but no hours")
        return 2
    after = points[i + 2] if i + 2 < n else None
    if (not p.has_date and (not q.has_date or (q.day is None and q.rel in NEXT_DAY)) and after is not None
            and after.day is not None and not after.has_time
            and _DATE_AFTER_RE.fullmatch(norm, q.end, after.start) and not _RANGE_ON_RE.match(norm, after.end)
            and not _ENDS_LINE_RE.search(norm, q.start, q.end)):
        # "维护时间：00:00-06:00，2026年12月5日", "凌晨0点至6点（12月5日）": the date after the hours (a list of
        # dates after hours in a header is :mod:`watcher.notices.headers`'s)
        d = r.date_of(after, None)
        if d is not None:
            r.last = d
            span = _range(r, p, q)
            if span is not None:
                spans.append(Span(span.start, span.end, span.pos, after.end, span.how, True, span.period))
            return 3
    span = _range(r, p, q)
    if span is not None:
        spans.append(span)
    return 2




# Between two spans of days in a list ("9月15日至18日、9月22日至25日").
_SPAN_LIST_RE = re.compile(r"\s*(?:\([^()\d]{0,8}\))?\s*(?:、|,|和|及|以及)\s*")


def _daily_hours(norm: str, points: list[RawPoint], i: int) -> tuple[RawPoint, RawPoint, int] | None:
    """The hours every day of the span of days at ``points[i]``, ``points[i + 1]`` holds, and how
    many points the span and its hours use; None when no such hours follow the span."""
    n = len(points)
    if i + 2 >= n:
        return None
    p, q, a = points[i], points[i + 1], points[i + 2]
    if p.has_time or not p.has_date or not q.has_date:
        return None
    if not q.has_time and i + 3 < n and (
        _DAILY_RE.fullmatch(norm, q.end, a.start) is not None
        and _SEP_RE.fullmatch(norm, a.end, points[i + 3].start) is not None
    ):
        return (a, points[i + 3], 4)
    if (q.has_time
            # the end on the next day ("9月15日至18日22:00至次日6:00": every night of the span)
            and (not a.has_date or (a.day is None and a.rel in NEXT_DAY)) and a.has_time
            and _SEP_RE.fullmatch(norm, q.end, a.start) is not None):
        return (q, a, 3)
    return None


def _range(r: Resolver, p: RawPoint, q: RawPoint) -> Span | None:
    d1 = r.date_of(p, None) if p.has_date else None
    if d1 is None:
        d1 = r.last
        if d1 is None:
            d1 = r.published
            r.flag("no date given for a window; assumed the publication date")
    sh = r.hour24(p, None, None) if p.has_time else 0
    start = at(d1, sh, p.minute if p.has_time else 0)
    prev = r.last_range
    if not p.has_date and prev is not None and prev[1].date() > prev[0].date() == d1 and start < prev[0]:
        # "12月5日23:00至12月6日1:00暂停A；1:00至3:00暂停B": after a window across midnight, hours
        # earlier than its start that go on from its end (within the hour) are on its end's day.
        moved = at(prev[1].date(), sh, p.minute if p.has_time else 0)
        if moved <= prev[1] + timedelta(hours=1):
            d1, start = prev[1].date(), moved
    r.last = d1
    explicit_end_date = q.has_date and q.rel not in SAME_DAY
    d2 = r.date_of(q, d1) if q.has_date else d1
    if d2 is None:
        d2 = d1
    dated = own_date(p) or own_date(q)
    if q.has_time:
        # an end on a day of its own ("（20:00-次日8:00）") does not share the start's half of the day
        shared = period_of(p) if p.has_time and q.rel not in NEXT_DAY else None
        eh = r.hour24(q, shared, sh if p.has_time else None, p.minute)
        end = at(d2, eh, q.minute) + (timedelta(minutes=1) if q.second == 59 else timedelta())
    elif p.has_time and q.period is not None:
        # "12月5日22:00至次日凌晨": the end is a part of a day, not a time; no end is guessed.
        r.flag(f"window end given only as {q.period}, no time")
        r.last_range = None
        return Span(start, None, p.start, q.end, "range", dated)
    else:
        end = at(d2, 24, 0)
        if not p.has_time:
            r.note("whole-day window (no times written)")
    if end < start and not explicit_end_date:
        end += timedelta(days=1)
    if end < start:
        r.flag("window end is before its start; end dropped")
        return Span(start, None, p.start, q.end, "range", dated)
    r.last_range = (start, end)
    return Span(start, end, p.start, q.end, "range" if p.has_time or q.has_time else "days", dated)
