"""Extra and missed windows of each blind set as it looked on first sight (round 23 of issue 16):
``python -m bench.first_sight_windows``.

Each committed blind set is read by the parser it was first scored with (docs/notices.md, "## Blind
set"; the revision's ``watcher/`` and ``huabei_watch/`` taken with ``git archive`` into a temporary
folder and run in a subprocess, as ``bench/kind_model_experiment.py --first-rules`` does), then scored
against today's annotations, and every extra and missed window is put down to one cause, in this order:
the notice is no maintenance notice (an extra) or was not read as one (a miss); a returned window
pairs with a missed one as :mod:`watcher.notices.evaluate` pairs them (status only, end differs —
split into open against closed end —, start differs, the same hours on another day — split into one
day off and another date); the same length shifted by whole hours (up to 16: a time zone); the same
window as an annotated one already found (a restatement counted twice); a window over two or more
annotated ones (merged) or over one (split or a boundary off); a window that ended before publication
(past); one starting on the day of publication; anything else (a range that is no stop). Counts only,
per set; the first blind set's round-1 parser is not named, so that set is left out.

``--nothing-near`` lists the missed windows with nothing near instead (round 26): set, notice, the window,
what the parser of the day returned for that notice, and the lines of the text that hold the window's
day (its month and day written in any of the common ways), so they can be grouped by shape.
``--list`` also prints each extra window with its notice, cause, and whether today's parser still returns it
(round 27).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.kind_model_experiment import FIRST_REV, SETS, parser_at
from huabei_watch.clock import SHANGHAI
from watcher.notices import understand
from watcher.notices.corpus import GoldNotice, parse_corpus
from watcher.notices.evaluate import WindowKey, pair_misses

HERE = Path(__file__).resolve().parents[1]
CORPUS_DIR = HERE / "tests" / "notices" / "corpus"
#: set -> (revision it was first scored with, its committed files)
FIRST: dict[str, tuple[str, tuple[str, ...]]] = {g: (FIRST_REV[g], files) for g, files in SETS if g in FIRST_REV}
_DUMP = """
import json, sys
from datetime import date
from watcher.notices import understand
from huabei_watch.clock import SHANGHAI
def nv(d):
    return None if d is None else (d.astimezone(SHANGHAI).replace(tzinfo=None) if d.tzinfo else d).isoformat()
out = {}
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        if line.strip():
            r = json.loads(line)
            u = understand(r["text"], published=date.fromisoformat(r["published"]), title=r.get("title") or "")
            out[r["id"]] = [u.kind, [[nv(w.start), nv(w.end), w.status] for w in u.windows]]
import watcher
print(json.dumps({"from": watcher.__file__, "out": out}))
"""
_ZONE_SHIFT = timedelta(hours=16)


def read_at(rev: str, files: tuple[str, ...]) -> dict[str, tuple[str, list[WindowKey]]]:
    """(kind, windows) per notice id from the parser at git revision ``rev``."""
    raw = parser_at(rev, _DUMP, files)

    def at(x: str | None) -> datetime | None:
        return None if x is None else datetime.fromisoformat(x)

    out: dict[str, tuple[str, list[WindowKey]]] = {}
    for k, (kind, ws) in raw["out"].items():
        out[k] = (kind, [(datetime.fromisoformat(s), at(e), st) for s, e, st in ws])
    return out


def _overlap(a: WindowKey, b: WindowKey) -> bool:
    a_end = a[1] or a[0] + timedelta(minutes=1)
    b_end = b[1] or b[0] + timedelta(minutes=1)
    return a[0] < b_end and b[0] < a_end


def _zone_shift(w: WindowKey, x: WindowKey) -> bool:
    if w[1] is None or x[1] is None or w[1] - w[0] != x[1] - x[0]:
        return False
    shift = abs(w[0] - x[0])
    return timedelta(0) < shift <= _ZONE_SHIFT and shift % timedelta(hours=1) == timedelta(0)


def causes(gold: GoldNotice, kind: str, windows: list[WindowKey], near_none: list[WindowKey] | None = None,
           listed: list[tuple[str, WindowKey]] | None = None) -> tuple[Counter[str], Counter[str]]:
    """Causes of the extra and of the missed windows of one notice (the windows missed with nothing
    near are appended to ``near_none`` when it is given, each extra window with its cause to ``listed``)."""
    extra_c: Counter[str] = Counter()
    miss_c: Counter[str] = Counter()
    gold_m, read_m = gold.kind == "maintenance", kind == "maintenance"
    want = Counter((w.start, w.end, w.status) for w in gold.windows) if gold_m else Counter()
    got = Counter(windows) if read_m else Counter()
    extra = sorted((got - want).elements(), key=str)
    missed = sorted((want - got).elements(), key=str)
    if not gold_m:
        extra_c[f"{gold.kind} notice read as maintenance"] += len(extra)
        return extra_c, miss_c
    if not read_m:
        miss_c["not read as maintenance"] += len(missed)
        return extra_c, miss_c
    pairs, missed, extra = pair_misses(missed, extra)
    for cause, w, x in pairs:
        if cause == "end_differs" and (w[1] is None) != (x[1] is None):
            cause = "open against closed end"
        elif cause == "another_day":
            cause = "one day off" if abs((x[0].date() - w[0].date()).days) == 1 else "another date"
        extra_c[cause.replace("_", " ")] += 1
        miss_c[cause.replace("_", " ")] += 1
    published: date = gold.published
    for x in extra:
        zone = next((w for w in missed if _zone_shift(w, x)), None)
        over = [w for w in want.elements() if _overlap(x, w)]
        if x in want:
            cause = "restated window counted twice"
        elif zone is not None:
            cause = "time zone (same length, shifted by whole hours)"
            missed.remove(zone)
            miss_c[cause] += 1
        elif len(over) >= 2:
            cause = "windows merged"
        elif over:
            cause = "split, or a boundary off (over one annotated window)"
        elif (x[1] or x[0]).date() < published:
            cause = "past window returned"
        elif x[0].date() == published:
            cause = "starts on the day of publication"
        else:
            cause = "range that is no stop, or nothing near"
        extra_c[cause] += 1
        if listed is not None:
            listed.append((cause, x))
    miss_c["nothing near"] += len(missed)
    if near_none is not None:
        near_none.extend(missed)
    return extra_c, miss_c


def _table(title: str, per_set: dict[str, Counter[str]]) -> None:
    names = list(per_set)
    rows = sorted({c for t in per_set.values() for c in t}, key=lambda c: -sum(t[c] for t in per_set.values()))
    print(f"\n{title}\n| cause | " + " | ".join(names) + " | all |")
    print("|---|" + "---|" * (len(names) + 1))
    for c in rows:
        print(f"| {c} | " + " | ".join(str(per_set[n][c]) for n in names) + f" | {sum(t[c] for t in per_set.values())} |")
    print("| **all** | " + " | ".join(str(sum(per_set[n].values())) for n in names)
          + f" | {sum(sum(t.values()) for t in per_set.values())} |")


def _day_lines(text: str, day: date) -> list[str]:
    """The lines of ``text`` that write ``day``'s month and day (12月5日, 12-05, 12/5, 12.5 ...)."""
    m, d = day.month, day.day
    pat = re.compile(rf"(?<!\d)0?{m}\s*(?:月|[-/.])\s*0?{d}(?!\d)")
    return [ln.strip() for ln in text.splitlines() if pat.search(ln)]


def list_nothing_near() -> None:
    """Every first-sight missed window with nothing near, with its notice's lines for that day."""
    for name, (rev, files) in FIRST.items():
        read = read_at(rev, files)
        for f in files:
            for gold in parse_corpus((CORPUS_DIR / f"{f}.jsonl").read_text(encoding="utf-8").splitlines()):
                kind, windows = read[gold.id]
                missed: list[WindowKey] = []
                causes(gold, kind, windows, missed)
                if not missed:
                    continue
                print(f"== {name} {gold.id} published {gold.published} read {kind} {len(windows)} windows:"
                      f" {[(str(s), str(e), st) for s, e, st in windows]}")
                for s, e, st in sorted(missed, key=str):
                    lines = _day_lines(gold.text, s.date()) or ["(the day is not written as month and day)"]
                    print(f"  missed {s} -> {e} {st}")
                    for ln in lines[:3]:
                        print(f"      | {ln[:160]}")


def _today(gold: GoldNotice) -> Counter[WindowKey]:
    """Extra windows today's parser returns for the notice (none unless read as maintenance): what it
    returns beyond the annotated windows, a window returned twice but annotated once counted once."""
    u = understand(gold.text, published=gold.published, title=gold.title or "")
    if u.kind != "maintenance":
        return Counter()
    got = Counter((naive(w.start), None if w.end is None else naive(w.end), w.status) for w in u.windows)
    want = Counter((w.start, w.end, w.status) for w in gold.windows) if gold.kind == "maintenance" else Counter()
    return got - want


def naive(d: datetime) -> datetime:
    """Shanghai wall-clock time without a zone, as the annotations write it."""
    return d.astimezone(SHANGHAI).replace(tzinfo=None) if d.tzinfo else d


def main() -> None:
    if "--nothing-near" in sys.argv[1:]:
        list_nothing_near()
        return
    listing = "--list" in sys.argv[1:]
    extras: dict[str, Counter[str]] = {}
    misses: dict[str, Counter[str]] = {}
    for name, (rev, files) in FIRST.items():
        read = read_at(rev, files)
        extras[name], misses[name] = Counter(), Counter()
        for f in files:
            for gold in parse_corpus((CORPUS_DIR / f"{f}.jsonl").read_text(encoding="utf-8").splitlines()):
                kind, windows = read[gold.id]
                listed: list[tuple[str, WindowKey]] = []
                e, m = causes(gold, kind, windows, listed=listed)
                extras[name].update(e)
                misses[name].update(m)
                if listing and listed:
                    today = _today(gold)
                    for cause, x in listed:
                        mark = "still" if today[x] > 0 else "gone"
                        today[x] -= 1
                        print(f"{gold.id}\t{cause}\t{x[0]:%Y-%m-%d %H:%M} -> {x[1] and f'{x[1]:%Y-%m-%d %H:%M}'}"
                              f" {x[2]}\t{mark} today\tpublished {gold.published}")
    print("first sight: " + ", ".join(f"{n} at {rev}" for n, (rev, _) in FIRST.items()))
    _table("extra windows by cause", extras)
    _table("missed windows by cause", misses)


if __name__ == "__main__":
    main()
