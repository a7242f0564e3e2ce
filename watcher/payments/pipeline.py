"""Payment results from HTTP and Kafka into the windowed detector; anomalies out as signals.

* ``POST /v1/payment-results`` (signed per merchant) publishes the batch to
  ``<prefix>.payments.results`` and answers 202 only after the broker acknowledged it.
* A consumer of that topic (group ``<group_prefix>.watcher-payments``) feeds the detector; platforms
  that already stream results write to the same topic.
* Every ``payments.evaluate_every`` the detector is evaluated; state changes are published, and a
  raised anomaly is re-asserted with a fresh window end every ``keepalive`` while it lasts, so the
  incident it opened does not go stale.

One detector per process: run payment detection in one watcher process, or accept that each
process sees only the merchants of its partitions (platform-wide thresholds then apply per share).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import accumulate

from huabei_watch.bus.kafka import MessageContext
from huabei_watch.bus.publish import Publisher
from huabei_watch.clock import Clock
from huabei_watch.events import (
    PAYMENTS_ANOMALY,
    Event,
    EventData,
    PaymentAnomaly,
    PaymentResultBatch,
)
from huabei_watch.events.payments import BATCH_JSON, RESULT_JSON, batch_json_frame
from watcher.payments.detector import Detector
from watcher.payments.settings import DetectionSettings
from watcher.payments.signing import VerifiedBatch

log = logging.getLogger(__name__)


#: Compact JSON size of one part; the record (its headers added) stays well under the consumers'
#: bound (``PaymentResultBatch.MAX_BYTES``) and the producer's 1 MB request limit.
SPLIT_BYTES = 600 * 1024


def split_to_fit(batch: VerifiedBatch, max_bytes: int = SPLIT_BYTES) -> list[tuple[VerifiedBatch, bytes]]:
    """``batch`` as one or more batches with their normalised JSON (what
    :meth:`~watcher.payments.signing.VerifiedBatch.to_json` writes), each small enough to be one
    record (its JSON at most ``max_bytes``): halved until every part fits. The defaults are filled
    in once and each result is written once; a part's JSON is its results' joined in the batch's
    frame, its size known before it is joined. Deterministic, so a retried request publishes the
    same parts (the same event ids, which the detector counts once)."""
    results = BATCH_JSON.validate_python({"merchant_id": batch.merchant_id, "results": batch.results})["results"]
    write = RESULT_JSON.serializer.to_json
    written = [write(r) for r in results]
    head, tail = batch_json_frame(batch.merchant_id)
    # ends[i]: the bytes of the first i results, each counted with the comma after it.
    ends = list(accumulate((len(w) + 1 for w in written), initial=0))
    parts: list[tuple[VerifiedBatch, bytes]] = []

    def cut(lo: int, hi: int) -> None:
        if len(head) + ends[hi] - ends[lo] - 1 + len(tail) <= max_bytes or hi - lo == 1:
            parts.append((VerifiedBatch(batch.merchant_id, results[lo:hi]), head + b",".join(written[lo:hi]) + tail))
        else:
            half = lo + (hi - lo) // 2
            cut(lo, half)
            cut(half, hi)

    cut(0, len(results))
    return parts


class KafkaSink:
    """The ingestion endpoint's sink: durable on Kafka before the merchant gets its 202.

    A batch whose request body fits one record (at most ``max_bytes``) is published as received:
    the body, validated and authenticated, is the record value and what the event id hashes, so a
    retried request (the same bytes) has the same id, and nothing is serialised again (round
    ``pay9``, bench/README.md). A larger one is serialised into its normalised JSON and goes as
    several records (:func:`split_to_fit`), deterministically from the same body."""

    def __init__(self, bus: Publisher, clock: Clock, *, max_bytes: int = SPLIT_BYTES) -> None:
        self.bus = bus
        self.clock = clock
        self.max_bytes = max_bytes

    async def accept(self, batch: VerifiedBatch) -> None:
        now = self.clock.now()
        if batch.body is not None and len(batch.body) <= self.max_bytes:
            await self.bus.publish(PaymentResultBatch.prepare(batch.merchant_id, batch.body, time=now))
            return
        for part, data_json in split_to_fit(batch, self.max_bytes):
            await self.bus.publish(PaymentResultBatch.prepare(part.merchant_id, data_json, time=now))


class RecentIds:
    """Event ids seen lately, at most ``size`` of them (oldest forgotten first)."""

    def __init__(self, size: int = 100_000) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, event_id: str) -> bool:
        """Remember ``event_id``; False when it was already there (a replay)."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class PaymentPipeline:
    def __init__(
        self, bus: Publisher, clock: Clock, settings: DetectionSettings, *, keepalive: timedelta = timedelta(minutes=5),
        on_plugin: Callable[[str, str], None] | None = None,
    ) -> None:
        self.bus = bus
        self.clock = clock
        self.detector = Detector(settings)
        self.keepalive = keepalive
        self.on_plugin = on_plugin
        self._raised: dict[str, tuple[PaymentAnomaly, datetime]] = {}
        self.published = 0
        #: Batches already counted (by event id): a replayed or redelivered batch is counted once.
        self.seen = RecentIds()
        self.replays = 0
        #: Payment results counted (each consumed batch once).
        self.results_consumed = 0

    async def handle(self, event: Event[EventData], ctx: MessageContext) -> None:
        """Consumer handler for ``<prefix>.payments.results``. A batch whose event id was counted
        already (a replay, a redelivery, a retried request) is dropped."""
        if not isinstance(event.data, PaymentResultBatch):
            return
        if not self.seen.add(event.id):
            self.replays += 1
            log.info("payments.replay_dropped", extra={"event_id": event.id, "merchant": event.data.merchant_id})
            return
        now = self.clock.now()
        self.results_consumed += len(event.data.results)
        for result in event.data.results:
            self.detector.observe(result, now=now)
            if result.plugin and self.on_plugin is not None:
                self.on_plugin(result.merchant_id, result.plugin)

    async def evaluate(self) -> list[PaymentAnomaly]:
        now = self.clock.now()
        changes = self.detector.evaluate(now)
        for anomaly in changes:
            await self._publish(anomaly, now)
            if anomaly.state == "raised":
                self._raised[anomaly.anomaly_id] = (anomaly, now)
            else:
                self._raised.pop(anomaly.anomaly_id, None)
        for anomaly_id, (anomaly, last) in list(self._raised.items()):
            if now - last >= self.keepalive:
                fresh = anomaly.model_copy(update={"window_end": now, "window_start": now - (anomaly.window_end - anomaly.window_start)})
                await self._publish(fresh, now)
                self._raised[anomaly_id] = (fresh, now)
        return changes

    async def _publish(self, anomaly: PaymentAnomaly, now: datetime) -> None:
        await self.bus.publish(Event.build(PAYMENTS_ANOMALY, anomaly, time=now))
        self.published += 1
        log.info("payments.anomaly", extra={"anomaly_id": anomaly.anomaly_id, "state": anomaly.state,
                                             "failures": anomaly.failures, "merchants": anomaly.merchants})
