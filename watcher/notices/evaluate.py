"""Scoring notice understanding against an annotated corpus (``huabei-watch eval-notices``).

Metrics (the ones issue 16 sets targets for):

* **maintenance or not**: share of notices whose "is it maintenance" answer matches the annotation;
* **window recall**: share of annotated windows of maintenance notices that the parser returned
  for that notice with the same start, end and status (to the minute, Beijing time);
* **window precision**: share of the windows returned for notices the parser called maintenance
  that match an annotated window of that notice;
* **all windows exact**: share of annotated maintenance notices read as maintenance with exactly
  the annotated windows (as a multiset);
* **silent misses**: annotated maintenance notices returned as another kind with ``needs_review``
  false, so nobody would be told.

Each missed window is also put down to one cause (:data:`CAUSES`), so that a held-out set scored
with ``--summary`` says where its misses are without anyone reading it: the notice was not read as
maintenance; a returned window differs from it only in status, only in its end, only in its start,
or only in its date; or nothing returned is near it. Returned windows left over after that pairing
are counted as unpaired extras. A window with nothing near is traced back to the text
(:data:`TRACES`): whether the parser's date reader finds its start date and its start time anywhere
in the notice, so that a held-out set's summary tells a layout the parser did not assemble (both
read), an unknown way of writing a date or a time (one read), and a date the annotator inferred or
wrote differently (neither) apart, still without showing any text.

Pure: predictions come in as values; :func:`predict` wraps :func:`watcher.notices.understand`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from huabei_watch.clock import SHANGHAI
from watcher.notices.corpus import GoldNotice
from watcher.notices.model import Kind
from watcher.notices.normalize import normalize
from watcher.notices.timeparse import RawPoint, find_points
from watcher.notices.understand import understand

WindowKey = tuple[datetime, datetime | None, str]

#: Causes of a missed window, in the order a miss is paired with a returned window.
CAUSES = ("not_maintenance", "status_only", "end_differs", "start_differs", "another_day", "nothing_near")

#: What the text shows of a window with nothing near: its start date (month and day) and its start time
#: (hour and minute, either half of the day) each read somewhere in the notice or not.
TRACES = ("date_and_time", "date_only", "time_only", "neither")


@dataclass(frozen=True, slots=True)
class Prediction:
    """What a reader said about one notice: kind, windows (naive Beijing time), needs_review."""

    kind: Kind
    windows: tuple[WindowKey, ...]
    needs_review: bool
    reasons: tuple[str, ...] = ()


def _naive(dt: datetime) -> datetime:
    return dt.astimezone(SHANGHAI).replace(tzinfo=None) if dt.tzinfo is not None else dt


def predict(notice: GoldNotice) -> Prediction:
    """The parser's answer for ``notice`` (published date and title as annotated)."""
    u = understand(notice.text, published=notice.published, title=notice.title)
    windows = tuple(
        (_naive(w.start), None if w.end is None else _naive(w.end), w.status) for w in u.windows
    )
    return Prediction(u.kind, windows, u.needs_review, u.reasons)


_QUOTED = re.compile(r"\([^)]*\)|（[^）]*）|'[^']*'|\"[^\"]*\"|“[^”]*”|「[^」]*」")


_HAN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+")


def reason_shape(reason: str) -> str:
    """A reason with what it quotes of the notice taken out (bracketed or quoted parts, anything after
    a colon, digits, Chinese words), so that a held-out set's reasons can be counted without showing
    its text."""
    head = _QUOTED.sub("", reason).split(":", 1)[0].split("：", 1)[0]
    head = _HAN.sub("…", re.sub(r"\d+(\.\d+)?", "N", head))
    return " ".join(head.split())


@dataclass(slots=True)
class Tally:
    """Counts behind the metrics, for the whole corpus or one category."""

    notices: int = 0
    kind_right: int = 0
    gold_maintenance: int = 0
    gold_windows: int = 0
    found_windows: int = 0
    predicted_windows: int = 0
    correct_windows: int = 0
    exact_notices: int = 0
    silent: int = 0
    review: int = 0
    missed_not_maintenance: int = 0
    missed_status_only: int = 0
    missed_end_differs: int = 0
    missed_start_differs: int = 0
    missed_another_day: int = 0
    missed_nothing_near: int = 0
    extra_unpaired: int = 0
    near_none_date_and_time: int = 0
    near_none_date_only: int = 0
    near_none_time_only: int = 0
    near_none_neither: int = 0
    #: windows with nothing near in notices for which the parser returned no window at all
    near_none_no_window: int = 0

    def add(self, other: Tally) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def metrics(self) -> dict[str, Any]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "notices": self.notices,
            "maintenance_notices": self.gold_maintenance,
            "gold_windows": self.gold_windows,
            "maintenance_or_not": ratio(self.kind_right, self.notices),
            "window_recall": ratio(self.found_windows, self.gold_windows),
            "window_precision": ratio(self.correct_windows, self.predicted_windows),
            "all_windows_exact": ratio(self.exact_notices, self.gold_maintenance),
            "silent_misses": self.silent,
            "needs_review": self.review,
            "missed_by_cause": {c: getattr(self, f"missed_{c}") for c in CAUSES},
            "extra_unpaired": self.extra_unpaired,
            "nothing_near_in_text": {t: getattr(self, f"near_none_{t}") for t in TRACES},
            "nothing_near_no_window": self.near_none_no_window,
        }


@dataclass(slots=True)
class Report:
    """Scores of one corpus: overall, by category, and one line per miss."""

    total: Tally = field(default_factory=Tally)
    by_category: dict[str, Tally] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    #: how many maintenance notices missed 1, 2, ... of their windows (where the misses gather)
    missed_per_notice: Counter[int] = field(default_factory=Counter)
    #: the reasons the parser gave for its silent misses, as :func:`reason_shape` (one count each)
    silent_reasons: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.total.metrics(),
            "predicted_kinds": dict(sorted(self.kinds.items())),
            "missed_per_notice": {str(k): v for k, v in sorted(self.missed_per_notice.items())},
            "silent_reasons": dict(sorted(self.silent_reasons.items())),
            "by_category": {k: v.metrics() for k, v in sorted(self.by_category.items())},
            "misses": list(self.misses),
        }


def _fmt(w: WindowKey) -> str:
    start, end, status = w
    tail = end.strftime("%Y-%m-%d %H:%M") if end is not None else "open"
    return f"{start:%Y-%m-%d %H:%M} - {tail}" + ("" if status == "scheduled" else f" ({status})")


def _same_day_part(a: WindowKey, b: WindowKey) -> bool:
    """Same times of day and the same length, on another date."""
    (s1, e1, _), (s2, e2, _) = a, b
    if s1.time() != s2.time() or (e1 is None) != (e2 is None):
        return False
    return e1 is None or e2 is None or (e1 - s1 == e2 - s2)


_NEAR: tuple[tuple[str, Callable[[WindowKey, WindowKey], bool]], ...] = (
    ("status_only", lambda a, b: a[:2] == b[:2]),
    ("end_differs", lambda a, b: a[0] == b[0]),
    ("start_differs", lambda a, b: a[1] is not None and a[1] == b[1]),
    ("another_day", _same_day_part),
)


def pair_misses(
    missed: list[WindowKey], extra: list[WindowKey]
) -> tuple[list[tuple[str, WindowKey, WindowKey]], list[WindowKey], list[WindowKey]]:
    """Pair each missed window with the nearest kind of returned window left (greedy, cause by cause in
    the order of :data:`CAUSES`): the (cause, missed, returned) pairs, then the missed and the returned
    windows left unpaired."""
    pairs: list[tuple[str, WindowKey, WindowKey]] = []
    left_missed, left_extra = list(missed), list(extra)
    for cause, near in _NEAR:
        for w in list(left_missed):
            match = next((x for x in left_extra if near(w, x)), None)
            if match is not None:
                left_missed.remove(w)
                left_extra.remove(match)
                pairs.append((cause, w, match))
    return pairs, left_missed, left_extra


def trace(gold: GoldNotice, windows: Iterable[WindowKey]) -> list[str]:
    """Which of :data:`TRACES` each window is: whether its start date and its start time are read
    anywhere in the notice (title and text, normalised as the parser does, by its date reader, once)."""
    points = find_points(normalize(f"{gold.title}\n{gold.text}"))
    return [_trace_one(points, w[0]) for w in windows]


def _trace_one(points: list[RawPoint], start: datetime) -> str:
    date = any(p.month == start.month and p.day == start.day for p in points)
    time = any(p.hour is not None and p.minute == start.minute and start.hour in (p.hour % 24, (p.hour + 12) % 24)
               for p in points)
    return ("date_and_time" if time else "date_only") if date else ("time_only" if time else "neither")


def score_one(gold: GoldNotice, pred: Prediction) -> tuple[Tally, list[str]]:
    """The tally and miss lines for one notice."""
    t = Tally(notices=1, review=int(pred.needs_review))
    misses: list[str] = []
    tag = f"{gold.id} [{gold.category}]"
    gold_m = gold.kind == "maintenance"
    pred_m = pred.kind == "maintenance"
    t.kind_right = int(gold_m == pred_m)
    if gold_m != pred_m:
        silent = gold_m and not pred.needs_review
        t.silent = int(silent)
        misses.append(
            f"{tag} kind: annotated {gold.kind}, read {pred.kind} (needs_review={str(pred.needs_review).lower()})"
            + (" SILENT" if silent else "")
        )
    want: Counter[WindowKey] = Counter()
    if gold_m:
        t.gold_maintenance = 1
        want = Counter((w.start, w.end, w.status) for w in gold.windows)
        t.gold_windows = sum(want.values())
    got: Counter[WindowKey] = Counter(pred.windows) if pred_m else Counter()
    t.predicted_windows = sum(got.values())
    hit = want & got
    t.found_windows = t.correct_windows = sum(hit.values())
    if gold_m and pred_m and want == got:
        t.exact_notices = 1
    missed = sorted((want - got).elements(), key=str)
    extra = sorted((got - want).elements(), key=str)
    if gold_m and not pred_m:
        t.missed_not_maintenance = len(missed)
    else:
        pairs, near_none, left_extra = pair_misses(missed, extra)
        t.extra_unpaired = len(left_extra)
        for cause, _, _ in pairs:
            setattr(t, f"missed_{cause}", getattr(t, f"missed_{cause}") + 1)
        t.missed_nothing_near = len(near_none)
        for kind in trace(gold, near_none) if near_none else ():
            field_name = f"near_none_{kind}"
            setattr(t, field_name, getattr(t, field_name) + 1)
        t.near_none_no_window = 0 if got else len(near_none)
    for w in missed:
        misses.append(f"{tag} window missed: {_fmt(w)}")
    for w in extra:
        misses.append(f"{tag} window extra: {_fmt(w)}")
    return t, misses


def score(golds: Iterable[GoldNotice], read: Callable[[GoldNotice], Prediction] = predict) -> Report:
    """Score ``read`` (by default the parser) on every notice of a corpus."""
    report = Report()
    for gold in golds:
        pred = read(gold)
        report.kinds[pred.kind] += 1
        tally, misses = score_one(gold, pred)
        report.total.add(tally)
        if tally.gold_windows > tally.found_windows:
            report.missed_per_notice[tally.gold_windows - tally.found_windows] += 1
        if tally.silent:
            report.silent_reasons.update(dict.fromkeys(map(reason_shape, pred.reasons or ("(none)",)), 1))
        report.by_category.setdefault(gold.category, Tally()).add(tally)
        if gold.script == "traditional":
            report.by_category.setdefault("(traditional script)", Tally()).add(tally)
        report.misses.extend(misses)
    return report


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def render(report: Report) -> str:
    """Human-readable report: one line per miss, a summary, then the per-category table."""
    lines = list(report.misses)
    m = report.total.metrics()
    lines.append("")
    lines.append(
        f"notices {m['notices']} (maintenance {m['maintenance_notices']}, windows {m['gold_windows']}); "
        f"maintenance-or-not {_pct(m['maintenance_or_not'])}; window recall {_pct(m['window_recall'])}; "
        f"window precision {_pct(m['window_precision'])}; all windows exact {_pct(m['all_windows_exact'])}; "
        f"silent misses {m['silent_misses']}; needs_review {m['needs_review']}"
    )
    causes = m["missed_by_cause"]
    lines.append(
        "windows missed by cause: " + "; ".join(f"{c.replace('_', ' ')} {causes[c]}" for c in CAUSES)
        + f"; extra windows unpaired {m['extra_unpaired']}"
    )
    near = m["nothing_near_in_text"]
    if causes["nothing_near"]:
        lines.append(
            "windows with nothing near, read in the text: " + "; ".join(
                f"{label} {near[t]}" for t, label in zip(TRACES, (
                    "start date and time", "start date only", "start time only", "neither"), strict=True))
            + f"; in notices with no window returned {m['nothing_near_no_window']}"
        )
    spread = ", ".join(f"{v} x {k}" for k, v in sorted(report.missed_per_notice.items()))
    lines.append(f"notices by windows missed: {spread or 'none'}")
    if report.silent_reasons:
        lines.append("reasons given for the silent misses: "
                     + "; ".join(f"{r or '(none)'} x {n}" for r, n in sorted(report.silent_reasons.items())))
    lines.append("")
    lines.append(f"{'category':<22}{'n':>5}{'maint':>7}{'m-or-not':>10}{'recall':>9}{'precision':>11}"
                 f"{'exact':>9}{'silent':>8}")
    for cat, tally in sorted(report.by_category.items()):
        c = tally.metrics()
        lines.append(
            f"{cat:<22}{c['notices']:>5}{c['maintenance_notices']:>7}{_pct(c['maintenance_or_not']):>10}"
            f"{_pct(c['window_recall']):>9}{_pct(c['window_precision']):>11}{_pct(c['all_windows_exact']):>9}"
            f"{c['silent_misses']:>8}"
        )
    return "\n".join(lines)
