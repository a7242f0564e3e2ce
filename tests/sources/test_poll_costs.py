"""What a poll costs the database: nothing for an unchanged list, a constant number of statements
for a list of any length, one transaction for the states of every source polled meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from huabei_watch.clock import ManualClock
from tests.fakes.bus import RecordingPublisher
from tests.sources.helpers import Page, Site, standin_understand
from watcher.sources.announce_config import HtmlSource
from watcher.sources.announcements import AnnouncementWatcher, PollReport
from watcher.sources.fetch import Fetcher
from watcher.sources.seen import SourceState, SqlSeenStore, seen_notices, source_poll_hours
from watcher.sources.source_states import SourceStates


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs (an executemany counts once)."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement.split()[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def list_page(entries: int) -> bytes:
    items = "".join(f"<li><a href='/n/{i}.html'>公告 {i}</a><span class='date'>2026-11-{1 + i % 28:02d}</span></li>"
                    for i in range(entries))
    return f"<html><body><ul class='notices'>{items}</ul></body></html>".encode()


def source(site: Site, sid: str, path: str) -> HtmlSource:
    return HtmlSource(id=sid, list_url=site.url(path), item_selector="ul.notices li", date_selector="span.date",
                      politeness_delay=0, first_poll_details=0)


async def test_an_unchanged_list_costs_no_database_statement(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, engine: AsyncEngine, clock: ManualClock
) -> None:
    site.pages["/list"] = Page(list_page(5))
    states = SourceStates(store)
    watcher = AnnouncementWatcher(source(site, "s", "/list"), fetcher, store, RecordingPublisher(), clock,
                                  standin_understand, states=states)
    await watcher.poll_once()
    with statements(engine) as sql:
        for _ in range(5):
            clock.advance(30)
            report = await watcher.poll_once()
            assert report.ok and report.not_modified
    assert sql == []
    assert site.conditional_hits["/list"] == 5


async def test_a_healthy_304_gives_the_same_report_every_time(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    """The report of a 304 that found nothing to re-check is built once per source (frozen), not a poll."""
    site.pages["/list"] = Page(list_page(5))
    watcher = AnnouncementWatcher(source(site, "s", "/list"), fetcher, store, RecordingPublisher(), clock,
                                  standin_understand, states=SourceStates(store))
    assert (await watcher.poll_once()).first_poll
    clock.advance(30)
    once = await watcher.poll_once()
    clock.advance(30)
    twice = await watcher.poll_once()
    assert once == PollReport("s", ok=True, not_modified=True)
    assert twice is once


async def test_a_first_poll_reads_and_writes_a_list_in_the_same_statements_whatever_its_length(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, engine: AsyncEngine, clock: ManualClock
) -> None:
    site.pages["/short"] = Page(list_page(3))
    site.pages["/long"] = Page(list_page(300))
    states = SourceStates(store)
    await states.load(clock.now())  # once per process: every source's state in one statement
    counts = {}
    for sid in ("short", "long"):
        watcher = AnnouncementWatcher(source(site, sid, f"/{sid}"), fetcher, store, RecordingPublisher(), clock,
                                      standin_understand, states=states)
        with statements(engine) as sql:
            report = await watcher.poll_once()
        assert report.ok and report.first_poll
        counts[sid] = sql
    assert counts["short"] == counts["long"] == ["SELECT", "INSERT", "INSERT"], (
        "the entries' records read at once, then the entries and the source's state written, one statement each"
    )
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(seen_notices))).scalar_one()
    assert stored == 303


async def test_the_states_of_many_polls_are_written_in_one_transaction(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, engine: AsyncEngine, clock: ManualClock
) -> None:
    states = SourceStates(store)
    watchers = []
    for i in range(20):
        site.pages[f"/l{i}"] = Page(list_page(2))
        watchers.append(AnnouncementWatcher(source(site, f"s{i}", f"/l{i}"), fetcher, store, RecordingPublisher(),
                                            clock, standin_understand, states=states))
    for w in watchers:
        await w.poll_once()
    for _ in range(3):
        clock.advance(timedelta(seconds=30))
        for w in watchers:
            assert (await w.poll_once()).not_modified
    with statements(engine) as sql:
        await states.flush()
    assert sql == ["UPDATE", "INSERT"], "304s change only the time of the last poll, then the hourly counts: " \
                                        "one executemany each"
    assert states.pending == 0
    async with engine.connect() as conn:
        polls = (await conn.execute(select(func.sum(source_poll_hours.c.polls)))).scalar_one()
        last = await store.get_state("s7")
    assert polls == 80
    assert last.last_poll_at == clock.now() and last.etag


class BrokenOnce(SqlSeenStore):
    """A store whose next ``save_states`` fails (the database away for a moment)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.fail = True

    async def save_states(self, *args: object, **kwargs: object) -> None:
        if self.fail:
            self.fail = False
            raise ConnectionError("database away")
        await super().save_states(*args, **kwargs)  # type: ignore[arg-type]


async def test_a_failed_flush_keeps_everything_for_the_next_one(
    site: Site, fetcher: Fetcher, engine: AsyncEngine, clock: ManualClock
) -> None:
    store = BrokenOnce(engine)
    states = SourceStates(store)
    site.pages["/list"] = Page(list_page(2))
    watcher = AnnouncementWatcher(source(site, "s", "/list"), fetcher, store, RecordingPublisher(), clock,
                                  standin_understand, states=states)
    await watcher.poll_once()
    clock.advance(30)
    await watcher.poll_once()
    try:
        await states.flush()
    except ConnectionError:
        pass
    else:
        raise AssertionError("the first flush should have failed")
    clock.advance(30)
    await watcher.poll_once()
    await states.flush()
    async with engine.connect() as conn:
        polls = (await conn.execute(select(func.sum(source_poll_hours.c.polls)))).scalar_one()
    assert polls == 3
    assert (await store.get_state("s")).last_poll_at == clock.now()


class FailsWhenLetGo(SqlSeenStore):
    """A store whose next ``save_states`` waits for ``go``, then fails."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.go, self.waiting = asyncio.Event(), asyncio.Event()
        self.fail = True

    async def save_states(self, *args: object, **kwargs: object) -> None:
        if self.fail:
            self.fail = False
            self.waiting.set()
            await self.go.wait()
            raise ConnectionError("database away")
        await super().save_states(*args, **kwargs)  # type: ignore[arg-type]


async def test_a_poll_made_while_a_flush_fails_is_written_whole_by_the_next(
    engine: AsyncEngine, clock: ManualClock
) -> None:
    store = FailsWhenLetGo(engine)
    states = SourceStates(store)
    stored = SourceState(source_id="s", etag='"e1"', initialized_at=clock.now(), last_poll_at=clock.now())
    await store.save([], stored)
    states.polled(stored, saved=True)
    clock.advance(30)
    new_tag = replace(stored, etag='"e2"', last_poll_at=clock.now())  # the page changed its ETag only
    states.polled(new_tag)
    flushing = asyncio.create_task(states.flush())
    await store.waiting.wait()  # the flush took what was pending and waits on the database
    clock.advance(30)
    states.polled(replace(new_tag, last_poll_at=clock.now()))  # a 304 meanwhile: only its time changed
    store.go.set()
    try:
        await flushing
    except ConnectionError:
        pass
    else:
        raise AssertionError("the flush should have failed")
    await states.flush()
    got = await store.get_state("s")
    assert got.etag == '"e2"' and got.last_poll_at == clock.now()


async def test_first_polls_records_left_behind_survive_a_failed_flush(
    site: Site, fetcher: Fetcher, engine: AsyncEngine, clock: ManualClock
) -> None:
    store = BrokenOnce(engine)
    states = SourceStates(store)
    states.records_behind = True  # as AnnouncementPolling sets it
    site.pages["/list"] = Page(list_page(4))
    watcher = AnnouncementWatcher(source(site, "s", "/list"), fetcher, store, RecordingPublisher(), clock,
                                  standin_understand, states=states)
    assert (await watcher.poll_once()).first_poll
    try:
        await states.flush()
    except ConnectionError:
        pass
    else:
        raise AssertionError("the first flush should have failed")
    assert states.unsaved("s")
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(seen_notices))).scalar_one() == 0
    assert (await store.get_state("s")).initialized_at is None, "no state stored without its records"
    await states.flush()
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(seen_notices))).scalar_one() == 4
    assert (await store.get_state("s")).initialized_at is not None and not states.unsaved("s")


async def test_sources_asking_together_read_the_states_once(
    store: SqlSeenStore, engine: AsyncEngine, clock: ManualClock
) -> None:
    await store.save_states([SourceState(source_id="s3", etag='"v3"', last_poll_at=clock.now())], {})
    states = SourceStates(store)
    with statements(engine) as sql:
        got = await asyncio.gather(*(states.get(f"s{i}", clock.now()) for i in range(30)))
    assert sql == ["SELECT", "SELECT"], "one read of the states and one of the maintenance notices, not one per source"
    assert got[3].etag == '"v3"'
    assert [g.source_id for g in got] == [f"s{i}" for i in range(30)]
    assert got[4] == SourceState(source_id="s4")


class LoadFailsOnce(SqlSeenStore):
    """A store whose first ``load_states`` fails (the database away at start)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.loads = 0

    async def load_states(self) -> dict[str, SourceState]:
        self.loads += 1
        if self.loads == 1:
            await asyncio.sleep(0)  # the other callers join this load meanwhile
            raise ConnectionError("database away")
        return await super().load_states()


async def test_a_failed_states_load_reaches_every_caller_that_waited_and_the_next_call_loads_again(
    engine: AsyncEngine, clock: ManualClock
) -> None:
    store = LoadFailsOnce(engine)
    states = SourceStates(store)
    first = await asyncio.gather(*(states.get(f"s{i}", clock.now()) for i in range(5)), return_exceptions=True)
    assert [type(r) for r in first] == [ConnectionError] * 5
    assert store.loads == 1
    assert await states.get("s1", clock.now()) == SourceState(source_id="s1")
    assert store.loads == 2


async def test_a_caller_cancelled_while_the_states_load_leaves_the_load_to_the_others(
    store: SqlSeenStore, clock: ManualClock
) -> None:
    states = SourceStates(store)
    cancelled = asyncio.ensure_future(states.get("s1", clock.now()))
    waiting = asyncio.ensure_future(states.get("s2", clock.now()))
    await asyncio.sleep(0)
    cancelled.cancel()
    assert await waiting == SourceState(source_id="s2")
    assert cancelled.cancelled()
