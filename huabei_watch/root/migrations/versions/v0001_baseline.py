"""Baseline: every table as the pre-Alembic code created it.

Revision ID: 0001
Revises: (none)

Creates each table that does not exist yet, like the old runner's step ("create tables",
``checkfirst``) did at every start. So the same revision makes a fresh database and adopts one
made by the old runner (its tables are kept with their rows; its ``schema_migrations`` table is
left alone). The definitions below are a frozen copy: never edit them, add a revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_meta = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)
_TS = sa.DateTime(timezone=True)

sa.Table(
    "merchants", _meta,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("token_hash", sa.String(64)),
    sa.Column("payments_secret", sa.String(200)),
    sa.Column("cashier_webhook", sa.String(500)),
    sa.Column("webhook_secret", sa.String(200)),
    sa.Column("plugin", sa.String(128)),
    sa.Column("channels", sa.JSON, nullable=False),
    sa.Column("contacts", sa.JSON, nullable=False),
    sa.Column("origin", sa.String(20), nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

# -- watcher -------------------------------------------------------------------------------------
sa.Table(
    "seen_notices", _meta,
    sa.Column("source_id", sa.String(64), primary_key=True),
    sa.Column("notice_id", sa.String(64), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("item_hash", sa.String(64), nullable=False),
    sa.Column("revision", sa.String(64), nullable=False),
    sa.Column("published", sa.Date, nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("maintenance", sa.Boolean, nullable=False),
    sa.Column("windows_json", sa.Text, nullable=False),
    sa.Column("channels_json", sa.Text, nullable=False),
    sa.Column("first_seen_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)
sa.Table(
    "source_state", _meta,
    sa.Column("source_id", sa.String(64), primary_key=True),
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("last_modified", sa.Text, nullable=True),
    sa.Column("content_hash", sa.String(64), nullable=True),
    sa.Column("last_poll_at", _TS, nullable=True),
    sa.Column("initialized_at", _TS, nullable=True),
    sa.Column("consecutive_failures", sa.Integer, nullable=False),
    sa.Column("failing_since", _TS, nullable=True),
    sa.Column("degraded", sa.Boolean, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
)
sa.Table(
    "probe_states", _meta,
    sa.Column("probe_id", sa.String(100), primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
)
sa.Table(
    "compat_advisories", _meta,
    sa.Column("finding_id", sa.String(300), primary_key=True),
    sa.Column("merchant_id", sa.String(64), nullable=False, index=True),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("published_at", _TS, index=True),
)
sa.Table(
    "compat_notices", _meta,
    sa.Column("notice_id", sa.String(200), primary_key=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("received_at", _TS, nullable=False),
)
sa.Table(
    "merchant_plugins", _meta,
    sa.Column("merchant_id", sa.String(64), primary_key=True),
    sa.Column("plugin", sa.String(128), nullable=False),
    sa.Column("seen_at", _TS, nullable=False),
)

# -- incidents -----------------------------------------------------------------------------------
_signal_log = sa.Table(
    "signal_log", _meta,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("subject", sa.String(300)),
    sa.Column("time", _TS, nullable=False),
    sa.Column("received_at", _TS, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
)
sa.Index("ix_signal_log_time", _signal_log.c.time)
sa.Table(
    "incidents", _meta,
    sa.Column("incident_id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("phase", sa.String(20), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("published_revision", sa.Integer, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

# -- cashier -------------------------------------------------------------------------------------
sa.Table(
    "cashier_incidents", _meta,
    sa.Column("incident_id", sa.String(200), primary_key=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("scope_kind", sa.String(20), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("heard_at", _TS, nullable=False),
)
sa.Table(
    "cashier_state", _meta,
    sa.Column("subject", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)
sa.Table(
    "cashier_audit", _meta,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(64), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("before", sa.JSON, nullable=False),
    sa.Column("after", sa.JSON, nullable=False),
    sa.Column("reason", sa.String(1000), nullable=False),
    sa.Column("incident_ids", sa.JSON, nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("until", _TS),
    sa.Column("published", sa.Boolean, nullable=False),
)
sa.Table(
    "cashier_overrides", _meta,
    sa.Column("merchant_id", sa.String(64), primary_key=True),
    sa.Column("incident_id", sa.String(200), primary_key=True),
    sa.Column("until", _TS),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("by", sa.String(100), nullable=False),
)
sa.Table(
    "cashier_push", _meta,
    sa.Column("merchant_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_at", _TS, nullable=False),
    sa.Column("lease_until", _TS),
    sa.Column("last_error", sa.String(500)),
    sa.Column("done", sa.Boolean, nullable=False),
)

# -- notify --------------------------------------------------------------------------------------
sa.Table(
    "notification_deliveries", _meta,
    sa.Column("dedupe_key", sa.String(512), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("group_key", sa.String(512), nullable=False),
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.Column("receipt", sa.String(200), nullable=False),
    sa.Column("reserved_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("next_attempt_at", _TS, nullable=True),
    sa.Column("sent_at", _TS, nullable=True),
    sa.Index("ix_notification_deliveries_due", "state", "next_attempt_at"),
    sa.Index("ix_notification_deliveries_group", "group_key"),
)
sa.Table(
    "notify_incidents", _meta,
    sa.Column("incident_id", sa.String(200), primary_key=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("previous", sa.String),
    sa.Column("data", sa.String, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)


def upgrade() -> None:
    _meta.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore the database backup taken before upgrading")
