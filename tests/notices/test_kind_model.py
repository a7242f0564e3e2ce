"""The kind model beside the rules (issue 16 item 8): the shipped table, and the two ways it sends a
notice to review. docs/notices.md, "The kind model beside the rules (review only)"."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

from watcher.notices import kind_model, understand
from watcher.notices.corpus import parse_corpus
from watcher.notices.evaluate import score
from watcher.notices.normalize import normalize

PUB = date(2026, 11, 20)
CORPUS = Path(__file__).parent / "corpus"
TABLE = Path(kind_model.__file__).with_name("kind_model.json")


def test_the_table_is_fitted_on_every_committed_corpus_and_nothing_held_out() -> None:
    raw = json.loads(TABLE.read_text("utf-8"))
    assert sorted(raw["corpus"]) == sorted(f"tests/notices/corpus/{p.name}" for p in CORPUS.glob("*.jsonl"))
    assert raw["notices"] == sum(raw["corpus"].values())
    assert len(raw["weights"]) == raw["settings"]["top_k"] == 2_000 and raw["settings"]["C"] == 1.0


def test_the_probability_is_the_hand_computed_logistic_of_the_tfidf_vector() -> None:
    raw = json.loads(TABLE.read_text("utf-8"))
    w = raw["weights"]
    text = "维护维护"
    # char 1-3-grams: 维 x2, 护 x2, 维护 x2, 护维, 维护维, 护维护; only those in the table count
    counts = {"维": 2, "护": 2, "维护": 2, "护维": 1, "维护维": 1, "护维护": 1}
    kept = {g: c for g, c in counts.items() if g in w}
    assert "维护" in kept
    vec = {g: (1 + math.log(c)) * w[g][0] for g, c in kept.items()}
    norm = math.sqrt(sum(v * v for v in vec.values()))
    z = raw["intercept"] + sum(v / norm * w[g][1] for g, v in vec.items())
    want = 1 / (1 + math.exp(-z))
    assert math.isclose(kind_model.probability(text), want, rel_tol=1e-12)
    assert kind_model.table().probability("") == 1 / (1 + math.exp(-raw["intercept"]))


def test_title_and_text_normalised_apart_are_the_text_the_table_was_fitted_on() -> None:
    # understanding scores normalize(title) + "\n" + normalize(text), which it has already computed
    for path in sorted(CORPUS.glob("*.jsonl")):
        for n in parse_corpus(path.read_text("utf-8").splitlines()):
            assert normalize(n.title + "\n" + n.text) == normalize(n.title) + "\n" + normalize(n.text), n.id


def test_rules_maintenance_that_reads_as_no_service_window_goes_to_review_as_other_with_its_window() -> None:
    text = "因系统改造，即日起至12月10日暂停线上缴费服务，12月11日起恢复。"
    assert kind_model.probability(normalize("\n" + text)) < kind_model.LOW
    u = understand(text, published=PUB)
    assert u.kind == "other" and u.needs_review and not u.huabei_affected
    assert [r for r in u.reasons if "reads as no service window" in r], u.reasons
    assert len(u.windows) == 1  # kept for the reviewer


def test_another_kind_with_a_range_that_reads_as_a_service_window_goes_to_review_and_keeps_its_kind() -> None:
    title = "图书总馆闭馆12天岁修"
    text = "县立图书总馆部分设施损耗，县府将自12月5日起闭馆12天进行岁修，12月17日恢复营运。岁修期间民众可到各乡镇图书馆借阅。"
    assert kind_model.probability(normalize(title + "\n" + text)) > kind_model.HIGH
    u = understand(text, published=PUB, title=title)
    assert u.kind == "other" and u.needs_review
    assert [r for r in u.reasons if "reads as a service window" in r], u.reasons


def test_rules_maintenance_that_reads_as_maintenance_is_left_alone() -> None:
    text = "支付宝将于2026年11月28日凌晨2:00至4:00进行系统升级，期间花呗服务暂停使用。"
    u = understand(text, published=PUB, title="系统维护公告")
    assert u.kind == "maintenance" and not [r for r in u.reasons if "kind model" in r]


def test_no_silent_miss_over_every_committed_corpus_and_every_notice_it_touches_is_in_review() -> None:
    touched = 0
    for path in sorted(CORPUS.glob("*.jsonl")):
        golds = parse_corpus(path.read_text("utf-8").splitlines())
        assert score(golds).total.metrics()["silent_misses"] == 0, path.name
        for n in golds:
            u = understand(n.text, published=n.published, title=n.title)
            if any("kind model" in r for r in u.reasons):
                touched += 1
                assert u.needs_review and u.kind != "maintenance", (path.name, n.id)
    assert touched > 0
