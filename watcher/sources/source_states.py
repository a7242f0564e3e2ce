"""Every announcement source's fetch state in memory, written behind in batches.

A poll that finds nothing new (a 304, or the same page again) must cost almost nothing, so it does
no database work of its own: :class:`SourceStates` holds every source's
:class:`~watcher.sources.seen.SourceState` in memory (read once, in one statement, when first
asked), and a poll only replaces the state in memory (a healthy 304 only notes its time) and counts
itself. :meth:`SourceStates.flush`
writes the states that changed (for a source whose poll changed nothing but its time, that time
alone: one column of a stored row) and the hourly poll counts (``source_poll_hours``, what the status
page reads) in one transaction; the owner calls it every ``flush_every`` seconds (30 by default) and at shutdown, so
what the database shows is at most that late. A poll that found new notices writes its state
together with the notices (:meth:`SourceStates.save`), never later than them.

The process's writes to the store go one at a time (:meth:`SourceStates.save` and the flushes share
one lock): SQLite takes one writer at a time anyway, and polls that found new notices in the same
moment (their events published together) each took a connection of their own, 15 at once at 2,000
sources, beyond the pool's 5 each a new one with its own page cache and aiosqlite thread
(bench/README.md, round ``perf13``). A poll waiting for the lock holds no connection.

A source's first poll that published nothing (its list only recorded) may leave its records here
too, when the owner flushes often (:attr:`SourceStates.records_behind`, set by
:class:`~watcher.sources.polling.AnnouncementPolling`, which flushes on its next tick while any
wait): the first polls of many sources then cost one transaction, records and states together. A
source whose records wait is flushed before it reads or writes records again
(:meth:`SourceStates.unsaved`), so no later write is overtaken by an older one.

If a flush fails, what it held is kept for the next one (a newer state of the same source wins;
counts add up). Losing unflushed states in a crash costs at most one conditional GET per source
after the restart: the stored ETag is older, the page is read again and every entry is found
already recorded.

Each process keeps its own copy: replicas of one source no longer share a failure streak between
flushes (each counts its own and reports degraded on its own count).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from watcher.sources.known_reads import KnownReads
from watcher.sources.seen import poll_hour
from watcher.sources.seen_model import SeenNotice, SeenStore, SourceState

log = logging.getLogger(__name__)

_HOUR = timedelta(hours=1)

#: Records written behind go at most about this many a transaction (bounded memory while writing).
RECORDS_PER_FLUSH = 1_000


class SourceStates:
    """The sources' states of one process, over ``store``. Not thread-safe (one event loop)."""

    def __init__(self, store: SeenStore, *, flush_every: float = 30.0) -> None:
        if flush_every <= 0:
            raise ValueError("flush_every must be positive")
        self.store = store
        self.flush_every = flush_every
        #: The sources' list records, read for many sources in one statement (see :class:`KnownReads`).
        self.known = KnownReads(store)
        self._states: dict[str, SourceState] | None = None
        self._watched: dict[str, list[SeenNotice]] = {}
        self._dirty: dict[str, SourceState] = {}
        #: sources stored already whose polls since changed only ``last_poll_at``: that time
        self._checked: dict[str, datetime] = {}
        self._polls: defaultdict[tuple[str, datetime], list[int]] = defaultdict(lambda: [0, 0])
        #: The owner flushes soon when records wait (see the module's docstring); off by default.
        self.records_behind = False
        self._records: dict[str, list[SeenNotice]] = {}
        self._record_count = 0  # the records in _records
        self._unsaved: set[str] = set()  # sources with records waiting or being written
        self._write_lock = asyncio.Lock()  # one write of the process's to the store at a time
        self._hour: tuple[datetime, datetime] | None = None  # the poll hour of the latest check, and its end
        self._loading: asyncio.Task[None] | None = None  # the load in flight, shared by its callers

    async def load(self, now: datetime) -> None:
        """Read every source's state and the maintenance notices whose windows end after ``now``
        (two statements). Callers that ask while a load runs wait for that one (the first polls of
        thousands of sources start together: one read, one database connection, not one each);
        once loaded, later calls do nothing. A failed load is raised to every caller that waited
        for it, and the next call tries again."""
        if self._states is not None:
            return
        loading = self._loading
        if loading is None:
            loading = self._loading = asyncio.get_running_loop().create_task(self._load(now), name="source-states:load")
            loading.add_done_callback(self._loaded)
        await asyncio.shield(loading)  # a cancelled caller leaves the load to the others

    def _loaded(self, task: asyncio.Task[None]) -> None:
        if self._loading is task:
            self._loading = None
        if not task.cancelled():
            task.exception()  # raised to its callers; marked seen for a load nobody waits for any more

    async def _load(self, now: datetime) -> None:
        states = await self.store.load_states()
        watched: dict[str, list[SeenNotice]] = {}
        for notice in await self.store.maintenance_notices(now):
            watched.setdefault(notice.source_id, []).append(notice)
        if self._states is None:  # a poll may have recorded states meanwhile (see polled)
            self._states, self._watched = states, watched

    async def get(self, source_id: str, now: datetime) -> SourceState:
        """The source's state (an empty one for a source never polled), loading all on first use."""
        if self._states is None:
            await self.load(now)
        assert self._states is not None
        state = self._states.get(source_id)
        return SourceState(source_id=source_id) if state is None else state

    def take_watched(self, source_id: str) -> list[SeenNotice]:
        """The source's maintenance notices with windows still ahead as loaded (given out once)."""
        return self._watched.pop(source_id, [])

    def polled(self, state: SourceState, *, saved: bool = False) -> None:
        """Remember ``state`` after a poll at ``state.last_poll_at`` and count that poll (failed
        when ``consecutive_failures`` is not 0). ``saved``: the state was already written (with the
        poll's notices); only the count remains to flush."""
        if self._states is None:
            self._states = {}
        sid = state.source_id
        before = self._states.get(sid)  # stored, unless it waits in _dirty
        self._states[sid] = state
        if saved:
            self._dirty.pop(sid, None)
            self._checked.pop(sid, None)
        elif (before is not None and sid not in self._dirty and state.last_poll_at is not None
              and replace(before, last_poll_at=state.last_poll_at) == state):
            self._checked[sid] = state.last_poll_at
        else:
            self._dirty[sid] = state
            self._checked.pop(sid, None)
        if state.last_poll_at is not None:
            count = self._polls[(state.source_id, poll_hour(state.last_poll_at))]
            count[0] += 1
            count[1] += 1 if state.consecutive_failures else 0

    def checked(self, state: SourceState, at: datetime) -> None:
        """:meth:`polled` for a good poll at ``at`` that changed nothing of ``state`` (the source's
        current state, healthy) but the time of its last poll. A stored state stays as it is in
        memory (only the time waits for the flush: its ``last_poll_at`` there may be older)."""
        if self._states is None:
            self._states = {}
        sid = state.source_id
        if sid not in self._dirty and sid in self._states:
            self._checked[sid] = at
        else:
            self._states[sid] = self._dirty[sid] = replace(state, last_poll_at=at)
        hour = self._hour
        if hour is None or not hour[0] <= at < hour[1]:
            start = poll_hour(at)
            hour = self._hour = (start, start + _HOUR)
        self._polls[(sid, hour[0])][0] += 1

    def polled_with_records(self, state: SourceState, records: list[SeenNotice]) -> None:
        """:meth:`polled`, with the poll's records left to be written with ``state`` by the next
        flush (only when :attr:`records_behind`)."""
        if not self.records_behind:
            raise RuntimeError("records are written behind only when the owner flushes often (records_behind)")
        self._records.setdefault(state.source_id, []).extend(records)
        self._record_count += len(records)
        self._unsaved.add(state.source_id)
        self.polled(state)
        self._checked.pop(state.source_id, None)
        self._dirty[state.source_id] = state  # stored with its records, whole

    @property
    def records_waiting(self) -> bool:
        """Records wait for the next flush."""
        return bool(self._records)

    @property
    def records_count(self) -> int:
        """How many records wait for the next flush (not counting those a flush is writing)."""
        return self._record_count

    def unsaved(self, source_id: str) -> bool:
        """The source's records wait for a flush (or one in flight): flush before touching them."""
        return source_id in self._unsaved

    @property
    def pending(self) -> int:
        """States, sources' records and hourly counts waiting for the next flush."""
        return len(self._dirty) + len(self._checked) + len(self._polls) + len(self._records)

    async def flush(self) -> None:
        """Write what changed since the last flush in one transaction (after a flush in flight, if
        any; waiting records go :data:`RECORDS_PER_FLUSH` at most a transaction, each source's with
        its state). On failure what it held is kept for the next flush and the error is raised."""
        async with self._write_lock:
            await self._flush()
            while self._records:
                await self._flush()

    async def save(self, source_id: str, records: Sequence[SeenNotice], state: SourceState | None = None) -> None:
        """Write ``records`` (and ``state``) of ``source_id`` now, in one transaction
        (:meth:`SeenStore.save`), after that source's records still waiting (all waiting records
        are flushed first) and after any write in flight: one write at a time, see the module's
        docstring. Raises what the store raised."""
        async with self._write_lock:
            if source_id in self._unsaved:
                await self._flush()
                while self._records:
                    await self._flush()
            await self.store.save(records, state)

    async def _flush(self) -> None:
        if not self._dirty and not self._checked and not self._polls and not self._records:
            return
        records: dict[str, list[SeenNotice]] = {}
        rows = 0
        for source_id in list(self._records):
            if rows >= RECORDS_PER_FLUSH:
                break
            records[source_id] = self._records.pop(source_id)
            rows += len(records[source_id])
        self._record_count -= rows
        dirty = self._dirty
        self._dirty = {sid: dirty.pop(sid) for sid in self._records if sid in dirty}  # with their records
        checked, self._checked = self._checked, {}
        polls, self._polls = self._polls, defaultdict(lambda: [0, 0])
        try:
            await self.store.save_states(list(dirty.values()), {k: (v[0], v[1]) for k, v in polls.items()}, checked,
                                         notices=[n for batch in records.values() for n in batch])
        except BaseException:
            for source_id, batch in records.items():
                self._records[source_id] = batch + self._records.get(source_id, [])
            self._record_count += rows
            assert self._states is not None
            for source_id in dirty:  # not stored after all: the newest state goes whole
                self._checked.pop(source_id, None)
                self._dirty.setdefault(source_id, self._states[source_id])
            for source_id, at in checked.items():
                if source_id not in self._dirty:
                    self._checked.setdefault(source_id, at)  # a newer time taken meanwhile wins
            for key, (n, failed) in polls.items():
                count = self._polls[key]
                count[0] += n
                count[1] += failed
            raise
        self._unsaved.difference_update(s for s in records if s not in self._records)
