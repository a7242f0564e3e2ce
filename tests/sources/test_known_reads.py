"""Many sources' list records read in one statement: the first polls of a tick share their reads,
and each caller still sees what the database held after it asked (replicas share the store)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from huabei_watch.clock import ManualClock
from tests.fakes.bus import RecordingPublisher
from tests.sources.helpers import Page, Site, standin_understand
from tests.sources.test_poll_costs import list_page, source, statements
from tests.sources.test_seen import notice
from tests.support import eventually
from watcher.sources.announcements import AnnouncementWatcher
from watcher.sources.extract import NoticeRef, extract_html_list
from watcher.sources.fetch import Fetcher
from watcher.sources.known_reads import KnownReads
from watcher.sources.polling import AnnouncementPolling
from watcher.sources.seen import SeenNotice, SqlSeenStore
from watcher.sources.source_states import SourceStates


def extract_refs(page: bytes, url: str) -> list[NoticeRef]:
    return extract_html_list(page.decode(), url, item_selector="ul.notices li", date_selector="span.date")


class HeldStore(SqlSeenStore):
    """A store whose reads wait for ``go`` while ``hold`` is set; counts the reads started."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.hold, self.go = True, asyncio.Event()
        self.started = 0
        self.sizes: list[int] = []  # sources asked, by read
        self.fail: Exception | None = None

    async def get_known(self, wanted: Mapping[str, Collection[str]]) -> dict[str, dict[str, SeenNotice]]:
        self.started += 1
        self.sizes.append(len(wanted))
        if self.hold:
            await self.go.wait()
        if self.fail is not None:
            raise self.fail
        return await super().get_known(wanted)


async def test_requests_made_together_share_one_read_and_each_gets_its_own(
    store: SqlSeenStore, engine: AsyncEngine
) -> None:
    await store.save([notice(source_id=f"s{s}", notice_id=f"n{s}") for s in range(20)])
    reads = KnownReads(store)
    with statements(engine) as sql:
        got = await asyncio.gather(*(reads.get_many(f"s{s}", [f"n{s}", f"n{s + 1}", "x"]) for s in range(20)))
    assert sql == ["SELECT"] and reads.reads == 1
    assert [list(g) for g in got] == [[f"n{s}"] for s in range(20)], "only the caller's own source's records"


async def test_a_request_made_while_a_read_runs_waits_for_the_next_read(engine: AsyncEngine) -> None:
    """Another replica's write that lands after a caller asked is seen by that caller: the running
    read's answer (possibly older than the write) is never handed to a later request."""
    store = HeldStore(engine)
    reads = KnownReads(store)
    early = asyncio.ensure_future(reads.get_many("s1", ["abc123"]))
    await eventually(lambda: store.started == 1, timeout=5, what="the first read to start")
    await SqlSeenStore(engine).save([notice()])  # another replica records the notice meanwhile
    late = asyncio.ensure_future(reads.get_many("s1", ["abc123"]))
    store.hold = False
    store.go.set()
    assert (await late) == {"abc123": notice()}
    await early
    assert reads.reads == 2


async def test_a_failed_read_fails_its_callers_and_the_next_read_works(engine: AsyncEngine) -> None:
    store = HeldStore(engine)
    store.hold, store.fail = False, ConnectionError("database away")
    reads = KnownReads(store)
    results = await asyncio.gather(reads.get_many("s1", ["a"]), reads.get_many("s2", ["b"]), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    store.fail = None
    await SqlSeenStore(engine).save([notice(notice_id="a")])
    assert await reads.get_many("s1", ["a", "b"]) == {"a": notice(notice_id="a")}


async def test_a_cancelled_caller_leaves_the_others_their_answer(engine: AsyncEngine) -> None:
    store = HeldStore(engine)
    await SqlSeenStore(engine).save([notice(source_id="s2", notice_id="b")])
    reads = KnownReads(store)
    gone = asyncio.ensure_future(reads.get_many("s1", ["a"]))
    kept = asyncio.ensure_future(reads.get_many("s2", ["b"]))
    await eventually(lambda: store.started == 1, timeout=5, what="the read to start")
    gone.cancel()
    store.go.set()
    assert await kept == {"b": notice(source_id="s2", notice_id="b")}
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_first_polls_of_a_tick_read_their_lists_records_together(
    site: Site, fetcher: Fetcher, engine: AsyncEngine, clock: ManualClock
) -> None:
    """20 sources polled for the first time in one tick: their records are read in two statements
    (the first read, and one for every poll that asked while it ran), not one per source."""
    store = HeldStore(engine)
    states = SourceStates(store)
    watchers = []
    for i in range(20):
        site.pages[f"/l{i}"] = Page(list_page(3))
        watchers.append(AnnouncementWatcher(source(site, f"s{i}", f"/l{i}"), fetcher, store, RecordingPublisher(),
                                            clock, standin_understand, states=states))
    polling = AnnouncementPolling(watchers, states, clock, max_in_flight=32)
    clock.advance(1)
    await polling.tick()
    await eventually(lambda: store.started == 1, timeout=10, what="the first read")
    await eventually(lambda: store.sizes[0] + states.known.waiting == 20, timeout=10,
                     what="every other poll waiting for the next read")
    store.go.set()
    await eventually(lambda: polling.in_flight == 0, timeout=10, what="the polls")
    assert states.known.reads == 2
    assert all(w.consecutive_failures == 0 for w in watchers)
    await states.flush()
    ids = [r.notice_id for r in extract_refs(list_page(3), site.url("/l0"))]
    stored = await SqlSeenStore(engine).get_known({f"s{i}": ids for i in range(20)})
    assert {sid: len(byid) for sid, byid in stored.items()} == {f"s{i}": 3 for i in range(20)}
