"""Schedules: a list of dates sharing the same hours ("1月24日、2月7日、……、12月12日00:00开始，
08:00前结束", a yearly table of maintenance windows) becomes one window per date.

Pure helpers used by :mod:`watcher.notices.windows`; the resolver there turns points into dates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from watcher.notices.resolve import NEXT_DAY
from watcher.notices.timeparse import RawPoint

# Between two dates of a list (a space alone too: "12/2 12/9 12/16").
LIST_SEP_RE = re.compile(r"\s*(?:[、,;/]|和|及|与|以及)\s*|[^\S\n]*")
# Between the last date of a list and the hours they share ("的", "每日", table bars, "均为").
_TO_HOURS_RE = re.compile(r"[\s|:,]*(?:这|以上|上述)?(?:(?:两|[2-9])\s*个?[日天晚夜](?:的)?)?(?:的|当日|当天|每日|每天|各日|每次|均为|均|为)?\s*(?:均|都)?\s*(?:为|是|在|于)?[\s|:]*")
# "00:00开始，08:00前结束" / "0:00起至6:00止": a range written as a start and an end clause.
START_END_SEP_RE = re.compile(r"\s*(?:开始|起)\s*[,;、]?\s*(?:至|到|直至|直到)?\s*$")
# "……起，次日6:00前，网银暂停": a bare 前 ends the end clause too when the clause stops there.
END_AFTER_RE = re.compile(r"\s*(?:(?:前|之前|以前)?\s*(?:结束|完成|止)|(?:前|之前|以前)(?=\s*(?:[,;。|\n]|$)))")
# A plain range separator between the shared hours.
_HOURS_SEP_RE = re.compile(r"\s*(?:起|开始)?\s*(?:[-—~]+|至|到)\s*")


def _date_only(p: RawPoint) -> bool:
    return p.day is not None and not p.has_time


def _time_only(p: RawPoint) -> bool:
    return p.has_time and not p.has_date


def _end_time(p: RawPoint) -> bool:
    """The end of shared hours: a time, possibly on the next day ("23:00至次日07:00")."""
    return p.has_time and (not p.has_date or p.rel in NEXT_DAY)


def hours_range(norm: str, a: RawPoint, b: RawPoint) -> bool:
    """Whether time points ``a`` and ``b`` are written as one range ("00:00-08:00",
    "0:00开始，8:00前结束")."""
    if _HOURS_SEP_RE.fullmatch(norm, a.end, b.start):
        return True
    return bool(START_END_SEP_RE.fullmatch(norm, a.end, b.start) and END_AFTER_RE.match(norm, b.end))


def hours_follow(norm: str, last: RawPoint, a: RawPoint) -> bool:
    """Whether the hours at ``a`` follow the last date of a list right away ("……12月13日的00:00")."""
    return _TO_HOURS_RE.fullmatch(norm, last.end, a.start) is not None


def list_run(norm: str, points: list[RawPoint], i: int) -> int:
    """How many points from ``points[i]`` on are the dates of one list ("12月5日、12日及19日"): every one but
    the last a date with no time, each after a list separator; 1 when ``points[i]`` starts no list."""
    n = len(points)
    k = i
    while k + 1 < n and _date_only(points[k]) and points[k + 1].day is not None and LIST_SEP_RE.fullmatch(
        norm, points[k].end, points[k + 1].start
    ) and (points[k].end < points[k + 1].start or "\n" not in norm[points[k].start:points[k].end]):
        # dates apart by a space alone are on one line ("12/2 12/9"), not a date per row
        k += 1
    return k - i + 1


def date_list(norm: str, points: list[RawPoint], i: int) -> tuple[int, int]:
    """A list of at least two dates starting at ``points[i]`` followed by the hours they share:
    (number of dates, number of points used), or (0, 0). The hours are either two time points after
    the last date ("……12月13日的00:00-8:00") or written on the last date itself
    ("……12月12日00:00开始，08:00前结束"). Several rows of hours, or hours further on in the sentence, are
    :mod:`watcher.notices.nights`'s."""
    n = len(points)
    k = i + list_run(norm, points, i) - 1
    if k == i or k + 1 >= n:
        return 0, 0
    last = points[k]
    if last.has_time:
        # the hours start on the last date
        ok = _end_time(points[k + 1]) and hours_range(norm, last, points[k + 1])
        return (k - i + 1, k - i + 2) if ok else (0, 0)
    if k + 2 >= n:
        return 0, 0
    a, b = points[k + 1], points[k + 2]
    if not (_time_only(a) and _end_time(b)) or not hours_follow(norm, last, a):
        return 0, 0
    return (k - i + 1, k - i + 3) if hours_range(norm, a, b) else (0, 0)


def list_dates(
    points: list[RawPoint], i: int, count: int, resolve: Callable[[RawPoint, date | None], date | None]
) -> list[date]:
    """The calendar dates of ``points[i:i+count]``; each date is read relative to the one before it,
    so "11月22日、12月13日" published in January stays in one year."""
    out: list[date] = []
    anchor: date | None = None
    for p in points[i : i + count]:
        d = resolve(p, anchor)
        if d is not None:
            out.append(d)
            anchor = d
    return out
