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
from collections.abc import Callable
from datetime import datetime, timedelta

from huabei_watch.bus.kafka import MessageContext
from huabei_watch.bus.publish import Publisher
from huabei_watch.clock import Clock
from huabei_watch.events import (
    PAYMENT_RESULTS,
    PAYMENTS_ANOMALY,
    Event,
    EventData,
    PaymentAnomaly,
    PaymentResultBatch,
)
from watcher.payments.detector import Detector
from watcher.payments.settings import DetectionSettings

log = logging.getLogger(__name__)


class KafkaSink:
    """The ingestion endpoint's sink: durable on Kafka before the merchant gets its 202."""

    def __init__(self, bus: Publisher, clock: Clock) -> None:
        self.bus = bus
        self.clock = clock

    async def accept(self, batch: PaymentResultBatch) -> None:
        await self.bus.publish(Event.build(PAYMENT_RESULTS, batch, time=self.clock.now()))


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

    async def handle(self, event: Event[EventData], ctx: MessageContext) -> None:
        """Consumer handler for ``<prefix>.payments.results``; counting is idempotent enough (a
        redelivered batch adds to both attempts and failures, barely moving a rate)."""
        if not isinstance(event.data, PaymentResultBatch):
            return
        now = self.clock.now()
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
