"""Windowed detection of payment anomalies: a Huabei platform outage, or one merchant's problem.

Pure: takes results and ``now``, returns :class:`PaymentAnomaly` values; no I/O, no clock.

Rules (thresholds in :class:`DetectionSettings`):

* **Huabei platform outage** (``platform:<channel>`` for each Huabei channel, platform scope).
  A merchant is *affected* when, with at least ``merchant_min_attempts`` attempts on the channel
  in the window, the share of ``platform``-cause failures (system errors, 20000, transport
  errors) reaches ``platform_raise_rate``. An affected merchant is *Huabei-only* when its other
  (non-Huabei) channels had at least ``contrast_min_attempts`` attempts and a platform failure
  rate under ``contrast_max_failure_rate``; *all-channels* when those fail too (its network or
  server, not Huabei); *no-contrast* when it had no other traffic. An outage is raised when the
  channel saw ``platform_min_attempts`` attempts platform-wide, at least
  ``platform_min_merchants`` merchants are Huabei-only (no-contrast ones count too when
  ``require_contrast`` is off), and those counted outnumber the all-channels ones. Merchants
  failing on all channels never make a Huabei outage; they are reported by :meth:`Detector.status`.
* **Merchant problem** (``merchant:<id>:merchant_account`` / ``merchant:<id>:integration``):
  across all of that merchant's channels, at least ``merchant_min_attempts`` attempts, at least
  ``merchant_min_failures`` failures of the cause, and a share of ``merchant_raise_rate``.
* **Buyer-side failures never raise anything**; they only count as attempts. ``unknown`` and
  ``maintenance`` failures are counted but raise nothing either.

Clearing has hysteresis: a raised anomaly stays raised while its rate is at or above the lower
``*_clear_rate``; it clears after ``clear_after_s`` of traffic (enough attempts) below it. With
no traffic at all (e.g. Huabei switched off at the cashier, so nothing can confirm recovery) it
clears only after ``no_evidence_clear_s``: fail open, but slowly.

Results are counted in the bucket of their ``at`` time. A result more than ``max_future_skew_s``
in the future, older than the window, or beyond the memory limits is dropped and counted in
:class:`DropCounts`. Redelivered results are counted again (they move numerator and denominator
alike). The detector does not know maintenance windows: it reports what payments do, and the
incident logic weighs that against known windows.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from huabei_watch.events.common import Cause
from huabei_watch.events.payments import PaymentResult
from huabei_watch.events.signals import PaymentAnomaly
from watcher.payments.anomalies import Contrast, State, merchant_anomaly, platform_anomaly
from watcher.payments.diagnosis import Diagnosis, diagnose
from watcher.payments.settings import DetectionSettings
from watcher.payments.windows import Series, Totals

__all__ = ["DetectionSettings", "Detector", "DetectorStatus", "DropCounts"]

log = logging.getLogger(__name__)

MERCHANT_CAUSES: tuple[Cause, ...] = (Cause.MERCHANT_ACCOUNT, Cause.INTEGRATION)
MAX_REMEMBERED_CODES = 4096


@dataclass(frozen=True, slots=True)
class DropCounts:
    """Results not counted, by reason."""

    future: int = 0
    too_old: int = 0
    capacity: int = 0

    @property
    def total(self) -> int:
        return self.future + self.too_old + self.capacity


@dataclass(frozen=True, slots=True)
class DetectorStatus:
    tracked_merchants: int
    active_anomalies: tuple[str, ...]
    #: Merchants whose Huabei and other channels all fail with platform causes: their network
    #: or server, not a Huabei outage (as of the last evaluate).
    all_channels_failing: tuple[str, ...]
    dropped: DropCounts


@dataclass(slots=True)
class _Active:
    anomaly: PaymentAnomaly
    below_since: datetime | None = None
    silent_since: datetime | None = None

    def should_clear(self, now: datetime, *, bad: bool, evidence: bool, settings: DetectionSettings) -> str:
        """Return "" to keep the anomaly raised, else the reason it clears."""
        if bad:
            self.below_since = self.silent_since = None
            return ""
        if evidence:
            self.silent_since = None
            self.below_since = self.below_since or now
            if (now - self.below_since).total_seconds() >= settings.clear_after_s:
                return f"below the clear threshold for {settings.clear_after_s:g}s"
            return ""
        self.silent_since = self.silent_since or now
        if (now - self.silent_since).total_seconds() >= settings.no_evidence_clear_s:
            return f"no traffic to confirm it for {settings.no_evidence_clear_s:g}s"
        return ""


@dataclass(slots=True)
class _Merchant:
    channels: dict[str, Series] = field(default_factory=dict)

    def last_index(self) -> int:
        return max((s.last_index for s in self.channels.values()), default=-(2**62))


#: Window totals per merchant, per channel, without codes (computed once per evaluate).
_Snapshot = dict[str, dict[str, Totals]]


class Detector:
    """Sliding windows per (merchant, channel) and per channel; see the module docstring."""

    def __init__(self, settings: DetectionSettings | None = None) -> None:
        self.settings = settings or DetectionSettings()
        self._merchants: dict[str, _Merchant] = {}
        self._platform: dict[str, Series] = {}
        self._active: dict[str, _Active] = {}
        # Diagnoses of the code combinations seen, and of each evidence label (first seen).
        self._diagnoses: dict[tuple[str, str, str], Diagnosis] = {}
        self._labels: dict[str, Diagnosis] = {}
        self._reference: datetime | None = None
        self._dropped = DropCounts()
        self._all_channels: tuple[str, ...] = ()

    # -- input --------------------------------------------------------------------------------

    def observe(self, result: PaymentResult, *, now: datetime | None = None) -> None:
        """Count one result. Never raises on a bad time; drops it and counts why instead.

        ``now`` is the reference for "future" and "too old"; without it, the last ``evaluate``
        time is used (and before any evaluate, every time is accepted).
        """
        s = self.settings
        reference = now or self._reference
        at = result.at
        if reference is not None:
            if (at - reference).total_seconds() > s.max_future_skew_s:
                self._drop("future")
                return
            if (reference - at).total_seconds() >= s.window_s:
                self._drop("too_old")
                return
            at = min(at, reference)  # a little ahead (clock skew) counts as now
        merchant = self._merchants.get(result.merchant_id)
        if merchant is None:
            if len(self._merchants) >= s.max_merchants:
                self._drop("capacity")
                return
            merchant = self._merchants[result.merchant_id] = _Merchant()
        series = merchant.channels.get(result.channel)
        platform = self._platform.get(result.channel)
        if (series is None and len(merchant.channels) >= s.max_channels) or (
            platform is None and len(self._platform) >= s.max_channels
        ):
            self._drop("capacity")
            return
        if series is None:
            series = merchant.channels[result.channel] = Series()
        if platform is None:
            platform = self._platform[result.channel] = Series()
        cause, label = self._classify(result)
        index = math.floor(at.timestamp() / s.bucket_s)
        series.add(index, cause, label, s.max_codes_per_bucket)
        platform.add(index, cause, label, s.max_codes_per_bucket)

    def _classify(self, result: PaymentResult) -> tuple[Cause | None, str]:
        if result.success:
            return None, ""
        if result.transport_error:
            label = f"transport:{result.transport_error}"
        else:
            label = result.sub_code or result.code
        key = (result.code, result.sub_code, result.transport_error)
        known = self._diagnoses.get(key)
        if known is None:
            known = diagnose(result.code, result.sub_code, transport_error=result.transport_error)
            if len(self._diagnoses) < MAX_REMEMBERED_CODES:
                self._diagnoses[key] = known
                self._labels.setdefault(label, known)
        return known.cause, label

    def _drop(self, reason: str) -> None:
        d = self._dropped
        if reason == "future":
            self._dropped = replace(d, future=d.future + 1)
        elif reason == "too_old":
            self._dropped = replace(d, too_old=d.too_old + 1)
        else:
            self._dropped = replace(d, capacity=d.capacity + 1)

    # -- evaluation ---------------------------------------------------------------------------

    def evaluate(self, now: datetime) -> list[PaymentAnomaly]:
        """State changes since the last call (raised or cleared), sorted by anomaly id."""
        if now.tzinfo is None:
            raise ValueError("evaluate needs an aware datetime")
        self._reference = now
        last = math.floor(now.timestamp() / self.settings.bucket_s)
        first = last - self.settings.buckets + 1
        self._evict(first)
        snapshot: _Snapshot = {
            merchant_id: {name: series.sum(first, last, with_codes=False) for name, series in merchant.channels.items()}
            for merchant_id, merchant in self._merchants.items()
        }
        changes: list[PaymentAnomaly] = []
        all_channels: set[str] = set()
        for channel in self.settings.huabei_channels:
            change, failing = self._evaluate_platform(channel, now, first, last, snapshot)
            all_channels.update(failing)
            if change is not None:
                changes.append(change)
        changes.extend(self._evaluate_merchants(now, first, last, snapshot))
        self._note_all_channels(tuple(sorted(all_channels)))
        return sorted(changes, key=lambda a: a.anomaly_id)

    def _evict(self, first: int) -> None:
        for channel in list(self._platform):
            self._platform[channel].prune(first)
            if not self._platform[channel].buckets:
                del self._platform[channel]
        for merchant_id in list(self._merchants):
            merchant = self._merchants[merchant_id]
            if merchant.last_index() < first:
                del self._merchants[merchant_id]
                continue
            for series in merchant.channels.values():
                series.prune(first)

    def _contrast(self, channel: str, rate: float, snapshot: _Snapshot) -> Contrast:
        s = self.settings
        huabei_only: list[str] = []
        all_channels: list[str] = []
        no_contrast: list[str] = []
        for merchant_id, channels in snapshot.items():
            t = channels.get(channel)
            if t is None or t.attempts < s.merchant_min_attempts or t.rate(Cause.PLATFORM) < rate:
                continue
            other = Totals()
            for name, totals in channels.items():
                if name not in s.huabei_channels:
                    other.merge(totals, with_codes=False)
            if other.attempts < s.contrast_min_attempts:
                no_contrast.append(merchant_id)
            elif other.rate(Cause.PLATFORM) < s.contrast_max_failure_rate:
                huabei_only.append(merchant_id)
            else:
                all_channels.append(merchant_id)
        return Contrast(tuple(sorted(huabei_only)), tuple(sorted(all_channels)), tuple(sorted(no_contrast)))

    def _outage(self, c: Contrast) -> bool:
        counted = len(c.huabei_only) + (0 if self.settings.require_contrast else len(c.no_contrast))
        return counted >= self.settings.platform_min_merchants and counted > len(c.all_channels)

    def _evaluate_platform(
        self, channel: str, now: datetime, first: int, last: int, snapshot: _Snapshot
    ) -> tuple[PaymentAnomaly | None, tuple[str, ...]]:
        s = self.settings
        anomaly_id = f"platform:{channel}"
        active = self._active.get(anomaly_id)
        series = self._platform.get(channel)
        totals = series.sum(first, last, with_codes=True) if series else Totals()
        evidence = totals.attempts >= s.platform_min_attempts
        rate = s.platform_clear_rate if active else s.platform_raise_rate
        contrast = self._contrast(channel, rate, snapshot)
        bad = evidence and self._outage(contrast)
        if active is None:
            if not bad:
                if evidence and len(contrast.all_channels) >= s.platform_min_merchants:
                    log.info(
                        "payments.platform_not_huabei",
                        extra={"channel": channel, "merchants": len(contrast.all_channels)},
                    )
                return None, contrast.all_channels
            raised = self._platform_anomaly("raised", channel, now, totals, contrast, snapshot)
            self._active[anomaly_id] = _Active(raised)
            log.warning("payments.anomaly_raised", extra={"anomaly_id": anomaly_id, "failures": raised.failures})
            return raised, contrast.all_channels
        why = active.should_clear(now, bad=bad, evidence=evidence, settings=s)
        if not why:
            return None, contrast.all_channels
        cleared = self._platform_anomaly("cleared", channel, now, totals, contrast, snapshot, why=why)
        del self._active[anomaly_id]
        log.info("payments.anomaly_cleared", extra={"anomaly_id": anomaly_id, "why": why})
        return cleared, contrast.all_channels

    def _evaluate_merchants(self, now: datetime, first: int, last: int, snapshot: _Snapshot) -> list[PaymentAnomaly]:
        s = self.settings
        changes: list[PaymentAnomaly] = []
        candidates = set(snapshot) | {
            a.anomaly.scope.merchant_ids[0] for k, a in self._active.items() if k.startswith("merchant:")
        }
        for merchant_id in sorted(candidates):
            totals = Totals()
            for channel_totals in snapshot.get(merchant_id, {}).values():
                totals.merge(channel_totals, with_codes=False)
            for cause in MERCHANT_CAUSES:
                anomaly_id = f"merchant:{merchant_id}:{cause.value}"
                active = self._active.get(anomaly_id)
                evidence = totals.attempts >= s.merchant_min_attempts
                if active is None:
                    raise_now = (
                        evidence
                        and totals.failed(cause) >= s.merchant_min_failures
                        and totals.rate(cause) >= s.merchant_raise_rate
                    )
                    if raise_now:
                        a = self._merchant_anomaly("raised", merchant_id, cause, now, first, last)
                        self._active[anomaly_id] = _Active(a)
                        log.warning("payments.anomaly_raised", extra={"anomaly_id": anomaly_id, "failures": a.failures})
                        changes.append(a)
                    continue
                bad = evidence and totals.failed(cause) > 0 and totals.rate(cause) >= s.merchant_clear_rate
                why = active.should_clear(now, bad=bad, evidence=evidence, settings=s)
                if why:
                    a = self._merchant_anomaly("cleared", merchant_id, cause, now, first, last, why=why)
                    del self._active[anomaly_id]
                    log.info("payments.anomaly_cleared", extra={"anomaly_id": anomaly_id, "why": why})
                    changes.append(a)
        return changes

    # -- building signals ---------------------------------------------------------------------

    def _describe(self, label: str) -> Diagnosis:
        known = self._labels.get(label)
        if known is not None:
            return known
        if label.startswith("transport:"):
            return diagnose(transport_error=label.removeprefix("transport:"))
        return diagnose(label)

    def _window(self, now: datetime) -> tuple[datetime, datetime]:
        return now - timedelta(seconds=self.settings.window_s), now

    def _platform_anomaly(
        self,
        state: State,
        channel: str,
        now: datetime,
        totals: Totals,
        contrast: Contrast,
        snapshot: _Snapshot,
        *,
        why: str = "",
    ) -> PaymentAnomaly:
        failing = sum(1 for chans in snapshot.values() if channel in chans and chans[channel].failed(Cause.PLATFORM))
        return platform_anomaly(
            state=state,
            channel=channel,
            window=self._window(now),
            totals=totals,
            contrast=contrast,
            failing_merchants=failing,
            describe=self._describe,
            why=why,
        )

    def _merchant_anomaly(
        self, state: State, merchant_id: str, cause: Cause, now: datetime, first: int, last: int, *, why: str = ""
    ) -> PaymentAnomaly:
        merchant = self._merchants.get(merchant_id)
        per_channel = {
            name: series.sum(first, last, with_codes=True) for name, series in (merchant.channels.items() if merchant else ())
        }
        return merchant_anomaly(
            state=state,
            merchant_id=merchant_id,
            cause=cause,
            window=self._window(now),
            per_channel=per_channel,
            describe=self._describe,
            why=why,
        )

    # -- introspection ------------------------------------------------------------------------

    def _note_all_channels(self, merchants: tuple[str, ...]) -> None:
        if merchants != self._all_channels:
            log.info("payments.all_channels_failing", extra={"merchants": ",".join(merchants[:20]), "count": len(merchants)})
        self._all_channels = merchants

    @property
    def dropped(self) -> DropCounts:
        return self._dropped

    def status(self) -> DetectorStatus:
        return DetectorStatus(
            tracked_merchants=len(self._merchants),
            active_anomalies=tuple(sorted(self._active)),
            all_channels_failing=self._all_channels,
            dropped=self._dropped,
        )
