"""Run every benchmark, one after the other, each in its own process: ``python -m bench [--quick]``.

Each benchmark prints its figures, a ratio against a baseline measured in the same run, and
PASS/MISS against its target; none of them asserts. ``--only NAME ...`` runs a subset.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

BENCHMARKS = ("reaction", "throughput", "payments", "notices", "polling", "fanout", "policy_api", "broker_memory",
              "failover", "housekeeping", "kind_model")
#: Upper bound on one benchmark's wall time (the full fan-out of 100,000 merchants is the longest).
TIMEOUT_S = {"fanout": 1800.0, "polling": 900.0, "broker_memory": 2700.0}
DEFAULT_TIMEOUT_S = 600.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes and shorter runs")
    ap.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these")
    args = ap.parse_args(argv)
    failed: list[str] = []
    for name in args.only or BENCHMARKS:
        cmd = [sys.executable, "-m", f"bench.bench_{name}", *(["--quick"] if args.quick else [])]
        started = time.monotonic()
        try:
            code = subprocess.run(cmd, check=False, timeout=TIMEOUT_S.get(name, DEFAULT_TIMEOUT_S)).returncode
        except subprocess.TimeoutExpired:
            code = -1
            print(f"bench_{name}: stopped after {TIMEOUT_S.get(name, DEFAULT_TIMEOUT_S):g} s")
        print(f"-- bench_{name}: exit {code}, {time.monotonic() - started:.0f} s\n", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"benchmarks that did not complete: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
