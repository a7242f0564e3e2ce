"""Housekeeping: notify's incidents get their phase (re-planning reads only open and recently
closed ones), and the time columns that pruning deletes by get indexes.

Revision ID: 0006
Revises: 0005

Existing ``notify_incidents`` rows get their phase from their stored incident. The definitions are
a frozen copy: never edit them, add a revision.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_notify_incidents = sa.table(
    "notify_incidents", sa.column("incident_id", sa.String), sa.column("data", sa.String), sa.column("phase", sa.String),
)


def upgrade() -> None:
    op.add_column("notify_incidents", sa.Column("phase", sa.String(20), nullable=True))
    bind = op.get_bind()
    for incident_id, data in bind.execute(sa.select(_notify_incidents.c.incident_id, _notify_incidents.c.data)).all():
        try:
            phase = str(json.loads(data).get("phase", ""))[:20] or None
        except (ValueError, AttributeError):
            phase = None  # unreadable: re-planned (read as open) until its next revision is stored
        bind.execute(sa.update(_notify_incidents).where(_notify_incidents.c.incident_id == incident_id).values(phase=phase))
    op.create_index("ix_notification_deliveries_updated_at", "notification_deliveries", ["updated_at"])
    op.create_index("ix_cashier_audit_at", "cashier_audit", ["at"])
    op.create_index("ix_incidents_phase_updated_at", "incidents", ["phase", "updated_at"])


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore the database backup taken before upgrading")
