"""Fault drill: the broker stops for a while mid-stream and comes back (empty: it is memory-only).

While it is down the watcher keeps polling: probe runs go on, state changes stay pending (one per
change, not one per poll), unseen notices are not recorded as seen. After it is back on the same
port (topics recreated as the daemon's restart hook does) every state change and every notice
from the outage is on the signals topic.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiokafka import AIOKafkaConsumer
from sqlalchemy import select

from consumers.incidents.signal_log import signal_log
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.errors import TransientError
from huabei_watch.events import (
    HEALTH_DOWN,
    HEALTH_UP,
    Event,
    EventData,
    HealthChange,
    MaintenanceSignal,
    PaymentResultBatch,
    Topics,
    decode,
)
from huabei_watch.root.daemon import start_app
from tests.e2e.harness import settings_for
from tests.fakes.bus import kill_broker
from tests.support import data_as, eventually, fixed_keyring, migrated_database
from watcher.notices import understand
from watcher.payments.ingest import make_payment_results_handler, signed_headers
from watcher.payments.pipeline import KafkaSink
from watcher.sources.announce_config import RssSource
from watcher.sources.announcements import AnnouncementWatcher
from watcher.sources.extract import notice_id_for_url, stable_id
from watcher.sources.fetch import Fetcher
from watcher.sources.probe_config import HttpProbe
from watcher.sources.probe_state import Health
from watcher.sources.probes import ProbeRunner
from watcher.sources.seen import SqlSeenStore

START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@dataclass
class Platform:
    """A loopback platform: a health endpoint whose status the drill sets, and an RSS notice feed."""

    health_status: int = 200
    items: list[tuple[str, str, str]] | None = None  # (guid, title, text)

    def feed(self, base: str) -> bytes:
        entries = "".join(
            f"<item><title>{title}</title><link>{base}/n/{guid}</link><guid isPermaLink='false'>{guid}</guid>"
            f"<pubDate>{format_datetime(START.astimezone(SHANGHAI))}</pubDate>"
            f"<description><![CDATA[<p>{text}</p>]]></description></item>"
            for guid, title, text in reversed(self.items or [])
        )
        return f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>公告</title>{entries}</channel></rss>".encode()


@pytest.fixture
async def platform() -> AsyncIterator[tuple[Platform, str]]:
    state = Platform(items=[])
    app = web.Application()

    async def health(request: web.Request) -> web.Response:
        return web.Response(status=state.health_status, text="ok" if state.health_status == 200 else "down")

    async def feed(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        return web.Response(body=state.feed(base), content_type="application/rss+xml", charset="utf-8")

    app.router.add_get("/health", health)
    app.router.add_get("/feed.xml", feed)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield state, str(server.make_url("")).rstrip("/")
    await server.close()


def _settings(prefix: str) -> KafkaSettings:
    # A short publish timeout so a poll that publishes into the outage fails fast instead of blocking.
    return KafkaSettings(topic_prefix=prefix, group_prefix=prefix, partitions=2, publish_timeout=0.5)


async def _read_all(bootstrap: str, topic: str) -> list[Event[EventData]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[Event[EventData]] = []
    try:
        empty = 0
        while empty < 3:  # the topic is complete once three fetches in a row come back empty
            batch = await consumer.getmany(timeout_ms=300)
            empty = 0 if batch else empty + 1
            for msgs in batch.values():
                out += [decode(m.key, m.value, m.headers) for m in msgs]
    finally:
        await consumer.stop()
    return out


async def _restart(broker: EmbeddedBroker, bus: Bus) -> None:
    """Bring the stopped broker back on the same port and recreate the topics (what the daemon's
    ``on_restart`` hook does: the memory-only broker comes back empty)."""
    port = broker.port
    await broker.start()
    assert broker.port == port
    await eventually(_topics_made(bus), timeout=20, what="topics recreated")


def _topics_made(bus: Bus) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            await bus.ensure_topics()
        except TransientError:
            return False
        return True

    return check


@pytest.mark.slow
async def test_probe_changes_during_a_broker_outage_stay_pending_and_all_reach_the_topic_after(
    own_broker: EmbeddedBroker, platform: tuple[Platform, str], topic_prefix: str
) -> None:
    state, base = platform
    clock = ManualClock(START)
    bus = Bus(_settings(topic_prefix), own_broker.bootstrap_servers, Topics(topic_prefix), signer=fixed_keyring().signer)
    await bus.start()
    await bus.ensure_topics()
    probe = HttpProbe(kind="http", id="gw", url=f"{base}/health", interval=10, timeout=2,
                      failure_threshold=2, success_threshold=2)
    try:
        async with aiohttp.ClientSession() as session:
            runner = ProbeRunner([probe], bus, clock, session)
            for _ in range(2):
                await runner.run_once("gw")
                clock.advance(10)
            (row,) = runner.state_snapshot()
            assert row.health is Health.UP and row.pending_events == 0

            await own_broker.stop()

            # Down, up, down again while the broker is away: three changes, each kept pending.
            for status, runs in ((500, 3), (200, 3), (503, 3)):
                state.health_status = status
                for _ in range(runs):
                    obs = await runner.run_once("gw")
                    assert obs.ok is (status == 200)  # the poll ran and saw the target
                    clock.advance(10)
            (row,) = runner.state_snapshot()
            assert row.health is Health.DOWN
            assert row.pending_events == 3  # bounded by the number of changes, not by the 9 polls

            await _restart(own_broker, bus)
            await eventually(lambda: _flushed(runner), timeout=20, what="pending changes published")
            (row,) = runner.state_snapshot()
            assert row.pending_events == 0
    finally:
        await bus.stop()

    events = await _read_all(own_broker.bootstrap_servers, Topics(topic_prefix).signals)
    health = [(e.type, data_as(e, HealthChange).since) for e in events if e.type in (HEALTH_DOWN, HEALTH_UP)]
    kinds = [t for t, _ in health]
    assert kinds[:3] == [HEALTH_DOWN, HEALTH_UP, HEALTH_DOWN], health
    sinces = [s for _, s in health[:3]]
    assert sinces == sorted(sinces) and len(set(sinces)) == 3


async def _flushed(runner: ProbeRunner) -> bool:
    await runner.republish()
    return all(r.pending_events == 0 for r in runner.state_snapshot())


@pytest.mark.slow
async def test_notices_published_during_a_broker_outage_are_not_marked_seen_and_reach_the_topic_after(
    own_broker: EmbeddedBroker, platform: tuple[Platform, str], topic_prefix: str, tmp_path: Path
) -> None:
    state, base = platform
    clock = ManualClock(START)
    bus = Bus(_settings(topic_prefix), own_broker.bootstrap_servers, Topics(topic_prefix), signer=fixed_keyring().signer)
    await bus.start()
    await bus.ensure_topics()
    db = await migrated_database(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}", retry_for=5)
    store = SqlSeenStore(db.engine)
    source = RssSource(kind="rss", id="feed", feed_url=f"{base}/feed.xml", politeness_delay=0)
    assert state.items is not None
    state.items.append(("n0", "关于开放平台文档更新的公告", "开放平台文档已更新。"))
    try:
        async with aiohttp.ClientSession() as session:
            watcher = AnnouncementWatcher(source, Fetcher(session, clock, politeness_delay=0.0), store, bus, clock, understand)
            first = await watcher.poll_once()
            assert first.ok, first

            await own_broker.stop()
            day = (START + timedelta(days=2)).astimezone(SHANGHAI)
            state.items.append(("n1", "关于花呗服务系统维护的公告",
                                f"花呗服务将于{day:%Y年%m月%d日} 02:00 至 04:00 暂停，请提前做好安排。"))
            state.items.append(("n2", "关于 alipay.trade.pay 旧版接口下线的通知", "旧版接口将于2026年12月31日下线，请升级。"))
            for _ in range(4):
                report = await watcher.poll_once()
                assert not report.ok and report.error and "publish failed" in report.error
                assert await store.get("feed", _nid("n1")) is None  # not seen: it will be read again
                clock.advance(60)

            await _restart(own_broker, bus)

            async def delivered() -> bool:
                clock.advance(60)
                return (await watcher.poll_once()).ok

            await eventually(delivered, timeout=20, what="a successful poll after the outage")
            assert await store.get("feed", _nid("n1")) is not None and await store.get("feed", _nid("n2")) is not None
    finally:
        await bus.stop()
        await db.close()

    events = await _read_all(own_broker.bootstrap_servers, Topics(topic_prefix).signals)
    notice_ids = {getattr(e.data, "notice_id", None) for e in events}
    # Signals name a notice by its page (the feed item's link), the seen store by the feed's guid.
    published = {notice_id_for_url(f"{base}/n/{guid}") for guid in ("n1", "n2")}
    assert published <= notice_ids, [e.type for e in events]
    assert any(e.type.startswith("huabei.maintenance.") and data_as(e, MaintenanceSignal).notice_id == notice_id_for_url(f"{base}/n/n1")
               for e in events)


def _nid(guid: str) -> str:
    return stable_id("guid:" + guid)


@pytest.mark.slow
async def test_daemon_restarts_its_killed_broker_republishes_state_and_consumes_again(
    platform: tuple[Platform, str], topic_prefix: str, tmp_path: Path, embedded_kafka: dict[str, str]
) -> None:
    """The daemon's own embedded broker is SIGKILLed: the supervisor restarts it (empty), the
    restart hook recreates topics and republishes the probe's "down", and the incidents consumer
    goes on consuming: a change after the restart reaches the signal log."""
    state, base = platform
    state.health_status = 500
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    settings = settings_for(tmp_path, topic_prefix, {
        "kafka": {**embedded_kafka, "publish_timeout": 0.5},
        "probes": [{"kind": "http", "id": "gw", "url": f"{base}/health", "interval": 1, "timeout": 0.5,
                    "failure_threshold": 1, "success_threshold": 1}],
    })
    app = await start_app(settings, ["watcher", "incidents"], clock=clock)
    try:
        assert app.broker is not None
        topics = Topics(topic_prefix)

        async def logged(event_type: str) -> list[str]:
            async with app.db.engine.connect() as conn:
                rows = await conn.execute(select(signal_log.c.event_id).where(signal_log.c.type == event_type))
                return list(rows.scalars())

        downs = await eventually(lambda: logged(HEALTH_DOWN), timeout=30, what="health.down consumed")
        kill_broker(app.broker)
        await eventually(lambda: app.broker is not None and app.broker.restarts >= 1, timeout=30, what="broker restarted")

        async def republished() -> bool:
            events = await _read_all(app.bootstrap, topics.signals)
            return any(e.type == HEALTH_DOWN and e.id in downs for e in events)

        await eventually(republished, timeout=30, what="probe state republished into the new broker")
        state.health_status = 200
        await eventually(lambda: logged(HEALTH_UP), timeout=45, what="health.up consumed after the restart")
    finally:
        await app.stop()


@pytest.mark.slow
async def test_payment_results_posted_during_a_broker_outage_get_503_and_arrive_once_resent(
    own_broker: EmbeddedBroker, topic_prefix: str
) -> None:
    """The ingest endpoint acknowledges only what is on Kafka: during the outage a batch gets 503
    with Retry-After (the sender keeps it); resent after the restart it gets 202 and is on the topic."""
    clock = ManualClock(START)
    bus = Bus(_settings(topic_prefix), own_broker.bootstrap_servers, Topics(topic_prefix), signer=fixed_keyring().signer)
    await bus.start()
    await bus.ensure_topics()
    app = web.Application()
    app.router.add_post("/v1/payment-results", make_payment_results_handler(
        secret_for={"m1": "s1"}.get, sink=KafkaSink(bus, clock), clock=clock,
    ))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/v1/payment-results"))

    def batch(n: int) -> bytes:
        results = [{"merchant_id": "m1", "at": (START - timedelta(seconds=n)).isoformat(), "channel": "pcredit",
                    "success": False, "code": "20000", "sub_code": f"isp.unknow-error-{n}"}]
        return json.dumps({"merchant_id": "m1", "results": results}).encode()

    try:
        async with aiohttp.ClientSession() as session:
            async def post(body: bytes) -> tuple[int, dict[str, str], str]:
                async with session.post(url, data=body, headers=signed_headers("m1", "s1", body, clock.now())) as r:
                    return r.status, dict(r.headers), await r.text()

            status, _, text = await post(batch(0))
            assert status == 202, text
            await own_broker.stop()
            held = [batch(n) for n in range(1, 4)]
            for body in held:
                status, headers, text = await post(body)
                assert status == 503 and "Retry-After" in headers, text
            await _restart(own_broker, bus)

            async def resent() -> bool:
                clock.advance(1)  # a new signing time: a fresh request, as a sender's retry would be
                for body in list(held):
                    if (await post(body))[0] == 202:
                        held.remove(body)  # acknowledged: the sender forgets it
                return not held

            await eventually(resent, timeout=20, what="the held batches accepted after the restart")
    finally:
        await server.close()
        await bus.stop()

    events = await _read_all(own_broker.bootstrap_servers, Topics(topic_prefix).payment_results)
    subs = sorted(r.sub_code for e in events for r in data_as(e, PaymentResultBatch).results)
    assert subs == [f"isp.unknow-error-{n}" for n in range(1, 4)]  # the one before the outage died with it
