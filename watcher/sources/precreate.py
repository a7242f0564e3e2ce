"""Source ``alipay_precreate``: a synthetic Huabei pre-order per opted-in merchant.

Each run asks Alipay for a QR pre-order restricted to Huabei (``enable_pay_channels`` pcredit,
pcreditpayInstallment; ``extend_params.hb_fq_num`` for installments) and then cancels it, so
nothing is left behind and no money moves. The answer says whether this merchant could take
Huabei right now, and if not, why (account state, integration, platform).

:class:`PrecreateProbe` runs one merchant's probe and never raises (except on task cancellation);
:class:`PrecreateScheduler` spreads probes over the interval under a global rate limit, feeds the
:class:`~watcher.sources.precreate_core.FindingTracker` and publishes findings on state changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

import aiohttp

from huabei_watch.bus.publish import Publisher
from huabei_watch.clock import Clock, to_shanghai
from huabei_watch.errors import TransientError
from huabei_watch.events import MERCHANT_FINDING, Event, EventData
from watcher.alipay.client import AlipayClient
from watcher.alipay.config import AlipayProbeSettings, PrecreateCredentials
from watcher.alipay.sign import KeyInvalid, ResponseMalformed, ResponseTampered, SignatureInvalid
from watcher.sources.precreate_core import Cleanup, FindingTracker, PrecreateOutcome
from watcher.sources.precreate_plan import MerchantSchedule, TokenBucket, after_run, next_due, shard_of

__all__ = ["PrecreateOutcome", "PrecreateProbe", "PrecreateScheduler", "make_out_trade_no"]

log = logging.getLogger(__name__)

OUT_TRADE_NO_PREFIX = "hbw_probe_"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"


def make_out_trade_no(merchant_id: str, at: datetime) -> str:
    """``hbw_probe_<merchant>_<yyyymmddHHMMSSmmm>`` (Asia/Shanghai), at most 64 characters.

    Alipay accepts only letters, digits and underscores in ``out_trade_no``, so other characters
    become ``_``; a merchant id that had to be changed or shortened gets a hash suffix to stay unique.
    """
    safe = _UNSAFE.sub("_", merchant_id)
    if safe != merchant_id or len(safe) > 28:
        safe = f"{safe[:19]}_{hashlib.sha256(merchant_id.encode('utf-8')).hexdigest()[:8]}"
    local = to_shanghai(at)
    return f"{OUT_TRADE_NO_PREFIX}{safe}_{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}"


class PrecreateProbe:
    """The probe of one merchant. ``run()`` returns a PrecreateOutcome and never raises."""

    def __init__(
        self,
        credentials: PrecreateCredentials,
        client: AlipayClient,
        clock: Clock,
        *,
        amount: str = "0.01",
        subject: str = "花呗可用性检测",
        hb_fq_num: int | None = 3,
    ) -> None:
        self.credentials = credentials
        self._client = client
        self._clock = clock
        self._amount = amount
        self._subject = subject
        self._hb_fq_num = credentials.hb_fq_num if credentials.hb_fq_num is not None else hb_fq_num

    @property
    def merchant_id(self) -> str:
        return self.credentials.merchant_id

    @classmethod
    def from_settings(
        cls, credentials: PrecreateCredentials, settings: AlipayProbeSettings,
        session: aiohttp.ClientSession, clock: Clock,
    ) -> PrecreateProbe:
        client = AlipayClient(
            settings.gateway_url, credentials.app_id, credentials.private_key, credentials.alipay_public_key,
            session, clock, timeout=settings.timeout, app_auth_token=credentials.app_auth_token,
        )
        return cls(credentials, client, clock, amount=settings.amount, subject=settings.subject,
                   hb_fq_num=settings.hb_fq_num)

    async def run(self) -> PrecreateOutcome:
        """Pre-order, then cancel whatever may have been created. Task cancellation propagates
        (the pre-order's 5-minute ``timeout_express`` closes it on Alipay's side)."""
        at = self._clock.now()
        otn = make_out_trade_no(self.merchant_id, at)

        def result(**kw: Any) -> PrecreateOutcome:
            return PrecreateOutcome(merchant_id=self.merchant_id, at=at, out_trade_no=otn, **kw)

        created_maybe = True
        try:
            resp = await self._client.precreate(otn, self._amount, self._subject, self._hb_fq_num)
        except KeyInvalid as exc:
            outcome = result(ok=False, finding="key_invalid", detail=exc.role)
            created_maybe = False  # keys are loaded before anything is sent
        except ResponseTampered as exc:
            outcome = result(ok=False, finding="response_tampered", detail=exc.reason[:200])
        except SignatureInvalid:
            outcome = result(ok=False, finding="signature_invalid", detail="response_signature")
        except ResponseMalformed as exc:
            outcome = result(ok=False, finding="error", transport_error="malformed_response", detail=exc.reason[:200])
        except TransientError as exc:
            finding = "timeout" if exc.reason == "timeout" else "error"
            outcome = result(ok=False, finding=finding, transport_error=exc.reason)
        else:
            outcome = result(
                ok=resp.ok, finding="ok" if resp.ok else "error", code=resp.code, sub_code=resp.sub_code,
                sub_msg=resp.sub_msg[:512], verified=resp.signed,
            )
            created_maybe = resp.ok
        cleanup: Cleanup = await self._cancel(otn) if created_maybe else "not_needed"
        outcome = replace(outcome, cleanup=cleanup)
        log.info(
            "precreate.probe",
            extra={"merchant_id": self.merchant_id, "finding": outcome.finding, "code": outcome.code,
                   "sub_code": outcome.sub_code, "transport_error": outcome.transport_error,
                   "cleanup": cleanup, "out_trade_no": otn},
        )
        return outcome

    async def _cancel(self, otn: str) -> Cleanup:
        """Cancel ``otn``; one more try when Alipay asks for it or the call failed in transit."""
        for _ in range(2):
            try:
                resp = await self._client.cancel(otn)
            except TransientError as exc:
                log.warning("precreate.cancel_failed", extra={"out_trade_no": otn, "reason": exc.reason})
                continue
            except (SignatureInvalid, ResponseMalformed, KeyInvalid) as exc:
                log.warning("precreate.cancel_unverified", extra={"out_trade_no": otn, "reason": exc.reason[:200]})
                return "unconfirmed"
            if resp.ok and resp.retry_flag != "Y":
                return "cancelled"
            if resp.sub_code == TRADE_NOT_EXIST:
                return "cancelled"  # never created (or already gone): nothing left behind
            if not (resp.ok or resp.sub_code == "ACQ.SYSTEM_ERROR"):
                log.warning("precreate.cancel_refused", extra={"out_trade_no": otn, "sub_code": resp.sub_code})
                return "unconfirmed"
        return "unconfirmed"


OutcomeSink = Callable[[PrecreateOutcome], Awaitable[None]]


class PrecreateScheduler:
    """Runs the probes of this replica's merchants on their slots, under a global rate limit.

    Planning is pure (:mod:`watcher.sources.precreate_plan`); this class only keeps the
    per-merchant schedule, dispatches due probes, feeds the tracker and publishes findings.
    ``on_outcome`` (optional) receives every outcome, e.g. to count it as payment-result evidence
    via :meth:`PrecreateOutcome.as_payment_result`.
    """

    def __init__(
        self,
        probes: Iterable[PrecreateProbe],
        settings: AlipayProbeSettings,
        clock: Clock,
        tracker: FindingTracker,
        publisher: Publisher,
        *,
        on_outcome: OutcomeSink | None = None,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        index, count = shard
        if count < 1 or not 0 <= index < count:
            raise ValueError("shard must be (index, count) with 0 <= index < count")
        self._settings = settings
        self._clock = clock
        self._tracker = tracker
        self._publisher = publisher
        self._on_outcome = on_outcome
        self._shard = shard
        self._bucket = TokenBucket(rate=settings.rate_limit_per_s, burst=settings.burst)
        self._probes: dict[str, PrecreateProbe] = {}
        self._schedule: dict[str, MerchantSchedule] = {}
        self._in_flight: set[str] = set()
        # (due, merchant_id), lazily invalidated: an entry is live only while it matches _schedule.
        self._heap: list[tuple[datetime, str]] = []
        self._tasks: set[asyncio.Task[PrecreateOutcome | None]] = set()
        self._unpublished: list[Event[EventData]] = []
        self._semaphore = asyncio.Semaphore(settings.max_concurrency)
        self.set_probes(probes)

    def set_probes(self, probes: Iterable[PrecreateProbe]) -> None:
        """Replace the set of probed merchants (registry changed); keeps known merchants' schedules."""
        now = self._clock.now()
        index, count = self._shard
        mine = {p.merchant_id: p for p in probes if count == 1 or shard_of(p.merchant_id, count) == index}
        self._probes = mine
        self._schedule = {
            mid: self._schedule.get(mid)
            or MerchantSchedule(mid, due=next_due(mid, None, 0, now, self._settings.interval))
            for mid in mine
        }
        self._heap = [(s.due, mid) for mid, s in self._schedule.items() if mid not in self._in_flight]
        heapq.heapify(self._heap)

    def _set(self, s: MerchantSchedule) -> None:
        if s.merchant_id in self._probes:
            self._schedule[s.merchant_id] = s
            heapq.heappush(self._heap, (s.due, s.merchant_id))

    def _live_top(self) -> tuple[datetime, str] | None:
        """The earliest live heap entry, dropping stale ones."""
        while self._heap:
            due, mid = self._heap[0]
            s = self._schedule.get(mid)
            if s is not None and s.due == due and mid not in self._in_flight:
                return due, mid
            heapq.heappop(self._heap)
        return None

    def probes(self) -> list[PrecreateProbe]:
        """The probes this replica runs."""
        return list(self._probes.values())

    def schedule(self, merchant_id: str) -> MerchantSchedule:
        return self._schedule[merchant_id]

    def due(self, now: datetime) -> list[str]:
        """Merchants due at ``now`` and not running, earliest first (a full scan: for ops views)."""
        ready = [s for s in self._schedule.values() if s.due <= now and s.merchant_id not in self._in_flight]
        return [s.merchant_id for s in sorted(ready, key=lambda s: (s.due, s.merchant_id))]

    def _dispatch(self) -> list[asyncio.Task[PrecreateOutcome | None]]:
        started: list[asyncio.Task[PrecreateOutcome | None]] = []
        now = self._clock.now()
        while (top := self._live_top()) is not None and top[0] <= now:
            if not self._bucket.try_take(self._clock.monotonic()):
                break
            heapq.heappop(self._heap)
            mid = top[1]
            self._in_flight.add(mid)
            task = asyncio.create_task(self._run_one(self._probes[mid]), name=f"precreate:{mid}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started.append(task)
        return started

    async def _run_one(self, probe: PrecreateProbe) -> PrecreateOutcome | None:
        mid = probe.merchant_id
        outcome: PrecreateOutcome | None = None
        try:
            async with self._semaphore:
                outcome = await probe.run()
        except Exception:  # a bug must not kill the loop; the merchant retries on a later slot
            log.exception("precreate.run_failed", extra={"merchant_id": mid})
        finally:
            self._in_flight.discard(mid)
            current = self._schedule.get(mid)
            if current is not None:
                ran_at = outcome.at if outcome is not None else self._clock.now()
                ok = outcome is not None and outcome.ok
                self._set(after_run(current, ran_at, ok, self._settings.interval, self._settings.max_backoff,
                                    reason=_reason(outcome)))
        if outcome is None:
            return None
        finding = self._tracker.observe(outcome)
        if finding is not None:
            event: Event[EventData] = Event.build(MERCHANT_FINDING, finding, time=finding.observed_at)
            self._unpublished.append(event)
        await self._flush()
        if self._on_outcome is not None:
            try:
                await self._on_outcome(outcome)
            except Exception:
                log.exception("precreate.on_outcome_failed", extra={"merchant_id": mid})
        return outcome

    async def _flush(self) -> None:
        while self._unpublished:
            event = self._unpublished[0]
            try:
                await self._publisher.publish(event)
            except TransientError as exc:
                log.warning("precreate.publish_deferred", extra={"reason": exc.reason, "pending": len(self._unpublished)})
                return
            self._unpublished.pop(0)

    async def run_due(self) -> list[PrecreateOutcome]:
        """Run every probe due now that the rate limit allows, and wait for them (burst mode, tests)."""
        await self._flush()
        results = await asyncio.gather(*self._dispatch())
        return [r for r in results if r is not None]

    def seconds_until_next(self) -> float:
        """How long the loop may sleep: until the earliest due slot, or the next rate-limit token."""
        now = self._clock.now()
        top = self._live_top()
        if top is None:
            return self._settings.interval
        earliest = top[0]
        if earliest <= now:
            return max(self._bucket.wait_time(self._clock.monotonic()), 0.001)
        return (earliest - now).total_seconds()

    async def run_forever(self, stop: asyncio.Event, *, drain_timeout: float = 30.0) -> None:
        """Dispatch probes as they fall due until ``stop`` is set; then let running probes finish
        (up to ``drain_timeout``) and cancel the rest."""
        while not stop.is_set():
            await self._flush()
            self._dispatch()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(self.seconds_until_next(), 60.0))
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=drain_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._flush()


def _reason(outcome: PrecreateOutcome | None) -> str:
    """Why a probe failed, in one line for the poller's log."""
    if outcome is None:
        return "the probe crashed (see precreate.run_failed)"
    parts = (outcome.finding, outcome.transport_error, outcome.code, outcome.sub_code, outcome.detail)
    return " ".join(p for p in parts if p)
