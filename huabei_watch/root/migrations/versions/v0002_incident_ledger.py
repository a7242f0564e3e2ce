"""The incident engine's ledger becomes typed state: tables ``incident_marks`` and ``incident_events``.

Revision ID: 0002
Revises: 0001

Until now the engine kept its bookkeeping inside each stored (and published) incident's ``refs``:
marks ``<ref>=<state>@<iso time>`` and ``event:<id>`` entries. This revision moves them into the
two tables and leaves ``refs`` with source references only (URLs, ``notice:``, ``probe:``,
``anomaly:``, ``finding:``), so a restarted engine resumes exactly where it was. The parser below
is a frozen copy of the old encoding's; never edit it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_EVENT_PREFIX = "event:"
_SOURCE_PREFIXES = ("notice:", "probe:", "anomaly:", "finding:")
_TS = sa.DateTime(timezone=True)

_incidents = sa.table("incidents", sa.column("incident_id", sa.String), sa.column("data", sa.JSON))
_marks = sa.table(
    "incident_marks", sa.column("incident_id", sa.String), sa.column("ref", sa.Text), sa.column("position", sa.Integer),
    sa.column("state", sa.Text), sa.column("as_of", _TS),
)
_events = sa.table(
    "incident_events", sa.column("incident_id", sa.String), sa.column("event_id", sa.String),
    sa.column("position", sa.Integer),
)


def _decode_mark(text: str) -> tuple[str, str, datetime] | None:
    head, at, stamp = text.rpartition("@")
    if not at:
        return None
    ref, eq, state = head.rpartition("=")
    if not eq or not ref or not state:
        return None
    try:
        as_of = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if as_of.tzinfo is None:
        return None
    return ref, state, as_of


def _split(refs: list[str]) -> tuple[list[tuple[str, str, datetime]], list[str], list[str]]:
    """(marks, event ids, other refs) of an old-style ``refs`` list; a later mark of a ref wins."""
    marks: dict[str, tuple[str, str, datetime]] = {}
    events: list[str] = []
    other: list[str] = []
    for text in refs:
        if text.startswith(_EVENT_PREFIX):
            event_id = text[len(_EVENT_PREFIX):]
            if event_id not in events:
                events.append(event_id)
            continue
        mark = _decode_mark(text)
        if mark is None:
            other.append(text)
        else:
            marks[mark[0]] = mark
    return list(marks.values()), events, other


def _db_time(value: datetime, dialect: str) -> datetime:
    utc = value.astimezone(UTC)
    return utc.replace(tzinfo=None) if dialect == "sqlite" else utc


def upgrade() -> None:
    op.create_table(
        "incident_marks",
        sa.Column("incident_id", sa.String(200), nullable=False),
        sa.Column("ref", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("as_of", _TS, nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "ref", name="pk_incident_marks"),
    )
    op.create_table(
        "incident_events",
        sa.Column("incident_id", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "event_id", name="pk_incident_events"),
    )
    bind = op.get_bind()
    dialect = bind.dialect.name
    for incident_id, data in bind.execute(sa.select(_incidents.c.incident_id, _incidents.c.data)).all():
        marks, events, other = _split(list(data.get("refs", ())))
        if marks:
            bind.execute(sa.insert(_marks), [
                {"incident_id": incident_id, "ref": ref, "position": i, "state": state, "as_of": _db_time(as_of, dialect)}
                for i, (ref, state, as_of) in enumerate(marks)
            ])
        if events:
            bind.execute(sa.insert(_events), [
                {"incident_id": incident_id, "event_id": e, "position": i} for i, e in enumerate(events)
            ])
        sources = [ref for ref, _, _ in marks if ref.startswith(_SOURCE_PREFIXES) and ref not in other]
        bind.execute(
            sa.update(_incidents).where(_incidents.c.incident_id == incident_id)
            .values(data={**data, "refs": [*other, *sources]})
        )


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore the database backup taken before upgrading")
