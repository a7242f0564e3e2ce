"""Dates listed first, then several rows of hours that each hold on every listed date.

A platform's schedule often names the days once and then one row per service, each with its own
hours and no date ("涉及12月3日、12月10日、12月17日三晚。每晚20:00-23:00 查询接口限流；20:30至
次日01:00 导出功能不可用"): every row is a window on every listed date. The block is read only when
the list is closed by a count of the days, an "every day" word or a colon (三晚, 两天, 每晚, 各日, ：),
or when two rows or more follow it; a plain list of dates with one shared range stays
:func:`watcher.notices.schedules.date_list`'s.

Pure helper for :mod:`watcher.notices.windows`.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from watcher.notices import schedules as sched
from watcher.notices.range_filter import other_hours
from watcher.notices.resolve import NEXT_DAY, SAME_DAY, Resolver, at, period_of
from watcher.notices.span import Span
from watcher.notices.timeparse import RawPoint

_COUNT = r"(?:\d{1,2}|[两二三四五六七八九十]{1,2})\s*个?\s*(?:晚上?|夜晚?|天|日|夜)"
_EVERY = r"(?:每|各)\s*(?:晚上?|天|日|夜)?"
# Between the last listed date and the first row's start: a count of the days and/or "every day".
_TAIL_RE = re.compile(
    rf"[\s)]*(?:(?:这|共|等)?\s*{_COUNT}\s*(?:的)?\s*(?:晚上|夜间|夜里)?\s*[:。,;]?\s*(?:{_EVERY})?|{_EVERY}|(?:期间|安排|时段)?\s*:)"
    r"\s*(?:的)?\s*[:,]?\s*(?:(?:\d{1,2}\s*[.、)]|\(\d{1,2}\)|[-*•])\s*)?"
)
# Between the last listed date and the first row, more words: the rest of the sentence ("……12月16日进行系统
# 维护:01:00-05:00……"), a heading and a label on the lines below ("\n暂停时段:\n手机银行:每日"), or a
# sentence that ends in a colon ("。各日安排如下:\n"); no digit (no other date, time or count), no second
# sentence. One row after it is enough.
_LOOSE_TAIL_RE = re.compile(r"[^\d。!?]{0,40}(?:。[^\d。!?]{0,16}:\s*)?")
# A list followed right by the first row's hours ("10月24日、10月31日19:45-22:00 A接口限流；19:45-22:30
# B字段不返回"): read here only when two rows or more follow (one row is a plain date list).
_PLAIN_TAIL_RE = re.compile(r"[\s)]*(?:的|各日|均为|均|为|在|于)?\s*:?\s*")
# Where a block of rows ends: the end of the sentence group, or a line that does not start with
# hours (rows may be written one a line: "……两晚：\n1. 20:00-22:00 ……\n2. 20:30-23:00 ……").
# A row may be named first ("手机银行:每日01:00-05:00").
_BLOCK_END_RE = re.compile(
    r"。|\n(?![^\S\n]*(?:\d{1,2}\s*[.、)]|\(\d{1,2}\)|[-*•])?[^\S\n]*(?:[^\W\d_][^:\n\d]{0,15}:[^\S\n]*(?:每日|每天|每晚)?)?"
    r"(?:凌晨|上午|中午|下午|傍晚|晚上?|夜间|早上?)?\d{1,2}\s*[:点时])"
)


def _list_end(norm: str, points: list[RawPoint], i: int) -> int:
    """Index of the last date of a list of dates with no hours starting at ``points[i]`` (``i``
    itself when there is no list)."""
    k = i + sched.list_run(norm, points, i) - 1
    return k - 1 if k > i and points[k].has_time else k


# Two days joined as a span ("10月20日至10月22日期间，每晚……"): every day between them is listed.
_DAY_SPAN_SEP_RE = re.compile(r"\s*(?:[-~—]|至|到)\s*")
_SPAN_TAIL_RE = re.compile(rf"[\s)]*(?:期间|内)?\s*[,:]?\s*{_EVERY}\s*(?:的)?\s*[:,]?\s*")
_MAX_SPAN_DAYS = 31


def _span_days(r: Resolver, norm: str, points: list[RawPoint], i: int) -> list[date] | None:
    """The days of a span of dates starting at ``points[i]`` followed by an "every day" word."""
    if i + 2 >= len(points):
        return None
    p, q = points[i], points[i + 1]
    if not (p.day is not None and q.day is not None and not p.has_time and not q.has_time
            and _DAY_SPAN_SEP_RE.fullmatch(norm, p.end, q.start)
            and _SPAN_TAIL_RE.fullmatch(norm, q.end, points[i + 2].start)):
        return None
    first = r.date_of(p, None)
    last = r.date_of(q, first) if first else None
    if first is None or last is None or not 0 < (last - first).days <= _MAX_SPAN_DAYS:
        return None
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def take(r: Resolver, norm: str, points: list[RawPoint], i: int, spans: list[Span]) -> int:
    """Read the block starting at ``points[i]`` into ``spans``; the number of points used (0 when
    there is no such block)."""
    n = len(points)
    span_days = _span_days(r, norm, points, i)
    if span_days is not None:
        # a span of days with hours every day: read here only with two rows or more (one row is
        # the daily range of :mod:`watcher.notices.windows`)
        rows, j = _rows(norm, points, i + 2, i + 2)
        if len(rows) < 2:
            return 0
        _spread(r, rows, span_days, spans)
        return j - i
    k = _list_end(norm, points, i)
    if points[i].day is None or points[i].has_time or k + 2 >= n:
        return 0
    nxt = points[k + 1]
    if nxt.day is not None and nxt.has_time and sched.LIST_SEP_RE.fullmatch(norm, points[k].end, nxt.start):
        # the last date carries the first row's start ("……、11月10日19:45-22:00 ……")
        k, j, plain, last_dated = k + 1, k + 1, True, True
    elif k == i:
        return 0
    else:
        plain = _PLAIN_TAIL_RE.fullmatch(norm, points[k].end, nxt.start) is not None
        if (not plain and not _TAIL_RE.fullmatch(norm, points[k].end, nxt.start)
                # after more words, the first row has no date of its own ("……两日停电：12月5日8:00-12:00……"
                # is a row of its day)
                and (nxt.has_date or not _LOOSE_TAIL_RE.fullmatch(norm, points[k].end, nxt.start))):
            return 0
        j, last_dated = k + 1, False
    rows, j = _rows(norm, points, j, j)
    # "10月20日、11月1日、11月10日当晚19:45~22:00": the row's own 当晚 refers to every listed day
    same_day = bool(rows) and rows[0][0].rel in SAME_DAY and not last_dated
    if not rows or (plain and len(rows) < 2 and not same_day):
        return 0
    # the hours of a lecture or a campaign on the listed days ("活动日期：12/6、12/8，每日12:00至14:00消费可享
    # 双倍积分") are no window, unless the list's sentence words a disruption
    rows = [(a, b) for a, b in rows if not other_hours(r, norm, points[i].start, a, b)]
    _spread(r, rows, sched.list_dates(points, i, k - i + 1, r.date_of), spans)
    return j - i


def _rows(norm: str, points: list[RawPoint], j: int, first_row: int) -> tuple[list[tuple[RawPoint, RawPoint]], int]:
    """The rows of hours from ``points[j]`` to the end of the block, and the index after them."""
    n = len(points)
    rows: list[tuple[RawPoint, RawPoint]] = []
    stop = _BLOCK_END_RE.search(norm, points[first_row].start)
    block_end = stop.start() if stop else len(norm)
    while j + 1 < n and points[j].start < block_end:
        a, b = points[j], points[j + 1]
        if (a.has_date and j != first_row and a.rel not in SAME_DAY) or not a.has_time:
            break
        if b.has_time and (not b.has_date or b.rel in NEXT_DAY) and b.start < block_end and sched.hours_range(norm, a, b):
            rows.append((a, b))
            j += 2
            continue
        j += 1  # a lone time inside a row ("建议23点后再调用") is no window
    return rows, j


def _spread(r: Resolver, rows: list[tuple[RawPoint, RawPoint]], days: list[date], spans: list[Span]) -> None:
    """One window per row and day."""
    for a, b in rows:
        sh = r.hour24(a, None, None)
        shared = period_of(a) if b.rel not in NEXT_DAY else None
        eh = r.hour24(b, shared, sh, a.minute)
        for day in days:
            start = at(day, sh, a.minute)
            end = at(day + timedelta(days=1) if b.rel in NEXT_DAY else day, eh, b.minute)
            if end < start:
                end += timedelta(days=1)
            spans.append(Span(start, end, a.start, b.end, "daily"))
    if days:
        r.last = days[0]
