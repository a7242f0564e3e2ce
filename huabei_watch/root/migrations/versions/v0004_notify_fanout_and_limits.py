"""Notify: fan-out done marks per incident and phase, and provider rate-limit grants shared by processes.

Revision ID: 0004
Revises: 0003

Creates each table that does not exist yet (a database whose notify process created them before
this revision is adopted with its rows). The definitions are a frozen copy: never edit them, add a
revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_meta = sa.MetaData(naming_convention={"pk": "pk_%(table_name)s", "ix": "ix_%(column_0_label)s"})
_TS = sa.DateTime(timezone=True)

sa.Table(
    "notify_fanout_done", _meta,
    sa.Column("incident_id", sa.String(200), primary_key=True),
    sa.Column("phase", sa.String(64), primary_key=True),
    sa.Column("scope_digest", sa.String(64), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("done_at", _TS, nullable=False),
)
sa.Table(
    "notify_rate_grants", _meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("limit_key", sa.String(128), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_notify_rate_grants_key_at", "limit_key", "at"),
)


def upgrade() -> None:
    _meta.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore the database backup taken before upgrading")
