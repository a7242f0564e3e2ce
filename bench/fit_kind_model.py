"""Fit the kind model's table shipped as ``watcher/notices/kind_model.json`` (issue 16 item 8).

Run from the repository root (scikit-learn is no project dependency; without it the script says so
and exits 1)::

    python3 -m venv /tmp/modelvenv && /tmp/modelvenv/bin/pip install scikit-learn
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/modelvenv/lib/python3.11/site-packages/wt.pth
    PYTHONPATH=$PWD nice -n 19 /tmp/modelvenv/bin/python -m bench.fit_kind_model

It reads every committed corpus ``tests/notices/corpus/*.jsonl`` (never ``tests/notices/heldout``),
with the settings of ``bench/kind_model_experiment.py`` fixed there before any result: text =
``normalize(title + "\\n" + text)``; character 1-3-grams, sublinear TF-IDF, ``min_df=2``; logistic
regression, balanced classes, C = 1; then the 2,000 n-grams of largest weight, refitted on those
n-grams alone. It writes n-gram -> [idf, weight], the intercept, the settings and the corpus files with
their sizes, as sorted JSON: two runs with the same corpora and libraries write the same bytes.
``watcher.notices.kind_model`` scores the table in pure Python.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from watcher.notices.corpus import parse_corpus
from watcher.notices.kind_model import grams
from watcher.notices.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "tests" / "notices" / "corpus"
OUT = ROOT / "watcher" / "notices" / "kind_model.json"
TOP_K = 2_000
C = 1.0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=OUT, help="where to write the table")
    args = ap.parse_args(argv)
    try:
        import sklearn
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
    except ImportError:
        print("fit_kind_model: scikit-learn is not installed; see this script's docstring")
        return 1
    files = sorted(CORPUS_DIR.glob("*.jsonl"))
    texts: list[str] = []
    gold: list[bool] = []
    sizes: dict[str, int] = {}
    for path in files:
        notices = parse_corpus(path.read_text("utf-8").splitlines())
        sizes[str(path.relative_to(ROOT))] = len(notices)
        for n in notices:
            texts.append(normalize(n.title + "\n" + n.text))
            gold.append(n.kind == "maintenance")

    def pipeline(vocabulary: list[str] | None) -> Any:
        vec = TfidfVectorizer(analyzer=grams, sublinear_tf=True, min_df=1 if vocabulary else 2, vocabulary=vocabulary)
        return make_pipeline(vec, LogisticRegression(C=C, class_weight="balanced", max_iter=5000))

    full = pipeline(None).fit(texts, gold)
    vocab = full[0].get_feature_names_out()
    coef = full[-1].coef_[0]
    order = sorted(range(len(vocab)), key=lambda j: (-abs(float(coef[j])), str(vocab[j])))
    top = [str(vocab[j]) for j in order[:TOP_K]]
    small = pipeline(top).fit(texts, gold)
    names = small[0].get_feature_names_out()
    weights = {str(g): [float(small[0].idf_[j]), float(small[-1].coef_[0][j])] for j, g in enumerate(names)}
    table: dict[str, Any] = {
        "settings": {"analyzer": "char 1-3-grams of the lower-cased normalised text", "tf": "1 + log(count)",
                     "norm": "l2", "min_df": 2, "classifier": "logistic regression", "C": C,
                     "class_weight": "balanced", "top_k": TOP_K, "scikit_learn": sklearn.__version__},
        "corpus": sizes,
        "notices": len(texts),
        "maintenance": sum(gold),
        "intercept": float(small[-1].intercept_[0]),
        "weights": weights,
    }
    args.out.write_text(json.dumps(table, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n", "utf-8")
    print(f"fit_kind_model: {len(texts)} notices ({sum(gold)} maintenance) from {len(files)} files, "
          f"{len(weights)} n-grams -> {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
