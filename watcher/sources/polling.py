"""Every announcement source of a process, driven by one scheduler tick.

:class:`AnnouncementPolling` owns the process's :class:`~watcher.sources.announcements.AnnouncementWatcher`
s, their shared :class:`~watcher.sources.source_states.SourceStates` and one
:class:`~watcher.sources.poll_wheel.PollWheel`. :meth:`AnnouncementPolling.tick` (every second, on
an event-loop timer: see :meth:`AnnouncementPolling.start`) starts the polls that are due, at most ``max_in_flight`` at once (a poll that
ends starts the next due one at once), writes the sources' states behind every
``states.flush_every`` seconds (on every tick while first polls' records wait: the first polls of
many sources are written in one transaction a tick), and logs one ``announce.summary`` line at info every
``summary_every`` seconds: how many polls, how many 304s, how many found something, how late the
latest start was; and ``announce.first_round_done`` once every source was polled since start. The
flush that wrote the first round's last records then gives the C heap's free memory back to the
system (:func:`~huabei_watch.runtime.memory.release_free_memory`: the round's pages and records,
2-5 MB at 2,000 sources, otherwise kept resident).
While ``max_records_waiting`` first-poll records wait for their flush, no poll starts and the flush
starts at once rather than on the next tick: a first round's records are written as they come, a
transaction's worth or two alive at a time, not the records of every source polled in a second
(about 300 sources' at 2,000 sources; bench/README.md, round ``perf11``). Not while flushes fail:
then polls go on and the records wait, as the states do.
Each poll's own line (``announce.polled``) is at debug.

:meth:`close` lets polls in flight finish (bounded), then flushes the states: call it at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from huabei_watch.clock import Clock
from huabei_watch.runtime.memory import release_free_memory
from watcher.sources.announcements import AnnouncementWatcher, PollReport
from watcher.sources.poll_wheel import Due, PollWheel, first_spread
from watcher.sources.source_states import RECORDS_PER_FLUSH, SourceStates

log = logging.getLogger(__name__)

#: The outcomes a poll is counted under (:meth:`AnnouncementPolling.poll_counts`).
OUTCOMES = ("not_modified", "unchanged", "changed", "first", "failed")
#: What :meth:`AnnouncementPolling.poll_counts` counts, for the live counter of /metrics.
POLLS_DOC = ("Announcement source polls by outcome: not_modified (304), unchanged (same bytes), changed (list "
             "read), first (a source's first poll), failed")


@dataclass(slots=True)
class PollSummary:
    """Poll outcomes since the last summary line."""

    polls: int = 0
    not_modified: int = 0
    unchanged: int = 0
    changed: int = 0
    first: int = 0
    failed: int = 0
    new: int = 0
    edited: int = 0
    published: int = 0
    rechecked: int = 0
    max_start_delay_s: float = 0.0

    def add(self, report: PollReport, delay: float) -> str:
        """Count one poll; returns its outcome name."""
        self.polls += 1
        self.new += report.new
        self.edited += report.edited
        self.published += report.published
        self.rechecked += report.rechecked
        self.max_start_delay_s = max(self.max_start_delay_s, delay)
        if not report.ok:
            self.failed += 1
            return "failed"
        if report.first_poll:
            self.first += 1
            return "first"
        if report.not_modified:
            self.not_modified += 1
            return "not_modified"
        if report.unchanged:
            self.unchanged += 1
            return "unchanged"
        self.changed += 1
        return "changed"

    def fields(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["max_start_delay_s"] = round(self.max_start_delay_s, 3)
        return out


class AnnouncementPolling:
    """The process's announcement sources on one timing wheel."""

    def __init__(
        self,
        watchers: Sequence[AnnouncementWatcher],
        states: SourceStates,
        clock: Clock,
        *,
        max_in_flight: int = 32,
        max_records_waiting: int = RECORDS_PER_FLUSH,
        summary_every: float = 300.0,
        wheel: PollWheel | None = None,
        release_memory: Callable[[], object] = release_free_memory,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if max_records_waiting < 1:
            raise ValueError("max_records_waiting must be at least 1")
        self.watchers = {w.source_id: w for w in watchers}
        if len(self.watchers) != len(watchers):
            raise ValueError("two announcement sources share an id")
        self.states = states
        states.records_behind = True  # flushed on the next tick while first polls' records wait
        self._clock = clock
        self._max_in_flight = max_in_flight
        self._max_records_waiting = max_records_waiting
        self._summary_every = summary_every
        self._wheel = wheel or PollWheel()
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._task_names = {key: f"announce:{key}" for key in self.watchers}  # built once, not a poll
        self._flushing: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._flush_failed = False
        self._closing = False
        start = clock.monotonic()
        self._last_flush = self._last_summary = start
        self.summary = PollSummary()
        self._counts = dict.fromkeys(OUTCOMES, 0)  # since start, for /metrics: a plain int a poll
        self._started = start
        self._round_left = set(self.watchers)  # sources not polled yet since this process started
        self._round_failed = 0
        self._release_memory = release_memory
        self._release_after_flush = False  # the first round is done: release once its records are written
        spread = first_spread(len(watchers), min((w.cfg.interval for w in watchers), default=1.0))
        for i, w in enumerate(watchers):
            self._wheel.add(w.source_id, interval=w.cfg.interval, jitter=w.cfg.jitter,
                            first_due=start + spread * i / max(1, len(watchers)))

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def poll_counts(self) -> list[tuple[tuple[str, ...], float]]:
        """Polls finished since start by outcome (:data:`OUTCOMES`), as samples of a live counter
        (``huabei_source_polls_total``, read at scrape time: no metric object touched a poll)."""
        return [((name,), float(n)) for name, n in self._counts.items()]

    def start(self, *, every: float = 1.0) -> None:
        """Drive :meth:`tick` every ``every`` seconds of the event loop's own (real) time, first
        ``every`` seconds from now, until :meth:`close`: the polls' due times come from the
        injected clock, never the timer's, so a test clock set ahead or behind cannot hold the tick
        back. A plain loop timer rather than an APScheduler job: the tick itself is a few
        microseconds when nothing is due, and an APScheduler run (job store update, executor task,
        events) costs about 0.3 ms, which every second was a tenth of an idle watcher's CPU. Call
        it once, inside the running loop."""
        if self._timer is not None:
            raise RuntimeError("the announcement tick is already started")
        if every <= 0:
            raise ValueError("every must be positive")
        loop = asyncio.get_running_loop()

        def fire() -> None:
            if self._closing:
                return
            self._timer = loop.call_later(every, fire)  # first: a tick that raises stops nothing
            try:
                self._tick()
            except Exception:
                log.exception("announce.tick_failed")

        self._timer = loop.call_later(every, fire)

    async def tick(self) -> None:
        """Start what is due; flush and summarise when their time came. Returns at once (the polls
        run as tasks)."""
        self._tick()

    def _tick(self) -> None:
        if self._closing:
            return
        self._fill()
        now = self._clock.monotonic()
        # Waiting records go on the next tick, unless the last flush failed: then every flush_every.
        due = now - self._last_flush >= self.states.flush_every or (
            self.states.records_waiting and not self._flush_failed)
        if due and self._flushing is None:
            self._start_flush(now)
        if now - self._last_summary >= self._summary_every:
            self._last_summary = now
            self._log_summary()

    def _start_flush(self, now: float) -> None:
        self._last_flush = now
        self._flushing = asyncio.get_running_loop().create_task(self._flush(), name="announce:flush")

    def _fill(self) -> None:
        room = self._max_in_flight - len(self._in_flight)
        if room <= 0 or self._closing:
            return
        if self.states.records_count >= self._max_records_waiting and not self._flush_failed:
            if self._flushing is None:  # a flush in flight writes them too: it goes on while records wait
                self._start_flush(self._clock.monotonic())
            return  # the flush's end fills again
        loop = asyncio.get_running_loop()
        for due in self._wheel.take_due(self._clock.monotonic(), room):
            self._in_flight[due.key] = loop.create_task(self._poll(due), name=self._task_names[due.key])

    async def _poll(self, due: Due) -> None:
        watcher = self.watchers[due.key]
        started = self._clock.monotonic()
        try:
            report = await watcher.poll_once()
            self._counts[self.summary.add(report, max(0.0, started - due.due))] += 1
            self._round(due.key, report)
        finally:
            self._in_flight.pop(due.key, None)
            self._wheel.done(due.key, started)
            self._fill()

    def _round(self, key: str, report: PollReport) -> None:
        """Log once, at info, when every source has been polled since start (and how it went)."""
        if key not in self._round_left:
            return
        self._round_left.discard(key)
        self._round_failed += 0 if report.ok else 1
        if not self._round_left:
            self._release_after_flush = True
            log.info("announce.first_round_done", extra={
                "sources": len(self.watchers), "failed": self._round_failed,
                "seconds": round(self._clock.monotonic() - self._started, 3)})

    async def _flush(self) -> None:
        try:
            await self.states.flush()
            self._flush_failed = False
            if self._release_after_flush and not self.states.records_waiting:
                self._release_after_flush = False
                self._release_memory()
        except Exception as exc:  # kept for the next flush; the database may be back by then
            self._flush_failed = True
            log.warning("announce.flush_failed", extra={"error": f"{type(exc).__name__}: {exc}",
                                                        "pending": self.states.pending})
        finally:
            self._flushing = None
            self._fill()  # polls held back while records waited

    def _log_summary(self) -> None:
        summary, self.summary = self.summary, PollSummary()
        log.info("announce.summary", extra={"sources": len(self.watchers), "in_flight": self.in_flight,
                                            **summary.fields()})

    async def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for the polls in flight; cancel those still running."""
        tasks = [t for t in self._in_flight.values() if not t.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending)

    async def close(self, timeout: float) -> None:
        """Start nothing more, let polls in flight finish (bounded by ``timeout``), then write the
        states still pending. Errors of the last flush are logged, not raised."""
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
        await self.drain(timeout)
        if self._flushing is not None:
            await asyncio.wait([self._flushing], timeout=timeout)
        try:
            await self.states.flush()
        except Exception:
            log.exception("announce.final_flush_failed", extra={"pending": self.states.pending})
        self._log_summary()
