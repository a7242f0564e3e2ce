"""Notify: shards of a platform-wide incident's fan-out, taken by any notify process under a lease.

Revision ID: 0010
Revises: 0009

The definition is a frozen copy: never edit it, add a revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notify_fanout_shards",
        sa.Column("incident_id", sa.String(200), nullable=False),
        sa.Column("phase", sa.String(64), nullable=False),
        sa.Column("shard", sa.Integer, nullable=False),
        sa.Column("scope_digest", sa.String(64), nullable=False),
        sa.Column("lo", sa.String(64), nullable=False),
        sa.Column("hi", sa.String(64)),
        sa.Column("owner", sa.String(128)),
        sa.Column("lease_until", _TS),
        sa.Column("done_at", _TS),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "phase", "shard", name="pk_notify_fanout_shards"),
    )


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore the database backup taken before upgrading")
