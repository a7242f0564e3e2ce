"""More fact-keeping rewrites for the variants check (round 13): forms real notices use that the
recipes of ``variants.py`` do not write.

* ``cn_numerals``: dates and times in Chinese numerals (``二〇二六年十二月五日``, ``十二月五日``,
  ``晚上十点``, ``凌晨两点半``, ``中午十二点整``);
* ``twelve``: a 12-hour clock, as ``下午3:00`` / ``晚上10:30`` / ``凌晨2:30`` or as ``10:30 PM``;
* ``numeric``: dates as ``2026/12/5``, ``12/5``, ``12.05`` or ``2026年12月05日``;
* ``weekdays``: a weekday after each date, in one of several brackets (``（周六）``, ``(星期六)``,
  `` 週六``, ``（六）``, ``[周六]``, ``(Sat)``);
* ``connectors``: ranges joined by ``~``, `` – ``, ``--``, ``起至`` (with ``止`` after the end), a next
  day as 第二天 / 隔日;
* ``zone``: "北京时间" before the first time, or ``（北京时间）`` / ``（UTC+8）`` / ``(GMT+8)`` after it;
* ``lists``: the rows of a list (``；``) or the sentences with times written one a line, numbered
  ``一、`` / ``1.`` / ``①`` / ``(1)``;
* ``duration``: a range within one day written as its start plus a duration ("22:00开始，预计持续
  1小时30分钟"; the fact reader reads durations);
* ``labels``: English labels mixed in (``Maintenance Window``, ``Downtime``), a date then "当日"
  before the hours of a range it starts (no Japanese label: kana tell a Japanese service, round 11);
* ``compact`` (round 16): four-digit clock times after a part of the day (``下午1800``, ``凌晨0230``)
  and the two ends of a range of dates with their years as eight digits (``20250317-20250407``);
* ``headings`` (round 16): the rows of a list (``；``) or the sentences with times written one a line as
  ``- `` bullets, under a short heading line with no digits (``明细``, ``生产环境``, ``【个人业务】`` ...)
  between the first sentence and the rows, as tables of real notices group their rows;
* ``mixed2``: all of them at once, in Hong Kong or Taiwan Traditional script.

Each rewrite keeps the dates and times: ``variant_facts.facts`` reads the same points before and
after (``test_variants.py``).
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

from tests.notices.variants import _CONNECTORS, _cn, _nearest, _Tok, _tokens

MORE = ("cn_numerals", "twelve", "numeric", "weekdays", "connectors", "zone", "lists", "duration", "labels",
        "compact", "headings")
_WEEK = "一二三四五六日"
_EN_WEEK = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CN_YEAR = "〇一二三四五六七八九"
_MARKS = ("一、", "1. ", "① ", "(1) ")
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def _cn_hour(h: int, mi: int, whole: bool) -> str:
    """``22:00`` -> 晚上十点, ``02:30`` -> 凌晨两点半, ``12:00`` -> 中午十二点整 (24:00 stays)."""
    if h == 24 or (h == 0 and mi == 0):
        return f"{h}:{mi:02d}" if h == 24 else "凌晨零点"
    period, hh = (("凌晨", h) if h < 6 else ("上午", h) if h < 12 else ("中午", h) if h == 12
                  else ("下午", h - 12) if h < 18 else ("晚上", h - 12))
    hour = "两" if hh == 2 else _cn(hh)
    tail = "半" if mi == 30 else f"{_cn(mi)}分" if mi >= 10 else f"零{_cn(mi)}分" if mi else ("整" if whole else "")
    return f"{period}{hour}点{tail}"


def _twelve(h: int, mi: int, english: bool) -> str:
    if h == 24:
        return f"{h}:{mi:02d}"
    if english:
        return f"{h % 12 or 12}:{mi:02d} {'AM' if h < 12 else 'PM'}"
    period = "凌晨" if h < 6 else "上午" if h < 12 else "中午" if h == 12 else "下午" if h < 18 else "晚上"
    return f"{period}{h if h <= 12 else h - 12}:{mi:02d}"


def _cn_date(d: date, year: bool) -> str:
    head = "".join(_CN_YEAR[int(c)] for c in str(d.year)) + "年" if year else ""
    return f"{head}{_cn(d.month)}月{_cn(d.day)}日"


def _keep_year(t: _Tok, d: date, prev: date | None, published: date) -> bool:
    return t.has_year and _nearest(d.month, d.day, prev or published) != d


def _duration(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    if h == 0:
        return "半小时" if m == 30 else f"{m}分钟"
    if m == 0:
        return f"{h}小时"
    return f"{h}个半小时" if m == 30 else f"{h}小时{m}分钟"


def _rewrite(text: str, published: date, recipe: str, rng: random.Random) -> str:
    toks = _tokens(text, published)
    english = rng.random() < 0.4
    date_style = rng.choice(("yslash", "slash", "dot", "pad"))
    week_style = rng.randrange(6)
    conn = rng.choice(("~", " – ", "--", "起至"))
    nxt_word = rng.choice(("第二天", "隔日"))
    out: list[str] = []
    pos = 0
    prev: _Tok | None = None
    prev_date: date | None = None
    skip: set[int] = set()
    for i, t in enumerate(toks):
        if t.start < pos or i in skip:
            continue
        gap = text[pos:t.start]
        is_range = prev is not None and gap.strip() in _CONNECTORS and gap.strip() != ""
        rendered = text[t.start:t.end]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if t.kind == "date":
            assert isinstance(t.value, date)
            d = t.value
            if recipe == "cn_numerals":
                rendered = _cn_date(d, _keep_year(t, d, prev_date, published))
            elif recipe == "numeric":
                year = _keep_year(t, d, prev_date, published)
                rendered = (f"{d.year}/{d.month}/{d.day}" if date_style == "yslash" and t.has_year
                            else f"{d.year}年{d.month:02d}月{d.day:02d}日" if date_style == "pad"
                            else f"{d.year}/{d.month}/{d.day}" if year
                            else f"{d.month}/{d.day}" if date_style == "slash" else f"{d.month:02d}.{d.day:02d}")
                if rendered[-1].isdigit() and text[t.end:t.end + 1].isdigit():
                    rendered += " "
            elif recipe == "weekdays" and text[t.end:t.end + 2].lstrip(" ")[:1] not in ("(", "（", "周", "星", "週"):
                w = d.weekday()
                rendered += ("（周{}）", "(星期{})", " 週{} ", "（{}）", "[周{}]", "({})")[week_style].format(
                    _EN_WEEK[w] if week_style == 5 else _WEEK[w])
            elif recipe == "compact" and t.has_year and (
                    (is_range and prev is not None and prev.kind == "date" and prev.has_year)
                    or (nxt is not None and nxt.kind == "date" and nxt.has_year
                        and text[t.end:nxt.start].strip() in _CONNECTORS and text[t.end:nxt.start].strip())):
                rendered = f"{d.year}{d.month:02d}{d.day:02d}"
            elif recipe == "connectors" and is_range and prev is not None and prev.kind == "time" \
                    and prev_date is not None and d == prev_date + timedelta(days=1) \
                    and nxt is not None and nxt.kind == "time" and text[t.end:nxt.start].strip() == "":
                rendered = nxt_word
            elif recipe == "labels" and nxt is not None and nxt.kind == "time" and text[t.end:nxt.start] == "" \
                    and not is_range and _STARTS_RANGE.match(text, nxt.end) \
                    and text[:t.start].rstrip()[-1:] in ("", "：", ":", "。", "\n") and rng.random() < 0.7:
                rendered += "，当日"
            prev_date = d
        else:
            assert isinstance(t.value, tuple)
            h, mi = t.value
            if recipe == "cn_numerals" and not t.has_period:
                rendered = _cn_hour(h, mi, rng.random() < 0.3)
            elif recipe == "compact" and not t.has_period and h < 24 and not text[t.end:t.end + 1].isdigit():
                period = "凌晨" if h < 6 else "上午" if h < 12 else "中午" if h == 12 else "下午" if h < 18 else "晚上"
                rendered = f"{period}{h:02d}{mi:02d}"
            elif recipe == "twelve" and not t.has_period:
                rendered = _twelve(h, mi, english)
            elif recipe == "duration" and nxt is not None and nxt.kind == "time" and isinstance(nxt.value, tuple):
                between = text[t.end:nxt.start].strip()
                length = nxt.value[0] * 60 + nxt.value[1] - h * 60 - mi
                after = text[nxt.end:nxt.end + 2]
                if between in ("至", "到", "-", "~", "～", "—") and 0 < length <= 6 * 60 \
                        and _DURATION_AFTER.match(after) and not _LISTED_BEFORE.search(text[:t.start]):
                    word = rng.choice(("预计持续", "约", "持续", "预计"))
                    comma = "" if after[:1] in "，,。；;" else "，"
                    out.append(gap + rendered + f"开始，{word}{_duration(length)}{comma}")
                    pos, prev = nxt.end, nxt
                    skip.add(i + 1)
                    continue
        if is_range and recipe == "connectors":
            gap = conn
        out.append(gap + rendered)
        if is_range and recipe == "connectors" and conn == "起至" and t.kind == "time" \
                and text[t.end:t.end + 1] != "止" and (nxt is None or nxt.start > t.end + 1):
            out.append("止")
        pos = t.end
        prev = t
    out.append(text[pos:])
    return "".join(out)


_ROW_SPLIT = re.compile(r"(?<=[；;])")
_SENTENCE_SPLIT = re.compile(r"(?<=[。！？])")
_TIME_NEAR = re.compile(r"\d{1,2}[:：点时]|\d月\d")


def _numbered(text: str, rng: random.Random) -> str:
    mark = rng.choice(_MARKS)
    parts = _ROW_SPLIT.split(text)
    if len([p for p in parts if _TIME_NEAR.search(p)]) < 2:
        parts = _SENTENCE_SPLIT.split(text)
    rows = [p for p in parts if p.strip()]
    if len([p for p in rows if _TIME_NEAR.search(p)]) < 2:
        return text
    out = [rows[0]]
    for n, p in enumerate(rows[1:], start=1):
        head = {"一、": _cn(n + 1) + "、", "1. ": f"{n + 1}. ", "① ": _CIRCLED[min(n, 19)] + " ",
                "(1) ": f"({n + 1}) "}[mark]
        out.append("\n" + head + p.lstrip())
    first = {"一、": "一、", "1. ": "1. ", "① ": "① ", "(1) ": "(1) "}[mark]
    return first + "".join(out)


# headings that only group rows; words that point at what follows (安排, 如下, 具体) are left out: after a
# range they make it the overall period of the rows (``layout.drop_frames``), another layout
_HEADINGS = ("明细", "生产环境", "【个人业务】", "时段一览", "各渠道:", "正式环境")


def _headed(text: str, rng: random.Random) -> str:
    """The rows of ``text`` as bullets under a heading line (recipe ``headings``)."""
    parts = _ROW_SPLIT.split(text)
    if len([p for p in parts if _TIME_NEAR.search(p)]) < 2:
        parts = _SENTENCE_SPLIT.split(text)
    rows = [p for p in parts if p.strip()]
    if len(rows) < 3 or len([p for p in rows[1:] if _TIME_NEAR.search(p)]) < 2:
        return text
    return rows[0].rstrip() + "\n" + rng.choice(_HEADINGS) + "".join("\n- " + p.strip() for p in rows[1:])


# a range written as a start plus a duration only where a real notice could: ended by a mark or
# followed by what stops, not inside a list of ranges or a weekly timetable, nor before 的/期间
_DURATION_AFTER = re.compile(r"[，,。；;]|(?![、及和与的期之间—\-(（\d])[\u4e00-\u9fff]")
_LISTED_BEFORE = re.compile(r"(?:[、及和与]|每|逢|每逢)\s*\S{0,6}$")
_STARTS_RANGE = re.compile(r"\s*(?:至|到|-|~|～|—)")
_LABEL = re.compile(r"(维护|停机|升级|暂停|作业|维修|停电)(时间|时段|期间)([：:])")


def _labels(text: str, rng: random.Random) -> str:
    # no Japanese label: kana tell a Japanese service, whose times are read as Japan's (round 11)
    en = rng.choice(("Maintenance Window", "Service Suspension", "Downtime", "Date & Time"))
    new, n = _LABEL.subn(lambda m: f"{m[1]}{m[2]} {en}{m[3]}", text, count=1)
    return new if n else f"{en}（{'系统维护通知'}）\n{text}"


def _zone(text: str, published: date, rng: random.Random) -> str:
    toks = [t for t in _tokens(text, published) if t.kind == "time"]
    if not toks:
        return text
    style = rng.randrange(4)
    first = next((t for t in _tokens(text, published) if t.kind == "date"), None)
    if style == 0 and first is not None:  # before a date, never between a part of the day and its time
        return f"{text[:first.start]}北京时间{text[first.start:]}"
    style = style or 1
    t = toks[min(1, len(toks) - 1)]
    mark = ("（北京时间）", "（UTC+8）", "(GMT+8)")[style - 1]
    end = t.end + len(_AFTER_TIME.match(text, t.end)[0])  # type: ignore[index]
    return f"{text[:end]}{mark}{text[end:]}"


_AFTER_TIME = re.compile(r"(?:\s*(?:AM|PM))?止?")


def rewrite_more(text: str, published: date, recipe: str, rng: random.Random) -> str:
    """The body rewritten by one of :data:`MORE` (or all of them for ``mixed2``)."""
    steps: tuple[str, ...] = MORE if recipe == "mixed2" else (recipe,)
    if recipe == "mixed2":  # pick one form per kind of step, so that they compose
        steps = ("duration", "connectors", rng.choice(("cn_numerals", "twelve")),
                 rng.choice(("numeric", "weekdays")), "zone", "lists", "labels")
    for step in steps:
        if step == "lists":
            text = _numbered(text, rng)
        elif step == "headings":
            text = _headed(text, rng)
        elif step == "labels":
            text = _rewrite(text, published, "labels", rng)
            text = _labels(text, rng)
        elif step == "zone":
            text = _zone(text, published, rng)
        else:
            text = _rewrite(text, published, step, rng)
    return text
