"""Every source on one tick: due polls start (bounded), none twice at once, states flushed behind,
one summary line at info instead of a line per poll."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from huabei_watch.clock import ManualClock
from huabei_watch.runtime.memory import release_free_memory
from tests.fakes.bus import RecordingPublisher
from tests.sources.helpers import Page, Site, standin_understand
from tests.sources.test_poll_costs import statements
from tests.support import eventually
from watcher.sources.announce_config import HtmlSource
from watcher.sources.announcements import AnnouncementWatcher
from watcher.sources.fetch import Fetcher
from watcher.sources.polling import AnnouncementPolling
from watcher.sources.seen import SqlSeenStore, seen_notices
from watcher.sources.source_states import SourceStates

LIST = "<html><body><ul class='notices'><li><a href='/n/1'>公告</a></li></ul></body></html>".encode()


def build(site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock, count: int, *,
          max_in_flight: int = 8, flush_every: float = 10.0, max_records_waiting: int = 1_000,
          release_memory: Callable[[], object] = release_free_memory,
          publisher: RecordingPublisher | None = None) -> AnnouncementPolling:
    states = SourceStates(store, flush_every=flush_every)
    watchers = []
    for i in range(count):
        site.pages.setdefault(f"/l{i}", Page(LIST))
        cfg = HtmlSource(id=f"s{i}", list_url=site.url(f"/l{i}"), item_selector="ul.notices li", interval=30,
                         politeness_delay=0, first_poll_details=0)
        watchers.append(AnnouncementWatcher(cfg, fetcher, store, publisher or RecordingPublisher(), clock,
                                            standin_understand, states=states))
    return AnnouncementPolling(watchers, states, clock, max_in_flight=max_in_flight, summary_every=60,
                               max_records_waiting=max_records_waiting, release_memory=release_memory)


async def first_tick(polling: AnnouncementPolling, clock: ManualClock) -> None:
    """The first polls are spread over a moment (200 sources a second): one second covers them."""
    clock.advance(1)
    await polling.tick()
    await settle(polling)


async def flushed(polling: AnnouncementPolling) -> None:
    """The flush the tick started has ended (``pending`` is 0 as soon as a flush takes what it writes,
    before the transaction commits) and nothing waits."""
    await eventually(lambda: polling._flushing is None and polling.states.pending == 0, timeout=10,
                     what="the flush")


async def settle(polling: AnnouncementPolling) -> None:
    await eventually(lambda: polling.in_flight == 0, timeout=10, what="polls in flight to finish")


async def test_a_tick_starts_the_due_polls_and_each_comes_back_one_interval_later(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    polling = build(site, fetcher, store, clock, 3)
    await first_tick(polling, clock)
    assert [site.hits[f"/l{i}"] for i in range(3)] == [1, 1, 1]
    clock.advance(29)
    await polling.tick()
    await settle(polling)
    assert sum(site.hits.values()) == 3
    clock.advance(1)
    await polling.tick()
    await settle(polling)
    assert [site.conditional_hits[f"/l{i}"] for i in range(3)] == [1, 1, 1]
    assert polling.summary.polls == 6 and polling.summary.first == 3 and polling.summary.not_modified == 3


async def test_polls_are_counted_by_outcome_since_start_across_summaries(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    """What /metrics shows as ``huabei_source_polls_total`` (read at scrape time): never reset by
    the summary line."""
    site.pages["/l1"] = Page(b"", status=500)
    polling = build(site, fetcher, store, clock, 3)
    await first_tick(polling, clock)
    clock.advance(60)
    await polling.tick()  # the summary is due: its counts start again
    await settle(polling)
    assert polling.summary.polls == 3
    assert dict(polling.poll_counts()) == {("not_modified",): 2.0, ("unchanged",): 0.0, ("changed",): 0.0,
                                           ("first",): 2.0, ("failed",): 2.0}


async def test_no_more_than_max_in_flight_polls_run_and_a_slow_source_is_never_polled_twice_at_once(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    release = asyncio.Event()
    running = 0
    most = 0
    per_source: dict[str, int] = {}
    most_per_source = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal running, most, most_per_source
        running += 1
        per_source[request.path] = per_source.get(request.path, 0) + 1
        most, most_per_source = max(most, running), max(most_per_source, per_source[request.path])
        await release.wait()
        running -= 1
        per_source[request.path] -= 1
        return web.Response(body=LIST, content_type="text/html")

    for i in range(6):
        site.pages[f"/l{i}"] = slow
    polling = build(site, fetcher, store, clock, 6, max_in_flight=2)
    clock.advance(1)
    await polling.tick()
    await eventually(lambda: running == 2, timeout=10, what="two polls waiting at the site")
    for _ in range(5):
        clock.advance(60)  # far past every interval: still nothing starts twice
        await polling.tick()
    assert polling.in_flight == 2 and sum(site.hits.values()) == 2
    release.set()
    await eventually(lambda: all(site.hits[f"/l{i}"] for i in range(6)), timeout=10, what="the others, as slots free")
    await settle(polling)
    assert most == 2 and most_per_source == 1


async def test_states_are_written_behind_on_the_tick_and_at_close(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    polling = build(site, fetcher, store, clock, 2, flush_every=10)
    await first_tick(polling, clock)
    # The first poll wrote its state with its notices; the 304 polls only in memory.
    clock.advance(30)
    await polling.tick()  # the polls, and a flush (30 s since start) that took what waited before them
    await settle(polling)
    await eventually(lambda: polling._flushing is None, timeout=10, what="that flush")  # else the next tick skips its own
    assert (await store.get_state("s0")).last_poll_at != clock.now()
    assert polling.states.pending > 0
    clock.advance(10)
    await polling.tick()  # 10 s since the last flush: a flush starts
    await flushed(polling)
    assert (await store.get_state("s0")).last_poll_at == clock.now() - timedelta(seconds=10)

    clock.advance(20)
    await polling.tick()
    await settle(polling)
    await polling.close(5)
    assert (await store.get_state("s1")).last_poll_at == clock.now()
    await polling.tick()
    assert polling.in_flight == 0, "nothing starts after close"


async def test_polls_log_at_debug_and_a_summary_at_info(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="watcher.sources")
    polling = build(site, fetcher, store, clock, 4)
    await first_tick(polling, clock)
    clock.advance(30)
    await polling.tick()
    await settle(polling)
    clock.advance(30)
    await polling.tick()  # 61 s since start >= summary_every (60 s)
    await settle(polling)
    lines = [r for r in caplog.records if r.name.startswith("watcher.sources")]
    assert [r.msg for r in lines] == ["announce.first_round_done", "announce.summary"]
    assert (lines[0].sources, lines[0].failed, lines[0].seconds) == (4, 0, 1.0)  # type: ignore[attr-defined]
    summary = lines[1]
    assert (summary.polls, summary.first, summary.not_modified, summary.sources) == (8, 4, 4, 4)  # type: ignore[attr-defined]


async def test_start_ticks_on_a_loop_timer_until_close(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    """No scheduler job: :meth:`start` arms an event-loop timer that ticks (the polls' due times
    from the injected clock), :meth:`close` disarms it, and a second start is refused."""
    polling = build(site, fetcher, store, clock, 5)
    clock.advance(1)  # every first poll is due
    polling.start(every=0.01)
    with pytest.raises(RuntimeError, match="already started"):
        polling.start()
    await eventually(lambda: polling.summary.first == 5, timeout=10, what="the timer's ticks to start every first poll")
    timer = polling._timer
    await polling.close(5)
    assert timer is not None and polling._timer is not None and polling._timer.cancelled()


def test_two_sources_with_one_id_are_refused(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    states = SourceStates(store)
    cfg = HtmlSource(id="dup", list_url=site.url("/l"), item_selector="li")
    w = AnnouncementWatcher(cfg, fetcher, store, RecordingPublisher(), clock, standin_understand, states=states)
    with pytest.raises(ValueError, match="share an id"):
        AnnouncementPolling([w, w], states, clock)


async def test_the_first_polls_of_many_sources_are_written_in_one_transaction_on_the_next_tick(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, engine: AsyncEngine, clock: ManualClock
) -> None:
    polling = build(site, fetcher, store, clock, 20, max_in_flight=20)
    with statements(engine) as sql:
        await first_tick(polling, clock)
    assert "INSERT" not in sql, "a first poll that published nothing leaves its records to the next flush"
    assert polling.states.pending > 0
    clock.advance(1)
    with statements(engine) as sql:
        await polling.tick()  # records wait: this tick flushes, though flush_every is 10 s
        await flushed(polling)
    assert sql == ["INSERT", "INSERT", "INSERT"], "records, states, hourly counts: one executemany each"
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(seen_notices))).scalar_one()
    assert stored == 20
    assert (await store.get_state("s7")).initialized_at is not None


async def test_free_memory_is_given_back_once_when_the_first_rounds_records_are_written(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, engine: AsyncEngine, clock: ManualClock
) -> None:
    stored_at_release: list[int] = []  # what still waited for a flush when each release came

    async def stored() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(seen_notices))).scalar_one())

    polling = build(site, fetcher, store, clock, 20, max_in_flight=20,
                    release_memory=lambda: stored_at_release.append(polling.states.pending))
    await first_tick(polling, clock)
    assert stored_at_release == [], "the first round's records still wait for their flush"
    clock.advance(1)
    await polling.tick()
    await flushed(polling)
    assert stored_at_release == [0] and await stored() == 20  # released after the flush, nothing left waiting
    for _ in range(3):  # later rounds and their flushes give nothing back again
        clock.advance(30)
        await polling.tick()
        await settle(polling)
        clock.advance(10)
        await polling.tick()
        await flushed(polling)
    assert sum(site.conditional_hits.values()) == 60  # three more rounds, all 304
    assert stored_at_release == [0]


async def test_a_source_polled_again_before_the_flush_reads_its_first_records_back(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    polling = build(site, fetcher, store, clock, 1)
    await first_tick(polling, clock)
    assert polling.states.unsaved("s0")
    site.pages["/l0"] = Page("<html><body><ul class='notices'><li><a href='/n/2'>新公告</a></li>"
                             "<li><a href='/n/1'>公告</a></li></ul></body></html>".encode())
    site.pages["/n/2"] = Page("<html><body><p>2026年12月8日 02:00 至 04:00 系统维护。</p></body></html>".encode())
    clock.advance(30)
    report = await polling.watchers["s0"].poll_once()  # no tick: the watcher flushes before it reads
    assert report.ok and report.new == 1, report
    assert site.hits.get("/n/1", 0) == 0, "the entry recorded by the first poll is known, not read again"
    assert not polling.states.unsaved("s0")


class CountingStore(SqlSeenStore):
    """A store that notes, at each ``save_states``, how many records it writes and how many still
    wait in ``states`` besides them."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.states: SourceStates | None = None
        self.flushes: list[tuple[int, int]] = []  # (records written, records waiting besides)

    async def save_states(self, *args: object, **kwargs: object) -> None:
        assert self.states is not None
        notices = kwargs.get("notices", ())
        assert isinstance(notices, list | tuple)
        self.flushes.append((len(notices), self.states.records_count))
        await super().save_states(*args, **kwargs)  # type: ignore[arg-type]


async def test_a_first_round_writes_its_records_as_they_come_not_all_on_the_next_tick(
    site: Site, fetcher: Fetcher, engine: AsyncEngine, clock: ManualClock
) -> None:
    """Records alive at once during a first round stay bounded: once ``max_records_waiting`` wait,
    no poll starts and the flush starts without waiting for the tick; polls go on when it is done."""
    store = CountingStore(engine)
    polling = build(site, fetcher, store, clock, 40, max_in_flight=4, max_records_waiting=5)
    store.states = polling.states
    clock.advance(1)
    await polling.tick()  # one tick: every source is due within it
    await eventually(lambda: polling.summary.polls == 40 and polling.in_flight == 0 and polling._flushing is None,
                     timeout=10, what="every first poll, and the flushes they started")
    assert len(store.flushes) >= 4, "flushes started by the polls themselves, before any second tick"
    # 5 waiting start a flush; at most the 3 other polls in flight (one record each) end meanwhile
    assert max(written + waiting for written, waiting in store.flushes) <= 5 + 3, store.flushes
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(seen_notices))).scalar_one()
    assert stored == 40 - polling.states.records_count and polling.states.records_count < 5
    clock.advance(1)
    await polling.tick()  # the rest, fewer than the bound, go on the next tick as before
    await flushed(polling)
    assert (await store.get_state("s39")).initialized_at is not None


class DownStore(SqlSeenStore):
    """A store whose ``save_states`` fails while ``down``; counts the attempts."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.down, self.attempts = True, 0

    async def save_states(self, *args: object, **kwargs: object) -> None:
        self.attempts += 1
        if self.down:
            raise ConnectionError("database away")
        await super().save_states(*args, **kwargs)  # type: ignore[arg-type]


async def test_waiting_records_are_retried_every_flush_every_while_the_database_is_away(
    site: Site, fetcher: Fetcher, engine: AsyncEngine, clock: ManualClock
) -> None:
    polling = build(site, fetcher, DownStore(engine), clock, 3, flush_every=10)
    store = polling.states.store
    assert isinstance(store, DownStore)
    await first_tick(polling, clock)
    for _ in range(5):  # one flush a tick while records wait, until one fails
        clock.advance(1)
        await polling.tick()
        await eventually(lambda: polling._flushing is None, timeout=10, what="the flush")
    assert store.attempts == 1, "after a failed flush, waiting records do not make every tick flush again"
    store.down = False
    clock.advance(6)  # 10 s since the failed flush (at the second tick)
    await polling.tick()
    await flushed(polling)
    assert store.attempts == 2 and (await store.get_state("s2")).initialized_at is not None


async def test_ticks_with_nothing_due_and_nothing_pending_send_no_statement(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock, engine: AsyncEngine
) -> None:
    """Between polls an idle watcher's tick touches no database: ticks every second of a source's
    30 s interval, past several flush periods, with every state written, run no SQL."""
    polling = build(site, fetcher, store, clock, 3, flush_every=10.0)
    await first_tick(polling, clock)
    clock.advance(10)
    await polling.tick()  # the first polls' states and counts go
    await flushed(polling)
    with statements(engine) as seen:
        for _ in range(15):  # 15 s: not due again (30 s), one flush period and a half
            clock.advance(1)
            await polling.tick()
            await eventually(lambda: polling._flushing is None, timeout=10, what="a flush the tick started")
    assert polling.in_flight == 0 and polling.summary.polls == 3
    assert seen == []


async def test_polls_are_not_held_back_by_waiting_records_while_the_database_is_away(
    site: Site, fetcher: Fetcher, engine: AsyncEngine, clock: ManualClock
) -> None:
    """A failed flush does not stop the polls: the records wait (beyond the bound), as the states do."""
    polling = build(site, fetcher, DownStore(engine), clock, 12, max_in_flight=2, max_records_waiting=3)
    store = polling.states.store
    assert isinstance(store, DownStore)
    clock.advance(1)
    await polling.tick()
    await eventually(lambda: polling.summary.polls == 12 and polling.in_flight == 0 and polling._flushing is None,
                     timeout=10, what="every first poll, and the failed flush")
    assert store.attempts == 1
    assert polling.states.records_count == 12
    store.down = False
    clock.advance(10)
    await polling.tick()
    await flushed(polling)
    assert store.attempts == 2 and (await store.get_state("s11")).initialized_at is not None


class GatedPublisher(RecordingPublisher):
    """Holds every event until ``gate`` is set, as a broker's acknowledgement of one batch releases
    the polls that published in it together; counts the publishes waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0

    async def publish(self, event: object) -> None:
        self.waiting += 1
        await self.gate.wait()
        await super().publish(event)  # type: ignore[arg-type]


async def test_polls_that_found_new_notices_together_write_one_at_a_time_on_one_connection(
    site: Site, fetcher: Fetcher, engine: AsyncEngine, clock: ManualClock
) -> None:
    """Polls whose events went out in the same moment do not each take a database connection to
    wait for SQLite's one writer: their writes (and the flushes) go one at a time."""
    store = SqlSeenStore(engine)
    publisher = GatedPublisher()
    polling = build(site, fetcher, store, clock, 12, max_in_flight=12, publisher=publisher)
    await first_tick(polling, clock)
    clock.advance(1)
    await polling.tick()
    await flushed(polling)
    for i in range(12):
        site.pages[f"/l{i}"] = Page(f"<html><body><ul class='notices'><li><a href='/n/new{i}'>新公告</a></li>"
                                    "<li><a href='/n/1'>公告</a></li></ul></body></html>".encode())
        site.pages[f"/n/new{i}"] = Page("<html><body><p>2026年12月8日 02:00 至 04:00 系统维护。</p></body></html>"
                                        .encode())
    out = most = 0

    def checkout(*_: object) -> None:
        nonlocal out, most
        out += 1
        most = max(most, out)

    def checkin(*_: object) -> None:
        nonlocal out
        out -= 1

    clock.advance(30)
    await polling.tick()
    await eventually(lambda: publisher.waiting == 12 and polling._flushing is None, timeout=10,
                     what="every poll holding its event, the tick's flush done")
    event.listen(engine.sync_engine, "checkout", checkout)
    event.listen(engine.sync_engine, "checkin", checkin)
    try:
        publisher.gate.set()
        await settle(polling)
    finally:
        event.remove(engine.sync_engine, "checkout", checkout)
        event.remove(engine.sync_engine, "checkin", checkin)
    assert polling.summary.new == 12 and polling.summary.failed == 0 and len(publisher.events) == 24  # two events a notice
    assert most == 1, f"{most} connections held at once by the polls' writes"
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(seen_notices))).scalar_one()
    assert stored == 24, "every source's first record and its new one"
