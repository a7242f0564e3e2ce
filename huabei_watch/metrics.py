"""Prometheus metrics (one registry per process, served at /metrics)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS_PUBLISHED = Counter(
    "huabei_events_published_total", "Events published to Kafka", ["topic", "type"], registry=REGISTRY
)
PUBLISH_FAILURES = Counter(
    "huabei_publish_failures_total", "Publish attempts that failed (retried by the caller)", ["topic"], registry=REGISTRY
)
EVENTS_CONSUMED = Counter(
    "huabei_events_consumed_total",
    "Records handled by a consumer group, by outcome (ok, dlq, retry)",
    ["group", "outcome"],
    registry=REGISTRY,
)
HANDLER_SECONDS = Histogram(
    "huabei_handler_seconds",
    "Time a consumer handler took per record (successful attempts)",
    ["group"],
    registry=REGISTRY,
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DLQ_RECORDS = Counter(
    "huabei_dlq_records_total", "Records sent to a dead-letter topic", ["topic", "reason_class"], registry=REGISTRY
)
CONSUMER_LAG = Gauge(
    "huabei_consumer_inflight", "Records fetched and not yet committed", ["group"], registry=REGISTRY
)
CONSUMER_RESTARTS = Counter(
    "huabei_consumer_restarts_total", "Consumer loops that died and were restarted", ["group"], registry=REGISTRY
)
READY = Gauge("huabei_ready", "1 while /readyz would answer 200 (checked at each scrape)", registry=REGISTRY)
READY_CHECK = Gauge("huabei_ready_check", "Each readiness check at the last scrape: 1 passing, 0 failing", ["check"],
                    registry=REGISTRY)
BROKER_RESTARTS = Counter(
    "huabei_embedded_broker_restarts_total", "Times the embedded broker was restarted after it died", registry=REGISTRY
)
FENCED_RECORDS = Counter(
    "huabei_fenced_records_total",
    "Records refused because their publisher's fencing token was superseded (a former leader)", ["group"],
    registry=REGISTRY,
)
BROKER_RECYCLES = Counter(
    "huabei_embedded_broker_recycles_total",
    "Times the embedded broker was drained and replaced by a fresh process to give its memory back", registry=REGISTRY
)


# -- live values read at scrape time ---------------------------------------------------------------
Sample = tuple[tuple[str, ...], float]


class _Callbacks(Collector):
    """Metrics whose values live in the roles' own objects (fan-out counters, open incidents, probe
    health): read when Prometheus scrapes, so no code has to remember to update a gauge."""

    def __init__(self) -> None:
        self._metrics: dict[str, tuple[str, str, tuple[str, ...], Callable[[], Iterable[Sample]]]] = {}

    def add(self, name: str, doc: str, kind: str, labels: tuple[str, ...], read: Callable[[], Iterable[Sample]]) -> None:
        self._metrics[name] = (doc, kind, labels, read)

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        for name, (doc, kind, labels, read) in sorted(self._metrics.items()):
            family: CounterMetricFamily | GaugeMetricFamily
            if kind == "counter":
                family = CounterMetricFamily(name.removesuffix("_total"), doc, labels=list(labels))
            else:
                family = GaugeMetricFamily(name, doc, labels=list(labels))
            try:
                for values, value in read():
                    family.add_metric(list(values), value)
            except Exception:  # a metric must never break the scrape
                continue
            yield family


CALLBACKS = _Callbacks()
REGISTRY.register(CALLBACKS)


def live_counter(name: str, doc: str, labels: tuple[str, ...], read: Callable[[], Iterable[Sample]]) -> None:
    CALLBACKS.add(name, doc, "counter", labels, read)


def live_gauge(name: str, doc: str, labels: tuple[str, ...], read: Callable[[], Iterable[Sample]]) -> None:
    CALLBACKS.add(name, doc, "gauge", labels, read)
