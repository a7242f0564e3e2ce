"""Payment results in: signed HTTP batches -> Kafka, vs raw aiokafka produce of the same bytes:
``python -m bench.bench_payments``.

Product: an aiohttp server in this process with the watcher's ``POST /v1/payment-results`` handler
(:func:`watcher.payments.ingest.make_payment_results_handler`: bounded read, HMAC check, parse and
validate, replay memory) in front of :class:`watcher.payments.pipeline.KafkaSink` on a real
:class:`huabei_watch.bus.kafka.Bus` (acks=all, every record signed as the watcher, Ed25519), on the
embedded broker. A child process (its CPU not counted) posts ``N`` batches of 50-500 results
(10 merchants, a third of the results failures, bodies built before the clock starts) over
``--connections`` keep-alive connections (a bare HTTP/1.1 client writing prepared requests, so that
the client costs little of the machine's two cores); the clock runs from the first request to the
last 202.

Baseline, same run: the records the product wrote (key, value, headers as on the topic) produced
again by one raw ``AIOKafkaProducer`` with the product's producer settings (acks=all, the same
linger, no compression, default batch size; every send pipelined) to a fresh topic. Product and raw
alternate for ``--rounds`` pairs (product, raw, product, raw, ...); each ratio uses the raw pass that
follows it. Printed per round: the load average, results/s, server CPU per 10,000 results and the
ratio; then the median ratio (target >= 0.4) and the median CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import queue
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench._common import cpu_seconds, embedded_broker, header, quiet_logs, verdict
from huabei_watch.bus.kafka import PRODUCER_LINGER_MS, Bus, client_kwargs, idempotence_enabled
from huabei_watch.clock import SystemClock
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.events import Topics
from huabei_watch.events.auth import PrivateKey, Signer, SigningKey
from huabei_watch.signing import signed_headers
from watcher.payments.ingest import PATH, make_payment_results_handler
from watcher.payments.pipeline import KafkaSink

TARGET_RATIO = 0.4
MERCHANTS = 10
SECRET = "bench-payments-secret"
DEADLINE_S = 600.0
CODES = (("40004", "ACQ.SYSTEM_ERROR"), ("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH"), ("20000", "isp.unknow-error"))


def bodies(n: int, seed: int) -> list[tuple[str, bytes, int]]:
    """``n`` batches as (merchant, JSON body, results): 50-500 results each."""
    rng = random.Random(seed)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    out = []
    for b in range(n):
        merchant = f"m{b % MERCHANTS}"
        results = []
        for i in range(rng.randint(50, 500)):
            ok = rng.random() > 0.33
            r: dict[str, Any] = {"merchant_id": merchant, "at": (t0 + timedelta(milliseconds=b * 1000 + i)).isoformat(),
                                 "channel": rng.choice(("pcredit", "pcreditpayInstallment", "balance")), "success": ok,
                                 "plugin": "woo-alipay/3.2.1", "trade_no": f"T{b:06d}{i:04d}"}
            if not ok:
                r["code"], r["sub_code"] = rng.choice(CODES)
            results.append(r)
        out.append((merchant, json.dumps({"merchant_id": merchant, "results": results}).encode(), len(results)))
    return out


def _client(port: int, batches: list[tuple[str, bytes, int]], connections: int, ready: Any, go: Any, out: Any) -> None:
    """Child process: sign every body and build each request's bytes, wait for ``go``, then send
    them over ``connections`` keep-alive connections, one request at a time on each (a bare
    HTTP/1.1 client, so the client's own cost stays small); put (seconds, non-202 answers)."""

    async def run() -> tuple[float, int]:
        now = datetime.now(UTC)
        requests: asyncio.Queue[bytes] = asyncio.Queue()
        for merchant, body, _ in batches:
            hdrs = signed_headers(merchant, SECRET, body, now)
            head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n")
            requests.put_nowait(head.encode() + body)
        failures = 0

        async def worker() -> None:
            nonlocal failures
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                while not requests.empty():
                    writer.write(requests.get_nowait())
                    status = await reader.readline()
                    length = 0
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    await reader.readexactly(length)
                    if b" 202 " not in status:
                        failures += 1
            finally:
                writer.close()

        ready.set()
        go.wait()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return time.perf_counter() - started, failures

    out.put(asyncio.run(run()))


async def product_pass(
    bus: Bus, batches: list[tuple[str, bytes, int]], connections: int,
) -> tuple[float, float]:
    """Serve the handler, let the child post every batch. Returns (wall seconds, server CPU seconds)."""
    handler = make_payment_results_handler(
        secret_for=lambda m: SECRET if m.startswith("m") else None, sink=KafkaSink(bus, SystemClock()),
        clock=SystemClock(), max_body_bytes=1_048_576,
    )
    app = web.Application(client_max_size=2 * 1_048_576)
    app.router.add_post(PATH, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
    child = ctx.Process(target=_client, args=(port, batches, connections, ready, go, out))
    child.start()

    def outcome() -> tuple[float, int]:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            try:
                got: tuple[float, int] = out.get(timeout=0.5)
                return got
            except queue.Empty:
                if not child.is_alive():
                    raise SystemExit(f"the client process died (exit {child.exitcode})") from None
        raise SystemExit(f"the client did not finish within {DEADLINE_S:g} s")

    try:
        while not await asyncio.to_thread(ready.wait, 0.5):
            if not child.is_alive():
                raise SystemExit(f"the client process died before starting (exit {child.exitcode})")
        cpu0 = cpu_seconds()
        go.set()
        seconds, failures = await asyncio.to_thread(outcome)
        cpu = cpu_seconds() - cpu0
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
        await runner.cleanup()
    if failures:
        raise SystemExit(f"{failures} batches were not accepted")
    return seconds, cpu


async def read_back(bootstrap: str, topic: str, count: int) -> list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]:
    """Every record the product wrote to ``topic`` (``count`` of them)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=f"{topic}.readback")
    await consumer.start()
    out: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        while len(out) < count and time.monotonic() < deadline:
            for msgs in (await consumer.getmany(timeout_ms=500)).values():
                out += [(m.key, m.value, list(m.headers)) for m in msgs]
    finally:
        await consumer.stop()
    if len(out) < count:
        raise SystemExit(f"read back {len(out)} of {count} records")
    return out


async def raw_pass(producer: AIOKafkaProducer, topic: str, recs: list[Any]) -> tuple[float, float]:
    cpu0, started = cpu_seconds(), time.perf_counter()
    futures = [await producer.send(topic, v, key=k, headers=h) for k, v, h in recs]
    await asyncio.gather(*futures)
    return time.perf_counter() - started, cpu_seconds() - cpu0


async def run(n: int, connections: int, quick: bool, rounds: int) -> None:
    header("bench_payments: signed HTTP batches -> Kafka vs raw aiokafka produce", quick)
    batches = bodies(n, seed=7)
    results = sum(k for _, _, k in batches)
    size = sum(len(b) for _, b, _ in batches) / len(batches)
    key = PrivateKey.generate()
    async with embedded_broker() as broker:
        bootstrap = broker.bootstrap_servers
        settings = KafkaSettings.model_validate({"bootstrap_servers": bootstrap, "idempotence": "off", "partitions": 6})
        # The product's producer settings (Bus.start): acks=all, linger, no compression, default batch size.
        producer = AIOKafkaProducer(**client_kwargs(settings, bootstrap), acks="all",
                                    enable_idempotence=idempotence_enabled(settings), linger_ms=PRODUCER_LINGER_MS)
        await producer.start()
        try:
            figures = []
            for round_ in range(rounds):
                load = os.getloadavg()[0]
                prefix = f"bench-pay-{int(time.time())}-{round_}"
                bus = Bus(settings, bootstrap, Topics(prefix), signer=Signer([SigningKey("watcher", key)]))
                await bus.start()
                try:
                    topic = bus.topics.payment_results
                    raw_topic = f"{prefix}.raw"
                    await bus.ensure_topics([topic, raw_topic], with_dlq=False)
                    p_wall, p_cpu = await product_pass(bus, batches, connections)
                finally:
                    await bus.stop()
                recs = await read_back(bootstrap, topic, len(batches))
                r_wall, r_cpu = await raw_pass(producer, raw_topic, recs)
                figures.append((p_wall, p_cpu, r_wall, r_cpu, len(recs), load))
        finally:
            await producer.stop()
    print(f"batches: {n:,} of 50-500 results ({results:,} results, body {size / 1024:.0f} KB on average), "
          f"{connections} connections, 6 partitions, embedded broker")
    for i, (p_wall, p_cpu, r_wall, r_cpu, nrec, load) in enumerate(figures, 1):
        print(f"round {i} (load {load:.1f}): product {results / p_wall:,.0f} results/s, server CPU {p_cpu / results * 1e4:.3f} s "
              f"per 10,000 results; raw produce of the same {nrec} records {results / r_wall:,.0f} results/s "
              f"(CPU {r_cpu / results * 1e4:.3f} s per 10,000); ratio {r_wall / p_wall:.2f}")
    ratios = [f[2] / f[0] for f in figures]
    ratio = statistics.median(ratios)
    cpu = statistics.median(f[1] / results * 1e4 for f in figures)
    print(f"ratio product / raw produce (median of {len(ratios)} rounds): {ratio:.2f}; server CPU (median) {cpu:.3f} s "
          f"per 10,000 results  (target >= {TARGET_RATIO}: {verdict(ratio >= TARGET_RATIO)})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 batches instead of 400")
    ap.add_argument("-n", type=int, default=None, help="number of batches")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=None, help="product/raw pairs (default 4; --quick 2)")
    args = ap.parse_args(argv)
    quiet_logs()
    asyncio.run(run(args.n or (100 if args.quick else 400), args.connections, args.quick,
                    args.rounds or (2 if args.quick else 4)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
