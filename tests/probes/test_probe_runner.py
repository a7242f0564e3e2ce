"""ProbeRunner end to end against loopback servers: what reaches the publisher, and when."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, cast

import aiohttp
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from huabei_watch.clock import ManualClock
from huabei_watch.errors import PermanentError, TransientError
from huabei_watch.events.base import Event, EventData, PreparedEvent
from huabei_watch.events.common import Scope
from huabei_watch.events.signals import HEALTH_DOWN, HEALTH_UP, HealthChange
from tests.fakes.bus import RecordingPublisher
from watcher.sources.probe_config import AnyProbe, load_probes
from watcher.sources.probe_state import Health, ProbeState, state_from_event
from watcher.sources.probes import ProbeRunner, schedule_probes

Serve = Callable[..., Awaitable[tuple[Any, str]]]
INTERVAL = 10.0


class AwayPublisher(RecordingPublisher):
    """A publisher whose bus can be taken away: raises TransientError while ``away``."""

    def __init__(self) -> None:
        super().__init__()
        self.away = False
        self.refused = 0

    async def publish(self, event: Event[Any] | PreparedEvent) -> None:
        if self.away:
            self.refused += 1
            raise TransientError("broker away", retry_after=1.0)
        await super().publish(event)


def probes_for(url: str, **keys: Any) -> tuple[AnyProbe, ...]:
    return load_probes([{
        "kind": "http", "id": "gw", "url": url, "interval": INTERVAL, "timeout": 0.2,
        "failure_threshold": 2, "success_threshold": 2, **keys,
    }])


async def run(runner: ProbeRunner, clock: ManualClock, times: int = 1) -> None:
    for _ in range(times):
        await runner.run_once("gw")
        clock.advance(INTERVAL)


def health(events: list[Event[EventData]]) -> list[tuple[str, Any]]:
    out = []
    for e in events:
        assert isinstance(e.data, HealthChange)
        out.append((e.type, e.data.since))
    return out


async def test_outage_and_recovery_publish_down_then_up(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    endpoint, url = await serve()
    publisher = RecordingPublisher()
    runner = ProbeRunner(probes_for(url, scope=["m1"]), publisher, clock, session)
    t0 = clock.now()
    await run(runner, clock, 2)  # healthy: silent initial up
    assert publisher.events == []
    endpoint.status = 500
    await run(runner, clock, 1)
    assert publisher.events == []  # one failure is not an outage
    await run(runner, clock, 3)
    endpoint.status = 200
    await run(runner, clock, 2)
    step = timedelta(seconds=INTERVAL)
    assert health(publisher.events) == [(HEALTH_DOWN, t0 + 2 * step), (HEALTH_UP, t0 + 6 * step)]
    down = publisher.events[0].data
    assert isinstance(down, HealthChange)
    assert down.scope == Scope.merchants("m1") and down.target == url
    assert [o.detail for o in down.evidence] == ["status 500, expected 200-299"] * 2
    assert publisher.events[0].time == t0 + 3 * step


async def test_flapping_endpoint_publishes_nothing(serve: Serve, session: aiohttp.ClientSession, clock: ManualClock) -> None:
    endpoint, url = await serve()
    publisher = RecordingPublisher()
    runner = ProbeRunner(probes_for(url), publisher, clock, session)
    await run(runner, clock, 2)
    for i in range(12):
        endpoint.status = 500 if i % 2 == 0 else 200
        await run(runner, clock)
    assert publisher.events == []
    (row,) = runner.state_snapshot()
    assert row.health is Health.UP and len(endpoint.requests) == 14


async def test_hanging_endpoint_goes_down_with_timeouts_as_evidence(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    endpoint, url = await serve()
    endpoint.hang = True
    publisher = RecordingPublisher()
    runner = ProbeRunner(probes_for(url), publisher, clock, session)
    await run(runner, clock, 2)
    (event,) = publisher.events
    assert event.type == HEALTH_DOWN and isinstance(event.data, HealthChange)
    assert [o.detail for o in event.data.evidence] == ["timeout after 0.2 s"] * 2


async def test_state_change_survives_an_unavailable_bus(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    endpoint, url = await serve()
    publisher = AwayPublisher()
    runner = ProbeRunner(probes_for(url), publisher, clock, session)
    reference = RecordingPublisher()
    twin = ProbeRunner(probes_for(url), reference, clock, session)  # same observations, bus always there
    t0 = clock.now()
    endpoint.status = 500
    publisher.away = True
    for _ in range(3):
        await runner.run_once("gw")
        await twin.run_once("gw")
        clock.advance(INTERVAL)
    assert publisher.events == [] and publisher.refused == 2
    (row,) = runner.state_snapshot()
    assert (row.health, row.pending_events) == (Health.DOWN, 1)
    publisher.away = False
    await runner.run_once("gw")
    assert health(publisher.events) == [(HEALTH_DOWN, t0)]
    assert publisher.events == reference.events  # same id, time and evidence as if never delayed
    assert runner.state_snapshot()[0].pending_events == 0


async def test_pending_changes_go_out_in_order(serve: Serve, session: aiohttp.ClientSession, clock: ManualClock) -> None:
    endpoint, url = await serve()
    publisher = AwayPublisher()
    publisher.away = True
    runner = ProbeRunner(probes_for(url), publisher, clock, session)
    endpoint.status = 500
    await run(runner, clock, 2)
    endpoint.status = 200
    await run(runner, clock, 2)
    assert runner.state_snapshot()[0].pending_events == 2
    publisher.away = False
    await run(runner, clock, 1)
    assert [e.type for e in publisher.events] == [HEALTH_DOWN, HEALTH_UP]


class RejectingPublisher(RecordingPublisher):
    async def publish(self, event: Event[Any] | PreparedEvent) -> None:
        if event.type == HEALTH_DOWN:
            raise PermanentError("record too large")
        await super().publish(event)


async def test_permanently_rejected_event_does_not_block_later_ones(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    endpoint, url = await serve()
    publisher = RejectingPublisher()
    runner = ProbeRunner(probes_for(url), publisher, clock, session)
    endpoint.status = 500
    await run(runner, clock, 2)
    endpoint.status = 200
    await run(runner, clock, 2)
    assert [e.type for e in publisher.events] == [HEALTH_UP]


async def test_restored_down_probe_announces_recovery_after_restart(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    endpoint, url = await serve()
    first = RecordingPublisher()
    before = ProbeRunner(probes_for(url), first, clock, session)
    endpoint.status = 500
    await run(before, clock, 2)
    saved = {pid: s.model_dump_json() for pid, s in before.states().items()}

    # Restart: the endpoint recovered meanwhile.
    endpoint.status = 200
    second = RecordingPublisher()
    after = ProbeRunner(
        probes_for(url), second, clock, session,
        restored={pid: ProbeState.model_validate_json(js) for pid, js in saved.items()},
    )
    assert after.state_snapshot()[0].health is Health.DOWN
    assert await after.republish() == 1
    assert second.events == first.events  # the same down event, same id
    await run(after, clock, 2)
    assert [e.type for e in second.events] == [HEALTH_DOWN, HEALTH_UP]


async def test_restore_from_last_event_while_still_down_publishes_nothing_new(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    endpoint, url = await serve()
    endpoint.status = 500
    first = RecordingPublisher()
    before = ProbeRunner(probes_for(url), first, clock, session)
    await run(before, clock, 2)
    (last,) = first.events
    second = RecordingPublisher()
    after = ProbeRunner(probes_for(url), second, clock, session)
    assert isinstance(last.data, HealthChange)
    # The data checked just above: what state_from_event reads is a health event.
    saved = state_from_event(cast("Event[HealthChange]", last))
    after.restore("gw", saved)
    after.restore("removed-probe", saved)  # stale saved state is ignored
    await run(after, clock, 4)
    assert second.events == []


async def test_unknown_probe_id_is_a_permanent_error(session: aiohttp.ClientSession, clock: ManualClock) -> None:
    runner = ProbeRunner(probes_for("http://127.0.0.1:9/health"), RecordingPublisher(), clock, session)
    with pytest.raises(PermanentError, match="no probe with id 'nope'"):
        await runner.run_once("nope")


async def test_status_snapshot_shows_last_result_and_streak(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock, closed_port: int
) -> None:
    endpoint, url = await serve()
    probes = probes_for(url) + load_probes([{"kind": "tcp", "id": "cashier", "host": "127.0.0.1", "port": closed_port}])
    runner = ProbeRunner(probes, RecordingPublisher(), clock, session)
    endpoint.status = 503
    first_failure = clock.now()
    await run(runner, clock, 3)
    gw, cashier = runner.state_snapshot()
    assert (gw.probe_id, gw.kind, gw.health, gw.since) == ("gw", "http", Health.DOWN, first_failure)
    assert gw.last is not None and gw.last.detail == "status 503, expected 200-299"
    assert (gw.streak_ok, gw.streak_len, gw.pending_events) == (False, 3, 0)
    assert (cashier.probe_id, cashier.kind, cashier.target, cashier.health, cashier.last) == (
        "cashier", "tcp", f"127.0.0.1:{closed_port}", Health.UNKNOWN, None
    )


async def test_schedule_probes_adds_one_interval_job_per_probe(session: aiohttp.ClientSession, clock: ManualClock) -> None:
    probes = load_probes([
        {"kind": "tcp", "id": "a", "host": "127.0.0.1", "port": 1, "interval": 15, "jitter": 2},
        {"kind": "dns", "id": "b", "name": "localhost", "interval": 60},
    ])
    runner = ProbeRunner(probes, RecordingPublisher(), clock, session)
    scheduler = AsyncIOScheduler()
    assert schedule_probes(scheduler, runner) == ["probe:a", "probe:b"]
    assert schedule_probes(scheduler, runner) == ["probe:a", "probe:b"]  # replaces, does not duplicate
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"probe:a", "probe:b"}
    trigger = jobs["probe:a"].trigger
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(seconds=15) and trigger.jitter == 2
    assert jobs["probe:a"].args == ("a",) and jobs["probe:a"].max_instances == 1
    assert jobs["probe:b"].trigger.jitter is None


async def test_a_failing_target_is_logged_unavailable_once_and_back_once(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint, url = await serve()
    runner = ProbeRunner(probes_for(url), RecordingPublisher(), clock, session)
    caplog.set_level(logging.INFO, logger="watcher.sources.poll_health")
    endpoint.status = 500
    await run(runner, clock, 5)
    endpoint.status = 200
    await run(runner, clock, 4)
    lines = [(r.msg, r.failures if r.msg == "poller.unavailable" else None) for r in caplog.records]  # type: ignore[attr-defined]  # a logging extra field
    assert lines == [("poller.unavailable", 2), ("poller.back", None)]  # at the thresholds, never per run
