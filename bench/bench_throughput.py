"""Event throughput through ConsumerRunner vs raw aiokafka: ``python -m bench.bench_throughput``.

On the embedded broker, the same N CloudEvents records (``huabei.health.down``, ~0.6 KB each) are
produced twice, to two fresh topics (6 partitions), with one raw ``AIOKafkaProducer`` (acks=all,
sends pipelined), and consumed:

* baseline: a raw ``AIOKafkaConsumer`` (manual commit after every ``getmany`` batch, no decode),
  with the product's ``fetch_max_wait_ms`` (``kafka.fetch_max_wait``), batches unbounded;
* measured: :class:`huabei_watch.bus.kafka.ConsumerRunner` (decode each record into a typed event, call a
  no-op handler, commit after each batch of ``kafka.max_in_flight`` records), once without and once
  with signature verification (what the daemon does: the records are signed as the watcher).

Each pass starts its consumer on an empty topic, waits until one warm-up record was consumed (the
group is joined), then times producing the N records and consuming all of them (consumer running
concurrently). The three passes run in turn, several rounds (the machine is shared: a ratio is
taken within a round, and the median of the rounds is the verdict). Printed: the rates, the
process CPU per record (producing included), and the ratios to raw (target >= 0.5).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench._common import cpu_seconds, embedded_broker, header, quiet_logs, verdict
from huabei_watch.bus.kafka import Bus, ConsumerRunner, MessageContext
from huabei_watch.clock import SHANGHAI
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.events import (
    HEALTH_DOWN,
    Event,
    EventData,
    HealthChange,
    ProbeObservation,
    Record,
    Topics,
    encode,
)
from huabei_watch.events.auth import PrivateKey, Signer, SigningKey, Verifier
from huabei_watch.events.base import producers

TARGET_RATIO = 0.5
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
DEADLINE_S = 300.0


def records(n: int, signer: Signer) -> list[Record]:
    out = []
    for i in range(n):
        since = T0 + timedelta(seconds=i)
        data = HealthChange(
            probe_id=f"gw-{i % 97}", target="http://127.0.0.1:9/health", since=since,
            evidence=tuple(ProbeObservation(at=since, ok=False, latency_ms=12.5, detail="HTTP 503") for _ in range(2)),
        )
        rec = encode(Event.build(HEALTH_DOWN, data, time=since))
        out.append(Record(rec.key, rec.value, signer.sign("watcher", rec.headers, rec.value or b"")))
    return out


async def produce(producer: AIOKafkaProducer, topic: str, recs: list[Record]) -> None:
    """Produce every record, pipelined (acks=all), and wait for every acknowledgement."""
    futures = [await producer.send(topic, r.value, key=r.key, headers=list(r.headers)) for r in recs]
    await asyncio.gather(*futures)


class Counter:
    """Counts consumed records; ``reached`` fires once ``target`` were counted."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 1
        self.reached = asyncio.Event()

    def add(self, k: int) -> None:
        self.count += k
        if self.count >= self.target:
            self.reached.set()

    async def wait_for(self, target: int) -> None:
        self.target = target
        self.reached.clear()
        if self.count >= target:
            return
        try:
            await asyncio.wait_for(self.reached.wait(), DEADLINE_S)
        except TimeoutError:
            raise SystemExit(f"consumed {self.count} of {target} records within {DEADLINE_S:g} s") from None


async def timed(producer: AIOKafkaProducer, topic: str, recs: list[Record], counter: Counter) -> tuple[float, float]:
    """Warm up with one record (the consumer has joined once it is consumed), then time producing
    the rest and consuming them all. Returns (produce seconds, produce+consume seconds)."""
    await produce(producer, topic, recs[:1])
    await counter.wait_for(1)
    started = time.perf_counter()
    await produce(producer, topic, recs[1:])
    produced = time.perf_counter()
    await counter.wait_for(len(recs))
    return produced - started, time.perf_counter() - started


async def raw_pass(
    bootstrap: str, settings: KafkaSettings, producer: AIOKafkaProducer, topic: str, recs: list[Record],
) -> tuple[float, float]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"{topic}.raw", enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=int(settings.fetch_max_wait * 1000),
    )
    await consumer.start()
    counter = Counter()
    stop = asyncio.Event()

    async def loop() -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not stop.is_set() and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            if batch:
                await consumer.commit()
                counter.add(sum(len(v) for v in batch.values()))

    task = asyncio.create_task(loop())
    try:
        return await timed(producer, topic, recs, counter)
    finally:
        stop.set()
        await task
        await consumer.stop()


async def runner_pass(
    bus: Bus, settings: KafkaSettings, producer: AIOKafkaProducer, topic: str, recs: list[Record],
    verifier: Verifier | None,
) -> tuple[float, float]:
    counter = Counter()

    async def noop(event: Event[EventData], ctx: MessageContext) -> None:
        counter.add(1)

    runner = ConsumerRunner(group_id=f"{topic}.runner", topics=[topic], handler=noop, bus=bus, settings=settings,
                            verifier=verifier)
    await runner.start()
    task = asyncio.create_task(runner.run())
    try:
        return await timed(producer, topic, recs, counter)
    finally:
        runner.request_stop()
        await task
        await runner.stop()
        if runner.dead_lettered:
            raise SystemExit(f"ConsumerRunner dead-lettered {runner.dead_lettered} records")


async def run(n: int, quick: bool, max_in_flight: int, rounds: int) -> None:
    header("bench_throughput: ConsumerRunner vs raw aiokafka", quick)
    key = PrivateKey.generate()
    recs = records(n + 1, Signer([SigningKey("watcher", key)]))
    verifier = Verifier({"watcher": [key.verify_key]}, producers())
    size = sum(len(r.value or b"") + sum(len(k) + len(v) for k, v in r.headers) for r in recs) / len(recs)
    passes = ("raw", "runner", "verifying")
    rates: dict[str, list[float]] = {p: [] for p in passes}
    cpu: dict[str, list[float]] = {p: [] for p in passes}
    async with embedded_broker() as broker:
        bootstrap = broker.bootstrap_servers
        settings = KafkaSettings.model_validate(
            {"bootstrap_servers": bootstrap, "idempotence": "off", "partitions": 6, "max_in_flight": max_in_flight}
        )
        stamp = int(time.time())
        bus = Bus(settings, bootstrap, Topics(f"bench-thr-{stamp}"), signer=None)
        await bus.start()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
        await producer.start()
        try:
            for r in range(rounds):
                for p in passes:
                    topic = f"bench-thr-{stamp}.{r}.{p}"
                    await bus.ensure_topics([topic])
                    cpu0 = cpu_seconds()
                    if p == "raw":
                        _, t = await raw_pass(bootstrap, settings, producer, topic, recs)
                    else:
                        _, t = await runner_pass(bus, settings, producer, topic, recs,
                                                 verifier if p == "verifying" else None)
                    rates[p].append(n / t)
                    cpu[p].append((cpu_seconds() - cpu0) / n * 1e6)
        finally:
            await producer.stop()
            await bus.stop()
    print(f"records: {n:,} x ~{size:.0f} B (value + headers), 6 partitions, embedded broker, consumer running; "
          f"{rounds} rounds, each raw -> runner -> verifying runner on fresh topics")
    print(f"fetch_max_wait_ms {int(settings.fetch_max_wait * 1000)} for every consumer (the product's kafka.fetch_max_wait)")
    labels = {"raw": "raw aiokafka (getmany, commit per batch)",
              "runner": f"ConsumerRunner (decode, no-op handler, commit per {max_in_flight})",
              "verifying": "ConsumerRunner verifying Ed25519 signatures"}
    for p in passes:
        print(f"{labels[p]}: produce+consume {', '.join(f'{x:,.0f}' for x in rates[p])} records/s; "
              f"process CPU {', '.join(f'{x:.0f}' for x in cpu[p])} us per record (producing included)")
    for p, label in (("runner", "runner / raw"), ("verifying", "verifying runner / raw")):
        ratios = sorted(a / b for a, b in zip(rates[p], rates["raw"], strict=True))
        mid = ratios[len(ratios) // 2]
        print(f"ratio {label} per round: {', '.join(f'{x:.2f}' for x in ratios)}; median {mid:.2f}  "
              f"(target >= {TARGET_RATIO}: {verdict(mid >= TARGET_RATIO)})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="5,000 records instead of 20,000")
    ap.add_argument("-n", type=int, default=None, help="number of records")
    ap.add_argument("--max-in-flight", type=int, default=64, help="kafka.max_in_flight (default as configured: 64)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3; --quick 2)")
    args = ap.parse_args(argv)
    quiet_logs()
    asyncio.run(run(args.n or (5_000 if args.quick else 20_000), args.quick, args.max_in_flight,
                    args.rounds or (2 if args.quick else 3)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
