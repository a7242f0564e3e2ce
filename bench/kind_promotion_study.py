"""Issue 16, round 22: should the kind model *promote* a notice the rules read as another kind?

Run from the repository root (scikit-learn is no project dependency; without it the script says so
and exits 0)::

    python3 -m venv /tmp/modelvenv && /tmp/modelvenv/bin/pip install scikit-learn
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/modelvenv/lib/python3.11/site-packages/wt.pth
    PYTHONPATH=$PWD nice -n 19 /tmp/modelvenv/bin/python -m bench.kind_promotion_study

A fair study, on the committed corpora only (never ``tests/notices/heldout``):

* for each committed blind set, the rules **as they were when the set was first scored** (the
  parser at ``kind_model_experiment.FIRST_REV``, rerun from ``git archive``): kind, windows,
  needs_review per notice;
* the kind model fitted exactly as ``bench/fit_kind_model.py`` fits the shipped table (1-3-gram
  TF-IDF, logistic regression C = 1, top 2,000 n-grams refitted), **without that set**: once on all
  other sets, once on the sets gathered before it only;
* combinations: the rules say another kind, the notice has windows in the result that are not over
  before the day of publication, and P(maintenance) >= t -> maintenance with needs_review (its
  windows are the windows the rules returned), with and without conditions (disruption wording in
  the text, two ranges or more, a schedule: two ranges or more with the same hours on different days;
  not an outage or recovery report);
* each combination scored with ``watcher.notices.evaluate.score_one`` (maintenance-or-not, window
  recall and precision, all exact, silent misses, review), summed over the sets, next to the rules alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bench.kind_model_experiment import CORPUS_DIR, FIRST_REV, SETS, parser_at
from watcher.notices.corpus import GoldNotice, parse_corpus
from watcher.notices.evaluate import Prediction, Tally, WindowKey, score_one
from watcher.notices.kind_model import grams
from watcher.notices.normalize import normalize
from watcher.notices.vocab import DISRUPTION_RE, STOP_RE

TOP_K = 2_000
MIN_CHARS = 150
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8)
_DUMP = """
import json, sys
from datetime import date
from zoneinfo import ZoneInfo
from watcher.notices import understand
bj = ZoneInfo("Asia/Shanghai")
mod = sys.modules["watcher.notices.understand"]
first_kind = []
def recording(*a, **kw):
    k = classify(*a, **kw)
    first_kind.append(k.kind)
    return k
classify, mod.classify = mod.classify, recording
found = []
def spans_recording(*a, **kw):
    got = find_spans(*a, **kw)
    found.append([[naive(x.start), None if x.end is None else naive(x.end), "scheduled"]
                  for x in got[0] if x.how != "open"])
    return got
find_spans, mod.find_spans = mod.find_spans, spans_recording
def naive(dt):
    return (dt.astimezone(bj) if dt.tzinfo is not None else dt).replace(tzinfo=None).isoformat()
out = {}
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        if line.strip():
            r = json.loads(line)
            first_kind.clear()
            found.clear()
            u = understand(r["text"], published=date.fromisoformat(r["published"]), title=r.get("title") or "")
            untied = any(x.startswith("no window is tied to a stop") for x in u.reasons)
            out[r["id"]] = [u.kind, bool(u.needs_review), first_kind[0] if first_kind else None, untied,
                            found[0] if found else [],
                            [[naive(w.start), None if w.end is None else naive(w.end), w.status] for w in u.windows],
                            list(u.reasons)]
import watcher
print(json.dumps({"from": watcher.__file__, "rules": out}))
"""


def _key(s: str, e: str | None, st: str) -> WindowKey:
    return datetime.fromisoformat(s), None if e is None else datetime.fromisoformat(e), st


Rules = tuple[Prediction, str | None, bool, tuple[WindowKey, ...], tuple[str, ...]]


def _rules_at(rev: str, files: Sequence[str]) -> dict[str, Rules]:
    """The parser's answer per notice id at git revision ``rev`` (windows in naive Beijing time), the
    kind its keyword count (``classify``) gave before any later rule, whether the rules turned maintenance
    down only because no window is tied to wording of a stop, the ranges with an end its
    grammar (``find_spans``, first call: the body) found before any was set aside, and its reasons."""
    raw = parser_at(rev, _DUMP, files)
    out: dict[str, Rules] = {}
    for nid, (kind, review, keywords, untied, spans, wins, reasons) in raw["rules"].items():
        out[nid] = (Prediction(kind, tuple(_key(*w) for w in wins), bool(review)), keywords, bool(untied),
                    tuple(_key(*w) for w in spans), tuple(reasons))
    return out


@dataclass(frozen=True, slots=True)
class Item:
    group: str
    notice: GoldNotice
    text: str
    rules: Prediction
    keywords: str | None
    untied: bool
    spans: tuple[WindowKey, ...]
    reasons: tuple[str, ...]


def ahead(windows: Sequence[WindowKey], pub: date) -> list[WindowKey]:
    """Windows not over before the day of publication."""
    day = datetime(pub.year, pub.month, pub.day)
    return [w for w in windows if (w[1] if w[1] is not None else w[0]) >= day]


def schedule(windows: Sequence[WindowKey]) -> bool:
    """Two windows or more with the same hours on different days."""
    hours: dict[tuple[object, object], set[date]] = {}
    for s, e, _ in windows:
        hours.setdefault((s.time(), None if e is None else e.time()), set()).add(s.date())
    return any(len(days) >= 2 for days in hours.values())


Rule = Callable[[Item, list[WindowKey]], bool]
CONDITIONS: dict[str, Rule] = {
    "any": lambda it, live: True,
    "disruption": lambda it, live: bool(DISRUPTION_RE.search(it.text)),
    "not outage/recovery": lambda it, live: it.rules.kind not in ("outage", "recovery"),
    "2+ ranges": lambda it, live: len(live) >= 2,
    "schedule": lambda it, live: schedule(live),
    "disruption, not report": lambda it, live: bool(DISRUPTION_RE.search(it.text))
    and it.rules.kind not in ("outage", "recovery"),
    # the keyword count did not say maintenance: no later rule of the rules (a holiday arrangement, a safety
    # drill, no system named ...) turned maintenance wording down on purpose
    "keywords not maintenance": lambda it, live: it.keywords != "maintenance",
    # the model was fitted on whole notices (median 235 characters): on a sentence or two its probability
    # rests on a handful of n-grams
    f"{MIN_CHARS}+ characters": lambda it, live: len(it.text) >= MIN_CHARS,
    # wording that something stops or degrades (STOP_RE), not only that work is done (a drill "期间可能有警报声")
    f"{MIN_CHARS}+ characters, a stop worded": lambda it, live: len(it.text) >= MIN_CHARS
    and bool(STOP_RE.search(it.text)),
    # the rules read maintenance wording but set it aside only because no window is tied to a stop
    # ("no window is tied to a stop: read as other"), not by a look-alike rule (a holiday arrangement, a drill)
    "untied only": lambda it, live: it.untied,
}


def promoted(it: Item, p: float, t: float, cond: Rule, set_aside: bool = False) -> Prediction:
    """The rules' answer, or maintenance in review with the rules' windows; with ``set_aside``, a notice
    with no window in the result takes the ranges its grammar found before they were set aside."""
    r = it.rules
    if r.kind == "maintenance" or p < t:
        return r
    windows = r.windows or (it.spans if set_aside else ())
    live = ahead(windows, it.notice.published)
    if not live or not cond(it, live):
        return r
    return Prediction("maintenance", windows, True)


def _reader(prob: dict[str, float], t: float, cond: Rule, set_aside: bool = False) -> Callable[[Item], Prediction]:
    def read(it: Item) -> Prediction:
        return promoted(it, prob[it.notice.id], t, cond, set_aside)

    return read


def _tally(items: Sequence[Item], read: Callable[[Item], Prediction]) -> tuple[Tally, int, int]:
    total = Tally()
    changed_true = changed_false = 0
    for it in items:
        pred = read(it)
        if pred.kind == "maintenance" and it.rules.kind != "maintenance":
            if it.notice.kind == "maintenance":
                changed_true += 1
            else:
                changed_false += 1
        total.add(score_one(it.notice, pred)[0])
    return total, changed_true, changed_false


def _row(label: str, t: Tally, good: int, bad: int) -> str:
    m = t.metrics()

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}"

    return (f"| {label} | {pct(m['maintenance_or_not'])} | {pct(m['window_recall'])} | {pct(m['window_precision'])} | "
            f"{pct(m['all_windows_exact'])} | {m['silent_misses']} | {m['needs_review']} | {good} | {bad} |")


def load_items() -> tuple[list[Item], dict[str, list[str]], dict[str, list[bool]]]:
    """Every notice of the blind sets with a known first parser, with that parser's answer; and the
    normalised texts and gold "is maintenance" of every set, for fitting."""
    items: list[Item] = []
    texts: dict[str, list[str]] = {}
    golds: dict[str, list[bool]] = {}
    for group, files in SETS:
        notices = [n for name in files for n in parse_corpus((CORPUS_DIR / f"{name}.jsonl").read_text("utf-8").splitlines())]
        texts[group] = [normalize(n.title + "\n" + n.text) for n in notices]
        golds[group] = [n.kind == "maintenance" for n in notices]
        if group in FIRST_REV:
            first = _rules_at(FIRST_REV[group], files)
            items += [Item(group, n, x, *first[n.id]) for n, x in zip(notices, texts[group], strict=True)]
    return items, texts, golds


def probabilities(items: Sequence[Item], texts: dict[str, list[str]], golds: dict[str, list[bool]]) -> dict[str, dict[str, float]]:
    """P(maintenance) per notice id, from the model fitted without its set: on all other sets, and on the
    sets gathered before it only (needs scikit-learn)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    def fit(groups: Sequence[str]) -> Any:
        x = [t for g in groups for t in texts[g]]
        y = [v for g in groups for v in golds[g]]

        def vec(vocabulary: list[str] | None = None) -> Any:
            return TfidfVectorizer(analyzer=grams, sublinear_tf=True, min_df=1 if vocabulary else 2,
                                   vocabulary=vocabulary)

        def lr() -> Any:
            return LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000)

        full = make_pipeline(vec(), lr()).fit(x, y)
        names = full[0].get_feature_names_out()
        coef = full[-1].coef_[0]
        top = [str(names[j]) for j in sorted(range(len(names)), key=lambda j: -abs(float(coef[j])))[:TOP_K]]
        return make_pipeline(vec(top), lr()).fit(x, y)

    order = [g for g, _ in SETS]
    probs: dict[str, dict[str, float]] = {"other sets": {}, "earlier sets only": {}}
    for group in FIRST_REV:
        here = [it for it in items if it.group == group]
        for label, train in (("other sets", [g for g in order if g != group]),
                             ("earlier sets only", order[: order.index(group)])):
            model = fit(train)
            for it, p in zip(here, model.predict_proba([it.text for it in here])[:, 1], strict=True):
                probs[label][it.notice.id] = float(p)
    return probs


def study_inputs(argv: Sequence[str] | None, doc: str | None,
                 title: str) -> tuple[list[Item], dict[str, dict[str, float]]] | None:
    """A study's start: its command line (no options but ``--help``), then the items and their
    probabilities; None, with a line saying so, when scikit-learn is not installed."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print(f"{title}: skipped (scikit-learn is not installed; see this script's docstring)")
        return None
    items, texts, golds = load_items()
    return items, probabilities(items, texts, golds)


def main(argv: Sequence[str] | None = None) -> int:
    inputs = study_inputs(argv, __doc__, "kind promotion study")
    if inputs is None:
        return 0
    items, probs = inputs

    gold_m = sum(it.notice.kind == "maintenance" for it in items)
    misread = [it for it in items if it.notice.kind == "maintenance" and it.rules.kind != "maintenance"]
    print(f"{len(items)} notices of {len(FIRST_REV)} blind sets ({gold_m} maintenance), rules as first scored; "
          f"{len(misread)} maintenance notices read as another kind, {sum(bool(it.rules.windows) for it in misread)} "
          f"of them with windows in the result, "
          f"{sum(bool(ahead(it.rules.windows, it.notice.published)) for it in misread)} with windows not yet over, "
          f"{sum(bool(ahead(it.rules.windows or it.spans, it.notice.published)) for it in misread)} with windows or "
          "ranges set aside not yet over")
    lookalike = [it for it in items if it.notice.kind != "maintenance" and it.rules.kind != "maintenance"
                 and ahead(it.rules.windows, it.notice.published)]
    print(f"{len(lookalike)} notices that are not maintenance, read as another kind with windows not yet over")
    print("\n| combination | m-or-not | recall | precision | exact | silent | review | promoted, maint. | "
          "promoted, not |")
    print("|---|---|---|---|---|---|---|---|---|")
    base, _, _ = _tally(items, lambda it: it.rules)
    print(_row("rules alone", base, 0, 0))
    for label, prob in probs.items():
        for cname, cond in CONDITIONS.items():
            for t in THRESHOLDS:
                tally, good, bad = _tally(items, _reader(prob, t, cond))
                print(_row(f"{label}, {cname}, P >= {t}", tally, good, bad))
    print("\nthe same with the ranges set aside: a notice with no window in the result takes the ranges with an "
          "end that the grammar found in it")
    for label, prob in probs.items():
        for cname in ("any", "disruption", "keywords not maintenance", "untied only"):
            for t in THRESHOLDS:
                tally, good, bad = _tally(items, _reader(prob, t, CONDITIONS[cname], set_aside=True))
                print(_row(f"{label}, set-aside ranges too, {cname}, P >= {t}", tally, good, bad))
    print("\nper set, model on other sets (rules alone -> each chosen candidate: m-or-not / recall / precision; "
          "promoted maint./not)")
    for group in FIRST_REV:
        here = [it for it in items if it.group == group]
        b, _, _ = _tally(here, lambda it: it.rules)
        cells = []
        for cname, t in (("any", 0.6), ("any", 0.7), (f"{MIN_CHARS}+ characters, a stop worded", 0.7),
                         ("untied only", 0.5), ("untied only", 0.7)):
            tl, good, bad = _tally(here, _reader(probs["other sets"], t, CONDITIONS[cname]))
            m = tl.metrics()
            cells.append(f"{cname} {t}: {100 * (m['maintenance_or_not'] or 0):.1f} / {100 * (m['window_recall'] or 0):.1f}"
                         f" / {100 * (m['window_precision'] or 0):.1f} ({good}/{bad})")
        bm = b.metrics()
        print(f"  {group:8} rules {100 * (bm['maintenance_or_not'] or 0):.1f} / {100 * (bm['window_recall'] or 0):.1f} / "
              f"{100 * (bm['window_precision'] or 0):.1f}; " + "; ".join(cells))
    print("\nmaintenance read as another kind with windows not yet over (set, id, rules kind, review, windows, "
          "P other sets / earlier only):")
    for it in misread:
        if ahead(it.rules.windows, it.notice.published):
            print(f"  {it.group} {it.notice.id} {it.rules.kind} (keywords {it.keywords}) review={it.rules.needs_review} "
                  f"{len(it.rules.windows)} windows (gold {len(it.notice.windows)}), "
                  f"P {probs['other sets'][it.notice.id]:.2f} / {probs['earlier sets only'][it.notice.id]:.2f}")
    print("look-alikes read as another kind with windows not yet over:")
    for it in lookalike:
        print(f"  {it.group} {it.notice.id} [{it.notice.kind}] read {it.rules.kind} (keywords {it.keywords}) "
              f"review={it.rules.needs_review} "
              f"{len(it.rules.windows)} windows, P {probs['other sets'][it.notice.id]:.2f} / "
              f"{probs['earlier sets only'][it.notice.id]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
