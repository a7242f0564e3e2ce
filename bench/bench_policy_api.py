"""Policy API under load, measured with ``wrk``: ``python -m bench.bench_policy_api``.

In this process: the embedded broker, an :class:`~huabei_watch.runtime.app.App` with the incidents and
cashier roles (SQLite in a temporary directory), one ``auto`` merchant whose Huabei was switched
off by a ``huabei.health.down`` (so the body carries channels, a Chinese message and incident ids),
and, as the baseline, a bare aiohttp server whose one handler returns the same JSON bytes.

``wrk`` (one thread, 200 connections, ``--latency``, the merchant's bearer token set by a Lua
script) runs against each in turn on 127.0.0.1. Both servers share this process's single event
loop; wrk runs as a child process (the machine's other core). Printed: requests/s and p50/p99
for each, and the ratio policy / baseline requests/s (target >= 0.7).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench._common import embedded_broker, header, quiet_logs, verdict
from bench.bench_reaction import app_running, settings, wait_joined, wait_off
from huabei_watch.events import HEALTH_DOWN, Event, HealthChange, ProbeObservation, Scope

TARGET_RATIO = 0.7
CONNECTIONS = 200
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_wrk(text: str) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, non-2xx/3xx responses) from ``wrk --latency`` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    pct = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s))\s*$", text, re.MULTILINE))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if rps is None or "50" not in pct or "99" not in pct:
        raise SystemExit(f"cannot read wrk output:\n{text}")

    def to_ms(v: str) -> float:
        m = re.fullmatch(r"([\d.]+)(us|ms|s)", v)
        assert m is not None
        return float(m.group(1)) * _UNITS[m.group(2)]

    return float(rps.group(1)), to_ms(pct["50"]), to_ms(pct["99"]), int(bad.group(1)) if bad else 0


async def wrk(url: str, token: str, seconds: int, script_dir: Path) -> tuple[float, float, float, int]:
    script = script_dir / "auth.lua"
    script.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n', "utf-8")
    proc = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s", "--latency", "-s", str(script), url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), seconds + 30)
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}):\n{out.decode(errors='replace')}")
    return parse_wrk(out.decode(errors="replace"))


async def bare_server(body: bytes) -> tuple[web.AppRunner, str]:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json", charset="utf-8")

    app = web.Application()
    app.router.add_get("/v1/merchants/{merchant_id}/pay-channels", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/v1/merchants/m0/pay-channels"


async def run(seconds: int, quick: bool) -> None:
    header("bench_policy_api: policy API vs bare aiohttp, wrk", quick)
    results: dict[str, Any] = {}
    async with embedded_broker() as broker, aiohttp.ClientSession() as http:
        with tempfile.TemporaryDirectory(prefix="bench-policy-") as tmp:
            s = settings(Path(tmp) / "state", f"bench-policy-{int(time.time())}", 1, None)
            async with app_running(s, broker, ["incidents", "cashier"]) as app:
                await wait_joined(app)
                now = datetime.now(UTC)
                data = HealthChange(
                    probe_id="gw", target="http://127.0.0.1:9/health", scope=Scope.merchants("m0"), since=now,
                    evidence=(ProbeObservation(at=now, ok=False, detail="HTTP 503"),),
                )
                await app.bus.publish(Event.build(HEALTH_DOWN, data, time=now))
                await wait_off(http, app, "m0")
                url = f"http://127.0.0.1:{app.admin_port}/v1/merchants/m0/pay-channels"
                async with http.get(url, headers={"Authorization": "Bearer tok-0"}) as r:
                    body = await r.read()
                runner, bare_url = await bare_server(body)
                try:
                    await wrk(bare_url, "tok-0", 1, Path(tmp))  # warm-up
                    results["bare"] = await wrk(bare_url, "tok-0", seconds, Path(tmp))
                    await wrk(url, "tok-0", 1, Path(tmp))  # warm-up
                    results["policy"] = await wrk(url, "tok-0", seconds, Path(tmp))
                finally:
                    await runner.cleanup()
    print(f"body: {len(body)} bytes: {body.decode()[:160]}...")
    print(f"wrk -t1 -c{CONNECTIONS} -d{seconds}s --latency, 127.0.0.1")
    for name, label in (("bare", "baseline bare aiohttp handler"), ("policy", "policy API (auth, registry, state)")):
        rps, p50, p99, bad = results[name]
        print(f"{label}: {rps:,.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, non-2xx {bad}")
    ratio = results["policy"][0] / results["bare"][0]
    print(f"ratio policy / baseline req/s: {ratio:.2f}  (target >= {TARGET_RATIO}: {verdict(ratio >= TARGET_RATIO)})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 s per wrk run instead of 10 s")
    ap.add_argument("--seconds", type=int, default=None)
    args = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench_policy_api: skipped: wrk is not installed (Debian/Ubuntu: sudo apt-get install wrk)")
        return 0
    quiet_logs()
    asyncio.run(run(args.seconds or (3 if args.quick else 10), args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
