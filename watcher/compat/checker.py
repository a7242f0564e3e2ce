"""The compatibility checker (shell): plugin table and interface notices -> merchant findings.

* :meth:`CompatChecker.check_all` walks every merchant in the registry (streamed), at start-up and
  every ``compat.check_interval`` (:meth:`schedule`), and whenever an interface notice arrives
  (:meth:`on_interface_notice`).
* :meth:`note_plugin` (async) / :meth:`plugin_seen` (sync hook, runs the former in the background)
  take the ``plugin`` field of incoming payment results; a changed plugin is stored and that
  merchant re-checked at once (an upgrade clears its advisories). Unchanged plugins cost a
  dictionary lookup, so they may be called for every result.

Each finding is published once per state change: the change is first recorded in
``compat_advisories`` (atomically; a second process or a restart finds it there), then published,
then marked published. A publish that failed is retried by :meth:`flush` with the same event.
A merchant whose plugin is unknown or unreadable is left alone: nothing raised, nothing cleared.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from huabei_watch.bus.publish import Publisher
from huabei_watch.clock import Clock
from huabei_watch.errors import TransientError
from huabei_watch.events.base import Event
from huabei_watch.events.signals import MERCHANT_FINDING, MerchantFinding
from huabei_watch.merchants.model import Merchant
from huabei_watch.merchants.registry import MerchantRegistry
from watcher.compat.advice import InterfaceNotice, advisories, cleared_finding, deadline_at
from watcher.compat.store import CompatStore
from watcher.compat.table import CompatTable
from watcher.compat.version import parse_plugin

log = logging.getLogger(__name__)

CHECK_JOB = "compat:check"
FLUSH_JOB = "compat:flush"
#: A claimed but unpublished finding younger than this belongs to whoever claimed it (maybe
#: another process, publishing right now); :meth:`CompatChecker.flush` leaves it alone.
FLUSH_MIN_AGE = timedelta(seconds=60)
#: Plugin changes waiting for the database at once (see :meth:`CompatChecker.plugin_seen`).
MAX_PENDING = 1000


@dataclass(slots=True)
class CheckReport:
    """What one check did."""

    merchants: int = 0
    raised: int = 0
    cleared: int = 0
    unpublished: int = 0

    def add(self, other: CheckReport) -> None:
        self.merchants += other.merchants
        self.raised += other.raised
        self.cleared += other.cleared
        self.unpublished += other.unpublished


class CompatChecker:
    def __init__(
        self,
        table: CompatTable,
        registry: MerchantRegistry,
        publisher: Publisher,
        clock: Clock,
        store: CompatStore,
        *,
        chunk: int = 500,
        plugin_cache_size: int = 200_000,
    ) -> None:
        self.table = table
        self.registry = registry
        self.publisher = publisher
        self.clock = clock
        self.store = store
        self.chunk = chunk
        self._seen: dict[str, str] = {}
        self._cache_size = plugin_cache_size
        # One batch at a time per process: a re-check after a plugin change must not interleave
        # with a daily-check batch that read the old plugin (it would re-raise what was cleared).
        self._batch_lock = asyncio.Lock()
        self._pending: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- entry points ----------------------------------------------------------------------------
    async def check_all(self) -> CheckReport:
        """Check every merchant against the table and the stored notices."""
        report = CheckReport()
        notices = await self.active_notices()
        batch: list[Merchant] = []
        async for merchant in self.registry.iter_all():
            batch.append(merchant)
            if len(batch) >= self.chunk:
                report.add(await self._check_batch(batch, notices))
                batch = []
        if batch:
            report.add(await self._check_batch(batch, notices))
        log.info("compat.checked", extra={"merchants": report.merchants, "raised": report.raised,
                                          "cleared": report.cleared, "unpublished": report.unpublished})
        return report

    async def check_merchant(self, merchant_id: str) -> CheckReport:
        merchant = await self.registry.get(merchant_id)
        if merchant is None:
            return CheckReport()
        return await self._check_batch([merchant], await self.active_notices())

    async def on_interface_notice(self, notice: InterfaceNotice) -> CheckReport:
        """Remember the notice and check every merchant (the notice among the others)."""
        await self.store.save_notice(notice, self.clock.now())
        log.info("compat.notice", extra={"notice_id": notice.notice_id, "plugins": list(notice.plugins),
                                         "min_version": notice.min_version})
        return await self.check_all()

    async def note_plugin(self, merchant_id: str, plugin: str) -> bool:
        """The plugin a payment result reported. True if it was new for this merchant (then the
        merchant was re-checked). Never raises for bad input; empty plugins are ignored."""
        plugin = plugin.strip()
        if not plugin or len(plugin) > 128 or self._seen.get(merchant_id) == plugin:
            return False
        changed = await self.store.set_plugin(merchant_id, plugin, self.clock.now())
        if len(self._seen) >= self._cache_size:
            self._seen.clear()  # bounded memory; an entry costs one DB read to relearn
        self._seen[merchant_id] = plugin
        if changed:
            log.info("compat.plugin_changed", extra={"merchant_id": merchant_id, "plugin": plugin})
            await self.check_merchant(merchant_id)
        return changed

    def plugin_seen(self, merchant_id: str, plugin: str) -> None:
        """Synchronous hook for ``PaymentPipeline(on_plugin=...)``: a dictionary lookup when the
        plugin is known; otherwise :meth:`note_plugin` runs in a background task (at most
        ``MAX_PENDING`` at once; a plugin dropped then is seen again on the merchant's next result).
        Call from the event loop. :meth:`drain` waits for the tasks."""
        plugin = plugin.strip()
        key = (merchant_id, plugin)
        if not plugin or self._seen.get(merchant_id) == plugin or key in self._pending:
            return
        if len(self._pending) >= MAX_PENDING:
            return
        self._pending.add(key)
        task = asyncio.get_running_loop().create_task(self._note_in_background(key), name="compat:note_plugin")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _note_in_background(self, key: tuple[str, str]) -> None:
        try:
            await self.note_plugin(*key)
        except Exception:  # a background task has nobody to raise to
            log.exception("compat.note_plugin_failed", extra={"merchant_id": key[0], "plugin": key[1]})
        finally:
            self._pending.discard(key)

    async def drain(self) -> None:
        """Wait for the background work :meth:`plugin_seen` started (call on stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def flush(self) -> int:
        """Publish stored findings whose publication failed earlier. Returns how many were sent."""
        pending = await self.store.unpublished(self.clock.now() - FLUSH_MIN_AGE)
        return len(await self._publish(pending))

    def schedule(self, scheduler: Any) -> None:
        """Add the daily check (first run now) and the outbox flush to an APScheduler scheduler."""
        scheduler.add_job(self.check_all, "interval", seconds=self.table.check_interval, id=CHECK_JOB,
                          next_run_time=self.clock.now(), replace_existing=True, misfire_grace_time=3600,
                          coalesce=True, max_instances=1)
        scheduler.add_job(self.flush, "interval", seconds=FLUSH_MIN_AGE.total_seconds(), id=FLUSH_JOB,
                          replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)

    # -- work --------------------------------------------------------------------------------------
    async def active_notices(self) -> list[InterfaceNotice]:
        """Stored notices not past ``notice_ttl`` after their deadline (or publication)."""
        now = self.clock.now()
        ttl = timedelta(seconds=self.table.notice_ttl)
        return [n for n in await self.store.notices()
                if (deadline_at(n.deadline) if n.deadline else n.published_at) + ttl > now]

    async def _check_batch(self, merchants: Sequence[Merchant], notices: list[InterfaceNotice]) -> CheckReport:
        async with self._batch_lock:
            return await self._check_batch_locked(merchants, notices)

    async def _check_batch_locked(self, merchants: Sequence[Merchant], notices: list[InterfaceNotice]) -> CheckReport:
        ids = [m.id for m in merchants]
        observed = await self.store.plugins(ids)
        raised = await self.store.raised_ids(ids)
        now = self.clock.now()
        changes: list[MerchantFinding] = []
        for m in merchants:
            plugin = observed.get(m.id) or m.plugin
            ref = parse_plugin(plugin)
            if ref is None or not ref.key:
                continue  # plugin unknown: nothing to raise, and no sign of an upgrade either
            found = advisories(m.id, ref, self.table, notices, now)
            had = raised.get(m.id, set())
            changes += [f for f in found if f.finding_id not in had]
            if ref.version is not None:  # without a version an upgrade cannot be told from a downgrade
                current = {f.finding_id for f in found}
                changes += [cleared_finding(fid, m.id, plugin, now) for fid in sorted(had - current)]
        # one transaction per batch; a finding another process claimed first comes back None
        claimed = [f for f in await self.store.claim_many(changes, now) if f is not None]
        published = await self._publish(claimed)
        raised_n = sum(f.state == "raised" for f in claimed)
        return CheckReport(merchants=len(merchants), raised=raised_n, cleared=len(claimed) - raised_n,
                           unpublished=len(claimed) - len(published))

    async def _publish(self, findings: Sequence[MerchantFinding]) -> list[MerchantFinding]:
        """Publish in order and mark what was sent; stops at the first failure (the bus is away;
        :meth:`flush` sends the rest later). Returns what was published."""
        sent: list[MerchantFinding] = []
        try:
            for f in findings:
                await self.publisher.publish(Event.build(MERCHANT_FINDING, f, time=f.observed_at))
                sent.append(f)
                log.info("compat.published", extra={"finding_id": f.finding_id, "state": f.state,
                                                    "merchant_id": f.merchant_id})
        except TransientError as exc:
            log.warning("compat.publish_failed", extra={"pending": len(findings) - len(sent), "reason": exc.reason})
        await self.store.mark_published(sent, self.clock.now())
        return sent
