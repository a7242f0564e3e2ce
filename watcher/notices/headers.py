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

The same hours may also come right after the list, as its sentence's next clause ("2027年维护日期：1月9日-10日、
2月20日-21日……，维护时间为周六22:00至周日06:00"), and the list may be numbered rows, each a day or a span
with its weekday ("如下：\n1. 1月2日(周六)至1月3日(周日)\n2. ……"): read the same way, the year taken from
the label before the colon.

A year written alone at the head of a sentence or an item, as a period or a label ("二、2015年春节期间停运……：
2月17日16:00至……", "2015年全年共设12次维护窗口，日期为1月24日、……") is likewise the year of the months and days
after it in that sentence (:func:`lead_year`), so a notice published late in the year or the next keeps them in
that year; a year and month so written ("2024年6月多次割接：6日、11日……") is the month of the days alone after it.

Pure: called at the end of :func:`watcher.notices.normalize.normalize`.
"""

from __future__ import annotations

import re

from watcher.notices.fragments import DAY, MONTH

_PERIOD = r"(?:凌晨|清晨|早上|上午|中午|下午|傍晚|晚上|晚间|夜间|夜里|晚)?"
_CLOCK = rf"{_PERIOD}\s*\d{{1,2}}(?::\d{{2}}(?::\d{{2}})?|\s*[点时](?:\s*\d{{1,2}}\s*分|半)?)"
_WEEKDAY = r"(?:(?:每)?(?:周|星期|礼拜)[一二三四五六日天])?"
_NEXT = r"(?:次日|翌日|隔日|隔天|第二天)?"
# the header: an optional year, a label, then the hours in brackets or before the colon
_HEADER_RE = re.compile(
    rf"(?:(?P<year>(?:19|20)\d\d)\s*年(?!\s*\d))?[^\n:。;\d]{{0,12}}?"
    rf"(?P<hours>\(?\s*(?:每晚|每天|每日|每次)?\s*{_WEEKDAY}\s*(?P<t1>{_CLOCK})\s*(?:至|到|-|~)\s*(?P<next>{_NEXT}|{_WEEKDAY})\s*"
    rf"(?P<t2>{_CLOCK})\s*\)?)\s*(?:如下)?\s*:\s*"
)
# hours right after the list, its sentence's next clause ("，维护时间为周六22:00至周日06:00", "\n每次维护时间均为……")
_HOURS_AFTER_RE = re.compile(
    rf"\s*[,;]?\s*(?:每次)?[^\n:。;,\d]{{0,8}}?时间\s*(?:均|皆|都)?\s*(?:为|是|:)\s*"
    rf"(?P<hours>{_WEEKDAY}\s*(?P<t1>{_CLOCK})\s*(?:至|到|-|~)\s*(?P<next>{_NEXT}|{_WEEKDAY})\s*(?P<t2>{_CLOCK}))"
)
# the label of a list whose hours come after it: an optional year, then no digits, up to the colon
_LABEL_RE = re.compile(r"(?:(?P<year>(?:19|20)\d\d)\s*年(?!\s*\d))?[^\n:。;\d]{0,12}:\s*")
_WEEKDAY_TAG = r"(?:\s*\((?:周|星期|礼拜)[一二三四五六日天]\))?"
# an entry: a day or a span of days written 月日 (its year too), 2026-12-05 or 2026/12/05, 12/5, or a day
# alone after an entry with its month ("12月7日、8日及9日")
_FIRST_ENTRY = (
    rf"(?:(?P<y1>(?:19|20)\d\d)\s*年\s*)?(?P<m1>{MONTH})月(?P<d1>{DAY})[日号]{_WEEKDAY_TAG}"
    rf"(?:\s*(?:-|至|到|~)\s*(?:(?P<m2>{MONTH})月)?(?P<d2>{DAY})[日号]{_WEEKDAY_TAG})?"
    rf"|(?P<y3>(?:19|20)\d\d)[-/](?P<m3>{MONTH})[-/](?P<d3>{DAY})(?![\d/:-])"
    rf"|(?<![\d/.-])(?P<m4>{MONTH})/(?P<d4>{DAY})(?![\d/:-])"
)
_ENTRY_RE = re.compile(rf"{_FIRST_ENTRY}|(?<![\d/.-])(?P<d5>{DAY})[日号]")
# the same entry without its names, to be repeated in a list
_ENTRY = re.sub(r"\(\?P<\w+>", "(?:", _ENTRY_RE.pattern)
_FIRST = re.sub(r"\(\?P<\w+>", "(?:", _FIRST_ENTRY)
# a numbered row's head ("\n2. ", "\n3、")
_ROW = r"(?:\d{1,2}[^\S\n]*[.、)][^\S\n]*)"
_SEP = rf"(?:\s*(?:、|,|;|及|和|与)\s*|[^\S\n]+|[^\S\n]*\n[^\S\n]*{_ROW})"
# the list right after the header: two entries or more, no hours of their own
_LIST_RE = re.compile(rf"(?:{_FIRST})(?:{_SEP}(?:{_ENTRY}))+(?!\s*\d{{1,2}}\s*[:点时])")


_LIST_AFTER_COLON_RE = re.compile(rf":\s*{_ROW}?(?=(?:19|20)\d\d\s*[年/-]|{MONTH}\s*[月/])")
_HEADER_ROOM = 80  # how far before its colon a header may start


def spell_out(t: str) -> str:
    """``t`` with every header-plus-list written as ranges (see the module docstring)."""
    if ":" not in t:
        return t
    out: list[str] = []
    last = 0
    for c in _LIST_AFTER_COLON_RE.finditer(t):
        lst = _LIST_RE.match(t, c.end())
        if lst is None or c.start() < last:
            continue
        lo = max(last, c.start() - _HEADER_ROOM)
        colon = t.index(":", c.start())
        h = next((m for m in _HEADER_RE.finditer(t, lo, colon + 1) if m.end() >= colon + 1), None)
        if h is not None:
            # the header's hours are now written with each entry: read there only, not as a range of their own
            out.append(t[last:h.start("hours")])
            out.append(t[h.end("hours"):lst.start()])
            out.append(_entries(lst.group(), h.group("year"), h))
            last = lst.end()
            continue
        after = _HOURS_AFTER_RE.match(t, lst.end())
        label = next((m for m in _LABEL_RE.finditer(t, lo, colon + 1) if m.end() >= colon + 1), None)
        if after is None or label is None:
            continue
        # the hours after the list, likewise, are read with each entry only
        out.append(t[last:lst.start()])
        out.append(_entries(lst.group(), label.group("year"), after))
        out.append(t[lst.end():after.start("hours")])
        last = after.end("hours")
    if not out:
        return t
    out.append(t[last:])
    return "".join(out)


def _entries(lst: str, year_digits: str | None, h: re.Match[str]) -> str:
    """Each entry of ``lst`` written out with the hours ``t1``/``t2`` of ``h`` (see the module docstring)."""
    year = f"{year_digits}年" if year_digits else ""
    nxt = h.group("next")
    next_day = bool(nxt) and not nxt.startswith(("周", "星期", "礼拜", "每"))
    entries: list[str] = []
    month = ""
    for e in _ENTRY_RE.finditer(lst):
        own_year = e.group("y1") or e.group("y3")
        year = f"{own_year}年" if own_year else year
        m1 = e.group("m1") or e.group("m3") or e.group("m4") or month
        d1 = e.group("d1") or e.group("d3") or e.group("d4") or e.group("d5")
        month = m1
        m2, d2 = e.group("m2") or m1, e.group("d2")
        if d2 is None:
            end = f"{'次日' if next_day else ''}{h.group('t2')}"
            entries.append(f"{year}{m1}月{d1}日{h.group('t1')}至{end}")
        else:
            entries.append(f"{year}{m1}月{d1}日{h.group('t1')}至{year}{m2}月{d2}日{h.group('t2')}")
    return "、".join(entries)


# a year alone heading a sentence, a line or a numbered item, as a period ("2015年全年", "2015年春节期间")
# or as a label before a colon ("2026年度维护安排："), then the first month and day of that sentence;
# a year of something done then ("2018年上线的系统……", "2025年度报告已发布，……") is neither
_LEAD_PERIOD = (r"(?:全年|年内|年底|年末|年初|[上下]半年|第[一二三四1-4]季度|[春夏秋冬]季|春节|元旦|清明|劳动节|五一|端午|中秋|"
                r"国庆|十一|暑期|暑假|寒假|期间)")
_NO_DATE = r"(?:[^\n。;:\d]|\d+(?!\s*[年月日号/.:\d-]))"
_LEAD_YEAR_RE = re.compile(
    rf"(?:^|(?<=[\n。;]))\s*(?:[一二三四五六七八九十]{{1,3}}、|\(?[一二三四五六七八九十]{{1,3}}\)|{_ROW}|[-*•·]\s*)?"
    rf"(?P<year>(?:19|20)\d\d)\s*年(?:\s*(?P<month>{MONTH})\s*月)?(?!\s*\d)"
    rf"(?:(?={_LEAD_PERIOD}){_NO_DATE}{{0,40}}?|[^\n。;:,\d]{{0,16}}(?=:)):?\s*"
    # a month and day; after a year and month ("2024年6月多次割接：6日、11日……"), a day alone
    rf"(?=(?<![\d/.-])(?:{MONTH}\s*月\s*{DAY}\s*[日号]|(?P<lone>(?:每月)?){DAY}\s*[日号]))"
)


def lead_year(t: str) -> str:
    """``t`` with the year heading a sentence written before its months and days (see the module docstring):
    each one up to the end of the sentence or line, while the months do not go back (a range into January
    is the next year's)."""
    if "年" not in t:
        return t
    out: list[str] = []
    last = 0
    for m in _LEAD_YEAR_RE.finditer(t):
        if m.start() < last:
            continue
        stop = _SENTENCE_END_RE.search(t, m.end())
        end = stop.start() if stop else len(t)
        out.append(t[last : m.end()])
        last = m.end()
        if m.group("lone") is not None:
            if m.group("month") is None:
                continue
            # the days alone are in the heading's month ("2024年6月……：每月6日、11日" as written)
            last = m.end() + len(m.group("lone"))
            out.append(t[m.end() : last] + f"{m.group('year')}年{m.group('month')}月")
        month = 0
        for d in _BARE_MONTH_DAY_RE.finditer(t, m.end(), end):
            if int(d.group("m")) < month:
                break
            month = int(d.group("m"))
            out.append(t[last : d.start()] + f"{m.group('year')}年")
            last = d.start()
    out.append(t[last:])
    return "".join(out)


_SENTENCE_END_RE = re.compile(r"[。\n]")
# a month and day with no year before it
_BARE_MONTH_DAY_RE = re.compile(rf"(?<![\d/.年-])(?<![\d/.年-]\s)(?P<m>{MONTH})\s*月\s*{DAY}\s*[日号]")
