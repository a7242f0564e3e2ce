"""Status-page history (incident timeline, probe and source hours) and the readiness write probe.

Revision ID: 0003
Revises: 0002

Creates each table that does not exist yet: a database made by the code just before Alembic (which
created these tables at start-up) is adopted with its rows. The definitions are a frozen copy:
never edit them, add a revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_meta = sa.MetaData(naming_convention={"pk": "pk_%(table_name)s"})
_TS = sa.DateTime(timezone=True)

sa.Table(
    "incident_changes", _meta,
    sa.Column("incident_id", sa.String(200), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("at", _TS, nullable=False),
    sa.Column("phase", sa.String(20), nullable=False),
    sa.Column("starts_at", _TS),
    sa.Column("ends_at", _TS),
    sa.Column("needs_review", sa.Boolean, nullable=False),
)
sa.Table(
    "probe_hours", _meta,
    sa.Column("probe_id", sa.String(100), primary_key=True),
    sa.Column("hour", _TS, primary_key=True),
    sa.Column("checks", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("latency_ms_sum", sa.Float, nullable=False),
    sa.Column("latency_ms_max", sa.Float, nullable=False),
)
sa.Table(
    "runtime_probe", _meta,
    sa.Column("process", sa.String(200), primary_key=True),
    sa.Column("at", _TS, nullable=False),
)
sa.Table(
    "source_poll_hours", _meta,
    sa.Column("source_id", sa.String(64), primary_key=True),
    sa.Column("hour", _TS, primary_key=True),
    sa.Column("polls", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
)


def upgrade() -> None:
    _meta.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore the database backup taken before upgrading")
