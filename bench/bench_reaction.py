"""Reaction time: endpoint down -> Huabei off in the policy API: ``python -m bench.bench_reaction``.

Everything runs in this process on real time, against the embedded broker and a SQLite database
in a temporary directory, with the real roles (:class:`huabei_watch.runtime.app.App`):

1. **Probe to policy** (roles watcher, incidents, cashier): an HTTP probe (interval 1 s, failure
   threshold 2) checks a loopback endpoint. The endpoint is switched to 503 right after it served
   a successful check, so detection takes exactly threshold x interval = 2 s; the policy API of an
   ``auto`` merchant is polled every 5 ms until it shows Huabei off. Printed: the reaction time,
   that minus the configured detection time, and the time from the failing check that crossed
   the threshold to the policy showing off. One fresh App per run (the switch back on is held).
2. **Pipeline latency** (roles incidents, cashier): a ``huabei.health.down`` for one merchant is
   published directly on ``<prefix>.signals``; the clock starts before the publish and stops when
   that merchant's policy API shows Huabei off (signal -> incident -> policy, two Kafka hops,
   SQLite writes, one HTTP GET). A different merchant each run. p50/p99 over the runs.
3. **Baseline**: a raw aiokafka produce -> consume round trip (one record, consumer already
   joined) on the same broker, p50/p99 over as many runs, its consumer with the same
   ``fetch_max_wait_ms`` as the product's consumers (``kafka.fetch_max_wait``).

Target: p99 overhead (after detection) <= 250 ms.

Note: on the embedded broker (Tansu) a record produced while a consumer's fetch is waiting is
delivered when that fetch times out, after about half of the consumer's ``fetch_max_wait_ms``
(raw round trips measured on this machine: 500 ms -> ~250 ms, 100 ms -> ~51 ms, 20 ms -> ~11 ms),
so the baseline and the product must wait the same: both use ``kafka.fetch_max_wait`` (default
100 ms; ``--fetch-max-wait-ms N`` sets it for both, through the product's own setting).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench._common import embedded_broker, header, percentile, quiet_logs, verdict
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.events import HEALTH_DOWN, Event, HealthChange, ProbeObservation, Scope
from huabei_watch.root.daemon import start_app
from huabei_watch.root.settings import Settings, parse_settings
from huabei_watch.runtime.app import App

TARGET_P99_MS = 250.0
INTERVAL_S = 1.0
THRESHOLD = 2
POLL_S = 0.005
DEADLINE_S = 30.0


#: ``kafka.fetch_max_wait`` in ms for the product and the baseline; None: the product's default.
FETCH_MAX_WAIT_MS: int | None = None


def fetch_max_wait_ms() -> int:
    if FETCH_MAX_WAIT_MS is not None:
        return FETCH_MAX_WAIT_MS
    return int(KafkaSettings().fetch_max_wait * 1000)


def settings(state: Path, prefix: str, merchants: int, probe_url: str | None) -> Any:
    data: dict[str, Any] = {
        "daemon": {"state_dir": str(state), "shutdown_timeout": 5},
        "admin": {"listen": "127.0.0.1:0", "ops_token": "bench-ops"},
        "kafka": {"topic_prefix": prefix, "group_prefix": prefix, "partitions": 2, "session_timeout": 6,
                  "fetch_max_wait": fetch_max_wait_ms() / 1000},
        "sandbox": {"enabled": False},
        "merchants": [
            {"id": f"m{i}", "name": f"商户{i}", "mode": "auto", "token": f"tok-{i}"} for i in range(merchants)
        ],
    }
    if probe_url is not None:
        data["probes"] = [{
            "kind": "http", "id": "gw", "url": probe_url, "interval": INTERVAL_S, "timeout": 0.5,
            "failure_threshold": THRESHOLD, "success_threshold": 1,
        }]
    return parse_settings(data)


@contextlib.asynccontextmanager
async def app_running(s: Any, broker: EmbeddedBroker, roles: list[str]) -> AsyncIterator[App[Settings]]:
    app = await start_app(s, roles, bootstrap=broker.bootstrap_servers)
    try:
        yield app
    finally:
        await app.stop()


async def huabei_off(http: aiohttp.ClientSession, app: App[Settings], merchant: str) -> bool:
    url = f"http://127.0.0.1:{app.admin_port}/v1/merchants/{merchant}/pay-channels"
    async with http.get(url, headers={"Authorization": f"Bearer tok-{merchant[1:]}"}) as r:
        body = await r.json()
        if r.status != 200:
            raise SystemExit(f"policy API answered {r.status}: {body}")
        return bool(body["disable_pay_channels"])


async def wait_off(http: aiohttp.ClientSession, app: App[Settings], merchant: str) -> float:
    """Poll the policy API every 5 ms; returns the perf_counter time it first showed Huabei off."""
    deadline = time.perf_counter() + DEADLINE_S
    while time.perf_counter() < deadline:
        if await huabei_off(http, app, merchant):
            return time.perf_counter()
        await asyncio.sleep(POLL_S)
    raise SystemExit(f"Huabei still on for {merchant} after {DEADLINE_S:g} s")


async def wait_joined(app: App[Settings]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not all(r.started for r, _ in app.consumers):
        if time.monotonic() > deadline:
            raise SystemExit("consumer groups did not join")
        await asyncio.sleep(0.05)


class Endpoint:
    """A loopback health endpoint. ``arm()``: serve one more 200, then 503 (``flipped_at`` is then)."""

    def __init__(self) -> None:
        self.armed = False
        self.down = False
        self.flipped_at: float | None = None
        self.failures: list[float] = []
        self.served = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.served.set()
        if self.down:
            self.failures.append(time.perf_counter())
            return web.Response(status=503, text="down")
        if self.armed:
            self.down = True
            self.flipped_at = time.perf_counter()
        return web.json_response({"status": "ok"})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/health", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/health"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def probe_run(broker: EmbeddedBroker, http: aiohttp.ClientSession, i: int) -> tuple[float, float]:
    """One fresh App; returns (reaction - detection time, time from the crossing check to off)."""
    ep = Endpoint()
    await ep.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-reaction-") as tmp:
            s = settings(Path(tmp), f"bench-react-{int(time.time())}-{i}", 1, ep.url)
            async with app_running(s, broker, ["watcher", "incidents", "cashier"]) as app:
                await wait_joined(app)
                await asyncio.wait_for(ep.served.wait(), DEADLINE_S)
                await asyncio.sleep(2 * INTERVAL_S)  # a few healthy checks first
                if await huabei_off(http, app, "m0"):
                    raise SystemExit("Huabei is off before the endpoint went down")
                ep.armed = True
                off_at = await wait_off(http, app, "m0")
        assert ep.flipped_at is not None
        crossing = ep.failures[THRESHOLD - 1] if len(ep.failures) >= THRESHOLD else off_at
        reaction = off_at - ep.flipped_at
        return reaction - THRESHOLD * INTERVAL_S, off_at - crossing
    finally:
        await ep.stop()


async def pipeline_runs(broker: EmbeddedBroker, http: aiohttp.ClientSession, runs: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        s = settings(Path(tmp), f"bench-pipe-{int(time.time())}", runs + 1, None)
        async with app_running(s, broker, ["incidents", "cashier"]) as app:
            await wait_joined(app)
            bus = app.bus
            # Run 0 is a warm-up (first fetches, first SQL statements): not counted.
            out: list[float] = []
            for i in range(runs + 1):
                merchant = f"m{i}"
                now = datetime.now(UTC)
                data = HealthChange(
                    probe_id=f"bench-{i}", target="http://127.0.0.1:9/health", scope=Scope.merchants(merchant),
                    since=now, evidence=(ProbeObservation(at=now, ok=False, detail="HTTP 503"),),
                )
                started = time.perf_counter()
                await bus.publish(Event.build(HEALTH_DOWN, data, time=now))
                off_at = await wait_off(http, app, merchant)
                if i > 0:
                    out.append(off_at - started)
            return out


async def raw_round_trips(broker: EmbeddedBroker, runs: int) -> list[float]:
    topic = f"bench-rtt-{int(time.time())}"
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all", linger_ms=2)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=broker.bootstrap_servers, group_id=f"{topic}.g", auto_offset_reset="earliest",
        enable_auto_commit=False, fetch_max_wait_ms=fetch_max_wait_ms(),
    )
    await producer.start()
    await consumer.start()
    try:
        out: list[float] = []
        for i in range(runs + 1):  # the first one waits for the group join: not counted
            started = time.perf_counter()
            await producer.send_and_wait(topic, b"x" * 600, key=str(i).encode())
            deadline = time.monotonic() + DEADLINE_S
            got = 0
            while not got and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=1000)
                got = sum(len(v) for v in batch.values())
                if got:
                    await consumer.commit()
            if not got:
                raise SystemExit("raw round trip: record not consumed")
            if i > 0:
                out.append(time.perf_counter() - started)
        return out
    finally:
        await consumer.stop()
        await producer.stop()


def ms(v: float) -> str:
    return f"{v * 1000:.1f} ms"


async def run(runs: int, probe_runs: int, quick: bool) -> None:
    header("bench_reaction: endpoint down -> Huabei off", quick)
    print(f"fetch_max_wait_ms {fetch_max_wait_ms()} for the product's consumers and the raw baseline")
    async with embedded_broker() as broker, aiohttp.ClientSession() as http:
        raw = await raw_round_trips(broker, runs)
        pipe = await pipeline_runs(broker, http, runs)
        probes = [await probe_run(broker, http, i) for i in range(probe_runs)]
    raw50, raw99 = percentile(raw, 50), percentile(raw, 99)
    p50, p99 = percentile(pipe, 50), percentile(pipe, 99)
    print(f"baseline raw aiokafka produce->consume round trip ({len(raw)} runs): p50 {ms(raw50)}, p99 {ms(raw99)}")
    print(f"pipeline signal -> incident -> policy API ({len(pipe)} runs): p50 {ms(p50)}, p99 {ms(p99)}, "
          f"max {ms(max(pipe))}")
    print(f"ratio pipeline / raw round trip: p50 {p50 / raw50:.1f}x, p99 {p99 / raw99:.1f}x")
    print(f"pipeline p99 - raw round trip p99 = {ms(p99 - raw99)} (what the roles add over one broker hop)")
    print(f"target pipeline p99 <= {TARGET_P99_MS:.0f} ms: {verdict(p99 * 1000 <= TARGET_P99_MS)}")
    for k, (over, from_crossing) in enumerate(probes):
        print(f"probe run {k + 1}: reaction - detection ({THRESHOLD} x {INTERVAL_S:g} s) = {ms(over)}; "
              f"threshold-crossing check -> policy off = {ms(from_crossing)}")
    worst = max(o for o, _ in probes)
    print(f"target probe overhead <= {TARGET_P99_MS:.0f} ms (worst of {len(probes)}): "
          f"{verdict(worst * 1000 <= TARGET_P99_MS)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 pipeline runs and 1 probe run instead of 50 and 3")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--probe-runs", type=int, default=None)
    ap.add_argument("--fetch-max-wait-ms", type=int, default=None,
                    help="kafka.fetch_max_wait of the product and the baseline (default: the product's default)")
    args = ap.parse_args(argv)
    quiet_logs()
    global FETCH_MAX_WAIT_MS
    FETCH_MAX_WAIT_MS = args.fetch_max_wait_ms
    runs = args.runs or (10 if args.quick else 50)
    probe_runs = args.probe_runs or (1 if args.quick else 3)
    asyncio.run(run(runs, probe_runs, args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
