"""Watching one announcement source: poll, detect new and edited notices, publish signals.

:meth:`AnnouncementWatcher.poll_once` runs every ``interval`` seconds
(:class:`~watcher.sources.polling.AnnouncementPolling` starts it). It never raises: every outcome,
including failures, is a :class:`PollReport`. The notices' records are written only after the
events about them were published, so a broker outage means a notice is published on a later poll,
never lost; deterministic event ids make the repeat harmless.

Cost: a poll that finds the list unchanged (304, or the same bytes) does no database work; the
source's state lives in :class:`~watcher.sources.source_states.SourceStates` and is written behind
in batches. A changed list costs one read of all its entries' records (``IN``, one statement shared
with the other sources reading at the same time: :class:`~watcher.sources.known_reads.KnownReads`)
and one write of those that changed, together with the source's state (one transaction). A first poll that published
nothing leaves that write to the states' next flush when they are written behind often
(``SourceStates.records_behind``): the first polls of many sources share one transaction.

Edits that change only a notice's page are found by re-reading, conditionally and at most one a
poll, the pages of notices whose maintenance windows are still ahead
(:class:`~watcher.sources.recheck.Rechecks`, every ``detail_recheck`` seconds each).

The source's health (failure streak, "unavailable" and "back" logged once each) is the shared
:class:`~watcher.sources.poll_health.PollTracker`'s. After ``degraded_after`` failed polls the
source publishes ``huabei.source.degraded`` (and ``huabei.source.recovered`` at the next good
poll), retried at later polls until it goes out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from prometheus_client import Counter

from huabei_watch import metrics
from huabei_watch.bus.publish import Publisher
from huabei_watch.clock import SHANGHAI, Clock
from huabei_watch.errors import PermanentError, TransientError
from huabei_watch.events.base import Event, EventData
from huabei_watch.events.signals import SOURCE_DEGRADED, SOURCE_RECOVERED, SourceStatus
from watcher.sources.announce_config import HtmlSource, JsonSource, RssSource
from watcher.sources.extract import NoticeRef, extract_body, extract_feed, extract_html_list, extract_json
from watcher.sources.fetch import Fetcher, FetchResult
from watcher.sources.notice_plan import (
    DEFAULT_MAINTENANCE_KINDS,
    Understand,
    item_hash,
    listed_only,
    plan_notice,
    relisted,
    revision_of,
)
from watcher.sources.poll_health import PollHealth, PollTracker
from watcher.sources.recheck import Rechecks
from watcher.sources.seen import SeenStore, SourceState
from watcher.sources.seen_model import SeenNotice
from watcher.sources.source_states import SourceStates

log = logging.getLogger(__name__)

NOTICES_UNDERSTOOD = Counter(
    "huabei_notices_understood_total",
    "New or edited notices read by the announcement watchers, by the kind understood and whether a "
    "person must review them",
    ["kind", "needs_review"],
    registry=metrics.REGISTRY,
)

SourceConfig = HtmlSource | RssSource | JsonSource
OnUnderstood = Callable[[NoticeRef, Any, datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll did. ``ok`` is False when the source (list or a notice page) failed or when
    publishing failed; ``error`` then says why. ``rechecked``: pages of notices with windows ahead
    read again although the list did not change."""

    source_id: str
    ok: bool
    first_poll: bool = False
    not_modified: bool = False
    unchanged: bool = False
    listed: int = 0
    new: int = 0
    edited: int = 0
    read: int = 0
    published: int = 0
    rechecked: int = 0
    error: str | None = None


@dataclass(slots=True)
class _Batch:
    """What one poll will write and report: records in the order they were settled."""

    records: list[SeenNotice] = field(default_factory=list)
    understood: list[tuple[NoticeRef, Any]] = field(default_factory=list)
    read_now: set[str] = field(default_factory=set)
    new: int = 0
    edited: int = 0
    read: int = 0
    published: int = 0
    rechecked: int = 0


class _PublishFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AnnouncementWatcher:
    """Polls one source. Watchers of one process share a :class:`Fetcher`, a store and a
    :class:`SourceStates` (without one, a watcher keeps its own over ``seen_store``)."""

    def __init__(
        self,
        source_cfg: SourceConfig,
        fetcher: Fetcher,
        seen_store: SeenStore,
        publisher: Publisher,
        clock: Clock,
        understand: Understand,
        *,
        states: SourceStates | None = None,
        maintenance_kinds: frozenset[str] = DEFAULT_MAINTENANCE_KINDS,
        on_understood: OnUnderstood | None = None,
    ) -> None:
        """``on_understood(ref, understanding, now)`` runs after a new or edited notice's events were
        published and its record written (e.g. plugin-compatibility checks of interface-change
        notices); its errors are logged, never raised."""
        self.cfg = source_cfg
        self._on_understood = on_understood
        self._fetcher = fetcher
        self._states = states if states is not None else SourceStates(seen_store)
        self._publisher = publisher
        self._clock = clock
        self._understand = understand
        self._maintenance_kinds = maintenance_kinds
        self._lock = asyncio.Lock()  # one poll of a source at a time in this process
        self._rechecks = Rechecks(source_cfg.detail_recheck)
        self._rechecks_loaded = False
        self._reads_details = isinstance(source_cfg, HtmlSource) or source_cfg.body_selector is not None
        #: As of this process's last finished poll (for /metrics).
        self.consecutive_failures = 0
        self.degraded = False
        self.tracker = PollTracker("source", source_cfg.id, source_cfg.interval, source_cfg.jitter)
        #: What a healthy 304 that re-checked nothing reports (frozen: one object, not one a poll).
        self._not_modified = PollReport(source_cfg.id, ok=True, not_modified=True)

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def source_id(self) -> str:
        return self.cfg.id

    async def poll_once(self) -> PollReport:
        """Poll the source once. Never raises (except on cancellation); see :class:`PollReport`."""
        async with self._lock:
            try:
                report = await self._poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or the database: report it, keep the poller alive
                log.exception("announce.poll_crashed", extra={"source_id": self.source_id})
                report = PollReport(self.source_id, ok=False, error=f"{type(exc).__name__}: {exc}")
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "announce.polled",
                extra={"source_id": self.source_id, "ok": report.ok, "not_modified": report.not_modified,
                       "new": report.new, "edited": report.edited, "published": report.published,
                       "rechecked": report.rechecked, "error": report.error},
            )
        return report

    # ------------------------------------------------------------ the poll

    async def _poll(self) -> PollReport:
        cfg = self.cfg
        now = self._clock.now()
        state = await self._states.get(cfg.id, now)
        if not self._rechecks_loaded:
            self._rechecks_loaded = True
            for notice in self._states.take_watched(cfg.id):
                self._rechecks.track(notice, now, read_now=False)
        first = state.initialized_at is None
        try:
            page = await self._get(cfg.list_target, etag=state.etag, last_modified=state.last_modified)
        except (TransientError, PermanentError) as exc:
            return await self._failed(state, now, exc.reason, first=first)
        if page.not_modified or (not first and page.content_hash == state.content_hash):
            batch = _Batch()
            if self._recheck_may_be_due(now):
                try:
                    await self._recheck(now, batch)
                except _PublishFailed as exc:
                    return await self._publish_failed(exc, first, batch, now)
                if batch.records:
                    await self._save(batch.records)
                    await self._settled(batch, now)
            if not page.not_modified:
                state = replace(state, etag=page.etag, last_modified=page.last_modified)
            elif _healthy(state):  # the common case: only the time of the last poll changes
                self.consecutive_failures = 0
                self._states.checked(state, now)
                if not first and not batch.rechecked:
                    return self._not_modified  # the same answer every time: built once
                return PollReport(cfg.id, ok=True, first_poll=first, not_modified=True, read=batch.read,
                                  edited=batch.edited, published=batch.published, rechecked=batch.rechecked)
            await self._succeeded(state, now)
            return PollReport(cfg.id, ok=True, first_poll=first, not_modified=page.not_modified,
                              unchanged=not page.not_modified, edited=batch.edited, read=batch.read,
                              published=batch.published, rechecked=batch.rechecked)
        try:
            refs = self._extract(page)
        except PermanentError as exc:
            return await self._failed(state, now, exc.reason, first=first)

        batch = _Batch()
        errors: list[str] = []
        budget = cfg.first_poll_details if first else len(refs)
        try:
            if self._states.unsaved(cfg.id):
                await self._states.flush()  # its first poll's records still wait: read them back
            known = await self._states.known.get_many(cfg.id, [r.notice_id for r in refs])
            # Lists are newest first: publish oldest first; on a first poll read the newest.
            to_read = {r.notice_id for r in refs[:budget]}
            for ref in reversed(refs):
                error = await self._notice(ref, known.get(ref.notice_id), now, first=first,
                                           may_read=ref.notice_id in to_read, batch=batch)
                if error:
                    errors.append(error)
            if not first:
                await self._recheck(now, batch)
        except _PublishFailed as exc:
            return await self._publish_failed(exc, first, batch, now, listed=len(refs))
        if errors:
            report_error: str | None = f"{len(errors)} notice(s) failed; first: {errors[0]}"
            await self._save(batch.records)
            await self._settled(batch, now)
            await self._failed(state, now, report_error or "", first=first)
        else:
            done = self._health_after_success(replace(
                state, etag=page.etag, last_modified=page.last_modified, content_hash=page.content_hash,
                initialized_at=state.initialized_at or now,
            ), now)
            done = await self._report_recovery(done, now)
            if first and self._states.records_behind and not batch.understood and not batch.published:
                self._states.polled_with_records(done, batch.records)  # the list only recorded: in bulk
            else:
                await self._save(batch.records, done)
                self._states.polled(done, saved=True)
            await self._settled(batch, now)
            report_error = None
        return PollReport(
            cfg.id, ok=not errors, first_poll=first, listed=len(refs), new=batch.new, edited=batch.edited,
            read=batch.read, published=batch.published, rechecked=batch.rechecked, error=report_error,
        )

    async def _publish_failed(
        self, exc: _PublishFailed, first: bool, batch: _Batch, now: datetime, *, listed: int = 0
    ) -> PollReport:
        """The bus failed: keep the records of the notices whose events all went out, not the
        source's state (a bus outage is not the source's fault; the next poll reads the list again
        and publishes the rest)."""
        log.warning("announce.publish_failed", extra={"source_id": self.cfg.id, "reason": exc.reason})
        if batch.records:
            await self._save(batch.records)
            await self._settled(batch, now)
        return PollReport(
            self.cfg.id, ok=False, first_poll=first, listed=listed, new=batch.new, edited=batch.edited,
            read=batch.read, published=batch.published, rechecked=batch.rechecked,
            error=f"publish failed: {exc.reason}",
        )

    async def _notice(
        self, ref: NoticeRef, prev: SeenNotice | None, now: datetime, *, first: bool, may_read: bool, batch: _Batch
    ) -> str | None:
        """Handle one list entry; returns an error text for a notice that could not be read."""
        if prev is not None and prev.item_hash == item_hash(ref):
            return None
        if first and prev is None and not may_read and ref.body is None:
            batch.records.append(listed_only(self.cfg.id, ref, now))
            return None
        try:
            text = await self._body(ref)
        except (TransientError, PermanentError) as exc:
            log.warning("announce.notice_failed", extra={"source_id": self.cfg.id, "url": ref.url, "reason": exc.reason})
            return f"{ref.url}: {exc.reason}"
        batch.read += 1
        batch.read_now.add(ref.notice_id)
        if prev is not None and prev.revision == revision_of(ref.title, text):
            batch.records.append(relisted(prev, ref, now))
            return None
        return await self._understood(ref, text, prev, now, first=first, batch=batch)

    async def _understood(
        self, ref: NoticeRef, text: str, prev: SeenNotice | None, now: datetime, *, first: bool, batch: _Batch,
        keep_item_hash: bool = False,
    ) -> str | None:
        published = ref.published or now.astimezone(SHANGHAI).date()
        try:
            understanding = self._understand(text, published=published, title=ref.title)
        except Exception as exc:  # the contract says never; do not let one notice stop the source
            log.exception("announce.understand_failed", extra={"source_id": self.cfg.id, "url": ref.url})
            return f"{ref.url}: understanding failed: {type(exc).__name__}"
        NOTICES_UNDERSTOOD.labels(*understanding.metric_labels()).inc()
        plan = plan_notice(
            source_id=self.cfg.id, ref=ref, text=text, understanding=understanding, prev=prev, now=now,
            first_poll=first, maintenance_kinds=self._maintenance_kinds,
        )
        for event in plan.events:
            await self._publish(event, batch)
        record = replace(plan.record, item_hash=prev.item_hash) if keep_item_hash and prev else plan.record
        batch.records.append(record)
        batch.understood.append((ref, understanding))
        if first:
            pass
        elif prev is None:
            batch.new += 1
        else:
            batch.edited += 1
        return None

    def _recheck_may_be_due(self, now: datetime) -> bool:
        """A notice's page may be due for a re-check (else :meth:`_recheck` would do nothing)."""
        wake = self._rechecks.wake_at
        return self._reads_details and wake is not None and wake <= now

    async def _recheck(self, now: datetime, batch: _Batch) -> None:
        """Read again (conditionally) the page of at most one notice with windows still ahead."""
        if not self._reads_details:
            return
        watched = self._rechecks.next_due(now, skip=batch.read_now)
        if watched is None:
            return
        prev = watched.notice
        batch.rechecked += 1
        try:
            page = await self._get(prev.url, etag=watched.etag, last_modified=watched.last_modified)
            if page.not_modified or page.content_hash == watched.page_hash:
                self._rechecks.checked(prev.notice_id, now, etag=page.etag, last_modified=page.last_modified,
                                       page_hash=page.content_hash)
                return
            text = extract_body(page.text, self.cfg.body_selector)
        except (TransientError, PermanentError) as exc:
            log.info("announce.recheck_failed", extra={"source_id": self.cfg.id, "url": prev.url, "reason": exc.reason})
            self._rechecks.postpone(prev.notice_id, now)
            return
        self._rechecks.checked(prev.notice_id, now, etag=page.etag, last_modified=page.last_modified,
                               page_hash=page.content_hash)
        batch.read += 1
        if revision_of(prev.title, text) == prev.revision:
            return
        ref = _ref_of(prev)
        log.info("announce.page_edited", extra={"source_id": self.cfg.id, "url": prev.url})
        error = await self._understood(ref, text, prev, now, first=False, batch=batch, keep_item_hash=True)
        if error:
            self._rechecks.postpone(prev.notice_id, now)

    async def _settled(self, batch: _Batch, now: datetime) -> None:
        """The batch's records are written: follow them for re-checks, then run the hook on each
        notice understood."""
        for record in batch.records:
            self._rechecks.track(record, now, read_now=record.notice_id in batch.read_now)
        if self._on_understood is None:
            return
        for ref, understanding in batch.understood:
            try:
                await self._on_understood(ref, understanding, now)
            except Exception:
                log.exception("announce.on_understood_failed", extra={"source_id": self.cfg.id, "url": ref.url})

    # ------------------------------------------------------------ helpers

    async def _save(self, records: list[SeenNotice], state: SourceState | None = None) -> None:
        """Write records (and the state) now, after any of this source's records still waiting and
        after the process's write in flight (:meth:`SourceStates.save`: one at a time)."""
        await self._states.save(self.cfg.id, records, state)

    async def _get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        cfg = self.cfg
        return await self._fetcher.fetch(
            url, headers=cfg.headers, timeout=cfg.timeout, max_bytes=cfg.max_bytes,
            max_redirects=cfg.max_redirects, etag=etag, last_modified=last_modified,
            encoding=cfg.encoding, politeness_delay=cfg.politeness_delay,
        )

    def _extract(self, page: FetchResult) -> list[NoticeRef]:
        cfg = self.cfg
        if isinstance(cfg, HtmlSource):
            return extract_html_list(
                page.text, page.final_url, item_selector=cfg.item_selector, title_selector=cfg.title_selector,
                link_selector=cfg.link_selector, date_selector=cfg.date_selector, date_format=cfg.date_format,
                container_selector=cfg.container_selector,
            )
        if isinstance(cfg, RssSource):
            return extract_feed(page.text, page.final_url)
        return extract_json(
            page.text, page.final_url, items_path=cfg.items_path, id_field=cfg.id_field,
            title_field=cfg.title_field, url_field=cfg.url_field, date_field=cfg.date_field,
            date_format=cfg.date_format, body_field=cfg.body_field,
        )

    async def _body(self, ref: NoticeRef) -> str:
        if ref.body is not None and self.cfg.body_selector is None and not isinstance(self.cfg, HtmlSource):
            return ref.body
        page = await self._get(ref.url)
        return extract_body(page.text, self.cfg.body_selector)

    async def _publish(self, event: Event[EventData], batch: _Batch) -> None:
        try:
            await self._publisher.publish(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = exc.reason if isinstance(exc, TransientError | PermanentError) else f"{type(exc).__name__}: {exc}"
            raise _PublishFailed(reason) from exc
        batch.published += 1

    async def _failed(self, state: SourceState, now: datetime, reason: str, *, first: bool) -> PollReport:
        health = self.tracker.failed(_health(state), now, reason)
        failures, since = health.failures, health.failing_since or now
        degraded = state.degraded
        if not degraded and failures >= self.cfg.degraded_after:
            degraded = await self._status(SOURCE_DEGRADED, since, reason, failures)
        self._states.polled(replace(state, consecutive_failures=failures, failing_since=since, degraded=degraded,
                                    last_error=reason, last_poll_at=now))
        self.consecutive_failures, self.degraded = failures, degraded
        return PollReport(self.cfg.id, ok=False, first_poll=first, error=reason)

    def _health_after_success(self, state: SourceState, now: datetime) -> SourceState:
        self.tracker.succeeded(_health(state), now)
        return replace(state, consecutive_failures=0, last_error="", last_poll_at=now)

    async def _report_recovery(self, state: SourceState, now: datetime) -> SourceState:
        """A degraded source that polled well: publish ``source.recovered`` (kept degraded, to try
        again at the next poll, if that fails)."""
        if state.degraded:
            since = state.failing_since or now
            if await self._status(SOURCE_RECOVERED, since, "", 0):
                state = replace(state, degraded=False, failing_since=None)
        elif state.failing_since is not None:
            state = replace(state, failing_since=None)
        self.consecutive_failures, self.degraded = 0, state.degraded
        return state

    async def _succeeded(self, state: SourceState, now: datetime) -> None:
        state = await self._report_recovery(self._health_after_success(state, now), now)
        self._states.polled(state)

    async def _status(self, event_type: str, since: datetime, reason: str, failures: int) -> bool:
        """Publish source.degraded/.recovered; True if it went out."""
        data = SourceStatus(
            source_id=self.cfg.id, url=self.cfg.list_target, reason=reason[:500], since=since,
            consecutive_failures=failures,
        )
        try:
            await self._publisher.publish(Event.build(event_type, data, time=self._clock.now()))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("announce.status_publish_failed", extra={"source_id": self.cfg.id, "type": event_type})
            return False
        return True


def _ref_of(notice: SeenNotice) -> NoticeRef:
    """The list entry a record was made from (enough to plan an edit of it)."""
    return NoticeRef(notice.notice_id, notice.url, notice.title, notice.published, detail_url=notice.url)


def _healthy(state: SourceState) -> bool:
    """Nothing of the source's health to change after a good poll (no failure, degradation or error)."""
    return (state.consecutive_failures == 0 and not state.degraded and state.failing_since is None
            and not state.last_error)


def _health(state: SourceState) -> PollHealth:
    """The poller's health as the stored state tells it (one failed poll makes a source unavailable)."""
    return PollHealth(
        failures=state.consecutive_failures, failing_since=state.failing_since,
        unavailable=state.consecutive_failures > 0, last_error=state.last_error,
    )
