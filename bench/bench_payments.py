"""Payment results in: signed HTTP batches -> Kafka, vs raw aiokafka produce of the same bytes:
``python -m bench.bench_payments``.

Product: the watcher's ``POST /v1/payment-results`` handler
(:func:`watcher.payments.ingest.make_payment_results_handler`: bounded read, HMAC check, parse and
validate, replay memory) served as the daemon serves it -- by :class:`huabei_watch.runtime.app.AdminServer`
(the connection guard with its limits and deadlines, keep-alive, the JSON error middleware) -- in
front of :class:`watcher.payments.pipeline.KafkaSink` on one long-lived :class:`huabei_watch.bus.kafka.Bus`
(acks=all, every record signed as the watcher, Ed25519), on the embedded broker, on the event loop
the daemon runs on (``--loop``, default ``auto`` as ``daemon.event_loop``: uvloop when installed;
the raw producer and the client run on the same loop). A child process (its CPU not counted in the
server's, but measured and printed: it shares the machine's cores) posts ``N`` batches of 50-500
results (``--results LO-HI`` for other sizes; 10 merchants, a third of the results failures, bodies
built and signed before the clock starts) over ``--connections`` keep-alive connections, one request at a time on each; the clock
runs from the first request to the last 202. ``--client lean`` (default) is one ``asyncio.Protocol``
per connection writing prepared requests and reading each answer's head and ``Content-Length``;
``--client streams`` is the client of round ``payments7`` (asyncio streams, answers read line by
line), kept to compare. Printed for the product pass: the server's CPU (and its event loop's thread
alone, what one core bounds), the client's and the broker's CPU, each as a share of one core.

Baseline: the records the product wrote (key, value, headers as on the topic, read back once from
an uncounted warm-up pass) produced again by one raw ``AIOKafkaProducer`` built with the product's
own arguments (:func:`huabei_watch.bus.kafka.producer_kwargs`: acks=all, idempotence, linger,
request timeout; no compression, default batch size), every send pipelined -- the goal's baseline.
For information only, a second raw pass sends the same records ``--connections`` at a time, each
awaited like the handler awaits its record (what the product's concurrency alone allows). A raw
pass sends the records twice over (:data:`RAW_REPEAT`) and is timed per sending, so that it lasts
about as long as the product's pass instead of a few scheduler slices.

Like with like: a warm-up of each kind first (uncounted); then ``--rounds`` rounds, each running
the three passes back to back in alternating order (product first in odd rounds, last in even
ones), every pass to a fresh topic; each round's ratio is the raw pass's wall time over the
product pass's in the same round. Printed per round: the load average, results/s, server CPU per
10,000 results, the share of the product pass the server was busy, and the ratios; then the median
ratio with its range and quartiles (the verdict uses the median, target >= 0.4) and the median CPU
with its range.
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench._common import cpu_seconds, embedded_broker, header, quiet_logs, verdict
from huabei_watch.bus.kafka import Bus, producer_kwargs
from huabei_watch.clock import SystemClock
from huabei_watch.config.settings import AdminSettings, KafkaSettings
from huabei_watch.events import Topics
from huabei_watch.events.auth import PrivateKey, Signer, SigningKey
from huabei_watch.runtime import loop as event_loop
from huabei_watch.runtime.admin import errors_as_json
from huabei_watch.runtime.app import AdminServer
from huabei_watch.runtime.loop import EventLoopSetting
from huabei_watch.signing import signed_headers
from watcher.payments.ingest import PATH, make_payment_results_handler
from watcher.payments.pipeline import KafkaSink

TARGET_RATIO = 0.4
MERCHANTS = 10
SECRET = "bench-payments-secret"
DEADLINE_S = 600.0
#: A raw pass sends the records this many times over and is timed per sending: alone it would last
#: a fraction of a second (a few scheduler slices on a shared machine), against seconds for the
#: product's pass.
RAW_REPEAT = 2
CODES = (("40004", "ACQ.SYSTEM_ERROR"), ("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH"), ("20000", "isp.unknow-error"))


def bodies(n: int, seed: int, per_batch: tuple[int, int] = (50, 500)) -> list[tuple[str, bytes, int]]:
    """``n`` batches as (merchant, JSON body, results): ``per_batch`` results each (50-500)."""
    rng = random.Random(seed)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    out = []
    for b in range(n):
        merchant = f"m{b % MERCHANTS}"
        results = []
        for i in range(rng.randint(*per_batch)):
            ok = rng.random() > 0.33
            r: dict[str, Any] = {"merchant_id": merchant, "at": (t0 + timedelta(milliseconds=b * 1000 + i)).isoformat(),
                                 "channel": rng.choice(("pcredit", "pcreditpayInstallment", "balance")), "success": ok,
                                 "plugin": "woo-alipay/3.2.1", "trade_no": f"T{b:06d}{i:04d}"}
            if not ok:
                r["code"], r["sub_code"] = rng.choice(CODES)
            results.append(r)
        out.append((merchant, json.dumps({"merchant_id": merchant, "results": results}).encode(), len(results)))
    return out


def _requests(port: int, batches: list[tuple[str, bytes, int]]) -> list[bytes]:
    """Every batch as the bytes of its signed HTTP/1.1 request (signed now)."""
    now = datetime.now(UTC)
    out = []
    for merchant, body, _ in batches:
        hdrs = signed_headers(merchant, SECRET, body, now)
        head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n")
        out.append(head.encode() + body)
    return out


async def _send_streams(port: int, requests: list[bytes], connections: int) -> int:
    """The client up to round ``payments7``: asyncio streams, the answer read line by line.
    Returns the number of answers other than 202."""
    todo = iter(requests)
    failures = 0

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in todo:
                writer.write(request)
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

    await asyncio.gather(*(worker() for _ in range(connections)))
    return failures


class _Lean(asyncio.Protocol):
    """One keep-alive connection of the lean client: writes a request, waits for the whole answer
    (head, then ``Content-Length`` bytes) in ``data_received`` without a task or a line reader, then
    writes the next; ``done`` is set after the last answer."""

    def __init__(self, todo: Iterator[bytes], done: asyncio.Future[int]) -> None:
        self.todo, self.done = todo, done
        self.buf = b""
        self.need = -1  # bytes of the whole answer once its head is in; -1 until then
        self.failures = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._next()

    def _next(self) -> None:
        request = next(self.todo, None)
        if request is None:
            self.done.set_result(self.failures)
        else:
            assert self.transport is not None
            self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            if self.need < 0:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buf[:end].lower()
                if b" 202 " not in head[:head.find(b"\r\n")]:
                    self.failures += 1
                at = head.find(b"\r\ncontent-length:")
                stop = head.find(b"\r\n", at + 2) if at >= 0 else -1
                length = int(head[at + 17:stop if stop >= 0 else len(head)]) if at >= 0 else 0
                self.need = end + 4 + length
            if len(self.buf) < self.need:
                return
            self.buf, self.need = self.buf[self.need:], -1
            self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"the server closed a connection early ({exc})"))


async def _send_lean(port: int, requests: list[bytes], connections: int) -> int:
    """The lean client (default): one :class:`_Lean` protocol per connection. Returns the number of
    answers other than 202."""
    loop = asyncio.get_running_loop()
    todo = iter(requests)
    done = [loop.create_future() for _ in range(connections)]
    transports = [(await loop.create_connection(partial(_Lean, todo, f), "127.0.0.1", port))[0] for f in done]
    try:
        return sum(await asyncio.gather(*done))
    finally:
        for t in transports:
            t.close()


CLIENTS = {"lean": _send_lean, "streams": _send_streams}


def _client(port: int, batches: list[tuple[str, bytes, int]], connections: int, kind: str, loop: EventLoopSetting,
            ready: Any, go: Any, out: Any) -> None:
    """Child process: sign every body and build each request's bytes, wait for ``go``, then send
    them over ``connections`` keep-alive connections, one request at a time on each, with the client
    ``kind`` on the event loop ``loop``; put (seconds, non-202 answers, the client's CPU seconds
    while sending)."""
    requests = _requests(port, batches)

    async def run() -> tuple[float, int, float]:
        ready.set()
        go.wait()
        cpu0, started = time.process_time(), time.perf_counter()
        failures = await CLIENTS[kind](port, requests, connections)
        return time.perf_counter() - started, failures, time.process_time() - cpu0

    with asyncio.Runner(loop_factory=event_loop.choose(loop).factory) as runner:
        out.put(runner.run(run()))


def _proc_cpu(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` (``/proc/<pid>/stat``); 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text("ascii").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _app_server() -> AdminServer:
    """The admin server as the daemon builds it (guard, limits, keep-alive, JSON errors)."""
    server = AdminServer(AdminSettings.model_validate({"listen": "127.0.0.1:0"}))
    server.web.middlewares.append(errors_as_json)
    return server


@dataclass(frozen=True)
class ProductFigures:
    """One product pass: wall seconds, and CPU seconds of the server (this process; ``loop``: its
    event loop's thread alone, the part that cannot use another core), the client process while
    it sent, and the broker."""

    wall: float
    server: float
    loop: float
    client: float
    broker: float


async def product_pass(
    bus: Bus, batches: list[tuple[str, bytes, int]], connections: int, client: str, loop: EventLoopSetting, broker_pid: int | None,
) -> ProductFigures:
    """Serve the handler, let the child post every batch (with the client ``client`` on the loop
    ``loop``)."""
    handler = make_payment_results_handler(
        secret_for=lambda m: SECRET if m.startswith("m") else None, sink=KafkaSink(bus, SystemClock()),
        clock=SystemClock(), max_body_bytes=1_048_576,
    )
    server = _app_server()
    server.web.router.add_post(PATH, handler)
    await server.start()
    port = server.listener.port
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
    child = ctx.Process(target=_client, args=(port, batches, connections, client, loop, ready, go, out))
    child.start()

    def outcome() -> tuple[float, int, float]:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            try:
                got: tuple[float, int, float] = out.get(timeout=0.5)
                return got
            except queue.Empty:
                if not child.is_alive():
                    raise SystemExit(f"the client process died (exit {child.exitcode})") from None
        raise SystemExit(f"the client did not finish within {DEADLINE_S:g} s")

    try:
        while not await asyncio.to_thread(ready.wait, 0.5):
            if not child.is_alive():
                raise SystemExit(f"the client process died before starting (exit {child.exitcode})")
        cpu0, loop0, broker0 = cpu_seconds(), time.thread_time(), _proc_cpu(broker_pid)
        go.set()
        seconds, failures, client_cpu = await asyncio.to_thread(outcome)
        cpu, loop_cpu, broker_cpu = cpu_seconds() - cpu0, time.thread_time() - loop0, _proc_cpu(broker_pid) - broker0
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
        await server.close()
    if failures:
        raise SystemExit(f"{failures} batches were not accepted")
    return ProductFigures(seconds, cpu, loop_cpu, client_cpu, broker_cpu)


Recs = list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]


async def read_back(bootstrap: str, topic: str, count: int) -> Recs:
    """Every record the product wrote to ``topic`` (``count`` of them)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=f"{topic}.readback")
    await consumer.start()
    out: Recs = []
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


async def raw_pass(producer: AIOKafkaProducer, topic: str, recs: Recs) -> tuple[float, float]:
    """The records sent :data:`RAW_REPEAT` times over, all pipelined. Returns (wall seconds, CPU
    seconds) per sending of the records."""
    cpu0, started = cpu_seconds(), time.perf_counter()
    futures = [await producer.send(topic, v, key=k, headers=h) for _ in range(RAW_REPEAT) for k, v, h in recs]
    await asyncio.gather(*futures)
    return (time.perf_counter() - started) / RAW_REPEAT, (cpu_seconds() - cpu0) / RAW_REPEAT


async def raw_pass_bounded(producer: AIOKafkaProducer, topic: str, recs: Recs, at_once: int) -> float:
    """The records sent by ``at_once`` senders, each awaiting its record's acknowledgement before
    the next (as the handler does per request), :data:`RAW_REPEAT` times over. Returns wall seconds
    per sending of the records."""
    todo = iter(recs * RAW_REPEAT)

    async def sender() -> None:
        for k, v, h in todo:
            await producer.send_and_wait(topic, v, key=k, headers=h)

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(at_once)))
    return (time.perf_counter() - started) / RAW_REPEAT


@dataclass
class Round:
    load: float
    product: ProductFigures = ProductFigures(0.0, 0.0, 0.0, 0.0, 0.0)
    raw: tuple[float, float] = (0.0, 0.0)
    bounded: float = 0.0


def _spread(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4) if len(values) >= 2 else [values[0]] * 3
    return f"range {min(values):.2f}-{max(values):.2f}, quartiles {q[0]:.2f}/{q[2]:.2f}"


async def run(
    n: int, connections: int, quick: bool, rounds: int, client: str, loop: EventLoopSetting,
    per_batch: tuple[int, int] = (50, 500),
) -> None:
    header("bench_payments: signed HTTP batches -> Kafka vs raw aiokafka produce", quick)
    batches = bodies(n, seed=7, per_batch=per_batch)
    results = sum(k for _, _, k in batches)
    size = sum(len(b) for _, b, _ in batches) / len(batches)
    key = PrivateKey.generate()
    stamp = int(time.time())
    topic_no = 0

    def fresh() -> str:
        nonlocal topic_no
        topic_no += 1
        return f"bench-pay-{stamp}-{topic_no}"

    async with embedded_broker() as broker:
        bootstrap = broker.bootstrap_servers
        settings = KafkaSettings.model_validate({"bootstrap_servers": bootstrap, "idempotence": "off", "partitions": 6})
        bus = Bus(settings, bootstrap, Topics(f"bench-pay-{stamp}"), signer=Signer([SigningKey("watcher", key)]))
        producer = AIOKafkaProducer(**producer_kwargs(settings, bootstrap))
        await bus.start()
        await producer.start()
        figures: list[Round] = []
        try:
            async def product(r: Round | None) -> tuple[Topics, int]:
                """The pass's topics and the records it wrote (more than the batches when some
                are split)."""
                topics = Topics(fresh())
                await bus.ensure_topics([topics.payment_results], with_dlq=False)
                bus.topics = topics
                sent = bus.sent
                got = await product_pass(bus, batches, connections, client, loop, broker.pid)
                if r is not None:
                    r.product = got
                return topics, bus.sent - sent

            async def raw(r: Round | None) -> None:
                topic = fresh()
                await bus.ensure_topics([topic], with_dlq=False)
                got = await raw_pass(producer, topic, recs)
                if r is not None:
                    r.raw = got

            async def bounded(r: Round | None) -> None:
                topic = fresh()
                await bus.ensure_topics([topic], with_dlq=False)
                got = await raw_pass_bounded(producer, topic, recs, connections)
                if r is not None:
                    r.bounded = got

            warm, records = await product(None)  # warm-up, uncounted: its records are the baseline's
            recs = await read_back(bootstrap, warm.payment_results, records)
            await raw(None)
            await bounded(None)
            for i in range(rounds):
                r = Round(load=os.getloadavg()[0])
                for step in ((product, raw, bounded) if i % 2 == 0 else (bounded, raw, product)):
                    await step(r)
                figures.append(r)
        finally:
            await producer.stop()
            await bus.stop()
    print(f"batches: {n:,} of {per_batch[0]}-{per_batch[1]} results ({results:,} results, body {size / 1024:.0f} KB on average), "
          f"{connections} connections, 6 partitions, embedded broker; warm-up of each pass uncounted; event loop "
          f"{event_loop.choose(loop).name} (server, raw producer and client), client {client!r}")
    for i, r in enumerate(figures, 1):
        p, (r_wall, r_cpu) = r.product, r.raw
        p_wall, p_cpu = p.wall, p.server
        print(f"round {i} (load {r.load:.1f}, product {'first' if i % 2 else 'last'}): product {results / p_wall:,.0f} "
              f"results/s, server CPU {p_cpu / results * 1e4:.3f} s per 10,000 results (event loop's thread "
              f"{p.loop / results * 1e4:.3f}; busy {p_cpu / p_wall:.0%}; "
              f"client {p.client / p_wall:.0%}, broker {p.broker / p_wall:.0%} of a core); "
              f"raw produce of the same {len(recs)} records {results / r_wall:,.0f} results/s (CPU {r_cpu / results * 1e4:.3f} s "
              f"per 10,000); ratio {r_wall / p_wall:.2f}; raw {connections} at a time {results / r.bounded:,.0f} results/s "
              f"(ratio {r.bounded / p_wall:.2f})")
    ratios = [r.raw[0] / r.product.wall for r in figures]
    cpus = [r.product.server / results * 1e4 for r in figures]
    loops = [r.product.loop / results * 1e4 for r in figures]
    bounded_ratios = [r.bounded / r.product.wall for r in figures]
    shares = {who: [getattr(r.product, who) / r.product.wall for r in figures] for who in ("server", "client", "broker")}
    ratio = statistics.median(ratios)
    print(f"ratio product / raw produce (median of {len(ratios)} rounds): {ratio:.2f} ({_spread(ratios)}); "
          f"server CPU (median) {statistics.median(cpus):.3f} s per 10,000 results (range {min(cpus):.3f}-{max(cpus):.3f}; "
          f"event loop's thread {statistics.median(loops):.3f}, range {min(loops):.3f}-{max(loops):.3f})  "
          f"(target >= {TARGET_RATIO}: {verdict(ratio >= TARGET_RATIO)})")
    print("CPU during the product pass (median, share of one core; the machine has "
          f"{os.cpu_count()}): " + ", ".join(f"{who} {statistics.median(v):.0%}" for who, v in shares.items()))
    print(f"for information: product / raw {connections} at a time (median) {statistics.median(bounded_ratios):.2f} "
          f"({_spread(bounded_ratios)})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 batches instead of 400")
    ap.add_argument("-n", type=int, default=None, help="number of batches")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=None, help="rounds of product and raw passes (default 6; --quick 3)")
    ap.add_argument("--client", choices=sorted(CLIENTS), default="lean",
                    help="lean (default): a protocol per connection; streams: the client up to round payments7")
    ap.add_argument("--results", default="50-500", metavar="LO-HI",
                    help="results per batch (default 50-500; 3500-5000 makes bodies over 600 KB, which the sink splits)")
    ap.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto",
                    help="event loop of this process and the client's, as daemon.event_loop (default auto, the daemon's)")
    args = ap.parse_args(argv)
    lo, _, hi = args.results.partition("-")
    quiet_logs()
    choice = event_loop.choose(args.loop)
    with asyncio.Runner(loop_factory=choice.factory) as runner:
        runner.run(run(args.n or (100 if args.quick else 400), args.connections, args.quick,
                       args.rounds or (3 if args.quick else 6), args.client, args.loop, (int(lo), int(hi or lo))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
