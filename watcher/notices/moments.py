"""A moment with a span around it: "两个节点的前30分钟和后2小时……可能存在延时", "20:00前后各15分钟
暂停下单". The notice names dated moments (a peak, a cut-over) and then the minutes before and
after them in which something stops or degrades: each moment gives a window from ``moment -
before`` to ``moment + after``. The span is written either right after the moment or after a word
pointing back at the moments listed before it (节点, 时间点, 时刻 ...).

Pure helper for :mod:`watcher.notices.windows`.
"""

from __future__ import annotations

import re
from datetime import timedelta

from watcher.notices.resolve import Resolver, own_date
from watcher.notices.span import Span
from watcher.notices.timeparse import RawPoint

_AMOUNT = r"(?P<{0}>\d{{1,3}}(?:\.\d)?|半)\s*个?\s*(?P<{0}u>分钟|小时)"
# "前30分钟和后2小时", "前10分钟至后30分钟", "前后各15分钟", "前后30分钟"
_AROUND_RE = re.compile(
    r"(?:的|之)?\s*(?:"
    r"前\s*" + _AMOUNT.format("a") + r"\s*(?:和|及|与|、|至|到|,|以及)\s*(?:其)?后\s*" + _AMOUNT.format("b")
    + r"|前后\s*(?:各)?\s*" + _AMOUNT.format("c") + r")"
)
# A word pointing back at the moments written before it: "这两个节点的前30分钟……", "该时点前后各10分钟".
# "上述七个节点": the count says which run of moments is meant (the last run of that many).
_BACK_RE = re.compile(
    r"(?:(?P<n>[1-9]|[两二三四五六七八九十])\s*个\s*)?(?:节点|时间点|时点|时刻|整点|时间节点)\s*(?:的|之)?\s*$"
)
_COUNT = {c: i for i, c in enumerate("一二三四五六七八九十", 1)} | {"两": 2}
# Moments listed together: "2025-10-15 20:00、10月20日 20:00".
_LIST_SEP_RE = re.compile(r"\s*(?:、|和|及|与|以及|,)\s*")
_MAX_LOOK_BACK = 400


def _amount(m: re.Match[str], name: str) -> timedelta:
    raw, unit = m.group(name), m.group(name + "u")
    num = 0.5 if raw == "半" else float(raw)
    return timedelta(hours=num) if unit == "小时" else timedelta(minutes=num)


def _moment(p: RawPoint) -> bool:
    return p.has_date and p.has_time and own_date(p)


def _runs_before(norm: str, points: list[RawPoint], pos: int) -> list[list[RawPoint]]:
    """The runs of dated moments listed together before ``pos`` (within 400 characters), last first."""
    before = [p for p in points if p.end <= pos and pos - p.end <= _MAX_LOOK_BACK and _moment(p)]
    runs: list[list[RawPoint]] = []
    for p in reversed(before):
        if runs and _LIST_SEP_RE.fullmatch(norm, p.end, runs[-1][0].start) is not None:
            runs[-1].insert(0, p)
        else:
            runs.append([p])
    return runs


def _count(raw: str | None) -> int | None:
    if raw is None:
        return None
    return int(raw) if raw.isdigit() else _COUNT[raw]


def around(r: Resolver, norm: str, points: list[RawPoint], spans: list[Span]) -> list[Span]:
    """``spans`` with windows around moments: for every span-around phrase, one window per moment it
    refers to (the moment right before it, or the moments listed before a word pointing back at
    them). A lone point read as an open start or a start plus a duration ("……时间点的前20分钟"
    read as 20 minutes) gives way to its window; a point inside a range is no moment."""
    out = list(spans)
    for m in _AROUND_RE.finditer(norm):
        if m.group("c") is not None:
            before = after = _amount(m, "c")
        else:
            before, after = _amount(m, "a"), _amount(m, "b")
        runs = _runs_before(norm, points, m.start())
        back = _BACK_RE.search(norm, max(0, m.start() - 14), m.start())
        if runs and not norm[runs[0][-1].end:m.start()].strip():
            moments = runs[0]  # "A、B 的前30分钟……": the moments written right before
        elif back is not None and runs:
            n = _count(back.group("n"))
            moments = next((run for run in runs if n is None or len(run) == n), [])
        else:
            continue
        for p in moments:
            lone = [s for s in out if s.pos == p.start and s.how in ("open", "duration")]
            if any(s.pos <= p.start < s.end_pos for s in out if s not in lone):
                continue
            d = r.date_of(p, None)
            if d is None:
                continue
            t = r.moment(p, d) + (timedelta(minutes=1) if p.second == 59 else timedelta())  # 23:59:59 is the next minute
            out = [s for s in out if s not in lone]
            out.append(Span(t - before, t + after, m.start(), m.end(), "range", True))
    return out
