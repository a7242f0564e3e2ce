"""The policy API re-reads only the merchants changed since its last read: index ``updated_at``.

Revision ID: 0009
Revises: 0008

Without the index each 30-second re-read scanned the whole ``merchants`` table to find the few
rows written since.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_merchants_updated_at", "merchants", ["updated_at"])


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore the database backup taken before upgrading")
