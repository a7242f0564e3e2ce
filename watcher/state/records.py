"""Foundation tables: the signal log (what the watcher published, as consumed) and processed events."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, String, Table

from watcher.state.tables import metadata
from watcher.state.types import AwareDateTime

signal_log = Table(
    "signal_log",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("key", String(300), nullable=False),
    Column("subject", String(300)),
    Column("time", AwareDateTime(), nullable=False),
    Column("received_at", AwareDateTime(), nullable=False),
    Column("data", JSON, nullable=False),
)
Index("ix_signal_log_time", signal_log.c.time)

#: Health probes' hysteresis state (watcher role), saved so a probe down before a restart stays down.
probe_states = Table(
    "probe_states",
    metadata,
    Column("probe_id", String(100), primary_key=True),
    Column("data", JSON, nullable=False),
)
