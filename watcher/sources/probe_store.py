"""The health probes' tables: each probe's hysteresis state, saved so a probe down before a restart
stays down (the watcher role reads it at start; the status page shows it), and one summary row per
probe per hour (checks, failures, latency) for the status page's uptime strip and sparkline."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import JSON, Column, Float, Integer, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import accumulate
from watcher.sources.probe_hours import HourSummary

#: Health probes' hysteresis state (watcher role), saved so a probe down before a restart stays down.
probe_states = Table(
    "probe_states",
    metadata,
    Column("probe_id", String(100), primary_key=True),
    Column("data", JSON, nullable=False),
)

#: One row per probe per hour; rows are folded together by :func:`save_hours`.
probe_hours = Table(
    "probe_hours",
    metadata,
    Column("probe_id", String(100), primary_key=True),
    Column("hour", AwareDateTime(), primary_key=True),
    Column("checks", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("latency_ms_sum", Float, nullable=False),
    Column("latency_ms_max", Float, nullable=False),
)


async def save_hours(conn: AsyncConnection, summaries: Sequence[HourSummary]) -> None:
    """Add ``summaries`` to their (probe, hour) rows (several processes may add to one row)."""
    for s in summaries:
        await accumulate(
            conn, probe_hours,
            {"probe_id": s.probe_id, "hour": s.hour, "checks": s.checks, "failures": s.failures,
             "latency_ms_sum": s.latency_ms_sum, "latency_ms_max": s.latency_ms_max},
            ["probe_id", "hour"], sums=["checks", "failures", "latency_ms_sum"], maxes=["latency_ms_max"],
        )
