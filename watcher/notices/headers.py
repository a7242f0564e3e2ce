"""Hours written once in a header, then a list of the days they hold on.

A yearly or monthly schedule often gives the hours once, in brackets or before a colon, and then
only the days: "2017年维护时段(星期六下午1时至星期日晚上11时):1月7日-8日、2月4日-5日……" or
"维护时间每晚22:00至次日6:00:3月5日、3月12日". Each listed day (or span of two days) is written out
with the header's hours ("2017年1月7日下午1时至1月8日晚上11时"), so every entry is a range of its own,
and the hours are taken out of the header (they are no range of their own);
a year written in the header ("2017年……") is given to each entry. A span takes the start hour on
its first day and the end hour on its last; a single day takes both, with the end on the next day
when 次日 (or a later weekday) says so. Headers without hours, or lists with hours of their own,
are left as written.

Pure: called at the end of :func:`watcher.notices.normalize.normalize`.
"""

from __future__ import annotations

import re

from watcher.notices.fragments import DAY, MONTH

_PERIOD = r"(?:凌晨|清晨|早上|上午|中午|下午|傍晚|晚上|晚间|夜间|夜里|晚)?"
_CLOCK = rf"{_PERIOD}\s*\d{{1,2}}(?::\d{{2}}|\s*[点时](?:\s*\d{{1,2}}\s*分|半)?)"
_WEEKDAY = r"(?:(?:每)?(?:周|星期|礼拜)[一二三四五六日天])?"
_NEXT = r"(?:次日|翌日|第二天)?"
# the header: an optional year, a label, then the hours in brackets or before the colon
_HEADER_RE = re.compile(
    rf"(?:(?P<year>(?:19|20)\d\d)\s*年(?!\s*\d))?[^\n:。;\d]{{0,12}}?"
    rf"(?P<hours>\(?\s*(?:每晚|每天|每日|每次)?\s*{_WEEKDAY}\s*(?P<t1>{_CLOCK})\s*(?:至|到|-|~)\s*(?P<next>{_NEXT}|{_WEEKDAY})\s*"
    rf"(?P<t2>{_CLOCK})\s*\)?)\s*:\s*"
)
_ENTRY_RE = re.compile(
    rf"(?P<m1>{MONTH})月(?P<d1>{DAY})[日号](?:\s*(?:-|至|到|~)\s*(?:(?P<m2>{MONTH})月)?(?P<d2>{DAY})[日号])?"
)
# the same entry without its names, to be repeated in a list
_ENTRY = re.sub(r"\(\?P<\w+>", "(?:", _ENTRY_RE.pattern)
_SEP = r"(?:\s*(?:、|,|;|及|和|与)\s*|[^\S\n]+)"
# the list right after the header: two entries or more, no hours of their own
_LIST_RE = re.compile(rf"{_ENTRY}(?:{_SEP}{_ENTRY})+(?!\s*\d{{1,2}}\s*[:点时])")


_LIST_AFTER_COLON_RE = re.compile(rf":\s*(?={MONTH}月{DAY}[日号])")
_HEADER_ROOM = 80  # how far before its colon a header may start


def spell_out(t: str) -> str:
    """``t`` with every header-plus-list written as ranges (see the module docstring)."""
    if ":" not in t or ("日" not in t and "号" not in t):
        return t
    out: list[str] = []
    last = 0
    for c in _LIST_AFTER_COLON_RE.finditer(t):
        lst = _LIST_RE.match(t, c.end())
        if lst is None or c.start() < last:
            continue
        lo = max(last, c.start() - _HEADER_ROOM)
        h = next((m for m in _HEADER_RE.finditer(t, lo, c.end()) if m.end() == c.end()), None)
        if h is None:
            continue
        year = f"{h.group('year')}年" if h.group("year") else ""
        next_day = bool(h.group("next")) and not h.group("next").startswith(("周", "星期", "礼拜", "每"))
        entries: list[str] = []
        for e in _ENTRY_RE.finditer(lst.group()):
            m1, d1, m2, d2 = e.group("m1"), e.group("d1"), e.group("m2") or e.group("m1"), e.group("d2")
            if d2 is None:
                end = f"{'次日' if next_day else ''}{h.group('t2')}"
                entries.append(f"{year}{m1}月{d1}日{h.group('t1')}至{end}")
            else:
                entries.append(f"{year}{m1}月{d1}日{h.group('t1')}至{year}{m2}月{d2}日{h.group('t2')}")
        # the header's hours are now written with each entry: read there only, not as a range of their own
        out.append(t[last:h.start("hours")])
        out.append(t[h.end("hours"):lst.start()])
        out.append("、".join(entries))
        last = lst.end()
    if not out:
        return t
    out.append(t[last:])
    return "".join(out)
