"""Raw time points to calendar dates and clock hours, relative to a publication date.

:class:`Resolver` keeps the reading context of one notice: the last date seen (a later time with
no date of its own belongs to it), the doubts met (``flags``), and the resumption points found
("……起恢复", "……上线"), which close windows whose end was not written next to their start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from huabei_watch.clock import SHANGHAI
from watcher.notices.lunar import lunar_new_year_day
from watcher.notices.span import Span
from watcher.notices.timeparse import RawPoint

MORNING = frozenset({"下半夜", "后半夜", "凌晨", "早上", "早晨", "清晨", "上午", "早", "晨"})
NOON = frozenset({"中午", "正午", "午间"})
PM = frozenset({"下午", "傍晚"})
EVENING = frozenset({"晚上", "晚间", "夜间", "夜里", "深夜", "午夜", "晚", "夜"})
REL_PERIOD = {"今晚": "晚上", "明晚": "晚上", "当晚": "晚上", "今早": "早上", "今晨": "早上",
              "明早": "早上", "明晨": "早上", "次晨": "早上", "翌晨": "早上", "昨晚": "晚上", "昨早": "早上", "昨晨": "早上"}
REL_OFFSET = {"今天": 0, "今日": 0, "即日": 0, "今": 0, "今晚": 0, "今早": 0, "今晨": 0, "明天": 1, "明日": 1, "明晚": 1,
              "明早": 1, "明晨": 1, "后天": 2, "昨天": -1, "昨日": -1, "昨晚": -1, "昨早": -1, "昨晨": -1,
              "前天": -2}
NEXT_DAY = frozenset({"次日", "翌日", "次晨", "翌晨", "第二天", "隔天", "隔日"})
SAME_DAY = frozenset({"当天", "当日", "当晚", "同日", "同一天"})
_SAME_DATE = frozenset({"同日", "同一天"})
_HALF_YEAR = timedelta(days=183)
_DAY_ALONE_SLACK = timedelta(days=10)


def safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def at(d: date, hour: int, minute: int) -> datetime:
    """``d`` at ``hour``:``minute`` in Beijing time; hour 24 (and beyond) rolls into the next day."""
    extra = hour // 24
    return datetime.combine(d + timedelta(days=extra), time(hour % 24, minute), tzinfo=SHANGHAI)


def period_of(p: RawPoint) -> str | None:
    return p.period or REL_PERIOD.get(p.rel or "")


def own_date(p: RawPoint) -> bool:
    """Whether ``p`` names a day by itself (a date, 今天/明天, 本周六, 初二), not only relative to
    the day before it (次日, 当天) or a bare weekday that may mean "every such day"."""
    if p.day is not None:
        return True
    if p.rel is not None:
        # 同日 points back at a date written before it ("12月6日……；同日01:00至10:30……"), never at
        # "every such day" as 当天 after a weekday may
        return p.rel in _SAME_DATE or (p.rel not in NEXT_DAY and p.rel not in SAME_DAY)
    return p.week is not None and p.week[0] is not None


@dataclass(slots=True)
class Resolver:
    published: date
    last: date | None = None
    flags: list[str] = field(default_factory=list)  # doubts: a person should check
    notes: list[str] = field(default_factory=list)  # how something was read, no doubt about it
    pending: tuple[RawPoint, date] | None = None  # a lone time that a later "...恢复" may close
    resumptions: list[datetime] = field(default_factory=list)  # "……起恢复", "……上线": ends of open windows
    recurring: int = 0  # ranges said to repeat (每日, 星期一至六): not dated windows
    set_aside: list[str] = field(default_factory=list)  # ranges that are not windows, and why
    last_range: tuple[datetime, datetime] | None = None  # the last range read, for hours after it
    daily_days: tuple[date, date] | None = None  # the days of the last daily range ("同一期间每日……")
    aside: list[Span] = field(default_factory=list)  # ranges set aside as hours of something else (never silent)
    # month-days already read, to their date: the same month-day written again is the same day
    # ("今年2月25日至3月3日……2月25日上午起中断" in a report published in September)
    seen: dict[tuple[int, int], date] = field(default_factory=dict)
    # days written alone, to their date: "平安夜(24日)……元旦(2019年1月1日)……24日下午6时至27日" is the
    # same 24th, not January's
    seen_alone: dict[int, date] = field(default_factory=dict)

    def flag(self, reason: str) -> None:
        if reason not in self.flags:
            self.flags.append(reason)

    def note(self, reason: str) -> None:
        if reason not in self.notes:
            self.notes.append(reason)

    def infer_year(self, month: int, day: int, base: date) -> date | None:
        for year in (base.year, base.year + 1, base.year - 1):
            cand = safe_date(year, month, day)
            if cand is None:
                continue
            if year == base.year:
                if cand < base - _HALF_YEAR:
                    return safe_date(year + 1, month, day)
                if cand > base + _HALF_YEAR:
                    return safe_date(year - 1, month, day)
            return cand
        return None

    def _near_year(self, year: int) -> int:
        """A bare two-digit year is read as 20xx; one that lands decades from publication is the
        ROC year (九十年 = 2001) or the 19xx year that lands within a year of it, when one does."""
        if abs(year - self.published.year) <= 20 or not 2000 <= year < 2100:
            return year
        for cand in (year - 2000 + 1911, year - 100):
            if abs(cand - self.published.year) <= 1:
                return cand
        return year

    def date_of(self, p: RawPoint, anchor: date | None) -> date | None:
        """The calendar date a point names, or None when it names none (or an invalid one)."""
        base = anchor or self.last or self.published
        d: date | None = None
        if p.day is not None:
            if p.year is not None and p.month is not None:
                d = safe_date(self._near_year(p.year), p.month, p.day)
            elif p.year_rel is not None and p.month is not None:
                d = safe_date(self.published.year + p.year_rel, p.month, p.day)
            elif p.month_rel is not None:
                # "下月5日": the month relative to publication
                months = self.published.month - 1 + p.month_rel
                d = safe_date(self.published.year + months // 12, months % 12 + 1, p.day)
            elif p.month is not None:
                d = self.seen.get((p.month, p.day)) if anchor is None else None
                if d is None:
                    d = self.infer_year(p.month, p.day, anchor or self.published)
            else:
                # A day alone is in the month of the date before it (or of publication); one that
                # falls well before that date ("11日" in a notice of 10月25日) is next month's.
                d = self.seen_alone.get(p.day) if anchor is None else None
                if d is None:
                    d = safe_date(base.year, base.month, p.day)
                    floor = anchor or (base - _DAY_ALONE_SLACK)
                    if d is not None and d < floor:
                        nxt = base.replace(day=1) + timedelta(days=32)
                        d = safe_date(nxt.year, nxt.month, p.day)
                    if d is not None and anchor is None:
                        self.seen_alone.setdefault(p.day, d)
            if d is None:
                self.flag(f"invalid date {p.year or ''}-{p.month or ''}-{p.day}")
            elif p.month is not None:
                self.seen.setdefault((p.month, p.day), d)
        elif p.rel is not None:
            if p.rel in REL_OFFSET:
                d = self.published + timedelta(days=REL_OFFSET[p.rel])
            elif p.rel == "除夕" or p.rel.startswith("初"):
                d = lunar_new_year_day(self.published, 0 if p.rel == "除夕" else int(p.rel[1:]))
                if d is None:
                    self.flag(f"{p.rel}: no Spring Festival date known for {self.published.year}")
            elif p.rel in NEXT_DAY:
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
            slipped = self._year_slip(d, p.weekday_tag) if p.year is not None else None
            if slipped is not None:
                # "2025年2月2日（星期一）" in a notice of January 2026: the weekday fits 2026-02-02
                self.flag(f"weekday written does not match {d.isoformat()}; read as {slipped.isoformat()}, "
                          "the year it fits")
                return slipped
            self.flag(f"weekday written does not match {d.isoformat()}")
        return d

    def _year_slip(self, d: date, weekday: int) -> date | None:
        """The same month and day in the year next to the written one that fits ``weekday`` and
        lies within half a year of publication, when the written date does not: a slip of the
        year. None when no such year (or more than one) fits."""
        fits = [c for c in (safe_date(d.year + k, d.month, d.day) for k in (-1, 1))
                if c is not None and c.weekday() == weekday and abs(c - self.published) <= _HALF_YEAR]
        return fits[0] if len(fits) == 1 and abs(d - self.published) > _HALF_YEAR / 2 else None

    def hour24(self, p: RawPoint, inherited: str | None, start_hour: int | None, start_minute: int = 0) -> int:
        """Hour on a 0..24 clock; ``inherited``/``start_hour`` are the range start's, for its end."""
        assert p.hour is not None
        h = p.hour
        period = period_of(p)
        if period is None and inherited is not None and start_hour is not None:
            # "下午2点到4点": the end shares the start's half of the day.
            if inherited in EVENING and h == 12:
                return 24
            # only when the start itself is in the afternoon or evening ("每晚0:00至6:00" is 0 to 6)
            pm = (inherited in PM or inherited in EVENING) and start_hour >= 12
            if pm and h < 12 and start_hour * 60 + start_minute <= (h + 12) * 60 + p.minute <= 24 * 60:
                return h + 12
            return h
        if period is None or period in MORNING:
            # "上午12:00" is 12 a.m., midnight (as "AM 12:00"); noon is 中午12点
            return 0 if (period in ("凌晨", "上午") and h == 12) else h
        if period in NOON:
            return h + 12 if h < 11 else h
        if period in PM:
            return h + 12 if h < 12 else h
        # evening words
        if 6 <= h < 12:
            return h + 12
        if h == 12:
            return 24
        if h < 6:
            self.flag(f"{period}{h}点 read as {h:02d}:00 of the date written; check the day")
        return h

    def moment(self, p: RawPoint, d: date, *, end: bool = False) -> datetime:
        """``p``'s time on day ``d``; an end written to the second as hh:59:59 ("23:59:59") is the
        start of the next minute, as annotated (24:00 is the next day's 00:00)."""
        t = at(d, self.hour24(p, None, None), p.minute)
        return t + timedelta(minutes=1) if end and p.second == 59 else t
