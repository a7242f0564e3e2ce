"""Notice identity across sources and the end of a notice's windows (the detail re-check).

Revision ID: 0007
Revises: 0006

``seen_notices.notice_key``: the identity under which a notice's signals are published (its
canonical detail URL, else a fingerprint of title and windows), shared by every source that lists
it; NULL on rows written before it (their notice id was their identity). ``seen_notices.windows_end``:
the end of the notice's last window, so the watcher finds the notices whose windows are still ahead
without reading every row. Existing rows get it from their stored windows.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _end(windows_json: str | None) -> datetime | None:
    try:
        windows = json.loads(windows_json or "[]")
    except ValueError:
        return None
    ends = [datetime.fromisoformat(w.get("end") or w["start"]) for w in windows if isinstance(w, dict) and w.get("start")]
    return max(ends) if ends else None


def upgrade() -> None:
    with op.batch_alter_table("seen_notices") as batch:
        batch.add_column(sa.Column("notice_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("windows_end", _TS, nullable=True))
        batch.create_index("ix_seen_notices_windows_end", ["windows_end"])
    bind = op.get_bind()
    table = sa.table("seen_notices", sa.column("source_id"), sa.column("notice_id"), sa.column("windows_json"),
                     sa.column("maintenance"), sa.column("windows_end", _TS))
    rows = bind.execute(sa.select(table.c.source_id, table.c.notice_id, table.c.windows_json)
                        .where(table.c.maintenance.is_(True))).all()
    for source_id, notice_id, windows_json in rows:
        end = _end(windows_json)
        if end is not None:
            bind.execute(table.update().where(table.c.source_id == source_id, table.c.notice_id == notice_id)
                         .values(windows_end=end))


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore the database backup taken before upgrading")
