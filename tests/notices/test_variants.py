"""Robustness beyond our exact texts: every annotated maintenance notice of the three corpora,
rewritten with the same facts (``variants.py``), and every notice inside misleading frames
(``lookalike_frames.py``). The scores are computed here and held to floors (docs/notices.md,
"Round 10"); no result list is stored."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from tests.notices.lookalike_frames import (
    ahead,
    framed_maintenance,
    framed_maintenance_more,
    framed_negatives,
    framed_negatives_more,
)
from tests.notices.variant_facts import facts, same_facts
from tests.notices.variants import MORE_RECIPES, RECIPES, variants, window_points
from watcher.notices.corpus import GoldNotice, parse_corpus
from watcher.notices.evaluate import predict, score

CORPUS = Path(__file__).parent / "corpus"


@cache
def _golds() -> tuple[GoldNotice, ...]:
    return tuple(g for name in ("dev", "blind", "blind2")
                 for g in parse_corpus((CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()))


def _maintenance() -> list[GoldNotice]:
    return [g for g in _golds() if g.kind == "maintenance" and g.windows]


def test_every_variant_keeps_the_dates_and_times_of_its_notice() -> None:
    checked = 0
    for g in _maintenance():
        before = facts(g.text, g.published)
        stated = {p for k, p in before if k == "t"} & window_points(g)
        for v in variants(g):
            core = facts(v.core, g.published)
            assert same_facts(before, core), (v.notice.id, v.core)
            # the script and width steps change no point; the frame adds the title's and the date signed
            assert facts(v.notice.text, g.published) == facts(v.head + v.core + v.tail, g.published), v.notice.id
            assert not v.tail or facts(v.tail, g.published) == [("d", g.published)], v.notice.id
            # every annotated boundary written in the notice is still written in the variant
            assert stated <= {p for k, p in core if k == "t"}, v.notice.id
            assert v.notice.windows == g.windows and v.notice.kind == g.kind
            checked += 1
    assert checked == len(_maintenance()) * len(RECIPES)


def test_the_fact_check_sees_a_changed_time_or_date() -> None:
    hour = re.compile(r"(?<![\d:])(1\d)(?=:\d\d)")
    day = re.compile(r"(?<=月)(1\d)(?=日)")
    g = next(n for n in _maintenance() if hour.search(n.text) and day.search(n.text))
    before = facts(g.text, g.published)
    for pattern in (hour, day):
        wrong = pattern.sub(lambda m: str(int(m.group(1)) + 1), g.text, count=1)
        assert wrong != g.text and not same_facts(before, facts(wrong, g.published)), wrong


def test_the_variants_are_the_same_each_run_and_differ_from_the_originals() -> None:
    g = _maintenance()[0]
    assert [v.notice.text for v in variants(g)] == [v.notice.text for v in variants(g)]
    changed = sum(v.notice.text != g.text for g in _maintenance() for v in variants(g))
    assert changed >= 0.6 * len(_maintenance()) * len(RECIPES)


def test_the_parser_reads_the_variants_about_as_well_as_the_originals() -> None:
    base = _maintenance()
    read = {n.id: predict(n) for g in base for n in (g, *(v.notice for v in variants(g)))}
    originals = score(base, read=lambda n: read[n.id]).total.metrics()
    m = score([v.notice for g in base for v in variants(g)], read=lambda n: read[n.id]).total.metrics()
    assert m["silent_misses"] == 0
    # floors: Round 10 measured 99.0 / 95.1 / 96.6 % on the variants and on the originals
    assert m["maintenance_or_not"] >= 0.98
    assert m["window_recall"] >= 0.93 and m["window_recall"] >= originals["window_recall"] - 0.01
    assert m["window_precision"] >= 0.94 and m["window_precision"] >= originals["window_precision"] - 0.01
    # read exactly as the original (kind, windows, review): robustness whatever the annotation says
    same = sum(read[v.notice.id] == read[g.id] for g in base for v in variants(g))
    assert same >= 0.98 * len(base) * len(RECIPES)


def test_misleading_frames_around_maintenance_are_never_silent() -> None:
    framed = list(framed_maintenance(list(_golds())))
    assert len(framed) >= 6 * 150 and all(ahead(n) for n in framed)
    m = score(framed).total.metrics()
    assert m["silent_misses"] == 0
    # Round 10: 98.5 / 94.8 / 96.5 %
    assert m["maintenance_or_not"] >= 0.975
    assert m["window_recall"] >= 0.93 and m["window_precision"] >= 0.94


def test_work_wording_without_a_window_around_look_alikes_raises_few_confident_alarms() -> None:
    framed = list(framed_negatives(list(_golds())))
    alarms = 0
    for n in framed:
        p = predict(n)
        alarms += int(p.kind == "maintenance" and not p.needs_review)
    # Round 10: 19 of 952 (13 of them under "系统维护期间可能影响部分功能，具体安排另行通知")
    assert alarms <= 0.025 * len(framed)


def test_each_round_13_recipe_is_read_about_as_well_as_the_originals() -> None:
    base = _maintenance()
    originals = score(base).total.metrics()
    for recipe in MORE_RECIPES:
        m = score([v.notice for g in base for v in variants(g) if v.recipe == recipe]).total.metrics()
        # Round 13, after: the worst were duration and mixed2 for recall (93.8 / 93.2 % against 95.5 %
        # on the originals) and numeric for precision (95.8 % against 97.0 %)
        assert m["silent_misses"] == 0, recipe
        assert m["window_recall"] >= originals["window_recall"] - 0.03, (recipe, m["window_recall"])
        assert m["window_precision"] >= originals["window_precision"] - 0.015, (recipe, m["window_precision"])


def test_round_13_frames_hide_no_window_and_raise_few_confident_alarms() -> None:
    golds = list(_golds())
    framed = list(framed_maintenance_more(golds))
    assert len(framed) >= 10 * 150
    m = score(framed).total.metrics()
    # Round 13: 98.4 / 94.2 / 96.4 %, 0 silent (before: 76.9 / 76.1 %, 6 silent)
    assert m["silent_misses"] == 0
    assert m["maintenance_or_not"] >= 0.975
    assert m["window_recall"] >= 0.92 and m["window_precision"] >= 0.94
    negatives = list(framed_negatives_more(golds))
    alarms = sum(1 for n in negatives if (p := predict(n)).kind == "maintenance" and not p.needs_review)
    # Round 13: 20 of 1,904 (before: 76)
    assert alarms <= 0.02 * len(negatives)
