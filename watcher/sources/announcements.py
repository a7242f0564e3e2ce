"""Watching one announcement source: poll, detect new and edited notices, publish signals.

:meth:`AnnouncementWatcher.poll_once` is what the scheduler runs every ``interval`` seconds. It
never raises: every outcome, including failures, is a :class:`PollReport`. The seen state is
written only after the events about a notice were published, so a broker outage means the notice
is published on a later poll, never lost; deterministic event ids make the repeat harmless.

The source's health (failure streak, "unavailable" and "back" logged once each, the poll interval
with jitter) is the shared :class:`~watcher.sources.poll_health.PollTracker`'s; the streak lives
in the stored :class:`~watcher.sources.seen.SourceState`, so replicas polling one source share it.
After ``degraded_after`` failed polls the source publishes ``huabei.source.degraded`` (and
``huabei.source.recovered`` at the next good poll), retried at later polls until it goes out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
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
from watcher.sources.seen import SeenStore, SourceState

log = logging.getLogger(__name__)

NOTICES_UNDERSTOOD = Counter(
    "huabei_notices_understood_total",
    "New or edited notices read by the announcement watchers, by the kind understood and whether a "
    "person must review them",
    ["kind", "needs_review"],
    registry=metrics.REGISTRY,
)

SourceConfig = HtmlSource | RssSource | JsonSource


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll did. ``ok`` is False when the source (list or a notice page) failed or when
    publishing failed; ``error`` then says why."""

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
    error: str | None = None


@dataclass(slots=True)
class _Counts:
    new: int = 0
    edited: int = 0
    read: int = 0
    published: int = 0


class _PublishFailed(Exception):
    def __init__(self, reason: str, published: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.published = published


class AnnouncementWatcher:
    """Polls one source. Several watchers (one per source) share a :class:`Fetcher` and a store."""

    def __init__(
        self,
        source_cfg: SourceConfig,
        fetcher: Fetcher,
        seen_store: SeenStore,
        publisher: Publisher,
        clock: Clock,
        understand: Understand,
        *,
        maintenance_kinds: frozenset[str] = DEFAULT_MAINTENANCE_KINDS,
        on_understood: Callable[[NoticeRef, Any, datetime], Awaitable[None]] | None = None,
    ) -> None:
        """``on_understood(ref, understanding, now)`` runs after a new or edited notice's events were
        published (e.g. plugin-compatibility checks of interface-change notices); its errors are
        logged, never raised."""
        self.cfg = source_cfg
        self._on_understood = on_understood
        self._fetcher = fetcher
        self._store = seen_store
        self._publisher = publisher
        self._clock = clock
        self._understand = understand
        self._maintenance_kinds = maintenance_kinds
        self._lock = asyncio.Lock()  # one poll of a source at a time in this process
        #: As of this process's last finished poll (for /metrics).
        self.consecutive_failures = 0
        self.degraded = False
        self.tracker = PollTracker("source", source_cfg.id, source_cfg.interval, source_cfg.jitter)

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
            except Exception as exc:  # a bug or the database: report it, keep the scheduler alive
                log.exception("announce.poll_crashed", extra={"source_id": self.source_id})
                report = PollReport(self.source_id, ok=False, error=f"{type(exc).__name__}: {exc}")
        log.info(
            "announce.polled",
            extra={"source_id": self.source_id, "ok": report.ok, "new": report.new, "edited": report.edited,
                   "published": report.published, "error": report.error},
        )
        return report

    # ------------------------------------------------------------ the poll

    async def _poll(self) -> PollReport:
        cfg = self.cfg
        now = self._clock.now()
        state = await self._store.get_state(cfg.id)
        first = state.initialized_at is None
        try:
            page = await self._get(cfg.list_target, etag=state.etag, last_modified=state.last_modified)
        except (TransientError, PermanentError) as exc:
            return await self._failed(state, now, exc.reason, first=first)
        if page.not_modified:
            await self._succeeded(state, now)
            return PollReport(cfg.id, ok=True, first_poll=first, not_modified=True)
        if not first and page.content_hash == state.content_hash:
            await self._succeeded(replace(state, etag=page.etag, last_modified=page.last_modified), now)
            return PollReport(cfg.id, ok=True, unchanged=True)
        try:
            refs = self._extract(page)
        except PermanentError as exc:
            return await self._failed(state, now, exc.reason, first=first)

        counts = _Counts()
        errors: list[str] = []
        budget = cfg.first_poll_details if first else len(refs)
        try:
            # Lists are newest first: publish oldest first; on a first poll read the newest.
            to_read = {r.notice_id for r in refs[:budget]}
            for ref in reversed(refs):
                error = await self._notice(ref, now, first=first, may_read=ref.notice_id in to_read, counts=counts)
                if error:
                    errors.append(error)
        except _PublishFailed as exc:
            log.warning("announce.publish_failed", extra={"source_id": cfg.id, "reason": exc.reason})
            return PollReport(
                cfg.id, ok=False, first_poll=first, listed=len(refs), new=counts.new, edited=counts.edited,
                read=counts.read, published=exc.published, error=f"publish failed: {exc.reason}",
            )
        if errors:
            report_error = f"{len(errors)} notice(s) failed; first: {errors[0]}"
            await self._failed(state, now, report_error, first=first)
        else:
            done = replace(
                state, etag=page.etag, last_modified=page.last_modified, content_hash=page.content_hash,
                initialized_at=state.initialized_at or now,
            )
            await self._succeeded(done, now)
            report_error = None
        return PollReport(
            cfg.id, ok=not errors, first_poll=first, listed=len(refs), new=counts.new,
            edited=counts.edited, read=counts.read, published=counts.published, error=report_error,
        )

    async def _notice(
        self, ref: NoticeRef, now: datetime, *, first: bool, may_read: bool, counts: _Counts
    ) -> str | None:
        """Handle one list entry; returns an error text for a notice that could not be read."""
        prev = await self._store.get(self.cfg.id, ref.notice_id)
        if prev is not None and prev.item_hash == item_hash(ref):
            return None
        if first and prev is None and not may_read and ref.body is None:
            await self._store.put(listed_only(self.cfg.id, ref, now))
            return None
        try:
            text = await self._body(ref)
        except (TransientError, PermanentError) as exc:
            log.warning("announce.notice_failed", extra={"source_id": self.cfg.id, "url": ref.url, "reason": exc.reason})
            return f"{ref.url}: {exc.reason}"
        counts.read += 1
        if prev is not None and prev.revision == revision_of(ref.title, text):
            await self._store.put(relisted(prev, ref, now))
            return None
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
            await self._publish(event, counts)
        await self._store.put(plan.record)
        if self._on_understood is not None:
            try:
                await self._on_understood(ref, understanding, now)
            except Exception:
                log.exception("announce.on_understood_failed", extra={"source_id": self.cfg.id, "url": ref.url})
        if first:
            pass
        elif prev is None:
            counts.new += 1
        else:
            counts.edited += 1
        return None

    # ------------------------------------------------------------ helpers

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

    async def _publish(self, event: Event[EventData], counts: _Counts) -> None:
        try:
            await self._publisher.publish(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = exc.reason if isinstance(exc, TransientError | PermanentError) else f"{type(exc).__name__}: {exc}"
            raise _PublishFailed(reason, counts.published) from exc
        counts.published += 1

    async def _failed(self, state: SourceState, now: datetime, reason: str, *, first: bool) -> PollReport:
        health = self.tracker.failed(_health(state), now, reason)
        failures, since = health.failures, health.failing_since or now
        degraded = state.degraded
        if not degraded and failures >= self.cfg.degraded_after:
            degraded = await self._status(SOURCE_DEGRADED, since, reason, failures)
        await self._store.put_state(
            replace(state, consecutive_failures=failures, failing_since=since, degraded=degraded,
                    last_error=reason, last_poll_at=now)
        )
        self.consecutive_failures, self.degraded = failures, degraded
        return PollReport(self.cfg.id, ok=False, first_poll=first, error=reason)

    async def _succeeded(self, state: SourceState, now: datetime) -> None:
        self.tracker.succeeded(_health(state), now)
        degraded = state.degraded
        if degraded:
            since = state.failing_since or now
            degraded = not await self._status(SOURCE_RECOVERED, since, "", 0)
        await self._store.put_state(
            replace(state, consecutive_failures=0, failing_since=state.failing_since if degraded else None,
                    degraded=degraded, last_error="", last_poll_at=now)
        )
        self.consecutive_failures, self.degraded = 0, degraded

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


def _health(state: SourceState) -> PollHealth:
    """The poller's health as the stored state tells it (one failed poll makes a source unavailable)."""
    return PollHealth(
        failures=state.consecutive_failures, failing_since=state.failing_since,
        unavailable=state.consecutive_failures > 0, last_error=state.last_error,
    )


def add_poll_job(scheduler: Any, watcher: AnnouncementWatcher, *, misfire_grace_time: float = 300.0) -> None:
    """Schedule ``watcher.poll_once`` on an APScheduler 3 ``AsyncIOScheduler`` (in-memory job store),
    every interval plus jitter (:meth:`PollTracker.job`)."""
    cfg = watcher.cfg
    scheduler.add_job(
        watcher.poll_once,
        **watcher.tracker.job(),
        id=f"announce:{cfg.id}",
        name=f"poll {cfg.id}",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=int(misfire_grace_time),
        next_run_time=watcher.clock.now(),
    )
