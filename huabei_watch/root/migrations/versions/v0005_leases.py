"""The ``leases`` table: one active incidents process, with a fencing token (huabei_watch.lease).

Revision ID: 0005
Revises: 0004

The definition is a frozen copy: never edit it, add a revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_meta = sa.MetaData(naming_convention={"pk": "pk_%(table_name)s"})

sa.Table(
    "leases", _meta,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("token", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    _meta.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore the database backup taken before upgrading")
