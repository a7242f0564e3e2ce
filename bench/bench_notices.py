"""Notice understanding throughput vs. BeautifulSoup parsing: ``python -m bench.bench_notices``.

Loads every page in ``bench/corpus/notices/`` (regenerate with ``python -m bench.make_notice_corpus``),
extracts each notice body once, then times

* understanding: ``watcher.notices.understand`` on the extracted text (notices per second),
* baseline: ``BeautifulSoup(page, "lxml")`` on the same pages (pages per second),

and prints both and their ratio. Target: at least 1,000 notices understood per second.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bs4 import BeautifulSoup

from bench._common import header, verdict
from watcher.notices import understand

CORPUS = Path(__file__).parent / "corpus" / "notices"
TARGET_PER_SECOND = 1_000


def _load() -> list[tuple[bytes, str, str, date]]:
    pages = sorted(CORPUS.glob("*.html"))
    if not pages:
        raise SystemExit(f"no pages in {CORPUS}; run: python -m bench.make_notice_corpus")
    out = []
    for path in pages:
        raw = path.read_bytes()
        soup = BeautifulSoup(raw, "lxml")
        body = soup.select_one("div.notice-body")
        h1 = soup.find("h1")
        pub = soup.select_one("span.publish-date")
        text = body.get_text("\n") if body else ""
        published = date.fromisoformat(pub.get_text().strip()) if pub else date(2026, 11, 26)
        out.append((raw, h1.get_text() if h1 else "", text, published))
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=None, help="minimum time per measurement")
    ap.add_argument("--quick", action="store_true", help="shorter measurements (0.5 s each)")
    args = ap.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (0.5 if args.quick else 2.0)
    header("bench_notices: notice understanding vs BeautifulSoup", args.quick)
    corpus = _load()
    n = len(corpus)
    sizes = [len(raw) for raw, *_ in corpus]
    texts = [len(text) for _, _, text, _ in corpus]

    def understand_all() -> None:
        for _, title, text, published in corpus:
            understand(text, published=published, title=title)

    def parse_all() -> None:
        for raw, *_ in corpus:
            BeautifulSoup(raw, "lxml")

    understand_all()  # warm regex caches
    u_rounds, u_elapsed = _time_rounds(understand_all, seconds, 3)
    p_rounds, p_elapsed = _time_rounds(parse_all, seconds, 1)
    per_understand = u_elapsed / (u_rounds * n)
    per_parse = p_elapsed / (p_rounds * n)
    print(f"corpus: {n} pages, {min(sizes) // 1024}-{max(sizes) // 1024} KB (mean {sum(sizes) // n // 1024} KB), "
          f"notice text {min(texts)}-{max(texts)} chars (mean {sum(texts) // n})")
    print(f"understanding: {1 / per_understand:,.0f} notices/s ({per_understand * 1e3:.3f} ms per notice)")
    print(f"BeautifulSoup(lxml) parse: {1 / per_parse:,.0f} pages/s ({per_parse * 1e3:.3f} ms per page)")
    print(f"ratio: understanding costs {per_understand / per_parse:.3f}x a BeautifulSoup parse of the same page")
    ok = 1 / per_understand >= TARGET_PER_SECOND
    print(f"target >= {TARGET_PER_SECOND:,} notices/s: {verdict(ok)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
