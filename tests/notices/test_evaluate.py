"""Scoring an annotated corpus: metrics on small corpora with known answers, and the CLI end to end."""

from __future__ import annotations

import gzip
import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from watcher.notices.corpus import CorpusError, GoldNotice, parse_corpus
from watcher.notices.evaluate import Prediction, WindowKey, render, score

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "tests" / "notices" / "corpus" / "dev.jsonl"
BLIND = ROOT / "tests" / "notices" / "corpus" / "blind.jsonl"


def _line(id_: str, kind: str, windows: list[tuple[str, str | None]], category: str = "bank", **extra: object) -> str:
    return json.dumps({
        "id": id_, "category": category, "script": "simplified", "published": "2026-11-26", "title": "",
        "text": "x", "kind": kind,
        "windows": [{"start": s, "end": e, "status": "scheduled", "products": []} for s, e in windows],
        **extra,
    }, ensure_ascii=False)


def _w(s: str, e: str | None) -> WindowKey:
    f = "%Y-%m-%d %H:%M"
    return (datetime.strptime(s, f), None if e is None else datetime.strptime(e, f), "scheduled")


A = ("2026-12-01 01:00", "2026-12-01 03:00")
B = ("2026-12-02 01:00", "2026-12-02 03:00")


def _reader(answers: dict[str, Prediction]):  # type: ignore[no-untyped-def]
    return lambda g: answers[g.id]


@pytest.mark.parametrize(
    ("name", "lines", "answers", "want"),
    [
        ("all_right",
         [_line("n1", "maintenance", [A, B]), _line("n2", "other", [], "negative")],
         {"n1": Prediction("maintenance", (_w(*A), _w(*B)), False), "n2": Prediction("other", (), False)},
         {"maintenance_or_not": 1.0, "window_recall": 1.0, "window_precision": 1.0, "all_windows_exact": 1.0,
          "silent_misses": 0}),
        ("one_window_wrong_end",
         [_line("n1", "maintenance", [A, B])],
         {"n1": Prediction("maintenance", (_w(*A), _w(B[0], "2026-12-02 04:00")), False)},
         {"maintenance_or_not": 1.0, "window_recall": 0.5, "window_precision": 0.5, "all_windows_exact": 0.0,
          "silent_misses": 0}),
        ("silent_miss_counts_only_without_review",
         [_line("n1", "maintenance", [A]), _line("n2", "maintenance", [B])],
         {"n1": Prediction("other", (), False), "n2": Prediction("other", (_w(*B),), True)},
         {"maintenance_or_not": 0.0, "window_recall": 0.0, "window_precision": None, "all_windows_exact": 0.0,
          "silent_misses": 1}),
        ("false_positive_windows_lower_precision",
         [_line("n1", "maintenance", [A]), _line("n2", "fee_policy", [], "negative")],
         {"n1": Prediction("maintenance", (_w(*A),), False), "n2": Prediction("maintenance", (_w(*B),), True)},
         {"maintenance_or_not": 0.5, "window_recall": 1.0, "window_precision": 0.5, "all_windows_exact": 1.0,
          "silent_misses": 0}),
        ("duplicate_windows_match_as_a_multiset",
         [_line("n1", "maintenance", [A, A])],
         {"n1": Prediction("maintenance", (_w(*A),), False)},
         {"window_recall": 0.5, "window_precision": 1.0, "all_windows_exact": 0.0}),
        ("open_end_must_match_open_end",
         [_line("n1", "maintenance", [(A[0], None)])],
         {"n1": Prediction("maintenance", (_w(*A),), False)},
         {"window_recall": 0.0, "window_precision": 0.0}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_scores_on_small_corpora(name: str, lines: list[str], answers: dict[str, Prediction],
                                 want: dict[str, object]) -> None:
    report = score(parse_corpus(lines), _reader(answers))
    got = report.to_json()
    for key, value in want.items():
        assert got[key] == value, (name, key, got)


def test_every_miss_gets_one_line_naming_the_notice() -> None:
    golds = parse_corpus([_line("n1", "maintenance", [A, B])])
    report = score(golds, _reader({"n1": Prediction("other", (), False)}))
    assert report.misses == [
        "n1 [bank] kind: annotated maintenance, read other (needs_review=false) SILENT",
        "n1 [bank] window missed: 2026-12-01 01:00 - 2026-12-01 03:00",
        "n1 [bank] window missed: 2026-12-02 01:00 - 2026-12-02 03:00",
    ]
    assert "silent misses 1" in render(report)


def test_each_missed_window_is_put_down_to_one_cause() -> None:
    c = ("2026-12-03 01:00", "2026-12-03 03:00")
    d = ("2026-12-04 01:00", "2026-12-04 03:00")
    e = ("2026-12-05 22:00", "2026-12-06 02:00")
    golds = parse_corpus([
        _line("n1", "maintenance", [A, B, c, d, e]),
        _line("n2", "maintenance", [A, B]),
    ])
    cancelled = (_w(*A)[0], _w(*A)[1], "cancelled")
    answers = {
        "n1": Prediction("maintenance", (
            cancelled,                                   # A: status only
            _w(B[0], "2026-12-02 05:00"),                # B: end differs
            _w("2026-12-03 00:00", c[1]),                # c: start differs
            _w("2026-11-04 01:00", "2026-11-04 03:00"),  # d: the same hours on another day
            _w("2026-12-09 08:00", "2026-12-09 09:00"),  # e: nothing near; left over as an extra
        ), False),
        "n2": Prediction("other", (), True),             # both lost with the kind
    }
    got = score(golds, _reader(answers)).to_json()
    assert got["missed_by_cause"] == {"not_maintenance": 2, "status_only": 1, "end_differs": 1,
                                      "start_differs": 1, "another_day": 1, "nothing_near": 1}
    assert got["extra_unpaired"] == 1
    assert got["missed_per_notice"] == {"2": 1, "5": 1}
    text = render(score(golds, _reader(answers)))
    assert "windows missed by cause: not maintenance 2; status only 1; end differs 1; start differs 1; " \
           "another day 1; nothing near 1; extra windows unpaired 1" in text
    assert "notices by windows missed: 1 x 2, 1 x 5" in text


def test_a_window_found_is_no_miss_and_a_false_positive_is_an_unpaired_extra() -> None:
    golds = parse_corpus([_line("n1", "maintenance", [A]), _line("n2", "fee_policy", [], "negative")])
    answers = {"n1": Prediction("maintenance", (_w(*A),), False), "n2": Prediction("maintenance", (_w(*B),), False)}
    got = score(golds, _reader(answers)).to_json()
    assert sum(got["missed_by_cause"].values()) == 0 and got["extra_unpaired"] == 1
    assert got["missed_per_notice"] == {}


def test_windows_with_nothing_near_are_traced_to_what_the_text_shows_without_its_words() -> None:
    # A = 2026-12-01 01:00-03:00; each notice is read as maintenance with a window far away (or none)
    far = Prediction("maintenance", (_w("2026-12-20 10:00", "2026-12-20 11:00"),), False)
    golds = parse_corpus([
        _line("both", "maintenance", [A], text="系统将于12月1日凌晨进行升级，时间为1:00至3:00。"),
        _line("date", "maintenance", [A], text="12月1日全天暂停服务。"),
        _line("time", "maintenance", [A], text="下周二1:00-3:00暂停服务。"),
        _line("pm", "maintenance", [("2026-12-01 13:00", "2026-12-01 15:00")], text="下周二下午1:00起暂停服务。"),
        _line("none", "maintenance", [A], text="近期将暂停服务，具体时间另行通知。"),
        _line("nowin", "maintenance", [A], text="12月1日全天暂停服务。"),
    ])
    answers = {g.id: far for g in golds}
    answers["nowin"] = Prediction("maintenance", (), True)
    report = score(golds, _reader(answers))
    got = report.to_json()
    assert got["missed_by_cause"]["nothing_near"] == 6
    assert got["nothing_near_in_text"] == {"date_and_time": 1, "date_only": 2, "time_only": 2, "neither": 1}
    assert got["nothing_near_no_window"] == 1
    text = render(report)
    assert ("windows with nothing near, read in the text: start date and time 1; start date only 2; "
            "start time only 2; neither 1; in notices with no window returned 1") in text
    assert not any(ch in text for ch in "暂停服务全天凌晨")
    # without any window with nothing near, no such line
    found = score(parse_corpus([_line("ok", "maintenance", [A])]),
                  _reader({"ok": Prediction("maintenance", (_w(*A),), False)}))
    assert "nothing near, read in the text" not in render(found)


def test_silent_misses_list_the_parsers_reasons_without_the_notices_words() -> None:
    golds = parse_corpus([_line("n1", "maintenance", [A]), _line("n2", "maintenance", [B]),
                          _line("n3", "maintenance", [A])])
    answers = {
        "n1": Prediction("other", (), False, ("2 time range(s) set aside: no wording of a disruption in 暂停交易",
                                              "times written in 美东时间, moved to Beijing time")),
        "n2": Prediction("other", (), False, ("3 time range(s) set aside: 系统升级",)),
        "n3": Prediction("other", (), True, ("sent to review",)),  # not silent: not listed
    }
    report = score(golds, _reader(answers))
    assert report.silent_reasons == {"N time range set aside": 2, "times written in …, moved to Beijing time": 1}
    text = render(report)
    assert ("reasons given for the silent misses: N time range set aside x 2; "
            "times written in …, moved to Beijing time x 1") in text
    assert not any(ch in text for ch in "暂停交易美东时间系统升级")


def test_traditional_notices_are_also_scored_as_their_own_row() -> None:
    golds = parse_corpus([_line("n1", "maintenance", [A], script="traditional")])
    report = score(golds, _reader({"n1": Prediction("maintenance", (_w(*A),), False)}))
    assert set(report.by_category) == {"bank", "(traditional script)"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{", "not JSON"),
        ('{"id": "a"}', "field 'category'"),
        (_line("a", "upkeep", []), "kind must be one of"),
        (_line("a", "maintenance", [("2026-12-01", None)]), "expected 'YYYY-MM-DD HH:MM'"),
        (json.dumps({"id": "a", "category": "bank", "published": "26/11/2026", "text": "x", "kind": "other"}),
         "published must be YYYY-MM-DD"),
    ],
    ids=["not_json", "missing_field", "unknown_kind", "window_without_time", "bad_published"],
)
def test_bad_corpus_lines_are_refused_with_the_line_number(line: str, message: str) -> None:
    with pytest.raises(CorpusError, match=message) as info:
        parse_corpus(["", line])
    assert "line 2" in str(info.value)


def test_repeated_ids_are_refused() -> None:
    with pytest.raises(CorpusError, match="repeated"):
        parse_corpus([_line("a", "other", []), _line("a", "other", [])])


def test_dev_corpus_is_well_formed_and_covers_every_category() -> None:
    golds: list[GoldNotice] = parse_corpus(DEV.read_text("utf-8").splitlines())
    assert {g.category for g in golds} >= {"bank", "clearing", "platform", "outage", "negative"}
    assert any(g.script == "traditional" for g in golds)
    for g in golds:
        assert 40 <= len(g.text) <= 1200, g.id
        if g.kind != "maintenance":
            assert g.kind in ("outage", "recovery") or not g.windows, g.id


def test_blind_corpus_is_well_formed_and_shares_no_notice_with_the_dev_set() -> None:
    blind = parse_corpus(BLIND.read_text("utf-8").splitlines())
    dev = parse_corpus(DEV.read_text("utf-8").splitlines())
    assert len(blind) >= 100
    assert {g.category for g in blind} >= {"bank", "clearing", "platform", "outage", "negative"}
    assert not {g.text for g in blind} & {g.text for g in dev}
    sources = [{json.loads(line)["source"] for line in path.read_text("utf-8").splitlines() if line.strip()}
               for path in (BLIND, DEV)]
    assert not sources[0] & sources[1]


def _cli(python_exe: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python_exe, "-m", "huabei_watch.root.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False)


def test_cli_prints_misses_then_summary_and_categories(tmp_path: Path, python_exe: str) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join([
        json.dumps({"id": "c1", "category": "bank", "published": "2026-11-26", "title": "",
                    "text": "我行将于12月1日01:00至03:00进行系统维护，期间网上银行暂停服务。", "kind": "maintenance",
                    "windows": [{"start": "2026-12-01 01:00", "end": "2026-12-01 03:00", "status": "scheduled"}]},
                   ensure_ascii=False),
        json.dumps({"id": "c2", "category": "negative", "published": "2026-11-26", "title": "",
                    "text": "自2027年1月1日起，转账手续费调整为0.1%。", "kind": "fee_policy", "windows": []},
                   ensure_ascii=False),
    ]), "utf-8")
    out = _cli(python_exe, "eval-notices", str(corpus))
    assert out.returncode == 0, out.stderr
    assert "maintenance-or-not 100.0 %" in out.stdout and "window recall 100.0 %" in out.stdout
    assert "silent misses 0" in out.stdout and "negative" in out.stdout
    js = _cli(python_exe, "eval-notices", str(corpus), "--json")
    data = json.loads(js.stdout)
    assert data["window_precision"] == 1.0 and data["by_category"]["bank"]["notices"] == 1


def test_cli_refuses_a_bad_corpus_with_exit_code_2(tmp_path: Path, python_exe: str) -> None:
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text("not json\n", "utf-8")
    out = _cli(python_exe, "eval-notices", str(corpus))
    assert out.returncode == 2 and "line 1" in out.stderr


def test_cli_summary_prints_scores_without_any_miss_line_and_reads_gzip(tmp_path: Path, python_exe: str) -> None:
    corpus = tmp_path / "held.jsonl.gz"
    line = json.dumps({"id": "h1", "category": "bank", "published": "2026-11-26", "title": "",
                       "text": "我行将于12月1日01:00至03:00进行系统维护，期间网上银行暂停服务。", "kind": "maintenance",
                       "windows": [{"start": "2026-12-01 05:00", "end": "2026-12-01 06:00", "status": "scheduled"}]},
                      ensure_ascii=False)
    corpus.write_bytes(gzip.compress(line.encode("utf-8")))
    full = _cli(python_exe, "eval-notices", str(corpus))
    assert full.returncode == 0, full.stderr
    assert "h1 [bank] window missed" in full.stdout
    out = _cli(python_exe, "eval-notices", "--summary", str(corpus))
    assert out.returncode == 0, out.stderr
    assert "window recall 0.0 %" in out.stdout and "h1" not in out.stdout
    js = json.loads(_cli(python_exe, "eval-notices", "--summary", "--json", str(corpus)).stdout)
    assert js["window_recall"] == 0.0 and "misses" not in js
    # The causes are counts only: the summary names where misses are without naming a notice.
    assert "windows missed by cause: not maintenance 0; status only 0; end differs 0; start differs 0; " \
           "another day 0; nothing near 1" in out.stdout
    assert js["missed_by_cause"]["nothing_near"] == 1


def test_cli_refuses_a_broken_gzip_corpus_with_exit_code_2(tmp_path: Path, python_exe: str) -> None:
    corpus = tmp_path / "bad.jsonl.gz"
    corpus.write_bytes(b"\x1f\x8b\x08not really gzip")
    out = _cli(python_exe, "eval-notices", str(corpus))
    assert out.returncode == 2 and "cannot read" in out.stderr


def test_cli_stops_quietly_when_its_reader_goes_away(python_exe: str) -> None:
    # `huabei-watch eval-notices ... | head`: the pipe is closed before the report is written.
    proc = subprocess.Popen([python_exe, "-m", "huabei_watch.root.cli", "eval-notices", str(DEV)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode("utf-8", "replace")
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err
