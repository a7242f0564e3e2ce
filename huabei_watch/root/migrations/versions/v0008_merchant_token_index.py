"""Merchants are found by the hash of their bearer token (the diagnose API): index it.

Revision ID: 0008
Revises: 0007

Without the index each lookup read the whole ``merchants`` table (about 100,000 rows at the scale
the project is built for).
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_merchants_token_hash", "merchants", ["token_hash"])


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore the database backup taken before upgrading")
