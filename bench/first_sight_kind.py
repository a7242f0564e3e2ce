"""Issue 16, round 25: the kind decision on notices nobody tuned on, studied on first sight.

Run from the repository root, with scikit-learn in a side environment (as ``bench/kind_promotion_study.py``;
without it the script says so and exits 0)::

    python3 -m venv /tmp/mv25     # scikit-learn and this worktree's .venv on its path, e.g. through a .pth file:
    printf '%s\n' /tmp/mv22/lib/python3.11/site-packages "$PWD/.venv/lib/python3.11/site-packages" \
        > /tmp/mv25/lib/python3.11/site-packages/wt.pth
    PYTHONPATH=$PWD nice -n 19 /tmp/mv25/bin/python -m bench.first_sight_kind

(the first-seen parsers run in a subprocess whose ``PYTHONPATH`` is their own tree only, so the interpreter itself must
find pydantic and the other dependencies).

For each committed blind set with a known first parser (``kind_model_experiment.FIRST_REV``), the rules as they
were when the set was first scored (rerun from ``git archive``) and the kind model fitted **without that set**
(on all other sets; on the sets gathered before it only), both from ``bench/kind_promotion_study.py``:

1. the maintenance notices the rules read as another kind, by category only: the kind read, the ranges the
   grammar found (none, all past, ahead and set aside, kept as windows) and the rule that decided;
2. general decisions, each applied to the first-seen answers and scored on all sets together with
   ``evaluate.score_one``: maintenance-or-not, recall, precision, exact, silent misses, review, notices promoted
   (maintenance / not);
3. never silent: notices the rules left with no review and a range not yet past, sent to review when P(maintenance)
   reaches a threshold (the kind unchanged): silent misses and review added (maintenance / not).

A promoted notice is maintenance with needs_review; its windows are the rules' windows, or, with none, the ranges
with an end the grammar found before they were set aside, not over before the day of publication.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date

from bench.kind_promotion_study import Item, _row, _tally, ahead, study_inputs
from watcher.notices.evaluate import Prediction, WindowKey
from watcher.notices.kind_model import MIN_CHARS
from watcher.notices.resolve import Resolver
from watcher.notices.review import disrupts
from watcher.notices.timeparse import find_points
from watcher.notices.vocab import DISRUPTION_RE, sentence_bounds

# Work on a service written in the same sentence as a date ahead (a recovery note announcing a later window).
WORK_RE = re.compile(r"维护|升级|割接|检修|停机|停服|迁移|切换|施工|维修|更新|改造|调试|测试|扩容|优化")
# The rules turned maintenance wording down on purpose: a look-alike rule of theirs decided.
LOOKALIKE_RULE_RE = re.compile(r"holiday arrangement|safety drill|office days|ended for good|no system, supply or pay "
                               r"service|services run as usual|a timetable, not dated|switch-over or launch")


def category(it: Item) -> tuple[str, str]:
    """(ranges found, what decided) for a notice the rules did not read as maintenance."""
    pub = it.notice.published
    if it.rules.windows:
        ranges = "windows kept"
    elif ahead(it.spans, pub):
        ranges = "ranges ahead set aside"
    elif it.spans or any("set aside" in r for r in it.reasons):
        ranges = "ranges all past"
    else:
        ranges = "no range read"
    text = " | ".join(it.reasons)
    if "no window is tied to a stop" in text:
        why = "maintenance wording, no window tied to a stop"
    elif LOOKALIKE_RULE_RE.search(text):
        why = "a look-alike rule (holiday, drill, no system, launch ...)"
    elif "kind model" in text:
        why = "the kind model"
    elif "maintenance wording but no time window" in text:
        why = "maintenance wording, no window read"
    elif "no wording of service disruption" in text:
        why = "ranges set aside: no wording of a stop"
    else:
        why = f"keyword count: {it.keywords}"
    return ranges, why


def announced_ahead(it: Item) -> bool:
    """A sentence dated after the day of publication that names work and words a disruption."""
    pub = it.notice.published
    r = Resolver(pub)
    for p in find_points(it.text):
        if not p.has_date:
            continue
        d = r.date_of(p, None)
        if d is None or d <= pub:
            continue
        lo, hi = sentence_bounds(it.text, p.start)
        if WORK_RE.search(it.text, lo, hi) and DISRUPTION_RE.search(it.text, lo, hi) and disrupts(it.text, lo, hi):
            return True
    return False


def same_hours(windows: Sequence[WindowKey], n: int) -> bool:
    """``n`` windows or more with the same hours on different days."""
    hours: dict[tuple[object, object], set[date]] = {}
    for s, e, _ in windows:
        hours.setdefault((s.time(), None if e is None else e.time()), set()).add(s.date())
    return any(len(days) >= n for days in hours.values())


Decide = Callable[[Item, float, list[WindowKey]], bool]


def decisions() -> dict[str, Decide]:
    """Candidate general decisions: promote ``it`` (P(maintenance) ``p``, windows or ranges ahead ``live``)."""
    def no_rule(it: Item) -> bool:
        return not LOOKALIKE_RULE_RE.search(" | ".join(it.reasons))

    out: dict[str, Decide] = {
        "announced ahead, report kinds (outage/recovery)": lambda it, p, live: it.rules.kind in ("outage", "recovery")
        and announced_ahead(it),
        "announced ahead, any kind": lambda it, p, live: announced_ahead(it),
        "announced ahead, any kind, no look-alike rule": lambda it, p, live: announced_ahead(it) and no_rule(it),
        "schedule (3+ ranges ahead, same hours) + a work word": lambda it, p, live: same_hours(live, 3)
        and bool(WORK_RE.search(it.text)),
        "schedule (2+ same hours) + a work word, no look-alike rule": lambda it, p, live: same_hours(live, 2)
        and bool(WORK_RE.search(it.text)) and no_rule(it),
    }
    def untied(t: float) -> Decide:
        return lambda it, p, live: it.untied and p >= t

    def any_kind(t: float) -> Decide:
        return lambda it, p, live: no_rule(it) and p >= t

    def ahead_or(t: float) -> Decide:
        return lambda it, p, live: no_rule(it) and (announced_ahead(it) or p >= t)

    def ahead_and(t: float) -> Decide:
        return lambda it, p, live: no_rule(it) and announced_ahead(it) and p >= t

    for t in (0.5, 0.6, 0.7):
        out[f"untied only, P >= {t} (round 22 relaxed)"] = untied(t)
        out[f"any kind, no look-alike rule, P >= {t}"] = any_kind(t)
    for t in (0.5, 0.6):
        out[f"announced ahead (any kind, no look-alike rule) or P >= {t} (same)"] = ahead_or(t)
        out[f"announced ahead and P >= {t}, no look-alike rule"] = ahead_and(t)
    out["untied P >= 0.7 or announced ahead (report kinds)"] = lambda it, p, live: (it.untied and p >= 0.7) or (
        it.rules.kind in ("outage", "recovery") and announced_ahead(it))
    return out


def promote(it: Item, p: float, decide: Decide) -> Prediction:
    r = it.rules
    if r.kind == "maintenance":
        return r
    live = ahead(r.windows or it.spans, it.notice.published)
    if not live or not decide(it, p, live):
        return r
    return Prediction("maintenance", r.windows or tuple(live), True)


def review_only(it: Item, p: float, t: float, aside: str = "any") -> Prediction:
    """Never silent: no review, a range not yet past (kept or set aside), P >= t -> review, the kind unchanged.
    Ranges set aside count in any notice (``aside`` "any"), only in one with no kind keywords ("no keywords", round
    22's condition), or only where the keyword count did not say maintenance ("no look-alike rule": no rule of the
    rules turned maintenance wording down on purpose)."""
    r = it.rules
    if r.kind == "maintenance" or r.needs_review or p < t or not ahead(r.windows or it.spans, it.notice.published):
        return r
    if not r.windows and ((aside == "no keywords" and "no kind keywords" not in it.reasons)
                          or (aside == "no look-alike rule" and it.keywords == "maintenance")):
        return r
    return Prediction(r.kind, r.windows, True)


def shipped(it: Item, p: float, round25: bool) -> Prediction:
    """The model's review paths as shipped, on the first-seen answer: round 22 (another kind with ranges kept and
    P > 0.6; ranges ahead set aside in a notice with no kind keywords and P > 0.6) or round 25 (set aside where the
    keyword count did not say maintenance; and from P >= 0.5 where a range is not yet past, nothing sent the notice
    to review and no range was set aside on purpose as something else, "set aside:" in the reasons)."""
    r = it.rules
    if r.kind == "maintenance" or r.needs_review:
        return r
    if r.windows and p > 0.6:
        return Prediction(r.kind, r.windows, True)
    live = ahead(r.windows or it.spans, it.notice.published)
    if not live or (not r.windows and len(it.text) < MIN_CHARS):
        return r
    if not round25:
        aside_counts = "no kind keywords" in it.reasons and p > 0.6
    else:
        aside_counts = (r.windows or it.keywords != "maintenance") and (
            p > 0.6 or (p >= 0.5 and not any("set aside:" in x for x in it.reasons)))
    return Prediction(r.kind, r.windows, True) if aside_counts else r

def _reading(prob: dict[str, float], read: Callable[..., Prediction]) -> Callable[[Item], Prediction]:
    """``read(item, P(maintenance))`` as a reader of items, with P from ``prob``."""
    return lambda it: read(it, prob[it.notice.id])


def main(argv: Sequence[str] | None = None) -> int:
    inputs = study_inputs(argv, __doc__, "first-sight kind study")
    if inputs is None:
        return 0
    items, probs = inputs
    misread = [it for it in items if it.notice.kind == "maintenance" and it.rules.kind != "maintenance"]
    print(f"{len(items)} notices, {sum(it.notice.kind == 'maintenance' for it in items)} maintenance; "
          f"{len(misread)} maintenance notices read as another kind on first sight, "
          f"{sum(len(it.notice.windows) for it in misread)} annotated windows in them")
    print("\n1. by kind read:", dict(Counter(it.rules.kind for it in misread).most_common()))
    print("   silent (no review):", sum(not it.rules.needs_review for it in misread))
    print("\n| ranges found | what decided | notices | windows annotated | silent |\n|---|---|---|---|---|")
    cats = Counter(category(it) for it in misread)
    for (ranges, why), n in sorted(cats.items(), key=lambda kv: (-kv[1], kv[0])):
        here = [it for it in misread if category(it) == (ranges, why)]
        print(f"| {ranges} | {why} | {n} | {sum(len(it.notice.windows) for it in here)} | "
              f"{sum(not it.rules.needs_review for it in here)} |")
    print("\nper notice (set, kind read, category, P other sets / earlier only, annotated windows, announced ahead):")
    for it in misread:
        print(f"  {it.group} {it.rules.kind} {category(it)} P {probs['other sets'][it.notice.id]:.2f} / "
              f"{probs['earlier sets only'][it.notice.id]:.2f} gold {len(it.notice.windows)} "
              f"announced_ahead={announced_ahead(it)}")

    print("\n2. decisions\n\n| decision (model fitted without the set) | m-or-not | recall | precision | exact | silent | "
          "review | promoted maint. | promoted not |\n|---|---|---|---|---|---|---|---|---|")
    base, _, _ = _tally(items, lambda it: it.rules)
    print(_row("rules as first seen, alone", base, 0, 0))
    for label, prob in probs.items():
        for name, decide in decisions().items():
            if "P >=" not in name and label != "other sets":
                continue  # no model in it: the same under both fittings
            tally, good, bad = _tally(items, _reading(prob, lambda it, p, d=decide: promote(it, p, d)))
            print(_row(f"{name} ({label})" if "P >=" in name else name, tally, good, bad))

    print("\n3. never silent: review when a range is not yet past and P >= t (kind unchanged)\n\n"
          "| t (model fitted without the set) | silent | review | review added, maint. | review added, not |\n"
          "|---|---|---|---|---|")
    print(f"| rules alone | {base.metrics()['silent_misses']} | {base.metrics()['needs_review']} | - | - |")
    for label, prob in probs.items():
        for t, kw in ((0.2, "any"), (0.3, "any"), (0.4, "any"), (0.5, "any"), (0.6, "any"), (0.4, "no keywords"),
                      (0.5, "no keywords"), (0.4, "no look-alike rule"), (0.5, "no look-alike rule")):
            tally, _, _ = _tally(items, _reading(prob, lambda it, p, t=t, kw=kw: review_only(it, p, t, kw)))
            added = [it for it in items if review_only(it, prob[it.notice.id], t, kw).needs_review
                     and not it.rules.needs_review]
            m = tally.metrics()
            cond = "" if kw == "any" else f", set aside: {kw}"
            print(f"| P >= {t}{cond} ({label}) | {m['silent_misses']} | {m['needs_review']} | "
                  f"{sum(it.notice.kind == 'maintenance' for it in added)} | "
                  f"{sum(it.notice.kind != 'maintenance' for it in added)} |")
    print("\n| model's review paths (model fitted without the set) | silent | review | review added, maint. | "
          "review added, not |\n|---|---|---|---|---|")
    for label, prob in probs.items():
        for name, r25 in (("round 22 as shipped", False), ("round 25 (chosen)", True)):
            tally, _, _ = _tally(items, _reading(prob, lambda it, p, r25=r25: shipped(it, p, r25)))
            added = [it for it in items if shipped(it, prob[it.notice.id], r25).needs_review and not it.rules.needs_review]
            m = tally.metrics()
            print(f"| {name} ({label}) | {m['silent_misses']} | {m['needs_review']} | "
                  f"{sum(it.notice.kind == 'maintenance' for it in added)} | "
                  f"{sum(it.notice.kind != 'maintenance' for it in added)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
