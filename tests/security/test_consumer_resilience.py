"""No poison record stops a consumer; a consumer loop that dies anyway is restarted, and /readyz
says 503 until it has rejoined. In process, on the session broker."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from huabei_watch.bus.kafka import MessageContext
from huabei_watch.clock import ManualClock
from huabei_watch.events import Event, EventData, HealthChange
from huabei_watch.logs import RepeatFilter
from huabei_watch.root import schema
from huabei_watch.runtime.app import App, Resources, Subscription
from tests.e2e.harness import get_json, settings_for
from tests.samples import NOW
from tests.support import eventually


class LoopKiller(BaseException):
    """Not an Exception: what the runner's per-record guard does not catch (a dying task)."""


class Flaky:
    """A role whose consumer handler kills its loop on the first record, then works."""

    name = "flaky"

    def __init__(self, signals_topic: str) -> None:
        self.calls = 0
        self.handled: list[str] = []
        self.subscriptions = (Subscription(self.name, (signals_topic,), self.handle),)

    async def handle(self, event: Event[EventData], ctx: MessageContext) -> None:
        self.calls += 1
        if self.calls == 1:
            raise LoopKiller()
        self.handled.append(event.id)

    async def stop(self) -> None:
        return None

    async def republish(self) -> None:
        return None


async def test_a_consumer_loop_that_dies_is_restarted_and_readyz_is_503_until_it_rejoined(
    broker: Any, bus: Any, tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, bus.topics.prefix)
    built: list[Flaky] = []

    async def flaky(r: Resources[Any]) -> Flaky:
        built.append(Flaky(r.topics.signals))
        return built[-1]

    app = await App.start(settings, {"flaky": flaky}, clock=ManualClock(NOW), bootstrap=broker.bootstrap_servers,
                          prepare_database=schema.prepare_database)
    (role,) = built
    try:
        async def status() -> int:
            code, _, _ = await get_json(app, "/readyz", token=None)
            return code

        await eventually(lambda: _eq(status(), 200), timeout=60, what="ready")
        ev = Event.build("huabei.health.down", HealthChange(probe_id="p-flaky", target="x", since=NOW), time=NOW)
        await bus.publish(ev)
        await eventually(lambda: _eq(status(), 503), timeout=30, what="/readyz 503 while the consumer restarts")
        await eventually(lambda: role.handled == [ev.id], timeout=60, what="the record handled after the restart")
        await eventually(lambda: _eq(status(), 200), timeout=30, what="ready again")
    finally:
        await app.stop()


async def _eq(x: Any, value: int) -> bool:
    return bool(await x == value)


async def test_a_record_too_large_to_dead_letter_as_it_is_goes_cut_to_the_dlq_not_retried_forever(
    bus: Any, kafka_settings: Any,
) -> None:
    from aiokafka import AIOKafkaProducer

    from huabei_watch.bus.kafka import ConsumerRunner
    from tests.support import fixed_keyring

    raw = AIOKafkaProducer(bootstrap_servers=bus.bootstrap, max_request_size=4 * 1024 * 1024)
    await raw.start()
    try:  # larger than one request of the daemon's producer, as it stands
        await raw.send_and_wait(bus.topics.signals, b"x" * 1_000_000, key=b"k", headers=[("junk", b"y" * 100_000)])
    finally:
        await raw.stop()
    good = Event.build("huabei.health.down", HealthChange(probe_id="p-after", target="x", since=NOW), time=NOW)
    await bus.publish(good)
    seen: list[str] = []

    async def handler(event: Event[EventData], ctx: MessageContext) -> None:
        seen.append(event.id)

    r = ConsumerRunner(group_id=f"{kafka_settings.group_prefix}.big", topics=[bus.topics.signals], handler=handler,
                       bus=bus, settings=kafka_settings, verifier=fixed_keyring().verifier)
    await r.start()
    await asyncio.wait_for(r.run(idle_exit_after=3.0), 60)
    await r.stop()
    assert seen == [good.id] and r.dead_lettered == 1


def test_repeated_identical_log_records_are_limited_per_window_and_the_rest_counted() -> None:
    now = [0.0]
    f = RepeatFilter(burst=3, window=60, clock=lambda: now[0])

    def rec(msg: str = "accept.failed") -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, None, None)

    passed = [f.filter(rec()) for _ in range(1000)]
    assert passed.count(True) == 3
    assert f.filter(rec("another.event"))  # a different record is not held back
    now[0] = 61.0
    after = rec()
    assert f.filter(after) and after.suppressed == 997  # type: ignore[attr-defined]  # the filter adds this field
