"""Prometheus metrics (one registry per process, served at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
BROKER_RESTARTS = Counter(
    "huabei_embedded_broker_restarts_total", "Times the embedded broker was restarted", registry=REGISTRY
)
