"""The health probes' table: each probe's hysteresis state, saved so a probe down before a restart
stays down (the watcher role reads it at start; the status page shows it)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, String, Table

from huabei_watch.db.tables import metadata

#: Health probes' hysteresis state (watcher role), saved so a probe down before a restart stays down.
probe_states = Table(
    "probe_states",
    metadata,
    Column("probe_id", String(100), primary_key=True),
    Column("data", JSON, nullable=False),
)
