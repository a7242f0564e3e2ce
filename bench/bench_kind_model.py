"""What the kind model beside the rules costs the watcher (issue 16 item 8): memory and time.

Run from the repository root::

    .venv/bin/python -m bench.bench_kind_model [--rounds 3 | --quick]

* **memory**: in a fresh process, after ``watcher.notices`` is imported and one notice understood (so
  OpenCC and the rules are loaded, as in a watcher that has parsed a notice), the table is loaded
  (``watcher.notices.kind_model.table()``): the VmRSS it adds (``/proc/self/status``) and, in another
  fresh process (tracemalloc's bookkeeping would count in VmRSS), the bytes ``tracemalloc`` sees allocated (the first notice loads no table: no maintenance, no time range). Target: under 1 MB.
* **time**: ``understand`` over every committed corpus notice, best of the rounds, per notice. The
  baseline is the same loop on a checkout without the model: run this script with that checkout's
  interpreter and ``PYTHONPATH`` (without ``watcher.notices.kind_model`` it prints the time only).
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

CORPUS = Path("tests") / "notices" / "corpus"  # of the checkout run from (the baseline runs a copy)
_MEMORY = """
import gc, sys, tracemalloc
from datetime import date
from pathlib import Path
from watcher.notices import kind_model, understand

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")

# a notice that loads OpenCC and the rules but not the table (no maintenance, no time range)
u = understand("感謝您長期以來的支持與信任。", published=date(2026, 11, 20))
assert u.kind != "maintenance" and not u.windows and kind_model.table.cache_info().currsize == 0
gc.collect()
if sys.argv[1] == "rss":  # tracemalloc's own bookkeeping would count in VmRSS: measured apart
    before = rss()
    kind_model.table()
    gc.collect()
    print(rss() - before)
else:
    tracemalloc.start()
    kind_model.table()
    print(tracemalloc.get_traced_memory()[0])
"""


def _understand_all(rounds: int) -> tuple[int, float]:
    from watcher.notices import understand
    from watcher.notices.corpus import parse_corpus

    notices = [n for p in sorted(CORPUS.glob("*.jsonl")) for n in parse_corpus(p.read_text("utf-8").splitlines())]
    understand(notices[0].text, published=notices[0].published, title=notices[0].title)
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        t0 = time.perf_counter()
        for n in notices:
            understand(n.text, published=n.published, title=n.title)
        best = min(best, time.perf_counter() - t0)
    return len(notices), best / len(notices)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one round (as --rounds 1)")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds = 1
    try:
        import watcher.notices.kind_model  # noqa: F401
    except ImportError:
        has_model = False
    else:
        has_model = True
    if has_model:
        rss: list[int] = []
        traced: list[int] = []
        for _ in range(args.rounds):
            for what, into in (("rss", rss), ("traced", traced)):
                out = subprocess.run([sys.executable, "-c", _MEMORY, what], capture_output=True, check=True, text=True)
                into.append(int(out.stdout))
        print(f"kind model table: VmRSS added {', '.join(f'{r / 1e6:.2f}' for r in rss)} MB "
              f"(tracemalloc {', '.join(f'{t / 1e6:.2f}' for t in traced)} MB) over {args.rounds} fresh processes; "
              f"target < 1 MB: {'PASS' if max(rss) < 1e6 else 'MISS'}")
    else:
        print("kind model: not in this checkout (baseline): time only")
    n, per = _understand_all(args.rounds)
    print(f"understand: {n} notices, {per * 1e3:.3f} ms a notice (best of {args.rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
