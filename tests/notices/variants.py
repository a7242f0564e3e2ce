"""Variants of annotated maintenance notices that keep their facts: a robustness check that does not
depend on our exact texts.

:func:`variants` takes an annotated maintenance notice with windows and rewrites it in the ways real
notices differ, one recipe per variant, with choices drawn from a generator seeded by the notice id
(deterministic):

* ``dates``: ``2025年3月24日`` / ``2025-03-24`` / ``3月24日（周一）`` / ``03/24`` (a year left out only
  when the nearest year is the written one);
* ``clock``: ``20:30`` as ``20点30分`` / ``20时30分``;
* ``spoken``: ``晚上8点半``, ``凌晨2点``, ``中午12点`` or Chinese numerals ``二十点三十分``;
* ``ranges``: 至 / 到 / - / ～ / — between points, a next day as 次日 / 翌日, a day of the same month
  as ``25日``, a next day's midnight as ``24:00``;
* ``script``: Traditional characters (OpenCC ``s2t``) and full-width digits and colons;
* ``order``: sentences with no date or time moved to the start or the end, shuffled;
* ``frame``: a title line before and a signature with the publication date after;
* ``products``: "3月24日20:30至25日17:15，网银暂停" written "网银暂停，时间为3月24日20:30至25日17:15";
* ``mixed``: all of them at once.

The annotation stays as it is: every rewrite keeps the dates and times, which
``variant_facts.facts`` checks (``test_variants.py``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

import opencc

from tests.notices.variant_facts import facts
from watcher.notices.corpus import GoldNotice, parse_corpus
from watcher.notices.evaluate import predict, score

CORPUS = Path(__file__).parent / "corpus"

BASE_RECIPES = ("dates", "clock", "spoken", "ranges", "script", "order", "frame", "products", "mixed")
# round 13 (``variants_more.py``): Chinese numerals, 12-hour clocks, numeric dates, weekdays, more
# connectors, zone markers, numbered lists, start plus duration, mixed labels, all at once; round 16:
# four-digit clock times and eight-digit dates (``compact``), rows under a heading line (``headings``)
MORE_RECIPES = ("cn_numerals", "twelve", "numeric", "weekdays", "connectors", "zone", "lists", "duration",
                "labels", "compact", "headings", "mixed2")
RECIPES = BASE_RECIPES + MORE_RECIPES

_DATE = re.compile(
    r"(?<![\d.])(?P<y>\d{4})(?:年(?P<m1>\d{1,2})月(?P<d1>\d{1,2})[日号號]|-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})(?![\d-])"
    r"|/(?P<m3>\d{1,2})/(?P<d3>\d{1,2})(?![\d/]))"
    r"|(?<![\d年.])(?P<m4>\d{1,2})月(?P<d4>\d{1,2})[日号號]"
)
_TIME = re.compile(r"(?<![\d.])(?<!\d:)(?P<h>\d{1,2}):(?P<mi>\d{2})(?!\d|:\d)")
_CONNECTORS = ("至", "到", "-", "~", "～", "—", "－", "——")
_PERIOD_NEAR = re.compile(r"[晨早午晚夜]")
_WEEK = "一二三四五六日"
_STOP = re.compile(r"暂停|停止|中断|无法|不能|关闭|停机|停电|停水|暫停|中斷|無法|關閉|停機|停電")
_SENTENCE = re.compile(r"[^。！？]*[。！？]|[^。！？]+$")
_FULL = str.maketrans("0123456789:", "０１２３４５６７８９：")
_ORGS = ("客户服务中心", "信息技术部", "运营团队", "办公室")


@dataclass(frozen=True, slots=True)
class Variant:
    """One rewritten notice: the recipe, the notice (annotation unchanged), the text before the
    frame and script steps (``core``) and the frame around it."""

    recipe: str
    notice: GoldNotice
    core: str
    head: str = ""
    tail: str = ""


@dataclass(slots=True)
class _Tok:
    start: int
    end: int
    kind: str  # "date" | "time"
    value: date | tuple[int, int]
    has_year: bool = False
    has_period: bool = False
    text: str = ""


@cache
def _cc(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


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


def _tokens(text: str, published: date) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _DATE.finditer(text):
        g = m.groupdict()
        try:
            if g["y"]:
                mo, d = next((g[f"m{i}"], g[f"d{i}"]) for i in (1, 2, 3) if g[f"m{i}"])
                toks.append(_Tok(m.start(), m.end(), "date", date(int(g["y"]), int(mo), int(d)), has_year=True))
            else:
                toks.append(_Tok(m.start(), m.end(), "date", (int(g["m4"]), int(g["d4"]))))
        except ValueError:
            continue
    for m in _TIME.finditer(text):
        h, mi = int(m["h"]), int(m["mi"])
        if h <= 24 and mi < 60 and not (h == 24 and mi):
            near = _PERIOD_NEAR.search(text[max(0, m.start() - 2):m.start()]) is not None \
                or text[max(0, m.start() - 1):m.start()] in _CN_DIGITS + "十两周日天"
            toks.append(_Tok(m.start(), m.end(), "time", (h, mi), has_period=near))
    toks.sort(key=lambda t: t.start)
    ref = published
    for t in toks:  # resolve years the way a reader does: nearest to the date before
        if t.kind == "date":
            if isinstance(t.value, tuple):
                got = _nearest(t.value[0], t.value[1], ref)
                if got is None:
                    t.kind = "skip"
                    continue
                t.value = got
            assert isinstance(t.value, date)
            ref = t.value
    return [t for t in toks if t.kind != "skip"]


_CN_DIGITS = "零一二三四五六七八九"


def _cn(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("十" if tens == 1 else _CN_DIGITS[tens] + "十") + (_CN_DIGITS[ones] if ones else "")


def _time_text(h: int, mi: int, style: str, has_period: bool) -> str:
    if style in ("spoken", "cn", "period24") and has_period:
        style = "dian"
    if style == "period24":  # "晚上20:30", "凌晨02:00": a part of the day before a 24-hour clock
        word = "凌晨" if h < 6 else "上午" if h < 12 else "中午" if h == 12 else "下午" if h < 18 else "晚上"
        return f"{word}{h:02d}:{mi:02d}" if h < 24 else f"{h}:{mi:02d}"
    if style == "seconds":
        return f"{h:02d}:{mi:02d}:00"
    if style in ("dian", "shi"):
        return f"{h}{'点' if style == 'dian' else '时'}" + (f"{mi}分" if mi else "")
    if style == "cn":
        return f"{_cn(h)}点" + (f"{_cn(mi)}分" if mi else "")
    if style == "spoken":
        if h == 24:
            return "晚上12点" + (f"{mi}分" if mi else "")
        period, hh = (
            ("凌晨", h) if h < 6 else ("上午", h) if h < 12 else ("中午", h) if h == 12
            else ("下午", h - 12) if h < 18 else ("晚上", h - 12)
        )
        return f"{period}{hh}点" + ("半" if mi == 30 else f"{mi}分" if mi else "")
    return f"{h}:{mi:02d}"


def _date_text(d: date, style: str, has_year: bool, published: date, prev: date | None, has_week: bool) -> str:
    keep_year = has_year and (style == "ymd" or _nearest(d.month, d.day, prev or published) != d)
    if style == "iso" and has_year:
        return f"{d:%Y-%m-%d}"
    if style == "slash" and not keep_year:
        return f"{d:%m/%d}"
    if style == "yslash" and has_year:
        return f"{d.year}/{d.month}/{d.day}"
    if style == "dot" and has_year:
        return f"{d.year}.{d.month}.{d.day}"
    if style == "hao":
        return (f"{d.year}年" if keep_year else "") + f"{d.month}月{d.day}号"
    head = f"{d.year}年" if keep_year else ""
    week = f"（周{_WEEK[d.weekday()]}）" if style == "week" and not has_week else ""
    return f"{head}{d.month}月{d.day}日{week}"


def _rewrite(text: str, published: date, choice: dict[str, str]) -> str:
    toks = _tokens(text, published)
    out: list[str] = []
    pos = 0
    prev_date: date | None = None
    prev: _Tok | None = None
    skip_next_date = False
    for i, t in enumerate(toks):
        if t.start < pos:
            continue
        gap = text[pos:t.start]
        is_range = prev is not None and gap.strip() in _CONNECTORS and gap.strip() != ""
        if is_range and choice.get("conn"):
            gap = choice["conn"]
        out.append(gap)
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        rendered = text[t.start:t.end]
        if t.kind == "date":
            assert isinstance(t.value, date)
            d = t.value
            glued = text[t.end:t.end + 1].isdigit()
            if is_range and prev_date is not None and choice.get("range"):
                if d == prev_date + timedelta(days=1) and prev is not None and prev.kind == "time":
                    if choice["range"] == "24" and nxt is not None and nxt.kind == "time" and nxt.value == (0, 0) \
                            and text[t.end:nxt.start].strip() == "":
                        rendered, skip_next_date = "", True
                    else:
                        rendered = "次日" if choice["range"] != "翌日" else "翌日"
                elif (d.year, d.month) == (prev_date.year, prev_date.month) and d > prev_date:
                    rendered = f"{d.day}日"
            elif choice.get("date"):
                has_week = text[t.end:t.end + 2].lstrip(" ")[:1] in ("(", "（")
                rendered = _date_text(d, choice["date"], t.has_year, published, prev_date, has_week)
            if glued and rendered and rendered[-1].isdigit():
                rendered += " "
            prev_date = d
        else:
            assert isinstance(t.value, tuple)
            h, mi = t.value
            if skip_next_date:
                h, skip_next_date = 24, False
                rendered = _time_text(h, mi, choice.get("time", "colon"), t.has_period)
            elif choice.get("time"):
                rendered = _time_text(h, mi, choice["time"], t.has_period)
        out.append(rendered)
        pos = t.end
        prev = t
    out.append(text[pos:])
    return "".join(out)


def _shuffle(text: str, rng: random.Random, published: date) -> str:
    parts = _SENTENCE.findall(text)
    movable = [p for p in parts if p.endswith(("。", "！", "？")) and not facts(p, published)
               and not re.search(r"如下|以下|下列|[：:]|届时|屆時|期间|期間|[0-9０-９]", p)]
    if not movable:
        return text
    rest = [p for p in parts if p not in movable]
    rng.shuffle(movable)
    return "".join(movable + rest) if rng.random() < 0.5 else "".join(rest + movable)


_RANGE_FIRST = re.compile(
    r"(?P<label>^|：)(?P<range>[^，,。；;：]*\d[^，,。；;：]*)[，,](?P<rest>[^\d，,。；;：:]*)(?P<end>[。；;]?)$"
)


def _products_first(text: str) -> str:
    def one(seg: str) -> str:
        m = _RANGE_FIRST.search(seg)
        if m is None or not _STOP.search(m["rest"]) or len(m["rest"]) < 4:
            return seg
        return f"{seg[:m.start()]}{m['label']}{m['rest']}，时间为{m['range']}{m['end']}"

    return "".join(one(s) for s in re.findall(r"[^。；;\n]*[。；;\n]?", text) if s)


def _choices(rng: random.Random, recipe: str) -> dict[str, str]:
    date_style = rng.choice(("ymd", "iso", "week", "slash", "md", "dot", "hao", "yslash"))
    time_style = rng.choice(("dian", "shi", "period24", "seconds"))
    spoken = "cn" if rng.random() < 0.25 else "spoken"
    conn = rng.choice(("到", "-", "～", "—", "至"))
    rng_style = rng.choice(("次日", "翌日", "24"))
    if recipe == "dates":
        return {"date": date_style}
    if recipe == "clock":
        return {"time": time_style}
    if recipe == "spoken":
        return {"time": spoken}
    if recipe == "ranges":
        return {"conn": conn, "range": rng_style}
    if recipe == "mixed":
        return {"date": date_style, "time": rng.choice((time_style, spoken)), "conn": conn, "range": rng_style}
    return {}


def _render(notice: GoldNotice, recipe: str) -> Variant:
    rng = random.Random(f"{notice.id}/{recipe}")
    if recipe in MORE_RECIPES:
        from tests.notices.variants_more import rewrite_more

        core = rewrite_more(notice.text, notice.published, recipe, rng)
        if recipe == "mixed2":
            core = _cc(rng.choice(("s2hk", "s2tw"))).convert(core)
        return Variant(recipe, replace(notice, id=f"{notice.id}~{recipe}", text=core), core)
    core = _rewrite(notice.text, notice.published, _choices(rng, recipe))
    if recipe in ("order", "mixed"):
        core = _shuffle(core, rng, notice.published)
    if recipe in ("products", "mixed"):
        core = _products_first(core)
    head = tail = ""
    if recipe in ("frame", "mixed"):
        head = (notice.title or "系统维护公告") + "\n"
        p = notice.published
        tail = f"\n{rng.choice(_ORGS)}\n{p.year}年{p.month}月{p.day}日"
    text = head + core + tail
    if recipe in ("script", "mixed"):
        text = _cc("s2t").convert(text).translate(_FULL)
    return Variant(recipe, replace(notice, id=f"{notice.id}~{recipe}", text=text), core, head, tail)


def variants(notice: GoldNotice) -> Iterator[Variant]:
    """Every recipe's variant of an annotated maintenance notice with windows (none otherwise)."""
    if notice.kind != "maintenance" or not notice.windows:
        return
    for recipe in RECIPES:
        yield _render(notice, recipe)


def window_points(notice: GoldNotice) -> set[datetime]:
    """The annotated start and end times of a notice's windows (for the fact check)."""
    return {p for w in notice.windows for p in (w.start, w.end) if p is not None}


def agreement(golds: list[GoldNotice]) -> tuple[int, int]:
    """How many variants the parser reads exactly as it reads their original (kind, windows and
    review), out of how many: robustness whatever the annotation says."""
    same = total = 0
    for g in golds:
        want = predict(g)
        for v in variants(g):
            total += 1
            same += int(predict(v.notice) == want)
    return same, total


def main() -> None:
    """Print the scores on the originals and on the variants, by recipe (``python -m
    tests.notices.variants``; figures for docs/notices.md)."""
    golds = [g for name in ("dev", "blind", "blind2")
             for g in parse_corpus((CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())]
    base = [g for g in golds if g.kind == "maintenance" and g.windows]
    rows = [("originals", score(base))]
    rows += [(r, score([v.notice for g in base for v in variants(g) if v.recipe == r])) for r in RECIPES]
    rows.append(("all variants", score([v.notice for g in base for v in variants(g)])))
    print(f"{'set':<14}{'n':>6}{'m-or-not':>10}{'recall':>9}{'precision':>11}{'exact':>8}{'silent':>8}{'review':>8}")
    for name, rep in rows:
        m = rep.total.metrics()
        print(f"{name:<14}{m['notices']:>6}{100 * m['maintenance_or_not']:>9.1f}%{100 * m['window_recall']:>8.1f}%"
              f"{100 * m['window_precision']:>10.1f}%{100 * m['all_windows_exact']:>7.1f}%{m['silent_misses']:>8}"
              f"{m['needs_review']:>8}")
    same, total = agreement(base)
    print(f"read exactly as the original: {same} of {total} ({100 * same / total:.1f} %)")


if __name__ == "__main__":
    main()
