"""Notice understanding throughput, against jionlp on the same texts: ``python -m bench.bench_notices``.

Workload: the notice bodies of every page in ``bench/corpus/notices/`` (regenerate with
``python -m bench.make_notice_corpus``; the HTML is parsed once while loading, never timed) plus
the development corpus ``tests/notices/corpus/dev.jsonl``. Times

* ours: ``watcher.notices.understand`` on each text (notices per second; target >= 1,000),
* baseline: jionlp's ``extract_time`` (a general Chinese time extractor) on the same texts, when
  jionlp is installed. It is not a project dependency (about 300 MB, prints on import); without it
  the baseline is skipped with a note.

The figure is the best of several rounds over the whole workload, in wall time and in CPU time
of this process (the machine's two cores are shared: CPU time leaves out the time other processes
held them). ``--against REV`` measures the parser at git revision REV the same way, alternating
rounds with ours in the same session (the revision's ``watcher/`` is taken with ``git archive``
into a temporary folder and run in a subprocess), and prints the ratio.

``--kind-model`` also runs the statistical-model experiment of issue 16: character n-grams and a
linear classifier for "maintenance or not", scored by cross-validation on the dev corpus next to
the rules (needs scikit-learn; skipped with a note when it is missing).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from bench._common import header, verdict
from watcher.notices import understand

CORPUS = Path(__file__).parent / "corpus" / "notices"
DEV = Path(__file__).resolve().parents[1] / "tests" / "notices" / "corpus" / "dev.jsonl"
TARGET_PER_SECOND = 1_000

Text = tuple[str, str, date]  # title, body, published


def _load() -> list[Text]:
    out: list[Text] = []
    for path in sorted(CORPUS.glob("*.html")):
        soup = BeautifulSoup(path.read_bytes(), "lxml")
        body = soup.select_one("div.notice-body")
        h1 = soup.find("h1")
        pub = soup.select_one("span.publish-date")
        published = date.fromisoformat(pub.get_text().strip()) if pub else date(2026, 11, 26)
        out.append((h1.get_text() if h1 else "", body.get_text("\n") if body else "", published))
    if DEV.exists():
        for line in DEV.read_text("utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                out.append((rec.get("title") or "", rec["text"], date.fromisoformat(rec["published"])))
    if not out:
        raise SystemExit(f"no pages in {CORPUS}; run: python -m bench.make_notice_corpus")
    return out


def _time_rounds(fn: Callable[[], None], min_seconds: float, min_rounds: int) -> tuple[int, float]:
    """Run ``fn`` until both ``min_rounds`` and ``min_seconds`` are reached (at most 100,000 rounds)."""
    rounds = 0
    elapsed = 0.0
    start = time.perf_counter()
    while rounds < 100_000:
        fn()
        rounds += 1
        elapsed = time.perf_counter() - start
        if rounds >= min_rounds and elapsed >= min_seconds:
            break
    return rounds, elapsed


_ROUND_SCRIPT = """
import json, sys, time
from datetime import date
from watcher.notices import understand
corpus = [(t, x, date.fromisoformat(p)) for t, x, p in json.load(sys.stdin)]
for t, x, p in corpus:
    understand(x, published=p, title=t)
best_wall = best_cpu = float("inf")
for _ in range(int(sys.argv[1])):
    w0, c0 = time.perf_counter(), time.process_time()
    for t, x, p in corpus:
        understand(x, published=p, title=t)
    best_wall = min(best_wall, time.perf_counter() - w0)
    best_cpu = min(best_cpu, time.process_time() - c0)
print(json.dumps([best_wall, best_cpu]))
"""


def _best_round(corpus: list[Text], rounds: int, root: Path) -> tuple[float, float]:
    """Best (wall, CPU) seconds of ``rounds`` passes over ``corpus`` by the parser under ``root``
    (a folder holding ``watcher/``), in a fresh interpreter so both versions start alike."""
    payload = json.dumps([(t, x, p.isoformat()) for t, x, p in corpus])
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", _ROUND_SCRIPT, str(rounds)], input=payload, env=env,
                         capture_output=True, text=True, check=True, cwd=root)
    wall, cpu = json.loads(out.stdout)
    return float(wall), float(cpu)


def _against(corpus: list[Text], rev: str, repeats: int) -> None:
    """Ours against the parser at ``rev``, alternating, best of ``repeats`` runs of 5 rounds each."""
    here = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", rev, "watcher"], cwd=here, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        for _ in range(repeats):
            theirs.append(_best_round(corpus, 5, Path(tmp)))
            ours.append(_best_round(corpus, 5, here))
    n = len(corpus)
    o_wall, o_cpu = min(w for w, _ in ours), min(c for _, c in ours)
    t_wall, t_cpu = min(w for w, _ in theirs), min(c for _, c in theirs)
    print(f"parser at {rev}: {n / t_wall:,.0f} notices/s wall, {n / t_cpu:,.0f} notices/s CPU; "
          f"ours in the same session: {n / o_wall:,.0f} wall, {n / o_cpu:,.0f} CPU "
          f"({t_wall / o_wall:.2f}x wall, {t_cpu / o_cpu:.2f}x CPU; best of {repeats} alternating runs)")


def _jionlp() -> Any | None:
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # jionlp prints a banner on import
            import jionlp
    except ImportError:
        return None
    logging.disable(logging.ERROR)  # jionlp logs a traceback for every phrase it cannot parse
    return jionlp


def _extract(jio: Any, text: str, published: date) -> list[dict[str, Any]]:
    base = datetime.combine(published, datetime.min.time()).timestamp()
    try:
        found: list[dict[str, Any]] = jio.ner.extract_time(text, time_base=base, with_parsing=True)
    except Exception:  # jionlp raises on some inputs; no time found is its answer then
        return []
    return found


def _jionlp_scores(jio: Any) -> str:
    """jionlp on the dev corpus with the same scoring: its time spans as windows, a keyword rule
    for the kind (jionlp has no notion of maintenance)."""
    import re

    from watcher.notices.corpus import GoldNotice, parse_corpus
    from watcher.notices.evaluate import Prediction, WindowKey, render, score
    from watcher.notices.model import Kind

    maint = re.compile(r"维护|升级|暂停|停机|中断|割接|切换|停运|停止|維護|升級|暫停")
    fmt = "%Y-%m-%d %H:%M:%S"

    def read(g: GoldNotice) -> Prediction:
        text = g.title + "\n" + g.text
        windows: list[WindowKey] = []
        for item in _extract(jio, text, g.published):
            t = item.get("detail", {}).get("time")
            if item.get("type") != "time_span" or not isinstance(t, list) or len(t) != 2 or any("inf" in x for x in t):
                continue
            try:
                start = datetime.strptime(t[0], fmt)
                end = datetime.strptime(t[1], fmt)
            except ValueError:  # jionlp answers some phrasings with years like 108: no window
                continue
            end = end.replace(second=0) if end.strftime("%H:%M:%S") != "23:59:59" else end + (
                datetime(2000, 1, 2) - datetime(2000, 1, 1, 23, 59, 59))
            windows.append((start, end, "scheduled"))
        kind: Kind = "maintenance" if maint.search(text) else "other"
        return Prediction(kind, tuple(windows), False)

    golds = parse_corpus(DEV.read_text("utf-8").splitlines())
    return render(score(golds, read)).split("\n\n")[1]


def _our_scores() -> str:
    from watcher.notices.corpus import parse_corpus
    from watcher.notices.evaluate import render, score

    return render(score(parse_corpus(DEV.read_text("utf-8").splitlines()))).split("\n\n")[1]


def _bench_jionlp(jio: Any, corpus: list[Text], seconds: float) -> float:
    def run_all() -> None:
        for title, text, published in corpus:
            _extract(jio, title + "\n" + text, published)

    run_all()  # jionlp writes its dictionaries on first use; keep that out of the timing
    rounds, elapsed = _time_rounds(run_all, seconds, 1)
    return elapsed / (rounds * len(corpus))


def _kind_model_experiment() -> None:
    """Cross-validated char n-gram model vs the rules for maintenance-or-not on the dev corpus."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.pipeline import make_pipeline
    except ImportError:
        print("kind model: skipped (scikit-learn is not installed; pip install scikit-learn to run it)")
        return
    recs = [json.loads(line) for line in DEV.read_text("utf-8").splitlines() if line.strip()]
    texts = [(r.get("title") or "") + "\n" + r["text"] for r in recs]
    gold = [r["kind"] == "maintenance" for r in recs]
    folds = max(2, min(5, sum(gold), len(gold) - sum(gold)))
    model = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
                          LogisticRegression(max_iter=2000, class_weight="balanced"))
    pred = cross_val_predict(model, texts, gold, cv=StratifiedKFold(folds, shuffle=True, random_state=16))
    model_acc = sum(p == g for p, g in zip(pred, gold, strict=True)) / len(gold)
    rules = [understand(r["text"], published=date.fromisoformat(r["published"]), title=r.get("title") or "").kind
             == "maintenance" for r in recs]
    rules_acc = sum(p == g for p, g in zip(rules, gold, strict=True)) / len(gold)
    t0 = time.perf_counter()
    model.fit(texts, gold)
    fit_ms = 1000 * (time.perf_counter() - t0)
    print(f"kind model ({len(gold)} dev notices, {folds}-fold CV): char 1-3-grams + logistic regression "
          f"maintenance-or-not {100 * model_acc:.1f} %; rules {100 * rules_acc:.1f} %; fit {fit_ms:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=None, help="minimum time per measurement")
    ap.add_argument("--quick", action="store_true", help="shorter measurements (0.5 s each)")
    ap.add_argument("--kind-model", action="store_true", help="also run the statistical kind-model experiment")
    ap.add_argument("--against", metavar="REV", help="also measure the parser at this git revision, alternating")
    ap.add_argument("--repeats", type=int, default=3, help="alternating runs for --against (default 3)")
    args = ap.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (0.5 if args.quick else 2.0)
    header("bench_notices: notice understanding vs jionlp on the same texts", args.quick)
    corpus = _load()
    n = len(corpus)
    lengths = [len(text) for _, text, _ in corpus]

    def understand_all() -> None:
        for title, text, published in corpus:
            understand(text, published=published, title=title)

    understand_all()  # warm regex caches (and OpenCC, for the Traditional notices)
    best_wall = best_cpu = float("inf")
    started = time.perf_counter()
    rounds = 0
    while rounds < 3 or time.perf_counter() - started < seconds:
        w0, c0 = time.perf_counter(), time.process_time()
        understand_all()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        rounds += 1
    per_understand = best_wall / n
    print(f"corpus: {n} notice texts, {min(lengths)}-{max(lengths)} chars (mean {sum(lengths) // n})")
    print(f"understanding: {1 / per_understand:,.0f} notices/s ({per_understand * 1e3:.3f} ms per notice; "
          f"best of {rounds} rounds), {n / best_cpu:,.0f} notices/s in CPU time")
    if args.against:
        _against(corpus, args.against, args.repeats)
    jio = _jionlp()
    if jio is None:
        print("jionlp: skipped (not installed; it is not a project dependency)")
    else:
        per_jio = _bench_jionlp(jio, corpus, seconds)
        print(f"jionlp.ner.extract_time: {1 / per_jio:,.0f} notices/s ({per_jio * 1e3:.3f} ms per notice); "
              f"understanding is {per_jio / per_understand:.1f}x faster")
        print(f"jionlp on the dev corpus (keyword rule for the kind): {_jionlp_scores(jio)}")
        print(f"understanding on the dev corpus (same scoring): {_our_scores()}")
    if args.kind_model:
        _kind_model_experiment()
    ok = max(1 / per_understand, n / best_cpu) >= TARGET_PER_SECOND
    print(f"target >= {TARGET_PER_SECOND:,} notices/s (wall, or CPU time on a shared machine): {verdict(ok)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
