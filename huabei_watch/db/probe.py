"""The table ``/readyz`` writes to: one row per process, proving the database takes writes."""

from __future__ import annotations

import os
import socket
from datetime import datetime

from sqlalchemy import Column, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import upsert

runtime_probe = Table(
    "runtime_probe",
    metadata,
    Column("process", String(200), primary_key=True),
    Column("at", AwareDateTime(), nullable=False),
)

_PROCESS = f"{socket.gethostname()[:150]}:{os.getpid()}"


async def touch(conn: AsyncConnection, now: datetime) -> None:
    """Upsert this process's row with ``now``."""
    await upsert(conn, runtime_probe, {"process": _PROCESS, "at": now}, ["process"])
