"""Policy API under load, measured with ``wrk``: ``python -m bench.bench_policy_api``.

In this process: the embedded broker, an :class:`~huabei_watch.runtime.app.App` with the incidents and
cashier roles (SQLite in a temporary directory), 100,000 ``auto`` merchants in the registry, each
with its own token (``m<i>`` / ``tok-<i>``, imported through :class:`MerchantRegistry`, tokens
stored hashed), ``admin.max_connections_per_address`` raised to 256 (all of wrk's connections come
from one address, like a load balancer's), and a platform-wide ``huabei.health.down`` that
switched Huabei off for all of them
(so a body carries channels, a Chinese message and incident ids). The baseline is a bare aiohttp
server in the same process and event loop whose one handler returns the same JSON bytes for any
merchant.

``wrk`` (one thread, 200 connections, ``--latency``) runs on 127.0.0.1 with a Lua script that
picks a random merchant for every request and sends its path and bearer token, the same script
for both servers. The runs are interleaved (baseline, product, baseline, product, ...), each
preceded by a 1 s warm-up; a ratio is taken within a round. wrk runs as a child process.
Printed: requests/s and p50/p99 of each run, the ratio per round, and their median (target >= 0.7).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bench._common import embedded_broker, header, quiet_logs, verdict
from bench.bench_reaction import app_running, settings, wait_joined, wait_off
from consumers.cashier.policy import PolicyView
from consumers.cashier.reader import PolicyReader
from consumers.cashier.settings import CashierSettings
from consumers.cashier.store import CashierStore
from huabei_watch.clock import ManualClock
from huabei_watch.config.settings import MerchantConfig
from huabei_watch.events import HEALTH_DOWN, Event, HealthChange, ProbeObservation, Scope
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.root.settings import Settings
from huabei_watch.runtime.app import App

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


#: A random merchant per request: its policy path and its own bearer token.
RANDOM_MERCHANT_LUA = """
math.randomseed(os.time())
request = function()
  local i = math.random(0, %d)
  return wrk.format("GET", "/v1/merchants/m" .. i .. "/pay-channels", {["Authorization"] = "Bearer tok-" .. i})
end
"""


async def wrk(url: str, merchants: int, seconds: int, script_dir: Path) -> tuple[float, float, float, int]:
    script = script_dir / "random_merchant.lua"
    script.write_text(RANDOM_MERCHANT_LUA % (merchants - 1), "utf-8")
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
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/"


async def import_merchants(app: App[Settings], n: int) -> float:
    """``m0`` .. ``m<n-1>``, mode auto, token ``tok-<i>``, into the registry; returns the seconds it took."""
    started = time.perf_counter()
    registry = MerchantRegistry(app.db)
    for lo in range(0, n, 10_000):
        batch = [MerchantConfig(id=f"m{i}", name=f"商户{i}", mode="auto", token=SecretStr(f"tok-{i}"))
                 for i in range(lo, min(n, lo + 10_000))]
        await registry.upsert_many(batch, origin="import")
    return time.perf_counter() - started


async def index_refresh(app: App[Settings]) -> str:
    """The policy reader's access index: a whole read (at start) against a re-read after
    ``merchant_ttl`` with one merchant changed since (the import being older than the overlap)."""
    registry = MerchantRegistry(app.db)
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=5))
    reader = PolicyReader(CashierStore(app.db), registry, clock, PolicyView(CashierSettings()), merchant_ttl=30.0)
    started = time.perf_counter()
    await reader.refresh_index()
    whole, whole_rows = time.perf_counter() - started, reader.index_rows_read
    await registry.upsert_many([MerchantConfig(id="m1", mode="pinned_off", token=SecretStr("tok-1"))],
                               origin="import", now=clock.now())
    clock.advance(timedelta(seconds=31))
    started = time.perf_counter()
    await reader.refresh_index()
    changes = time.perf_counter() - started
    return (f"index refresh: whole read {whole_rows:,} rows in {whole * 1000:.0f} ms; re-read of changes "
            f"{reader.index_rows_read - whole_rows:,} row(s) in {changes * 1000:.1f} ms")


async def run(seconds: int, rounds: int, merchants: int, quick: bool) -> None:
    header("bench_policy_api: policy API vs bare aiohttp, wrk, random merchant per request", quick)
    results: dict[str, list[tuple[float, float, float, int]]] = {"bare": [], "policy": []}
    async with embedded_broker() as broker, aiohttp.ClientSession() as http:
        with tempfile.TemporaryDirectory(prefix="bench-policy-") as tmp:
            s = settings(Path(tmp) / "state", f"bench-policy-{int(time.time())}", 1, None)
            # wrk's 200 connections all come from 127.0.0.1: raise the per-address cap (64 by
            # default) as for a load balancer's address, or the guard closes 136 of them.
            s = s.model_copy(update={"admin": s.admin.model_copy(
                update={"max_connections_per_address": CONNECTIONS + 56})})
            async with app_running(s, broker, ["incidents", "cashier"]) as app:
                await wait_joined(app)
                imported = await import_merchants(app, merchants)
                now = datetime.now(UTC)
                data = HealthChange(
                    probe_id="gw", target="http://127.0.0.1:9/health", scope=Scope.platform(), since=now,
                    evidence=(ProbeObservation(at=now, ok=False, detail="HTTP 503"),),
                )
                await app.bus.publish(Event.build(HEALTH_DOWN, data, time=now))
                await wait_off(http, app, "m0")
                last = f"m{merchants - 1}"
                url = f"http://127.0.0.1:{app.admin_port}/"
                async with http.get(f"{url}v1/merchants/{last}/pay-channels",
                                    headers={"Authorization": f"Bearer tok-{last[1:]}"}) as r:
                    body = await r.read()
                    if r.status != 200 or b"pcredit" not in body:
                        raise SystemExit(f"merchant {last}: {r.status} {body[:200]!r}")
                runner, bare_url = await bare_server(body)
                try:
                    for _ in range(rounds):
                        for name, target in (("bare", bare_url), ("policy", url)):
                            await wrk(target, merchants, 1, Path(tmp))  # warm-up
                            results[name].append(await wrk(target, merchants, seconds, Path(tmp)))
                finally:
                    await runner.cleanup()
                refresh = await index_refresh(app)
    print(f"merchants: {merchants:,} in the registry, each with its own token (imported in {imported:.1f} s); "
          f"Huabei off for all (platform outage)")
    print(f"body: {len(body)} bytes: {body.decode()[:160]}...")
    print(f"wrk -t1 -c{CONNECTIONS} -d{seconds}s --latency, 127.0.0.1, a random merchant and its token per request; "
          f"{rounds} rounds, baseline then product")
    ratios = []
    for i in range(rounds):
        for name, label in (("bare", "baseline bare aiohttp handler"), ("policy", "policy API (auth, registry, state)")):
            rps, p50, p99, bad = results[name][i]
            print(f"round {i + 1} {label}: {rps:,.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, non-2xx {bad}")
        ratios.append(results["policy"][i][0] / results["bare"][i][0])
    print(refresh)
    ratio = statistics.median(ratios)
    print(f"ratio policy / baseline req/s per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {ratio:.2f}  "
          f"(target >= {TARGET_RATIO}: {verdict(ratio >= TARGET_RATIO)})")
    if any(results["policy"][i][3] for i in range(rounds)):
        print("MISS: the policy API answered non-2xx responses")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 s per wrk run instead of 10 s")
    ap.add_argument("--seconds", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--merchants", type=int, default=100_000)
    args = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench_policy_api: skipped: wrk is not installed (Debian/Ubuntu: sudo apt-get install wrk)")
        return 0
    quiet_logs()
    asyncio.run(run(args.seconds or (3 if args.quick else 10), args.rounds, args.merchants, args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
