"""Key ranges and the registry stream read merchant ids in code-point order: index it on PostgreSQL.

Revision ID: 0011
Revises: 0010

The sharded fan-out (0010) orders and compares ids with ``COLLATE "C"`` on PostgreSQL, because
merchant ids are case-sensitive and a database's default collation (e.g. en_US.utf8) orders them
otherwise. The primary key, built in the default collation, cannot serve that order, so each page of
the registry stream scanned and sorted the whole table. SQLite compares bytes already: nothing to do.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_merchants_id_c", "merchants", [sa.text('id COLLATE "C"')])


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore the database backup taken before upgrading")
