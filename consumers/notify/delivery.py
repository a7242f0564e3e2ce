"""Once-only delivery: reserve the key, send, confirm; retry what may be retried, never twice.

The rule, per dedupe key ``"{recipient}|{incident}|{phase}|{channel}"``:

1. **Reserve before sending.** ``store.reserve`` inserts the key as ``in_flight`` if absent,
   atomically (two processes never both get ``"new"``). Only ``"new"`` is sent.
2. **Confirm after.** Success -> ``sent`` (with the provider's receipt). A
   :class:`~huabei_watch.errors.PermanentError` -> ``failed`` (a dead letter, never retried). A
   :class:`~huabei_watch.errors.TransientError` -> ``retry`` with the message stored and a due time
   (exponential backoff with jitter, at least the provider's ``retry_after``); short waits are
   slept here, long ones are left to :meth:`Deliverer.run_due`. After ``max_attempts`` -> ``failed``.
3. **A crash between reserve and confirm leaves ``in_flight``.** Provider APIs (SMS above all)
   are not idempotent and we cannot know whether the provider accepted the message, so an
   ``in_flight`` key is never sent again blindly. Exception: channels in
   ``resend_safe_channels`` (webhooks carrying the dedupe key, which the receiver deduplicates)
   may be taken over by a re-plan once the reservation is older than ``lease``. Every other
   ``in_flight`` older than ``unconfirmed_after`` is reported to ops by
   :meth:`Deliverer.sweep_unconfirmed` (marked ``failed`` with reason "unconfirmed", published as
   ``huabei.notification.failed``): a person checks the provider's console. An unexpected exception
   from an adapter (a contract breach) is handled the same way as a crash.

A group message (several planned messages merged) reserves each part's key; parts already
reserved are left out and the rest is rendered again, so no part is ever sent twice.
Results are published per part key as ``huabei.notification.sent`` / ``.failed``. With
``batch_results``, the sent results of deliveries finishing in the same loop turn (a fan-out's
batch) share one signed event, ``huabei.notification.sent.batch``, naming each key as a
``.sent`` event would (a lone result is still a ``.sent`` event; failures are never batched).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from consumers.notify.batching import Coalescer
from consumers.notify.plan import MessageGroup, PlannedMessage
from consumers.notify.ports import Channel, Limiter, OutboundMessage
from consumers.notify.reservations import DeliveryRecord, RetryItem, Status, split_key
from consumers.notify.subsettings import DeliverySettings
from huabei_watch.backoff import backoff_delay
from huabei_watch.bus.publish import Publisher
from huabei_watch.clock import Clock
from huabei_watch.errors import PermanentError, TransientError
from huabei_watch.events.base import Event
from huabei_watch.events.notifications import (
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    NOTIFICATION_SENT_BATCH,
    NotificationResult,
    NotificationResultBatch,
)

log = logging.getLogger(__name__)

#: ``last_error`` of a key marked failed by :meth:`Deliverer.sweep_unconfirmed` (the status page counts these apart).
UNCONFIRMED_REASON = "unconfirmed: stopped between send and confirmation; not resent, check the provider"
OutcomeStatus = Literal[
    "sent", "duplicate", "deferred", "expired", "retry_later", "handed_over", "failed", "dead", "unconfirmed"
]
SleepFn = Callable[[float], Awaitable[None]]


class DeliveryStore(Protocol):
    """Where dedupe keys live. Every method is atomic; TransientError when the database is away."""

    async def reserve(self, key: str, now: datetime) -> Status:
        """Insert ``key`` as in_flight if absent and return "new"; else its current state."""
        ...

    async def release(self, key: str) -> None:
        """Drop an in_flight reservation that was never sent (an error before sending)."""
        ...

    async def mark_sent(self, key: str, receipt: str, now: datetime) -> None: ...

    async def mark_failed(
        self,
        key: str,
        reason: str,
        permanent: bool,
        now: datetime,
        *,
        retry_at: datetime | None = None,
        message: OutboundMessage | None = None,
        channel: str | None = None,
    ) -> None:
        """Count a failed attempt: ``failed`` if permanent, else ``retry`` due at ``retry_at``
        with ``message`` kept for the retry (its dedupe_key is the group key) on ``channel``
        (None: the channel the key was reserved for)."""
        ...

    async def due_retries(self, now: datetime, limit: int) -> list[RetryItem]: ...

    async def claim(self, group_key: str, now: datetime) -> bool:
        """Move a due ``retry`` group back to in_flight; False if someone else did first."""
        ...

    async def takeover(self, key: str, now: datetime, stale_before: datetime) -> bool:
        """Renew an in_flight reservation made before ``stale_before``; False if not stale."""
        ...

    async def stale_in_flight(self, stale_before: datetime, limit: int) -> list[DeliveryRecord]: ...

    async def dead_letters(self, limit: int) -> list[DeliveryRecord]: ...

    async def get(self, key: str) -> DeliveryRecord | None: ...


class Renders(Protocol):
    def render(self, item: PlannedMessage | MessageGroup, *, channel: str | None = None) -> OutboundMessage: ...


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    status: OutcomeStatus
    keys: tuple[str, ...] = ()
    attempts: int = 0
    error: str = ""


class Deliverer:
    """Delivers planned messages once. Counters are plain attributes for /metrics."""

    def __init__(
        self,
        channels: Mapping[str, Channel],
        store: DeliveryStore,
        limiter: Limiter | None,
        clock: Clock,
        settings: DeliverySettings | None = None,
        sleep: SleepFn = asyncio.sleep,
        *,
        renderer: Renders | None = None,
        publisher: Publisher | None = None,
        rand: Callable[[], float] = random.random,
        batch_results: bool = False,
    ) -> None:
        if renderer is None:
            from consumers.notify.templates import Renderer

            renderer = Renderer()
        self._channels = channels
        self._store = store
        self._limiter = limiter
        self._clock = clock
        self._settings = settings or DeliverySettings()
        self._sleep = sleep
        self._renderer = renderer
        self._publisher = publisher
        self._rand = rand
        self._sent_events: Coalescer[NotificationResult, None] | None = (
            Coalescer(self._publish_sent, max_batch=500) if batch_results and publisher is not None else None)
        self.sent = 0
        self.failed = 0
        self.deferred = 0
        self.duplicates = 0
        self.retries = 0
        self.unconfirmed = 0
        self.publish_errors = 0
        self.fallbacks = 0
        self.reservations = 0  # keys offered to the store (sent + duplicates + released)

    @property
    def store(self) -> DeliveryStore:
        """The store (ops tooling lists dead letters and unconfirmed keys through it)."""
        return self._store

    async def deliver(
        self, item: PlannedMessage | MessageGroup | OutboundMessage, *, channel: str | None = None
    ) -> DeliveryOutcome:
        """Deliver one item at most once. Never raises for provider errors; raises TransientError
        when the store is away (nothing was sent then) and ValueError for an OutboundMessage
        without ``channel``."""
        now = self._clock.now()
        if isinstance(item, OutboundMessage):
            if channel is None:
                raise ValueError("deliver(OutboundMessage) needs channel=")
            fresh = await self._reserve((item.dedupe_key,), channel, now)
            if not fresh:
                return DeliveryOutcome("duplicate", (item.dedupe_key,))
            return await self._attempt(item, fresh, channel, 0)
        group = item if isinstance(item, MessageGroup) else MessageGroup(
            item.recipient, item.channel, item.address, item.not_before, (item,)
        )
        if group.not_before > now:
            self.deferred += 1
            return DeliveryOutcome("deferred", group.keys)
        live = [p.dedupe_key for p in group.parts if p.expires_at is None or now < p.expires_at]
        if not live:
            return DeliveryOutcome("expired", group.keys)
        fresh = await self._reserve(tuple(live), group.channel, now)
        if not fresh:
            return DeliveryOutcome("duplicate", group.keys)
        part = group.only(fresh)
        try:
            msg = self._renderer.render(part)
        except Exception:
            await self._release(fresh)
            raise
        fallbacks = part.parts[0].fallbacks if len(part.parts) == 1 else ()
        return await self._attempt(msg, fresh, group.channel, 0, fallbacks,
                                   lambda ch: self._renderer.render(part, channel=ch))

    async def run_due(self, limit: int = 100) -> int:
        """Send stored retries that are due (after a restart too). Returns how many were tried."""
        items = await self._store.due_retries(self._clock.now(), limit)
        tried = 0
        for item in items:
            if await self._store.claim(item.group_key, self._clock.now()):
                tried += 1
                await self._attempt(item.message, item.keys, item.channel, item.attempts)
        return tried

    async def sweep_unconfirmed(self, limit: int = 100) -> list[DeliveryRecord]:
        """Report in_flight keys older than ``unconfirmed_after`` to ops (see the module rule)."""
        now = self._clock.now()
        stale = await self._store.stale_in_flight(now - timedelta(seconds=self._settings.unconfirmed_after), limit)
        reason = UNCONFIRMED_REASON
        for rec in stale:
            await self._store.mark_failed(rec.key, reason, True, now)
            await self._publish(NOTIFICATION_FAILED, (rec.key,), rec.channel, rec.attempts + 1, reason)
            log.error("notify.unconfirmed", extra={"dedupe_key": rec.key, "channel": rec.channel})
        self.unconfirmed += len(stale)
        return stale

    async def _reserve(self, keys: tuple[str, ...], channel: str, now: datetime) -> tuple[str, ...]:
        """Reserve each key; if the store fails midway, release what this call reserved and raise."""
        fresh: list[str] = []
        stale_before = now - timedelta(seconds=self._settings.lease)
        self.reservations += len(keys)
        try:
            for key in keys:
                state = await self._store.reserve(key, now)
                if state == "new":
                    fresh.append(key)
                elif (
                    state == "in_flight"
                    and channel in self._settings.resend_safe_channels
                    and await self._store.takeover(key, now, stale_before)
                ):
                    log.warning("notify.takeover", extra={"dedupe_key": key, "channel": channel})
                    fresh.append(key)
                else:
                    self.duplicates += 1
        except Exception:
            await self._release(tuple(fresh))
            raise
        return tuple(fresh)

    async def _release(self, keys: tuple[str, ...]) -> None:
        """Best effort: a key left in_flight here is reported by sweep_unconfirmed, never resent."""
        for key in keys:
            try:
                await self._store.release(key)
            except TransientError as exc:
                log.warning("notify.release_failed", extra={"dedupe_key": key, "reason": exc.reason})

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        s = self._settings
        delay = backoff_delay(attempt, s.backoff_initial, s.backoff_max, spread=(1.0 - s.jitter, 1.0 + s.jitter),
                              rand=self._rand)
        return max(delay, retry_after or 0.0)

    async def _attempt(
        self, msg: OutboundMessage, keys: tuple[str, ...], channel: str, attempts: int,
        fallbacks: tuple[str, ...] = (), rerender: Callable[[str], OutboundMessage] | None = None,
    ) -> DeliveryOutcome:
        """Send ``msg`` on ``channel`` with retries; when it fails for good and ``fallbacks`` are
        left, the same keys go to the next channel (re-rendered for it) before anything is
        recorded as failed."""

        async def fall_back(reason: str) -> DeliveryOutcome | None:
            if not fallbacks or rerender is None:
                return None
            log.warning("notify.fallback", extra={"dedupe_key": msg.dedupe_key, "channel": channel,
                                                  "next": fallbacks[0], "reason": reason})
            self.fallbacks += 1
            return await self._attempt(rerender(fallbacks[0]), keys, fallbacks[0], 0, fallbacks[1:], rerender)

        impl = self._channels.get(channel)
        if impl is None:
            reason = f"no channel {channel!r} configured"
            return await fall_back(reason) or await self._dead(msg, keys, channel, attempts + 1, reason, "failed")
        while True:
            attempts += 1
            try:
                if self._limiter is not None:
                    await self._limiter.acquire(channel)
                receipt = await impl.send(msg)
            except PermanentError as exc:
                return await fall_back(exc.reason) or await self._dead(msg, keys, channel, attempts, exc.reason, "failed")
            except TransientError as exc:
                if attempts >= self._settings.max_attempts:
                    reason = f"gave up after {attempts} attempts: {exc.reason}"
                    return await fall_back(reason) or await self._dead(msg, keys, channel, attempts, reason, "dead")
                self.retries += 1
                now = self._clock.now()
                delay = self._backoff(attempts, exc.retry_after)
                retry_at = now + timedelta(seconds=delay)
                for key in keys:
                    await self._store.mark_failed(key, exc.reason, False, now, retry_at=retry_at, message=msg,
                                                  channel=channel)
                log.info(
                    "notify.retry",
                    extra={"dedupe_key": msg.dedupe_key, "channel": channel, "attempts": attempts, "delay": delay},
                )
                if delay > self._settings.max_inline_wait:
                    self.deferred += 1
                    return DeliveryOutcome("retry_later", keys, attempts, exc.reason)
                await self._sleep(delay)
                if not await self._store.claim(msg.dedupe_key, self._clock.now()):
                    return DeliveryOutcome("handed_over", keys, attempts, exc.reason)
                continue
            except Exception:  # a contract breach: outcome unknown, treat like a crash (see module doc)
                log.exception("notify.adapter_error", extra={"dedupe_key": msg.dedupe_key, "channel": channel})
                return DeliveryOutcome("unconfirmed", keys, attempts, "adapter raised an unexpected error")
            now = self._clock.now()
            for key in keys:
                await self._store.mark_sent(key, receipt.provider_message_id, now)
            self.sent += 1
            await self._publish(NOTIFICATION_SENT, keys, channel, attempts, "")
            log.info("notify.sent", extra={"dedupe_key": msg.dedupe_key, "channel": channel, "attempts": attempts})
            return DeliveryOutcome("sent", keys, attempts)

    async def _dead(
        self,
        msg: OutboundMessage,
        keys: tuple[str, ...],
        channel: str,
        attempts: int,
        reason: str,
        status: Literal["failed", "dead"],
    ) -> DeliveryOutcome:
        now = self._clock.now()
        for key in keys:
            await self._store.mark_failed(key, reason, True, now, message=msg)
        self.failed += 1
        await self._publish(NOTIFICATION_FAILED, keys, channel, attempts, reason)
        log.warning(
            "notify.dead_letter",
            extra={"dedupe_key": msg.dedupe_key, "channel": channel, "attempts": attempts, "reason": reason},
        )
        return DeliveryOutcome(status, keys, attempts, reason)

    async def _publish(
        self, event_type: str, keys: tuple[str, ...], channel: str, attempts: int, error: str
    ) -> None:
        if self._publisher is None:
            return
        now = self._clock.now()
        results = []
        for key in keys:
            recipient, incident_id, phase, _ = split_key(key)
            results.append(NotificationResult(
                dedupe_key=key,
                recipient=recipient,
                incident_ids=(incident_id,) if incident_id else (),
                phase=phase,
                channel=channel,
                attempts=attempts,
                error=error[:500],
                at=now,
            ))
        if event_type == NOTIFICATION_SENT and self._sent_events is not None:
            await self._sent_events.submit_many(results)
            return
        for data in results:
            await self._publish_one(Event.build(event_type, data, time=now), (data.dedupe_key,))

    async def _publish_sent(self, results: list[NotificationResult]) -> list[None]:
        """One event for the sent results gathered in a loop turn (a lone one: a ``.sent`` event)."""
        now = max(r.at for r in results)
        event: Event[Any]
        if len(results) == 1:
            event = Event.build(NOTIFICATION_SENT, results[0], time=now)
        else:
            event = Event.build(NOTIFICATION_SENT_BATCH, NotificationResultBatch(results=tuple(results)), time=now)
        await self._publish_one(event, tuple(r.dedupe_key for r in results))
        return [None] * len(results)

    async def _publish_one(self, event: Event[Any], keys: tuple[str, ...]) -> None:
        if self._publisher is None:
            return
        try:
            await self._publisher.publish(event)
        except TransientError as exc:
            # The message itself is recorded; a lost result event must not cause a resend.
            self.publish_errors += len(keys)
            log.warning("notify.publish_failed", extra={"dedupe_key": keys[0], "keys": len(keys), "reason": exc.reason})
