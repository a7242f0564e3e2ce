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

from watcher.notices import layout, vocab
from watcher.notices import schedules as sched
from watcher.notices.resolve import NEXT_DAY, SAME_DAY, Resolver, at, own_date, period_of, safe_date
from watcher.notices.timeparse import RawPoint, find_duration

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
        used = _take_run_of_days(r, norm, points, i, spans)
        if used:
            i += used
            continue
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
                and vocab.START_LABEL_RE.search(norm, max(0, p.start - 10), p.start) is not None
            )
        ):
            i += _take_range(r, norm, points, i, spans)
            continue
        nxt = q.start if q is not None else len(norm)
        _take_single(r, norm, p, nxt, spans, allow_open=allow_open, allow_recovery=allow_recovery)
        i += 1
    spans = _close_late(r, norm, spans)
    spans = [_year_slip(r, s) for s in spans]
    if r.recurring:
        undated = sum(1 for s in spans if not s.dated)
        spans = [s for s in spans if s.dated]
        r.note(f"{r.recurring + undated} range(s) repeat every day or week: a timetable, not dated windows")
    arrears = [s for s in spans if vocab.ARREARS_RE.search(norm, *vocab.sentence_bounds(norm, s.pos))]
    if arrears:
        r.set_aside.append(f"{len(arrears)} time(s) set aside: a stop for accounts in arrears is a rule, not a window")
        spans = [s for s in spans if s not in arrears]
    spans = _drop_summaries(spans)
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
            elif not later and _RETIRE_RE.search(norm, *vocab.sentence_bounds(norm, s.pos)):
                # "12月5日00:00起，旧版App停止使用，请升级至新版": something old retired for good
                r.set_aside.append("open start set aside: an old version or system retired for good, not a window")
                continue
            elif not later and _changed_from(norm, s):
                # "12月5日0:00起，提现到账时间由T+1调整为实时": the day a change takes effect
                r.set_aside.append("open start set aside: the date a change takes effect, and nothing stops")
                continue
        out.append(s)
    return out


def _drop_summaries(spans: list[Span]) -> list[Span]:
    """A whole-day range ("8月28日至8月29日") that contains windows with clock times written after
    it, or a span of several days anywhere, is the notice's overall period, not a window of its
    own; a single whole day written after the timed windows ("……；提现功能12月5日全天暂停") is one
    more window."""
    timed = [s for s in spans if s.how != "days"]
    out: list[Span] = []
    for s in spans:
        if s.how == "days" and s.end is not None and any(
            t.start >= s.start and t.end is not None and t.end <= s.end + timedelta(hours=12)
            and (t.pos > s.pos or s.end - s.start > timedelta(days=1))
            for t in timed
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


# Between hours and the date written right after them: a comma, a bracket, a space.
_DATE_AFTER_RE = re.compile(r"[\s,(]*")
# A date that starts a range of its own ("……，12月5日至12月7日……") is not the hours' date.
_RANGE_ON_RE = re.compile(r"[\s)]*(?:[-~]|至|到|起)")


def _skip_range(r: Resolver, norm: str, p: RawPoint, q: RawPoint) -> bool:
    """Ranges that are not disruption windows: service hours, the customer's own period to act,
    and (counted in ``r.recurring``) timetables repeating every day or week."""
    before = norm[max(0, p.start - 14) : p.start]
    if vocab.OTHER_PERIOD_BEFORE_RE.search(before) or (
        # "客服中心通知：12月5日0:00-6:00系统维护" is a window; "客服热线：9:00-21:00" is not
        vocab.SERVICE_HOURS_RE.search(before) and not vocab.DISRUPTION_RE.search(_clause_outside(norm, p.start, q.end))
    ):
        r.set_aside.append(f"time range set aside: labelled as the hours or period of something else ({before.strip()})")
        return True
    if _other_clause(norm, p.start, q.end):
        r.set_aside.append("time range set aside: its clause names hours of a desk or a campaign, or a service "
                           "running as usual, and no disruption")
        return True
    if vocab.SUBMISSION_AFTER_RE.match(norm, q.end) or (vocab.ACTION_BEFORE_RE.search(before) and not (
        # "请商户于12月5日0:00-6:00期间暂停发起退款" is still a window
        vocab.STOP_RE.search(_clause_outside(norm, p.start, q.end))
    )):
        r.set_aside.append("time range set aside: a period for customers to act in")
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


_CLAUSE_END_RE = re.compile(r"[,;。!?\n]")
# What is retired for good: an old version, system or card stops ("旧版App停止使用", "原系统下线").
_RETIRE_RE = re.compile(
    r"(?:旧版|旧系统|老系统|老版本|旧版本|原系统|原版本|旧卡|老卡|旧接口"
    # "原薪酬申报系统", "老校园卡系统": a named old system
    r"|(?:原(?![定计来因])|旧|老)[^。;\n,\d]{1,10}?(?:系统|平台|版本|客户端|接口))"
    r"[^。;\n]{0,20}?(?:停止使用|停用|下线|不再|停止服务|停止发行|关闭|废止|无法(?:登入|登录|使用|访问))"
)
def retired(norm: str, pos: int) -> bool:
    """Whether the sentence at ``pos`` retires an old system for good, with no gap before its
    successor and no end announced later."""
    lo, hi = vocab.sentence_bounds(norm, pos)
    return (_RETIRE_RE.search(norm, lo, hi) is not None and _SUCCESSOR_NOW_RE.search(norm, lo, hi) is not None
            and _NEW_SAME_DAY_GAP_RE.search(norm, lo, hi) is None and vocab.LATER_RE.search(norm) is None)


# The successor is named as usable now ("请在新的……系统重新填报", "改用新版"); without it an old
# system stopped before a later launch ("旧系统7月14日起停止……新系统7月22日上线") leaves a gap.
_SUCCESSOR_NOW_RE = re.compile(
    r"请(?:在|到|于|使用|登录|改用|通过)[^。;\n]{0,6}?新|改用|新的?[^。;\n]{0,12}?(?:重新|继续)(?:填报|办理|登录|申报|使用)"
    # "旧版将于12月31日停止使用，请及时更新": the new version is there to update to
    r"|请[^。;\n]{0,4}?(?:更新|升级|下载)(?!期间)|(?:更新|升级)(?:至|到|为)[^。;\n]{0,4}?(?:最新|新版)"
)


# The successor is not there yet ("新系统……上线", "待……启用后"): the retirement leaves a gap.
_NEW_SAME_DAY_GAP_RE = re.compile(r"待|届时|上线前|启用前|暂停|过渡")
# After an open start: what changes from then on ("……起，到账时间由T+1调整为实时").
_CHANGE_AFTER_RE = re.compile(r"调整为|调整成|改为|变更为|更改为|升级为|由[^。;\n]{1,12}?(?:调整|改|变更|升级)(?:为|成|至)")


def _changed_from(norm: str, s: Span) -> bool:
    """Whether the sentence of the open start ``s`` says that something changes after it and
    words no stop: an effective date, not a window."""
    lo, hi = vocab.sentence_bounds(norm, s.pos)
    return _CHANGE_AFTER_RE.search(norm, s.end_pos, hi) is not None and vocab.STOP_RE.search(norm, lo, hi) is None


# A numbered list item's head right before a point ("2. ", "二、", "(3)").
_ITEM_HEAD_RE = re.compile(r"(?:^|[\n。;:])[^\S\n]*(?:\d{1,2}\s*[.、)]|[一二三四五六七八九十]{1,3}、|\(\d{1,2}\))[^\S\n]*$")
# "2020年1月1日前已经暂停的用户": a day that bounds something else, not the day itself.
_NOT_THAT_DAY_RE = re.compile(r"[^\S\n]*(?:前|以前|之前|后|以后|之后|止|为止|以来|至今|期间)")
_HOURS_RE = re.compile(r"\d{1,2}\s*(?::\s*\d{2}|[点时](?![间候段期效限长]))")


def _item_day(norm: str, p: RawPoint) -> bool:
    """Whether the date ``p`` (no time) heads a list item whose sentence has no hours, starts
    nothing from it (起, 开始) and words a stop: the item is that whole day."""
    if (not _ITEM_HEAD_RE.search(norm, max(0, p.start - 8), p.start) or vocab.OPEN_AFTER_RE.match(norm, p.end)
            or _NOT_THAT_DAY_RE.match(norm, p.end)):
        return False
    hi = vocab.sentence_bounds(norm, p.end)[1]
    return _HOURS_RE.search(norm, p.end, hi) is None and vocab.STOP_RE.search(norm, p.end, hi) is not None


_WHOLE_DAY_AFTER_RE = re.compile(r"[^\S\n]*(?:的)?(?:全天|全日|一整天|整天)")
_CONTRAST_RE = re.compile(r"但是?|却|惟|唯|然而|不过|只是")
_WORD_RE = re.compile(r"[^\W\d_]")


def _clause_outside(norm: str, lo: int, hi: int) -> str:
    """The words of the clause holding the range ``norm[lo:hi]``, without the range; a clause that
    is nothing but the range is read as the clause after it."""
    c_lo = max((m.end() for m in _CLAUSE_END_RE.finditer(norm, max(0, lo - 40), lo)), default=max(0, lo - 40))
    m = _CLAUSE_END_RE.search(norm, hi)
    c_hi = m.start() if m else len(norm)
    outside = norm[c_lo:lo] + norm[hi:c_hi]
    if not _WORD_RE.search(outside) and m is not None:
        m2 = _CLAUSE_END_RE.search(norm, c_hi + 1)
        outside = norm[c_hi + 1 : m2.start() if m2 else len(norm)]
    return outside


# A clause that is only the name of a row before its times ("积分查询、积分兑换：").
_ROW_NAME_RE = re.compile(r"[^\W\d_][^,;。:!?\n]{0,30}:\s*")


def _other_clause(norm: str, lo: int, hi: int) -> bool:
    """Whether the clause holding the range ``norm[lo:hi]`` says, with no disruption wording, that
    something keeps running or names hours of a desk or a campaign."""
    outside = _clause_outside(norm, lo, hi)
    if vocab.DISRUPTION_RE.search(outside):
        return False
    if _ROW_NAME_RE.fullmatch(outside) and not vocab.SERVICE_HOURS_RE.search(outside) and layout.tied_at(norm, lo):
        # "……暂停服务，安排如下：网银：0:00至3:00；积分查询、积分兑换：0:00至6:00": a row of a list of
        # stops, named by what it stops (兑换 is a function here, not a campaign)
        return False
    if not (vocab.NORMAL_RE.search(outside) or vocab.OTHER_CLAUSE_RE.search(outside)):
        return False
    # "期间各馆照常开放，但不能外借": what runs as usual is set against what stops in that period
    _, s_hi = vocab.sentence_bounds(norm, lo)
    but = _CONTRAST_RE.search(norm, hi, s_hi)
    return not (but and vocab.DISRUPTION_RE.search(norm, but.end(), s_hi))


def _take_range(r: Resolver, norm: str, points: list[RawPoint], i: int, spans: list[Span]) -> int:
    """Handle the range starting at ``points[i]``; returns how many points it used."""
    p, q = points[i], points[i + 1]
    n = len(points)
    if _skip_range(r, norm, p, q):
        return 2
    if _MOVED_TO_RE.search(norm, max(0, p.start - 8), p.start):
        _old_day_whole(norm, p, spans)
    # "12月1日至12月3日每日凌晨1:00-3:00": one window per day; so is "12月5日至12月7日0:00-6:00",
    # where the hours are written on the last day of the span.
    daily: tuple[RawPoint, RawPoint, int] | None = None
    if not p.has_time and p.has_date and q.has_date and not q.has_time and i + 3 < n and (
        _DAILY_RE.fullmatch(norm, q.end, points[i + 2].start) is not None
        and _SEP_RE.fullmatch(norm, points[i + 2].end, points[i + 3].start) is not None
    ):
        daily = (points[i + 2], points[i + 3], 4)
    elif (not p.has_time and p.has_date and q.has_date and q.has_time and i + 2 < n
          and not points[i + 2].has_date and points[i + 2].has_time
          and _SEP_RE.fullmatch(norm, q.end, points[i + 2].start) is not None):
        daily = (q, points[i + 2], 3)
    if daily is not None:
        first = r.date_of(p, None)
        last = r.date_of(q, first) if first else None
        a, b, used = daily
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
            return used
    if not p.has_time and not q.has_time and (p.period or q.period):
        # "3月19日-27日夜间多个时段": days with a part of the day but no hours: no window can be read.
        r.set_aside.append("time range set aside: days with a part of the day but no hours")
        return 2
    after = points[i + 2] if i + 2 < n else None
    if (not p.has_date and not q.has_date and after is not None and after.day is not None and not after.has_time
            and _DATE_AFTER_RE.fullmatch(norm, q.end, after.start) and not _RANGE_ON_RE.match(norm, after.end)):
        # "维护时间：00:00-06:00，2026年12月5日", "凌晨0点至6点（12月5日）": the date after the hours
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


def _take_single(
    r: Resolver, norm: str, p: RawPoint, nxt: int, spans: list[Span], *, allow_open: bool, allow_recovery: bool
) -> None:
    d = r.date_of(p, None) if p.has_date else None
    resume = vocab.RESUME_AFTER_RE.match(norm, p.end, min(nxt, p.end + 30)) if allow_recovery else None
    weak = resume is not None and (resume.group("weak") or resume.group("kick")) is not None
    kick = resume is not None and resume.group("kick") is not None  # 启动: closes, or else starts
    labelled = False
    if allow_recovery and resume is None:
        resume = vocab.RESUME_BEFORE_RE.search(norm, max(0, p.start - 12), p.start)
        labelled = resume is not None
        if resume is None and _has_open(spans, p.start) and not _MOVED_TO_RE.search(norm, max(0, p.start - 8), p.start):
            resume = vocab.END_BEFORE_RE.search(norm, max(0, p.start - 8), p.start)
    stop_m = vocab.STOP_AFTER_RE.match(norm, p.end, min(nxt, p.end + 16))
    # "复电时间:17:00,停电期间电梯停止运转": the label says what the time is; the next clause's stop
    # is not this time's
    stop = stop_m is not None and not (labelled and "," in stop_m.group())
    if not p.has_time:
        if d is None:
            return
        r.last = d
        same = vocab.SAME_HOURS_AFTER_RE.match(norm, p.end)
        if same is not None and r.last_range is not None:
            # "12月5日0:00-2:00暂停网银；12月6日同一时段暂停手机银行": the hours of the range before.
            a, b = r.last_range
            start = at(d, a.hour, a.minute)
            spans.append(Span(start, start + (b - a), p.start, same.end(), "range", own_date(p)))
            return
        if _MOVED_TO_RE.search(norm, max(0, p.start - 8), p.start) and _moved_day(r, norm, p, d, spans):
            return
        if resume is not None and not stop and p.period is not None:
            # "预计于12月6日上午恢复": a part of a day, no hour; no end is guessed (review)
            r.flag(f"a resumption given only as {p.period}, no time")
        elif resume is not None and not stop:
            r.resumptions.append(at(d, 0, 0))
            _close_open(r, spans, p, d, p.start)
        elif allow_open and stop_m is not None and stop_m.group("onward") is None and _one_day(norm, p.end):
            # "本周六停止提供……当天暂停运作": that whole day.
            spans.append(Span(at(d, 0, 0), at(d, 24, 0), p.start, p.end, "days", own_date(p)))
            r.note("whole-day window (no times written)")
        elif allow_open and _WHOLE_DAY_AFTER_RE.match(norm, p.end) and vocab.DISRUPTION_RE.search(
            norm, *vocab.sentence_bounds(norm, p.end)
        ):
            # "12月5日(六)全日系统维护，线上缴费暂停": the whole day written out.
            spans.append(Span(at(d, 0, 0), at(d, 24, 0), p.start, p.end, "days", own_date(p)))
            r.note("whole-day window (no times written)")
        elif allow_open and _item_day(norm, p):
            # "2. 12月5日（星期一），加装计量设备，6号楼停电": a list item headed by a day with no
            # hours in its sentence and a stop in it is that whole day.
            spans.append(Span(at(d, 0, 0), at(d, 24, 0), p.start, p.end, "days", own_date(p)))
            r.note("whole-day window (no times written)")
        elif allow_open and (stop or (
            (vocab.OPEN_AFTER_RE.match(norm, p.end) or vocab.ORIGINAL_BEFORE_RE.search(norm, max(0, p.start - 6), p.start))
            and vocab.disruption_near(norm, p.end)
        )):
            if retired(norm, p.start):
                # "7月1日起，原薪酬申报系统停止使用，请在新的系统重新填报": retired for good, its
                # successor already there; a later launch of something else does not end a window
                r.set_aside.append("open start set aside: an old version or system retired for good, not a window")
                return
            spans.append(Span(at(d, 0, 0), None, p.start, p.end, "dayopen", own_date(p)))
        return
    if (_EXTEND_BEFORE_RE.search(norm, max(0, p.start - 10), p.start)
            and not _EXTEND_OTHER_RE.search(norm, _clause_before(norm, p.start), p.start)
            and _extend_last(r, spans, p, d)):
        return
    if resume is not None and not stop:
        day = d or r.last or r.published
        r.resumptions.append(r.moment(p, day, end=True))
        if not kick or _has_open(spans, p.start):
            # "20:00起暂停开户，22:00起暂停交易；6:00恢复开户，8:00恢复交易": one resumption per
            # stop, in order, when more follow and this one does not say everything is back.
            one = (not kick and sum(1 for s in spans if s.end is None) > 1
                   and not vocab.UNIVERSAL_RE.search(norm, resume.start(), min(len(norm), resume.end() + 6))
                   and vocab.RESUME_AGAIN_RE.search(norm, resume.end(), vocab.sentence_bounds(norm, p.end)[1]) is not None)
            closed = _close_open(r, spans, p, d or day, p.start, rolls=d is None, only_first=one)
            if not closed and not kick:
                # 重启服务 / 开机 are weak resumptions, but still say when a closed range's service is back
                closed = _restart_after(r, norm, spans, p, d)
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
    if seconds is None and (kick or vocab.OPEN_AFTER_RE.match(norm, p.end)):
        # "第一阶段凌晨2时启动；第二阶段凌晨4时30分启动。切转期间各暂停15至30分钟": a duration said
        # to hold for each start, written after the starts that share it.
        seconds = find_duration(norm, p.end, 160, shared_only=True)
    deadline = vocab.DEADLINE_AFTER_RE.match(norm, p.end) is not None  # "10月10日23:59前处理完"
    deadline = deadline or _terms_from(norm, p.end)
    open_start = allow_open and not deadline and (stop or (
        (kick
         or bool(vocab.OPEN_AFTER_RE.match(norm, p.end))
         or bool(vocab.OPEN_BEFORE_RE.search(norm, max(0, p.start - 4), p.start))
         or bool(vocab.START_LABEL_RE.search(norm, max(0, p.start - 10), p.start)))
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
    nxt = hi + 1
    while nxt < len(norm) and norm[nxt] in " \n":  # "。\n": the next sentence, not the empty gap
        nxt += 1
    _, hi2 = vocab.sentence_bounds(norm, min(len(norm), nxt))
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


# Before a date: a window moved to it ("原定12月5日的维护推迟至12月12日").
_MOVED_TO_RE = re.compile(r"(?:推迟|延期|调整|改期|改|顺延|延后|挪|移|提前)(?:至|到)[^\S\n]*$")


def _moved_day(r: Resolver, norm: str, p: RawPoint, d: date, spans: list[Span]) -> bool:
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
    if _HOURS_RE.search(norm, p.end) is None:
        r.flag("a window moved to another day, with no hours of its own written: check its hours")
    return True


# Terms, fees or rules changed from a time on ("自5月5日8:00起，部分产品及服务条款将作修订").
_TERMS_CHANGE_RE = re.compile(
    r"(?:条款|费率|收费|资费|费用|规则|细则|协议|章程|利率|年费|手续费|限额|额度|权益)[^。;\n]{0,8}?(?:修订|调整|变更|生效|更新|修改)"
)


def _terms_from(norm: str, pos: int) -> bool:
    """Whether the time ending at ``pos`` is when terms, fees or rules change, with nothing said
    to stop in its sentence: a date a change takes effect, not a window."""
    lo, hi = vocab.sentence_bounds(norm, pos)
    return bool(_TERMS_CHANGE_RE.search(norm, pos, hi)) and not vocab.STOP_RE.search(norm, lo, hi)


def _old_day_whole(norm: str, p: RawPoint, spans: list[Span]) -> None:
    """"原定于12月6日进行的系统升级已改期至12月10日23:00至12月11日6:00": the old day, an open start
    after 原定 in this sentence with work or a stop named, is that whole day (not open until the
    new range)."""
    lo, _ = vocab.sentence_bounds(norm, p.start)
    old = [k for k, s in enumerate(spans) if s.end is None and s.how == "dayopen" and lo <= s.pos < p.start]
    if old and vocab.DISRUPTION_RE.search(norm, spans[old[-1]].end_pos, p.start):
        s = spans[old[-1]]
        spans[old[-1]] = Span(s.start, s.start + timedelta(days=1), s.pos, s.end_pos, "days", s.dated)


# Before a lone time: the window is extended to it ("维护时间延长至12月5日8:00").
_EXTEND_BEFORE_RE = re.compile(r"延长(?:至|到)[^\S\n]*(?:次日|当日|当天)?[^\S\n]*$")
# What else gets extended: a validity, a campaign, a deadline ("优惠券有效期延长至12月6日").
# A hedge is a caveat, not an extension ("如遇特殊情况，维护时间可能延长至8点").
_EXTEND_OTHER_RE = re.compile(
    r"有效|期限|活动|优惠|报名|缴费|申请|截止|受理期|营业|可能|或将|如遇|若|如有|视情况|最迟|或延长|可延长|必要时|有需要"
)


def _clause_before(norm: str, pos: int) -> int:
    """Where the clause before the one holding ``pos`` starts, within its sentence: a condition
    may stand in its own clause ("如有需要,升级时段或延长至3月8日16:00")."""
    lo = max(norm.rfind(c, 0, pos) for c in "。;\n")
    cuts = [m.start() for m in re.finditer(r"[,，]", norm[lo + 1 : pos])]
    return lo + 1 + cuts[-2] if len(cuts) >= 2 else lo + 1 if lo >= 0 else 0
# How far a window may be extended and still be the one before.
_MAX_EXTENSION = timedelta(days=3)


def _extend_last(r: Resolver, spans: list[Span], p: RawPoint, d: date | None) -> bool:
    """"原定0:00-6:00的系统维护……延长至8:00": the last window written before ``p`` now ends at
    ``p``. False when there is none, or ``p`` is not later than its end (by at most
    ``_MAX_EXTENSION``)."""
    prior = [k for k, s in enumerate(spans) if s.end is not None and s.end_pos <= p.start]
    if not prior:
        return False
    k = prior[-1]
    s = spans[k]
    assert s.end is not None
    e = _end_at(r, p, d or s.end.date(), s.period, s.start)
    if d is None and e <= s.end:
        e += timedelta(days=1)
    if not s.end < e <= s.end + _MAX_EXTENSION:
        return False
    spans[k] = Span(s.start, e, s.pos, p.end, "range", s.dated, s.period)
    r.note(f"the window is extended to {e:%m-%d %H:%M}")
    return True


# How long after a range's end a restart may come and still end that range's window.
_RESTART_SLACK = timedelta(hours=6)


def _restart_after(r: Resolver, norm: str, spans: list[Span], p: RawPoint, d: date | None) -> bool:
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
    e = _end_at(r, p, d or s.end.date(), s.period, s.start)
    if d is None and e < s.end:
        e += timedelta(days=1)
    if not s.end < e <= s.end + _RESTART_SLACK:
        return False
    spans[-1] = Span(s.start, e, s.pos, p.end, "range", s.dated, s.period)
    r.note(f"the service is said to be back at {e:%H:%M}, after the range written: the window ends then")
    return True


def _close_open(
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
