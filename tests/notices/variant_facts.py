"""An independent reader of the dates and times written in a notice, used to check that the variant
renderer (``variants.py``) keeps the facts.

:func:`facts` returns the sequence of points a text states, resolved to the calendar: a clock time
becomes a full ``datetime`` on the last date written before it (``24:00`` / 晚上12点 is the next
day's midnight), a date not followed by its time is a whole-day point. Years left out are the ones
nearest the date before (or the publication date), a day written alone takes the month before, and
次日/翌日 is the day after the date before. It reads every format the renderer writes (Arabic and
Chinese numerals, 点/时/分/半, four-digit clock times after a part of the day (``下午1800``),
eight-digit dates (``20250317``), 凌晨/上午/中午/下午/晚上, ``2025-03-24``, ``03/24``, Traditional
characters, full-width digits) and nothing of the parser: it shares no code with ``watcher.notices``,
so a change of the parser cannot make the check pass.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import cache

import opencc

Point = tuple[str, datetime | date]

_CN = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"(\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
_PERIODS = "凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|晚间|夜间"
_TOKEN = re.compile(
    r"(?P<cnd>(?:(?P<cy>[〇零一二三四五六七八九]{4})年)?(?P<cmo>十[一二]?|[一二三四五六七八九])月"
    r"(?P<cdd>[二三]?十[一二三四五六七八九]?|[一二三四五六七八九])[日号])"
    r"|(?P<dur>(?:预计持续|持续|预计|约)(?:(?P<du_h>\d{1,2})(?P<du_half>个半)?小时(?:(?P<du_hm>\d{1,2})分钟)?"
    r"|(?P<du_m>\d{1,3})分钟|(?P<du_hh>半)小时))"
    r"|(?P<dotmd>(?<![\d/.])(?P<om>[01]\d)\.(?P<od2>[0-3]\d)(?![\d.:]))"
    r"|(?P<ymd8>(?<!\d)(?P<y8>(?:19|20)\d\d)(?P<m8>[01]\d)(?P<d8>[0-3]\d)(?!\d))"
    r"|(?P<ymd>(?<!\d)(?P<y>\d{4})\s*[年/.\-]\s*(?P<ym>\d{1,2})\s*[月/.\-]\s*(?P<yd>\d{1,2})(?!\d)\s*[日号]?)"
    r"|(?P<md>(?<![\d/.])(?P<m>\d{1,2})(?:月|/)(?P<d>\d{1,2})(?![\d/:])[日号]?)"
    r"|(?P<next>次日|翌日|第二天|隔日)"
    r"|(?P<day>(?<![\d月/.年])(?P<od>\d{1,2})[日号])"
    rf"|(?P<mil>(?P<mp>{_PERIODS})(?P<mh>[01]\d|2[0-4])(?P<mm>[0-5]\d)(?!\d))"
    rf"|(?P<clock>(?P<cp>{_PERIODS})?\s*(?<![\d.])(?<!\d:)(?P<ch>\d{{1,2}}):(?P<cm>\d{{2}})(?::00)?(?!\d|:\d)(?:\s*(?P<ap>AM|PM))?)"
    rf"|(?P<dian>(?P<dp>{_PERIODS})?(?P<dh>\d{{1,2}}|[零〇一二两三四五六七八九十]{{1,3}})[点时](?!间|段|候|许|期(?!间))"
    r"(?:(?P<half>半)|(?P<dm>\d{1,2})分?|(?P<cm2>[零〇一二两三四五六七八九十]{1,3})分)?)"
)


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _int(s: str) -> int:
    if s.isdigit():
        return int(s)
    s = s.lstrip("零〇") or "零"
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + _CN[s[1]]
    if "十" in s:
        tens, _, ones = s.partition("十")
        return _CN[tens] * 10 + (_CN[ones] if ones else 0)
    return _CN[s]


def _nearest(m: int, d: int, ref: date) -> date | None:
    best: date | None = None
    for y in (ref.year - 1, ref.year, ref.year + 1):
        try:
            cand = date(y, m, d)
        except ValueError:
            continue
        if best is None or abs((cand - ref).days) < abs((best - ref).days):
            best = cand
    return best


def _hour(period: str | None, h: int) -> int:
    if period in ("下午", "傍晚", "晚上", "晚间", "夜间") and h <= 12:
        return h + 12 if h < 12 or period in ("晚上", "晚间", "夜间") else h
    if period == "中午" and h < 11:
        return h + 12
    return h


def prepare(text: str) -> str:
    """Full-width forms folded and Traditional characters made Simplified (OpenCC), before reading."""
    converted: str = _t2s().convert(unicodedata.normalize("NFKC", text))  # OpenCC ships no type hints
    return converted


def facts(text: str, published: date) -> list[Point]:
    """The points ``text`` states, in order: ``("d", date)`` for each date written (次日 included),
    ``("t", datetime)`` for each clock time on the date before it."""
    src = prepare(text)
    out: list[Point] = []
    cur: date | None = None
    for m in _TOKEN.finditer(src):
        g = m.groupdict()
        new: date | None = None
        if g["dur"]:
            last = next((p for k, p in reversed(out) if k == "t"), None)
            if isinstance(last, datetime):
                minutes = (int(g["du_m"]) if g["du_m"] else 30 if g["du_hh"] else
                           int(g["du_h"]) * 60 + (30 if g["du_half"] else int(g["du_hm"] or 0)))
                out.append(("t", last + timedelta(minutes=minutes)))
            continue
        if g["cnd"]:
            year = int("".join(str(_CN[c]) for c in g["cy"])) if g["cy"] else None
            mo, dd = _int(g["cmo"]), _int(g["cdd"])
            try:
                new = date(year, mo, dd) if year else _nearest(mo, dd, cur or published)
            except ValueError:
                continue
        elif g["dotmd"]:
            new = _nearest(int(g["om"]), int(g["od2"]), cur or published)
        elif g["ymd8"]:
            try:
                new = date(int(g["y8"]), int(g["m8"]), int(g["d8"]))
            except ValueError:
                continue
        elif g["ymd"]:
            try:
                new = date(int(g["y"]), int(g["ym"]), int(g["yd"]))
            except ValueError:
                continue
        elif g["md"]:
            new = _nearest(int(g["m"]), int(g["d"]), cur or published)
        elif g["next"]:
            new = (cur or published) + timedelta(days=1)
        elif g["day"]:
            new = _day_after(cur or published, int(g["od"]))
        if new is not None:
            cur = new
            out.append(("d", new))
            continue
        if g["mil"]:
            h, mi, period = int(g["mh"]), int(g["mm"]), g["mp"]
        elif g["clock"]:
            h, mi, period = int(g["ch"]), int(g["cm"]), g["cp"]
            if g["ap"]:
                h = h % 12 + (12 if g["ap"] == "PM" else 0)
        else:
            minute = g["dm"] or g["cm2"]
            h, mi, period = _int(g["dh"]), 30 if g["half"] else (_int(minute) if minute else 0), g["dp"]
        if h > 24 or mi > 59:
            continue
        base = cur or published
        out.append(("t", datetime(base.year, base.month, base.day) + timedelta(hours=_hour(period, h), minutes=mi)))
    return out


def _day_after(base: date, day: int) -> date | None:
    """A day of the month written alone: in the month of ``base``, or the next one when earlier."""
    first = base.replace(day=1)
    for month_start in (first, (first + timedelta(days=32)).replace(day=1)):
        try:
            cand = month_start.replace(day=day)
        except ValueError:
            continue
        if cand >= base or month_start != first:
            return cand
    return None


def same_facts(before: list[Point], after: list[Point]) -> bool:
    """The same clock times in the same order, and the same dates mentioned (a date may be written
    once as a day and once as the midnight of ``24:00``)."""
    times = [p for k, p in before if k == "t"], [p for k, p in after if k == "t"]
    days = [{p if isinstance(p, date) and not isinstance(p, datetime) else p.date() for _, p in side}
            for side in (before, after)]
    return times[0] == times[1] and days[0] == days[1]
