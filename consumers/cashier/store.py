"""The cashier's tables: incidents as heard, switch state per subject, audit (+ Kafka outbox),
ops overrides and the webhook push outbox.

A *subject* is ``"*"`` (the platform-wide switch that applies to every ``auto`` merchant) or one
merchant id (merchant-scoped incidents). Several cashier processes share these rows; state updates
are compare-and-set on ``version``.

``version`` also moves when an *input* of a subject's decision changes (an incident covering it is
heard, ops force it on): such a write "touches" the subject. A decision is taken from the state
read first and the inputs read after it, and is written only if the version is still the one read,
so a decision made from inputs older than the state it replaces is refused, never applied (seen
without this: a periodic pass switched a merchant off again from an incident list read just before
its outage was resolved).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from consumers.cashier.model import CashierState, Change
from consumers.cashier.policy import PLATFORM as PLATFORM  # re-exported: the store names subjects
from huabei_watch.db.engine import Database
from huabei_watch.db.prune import delete_in_batches
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import insert_if_absent, upsert
from huabei_watch.events import Incident, ScopeKind

#: Longest wait for a lock per attempt of an ops override (seconds).
LOCK_WAIT = 2.0

heard = Table(
    "cashier_incidents",
    metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("scope_kind", String(20), nullable=False),
    Column("data", JSON, nullable=False),
    Column("heard_at", AwareDateTime(), nullable=False),
)

state_table = Table(
    "cashier_state",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("data", JSON, nullable=False),
    Column("updated_at", AwareDateTime(), nullable=False),
)

audit = Table(
    "cashier_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("before", JSON, nullable=False),
    Column("after", JSON, nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("incident_ids", JSON, nullable=False),
    Column("at", AwareDateTime(), nullable=False),
    Column("until", AwareDateTime()),
    Column("published", Boolean, nullable=False, default=False),
    Index("ix_cashier_audit_at", "at"),
)

overrides = Table(
    "cashier_overrides",
    metadata,
    Column("merchant_id", String(64), primary_key=True),
    Column("incident_id", String(200), primary_key=True),
    Column("until", AwareDateTime()),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("by", String(100), nullable=False),
)

pushes = Table(
    "cashier_push",
    metadata,
    Column("merchant_id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", AwareDateTime(), nullable=False),
    Column("lease_until", AwareDateTime()),
    Column("last_error", String(500)),
    Column("done", Boolean, nullable=False, default=False),
)


def state_to_json(s: CashierState) -> dict[str, Any]:
    d = asdict(s)
    for k in ("until", "expected_until", "changed_at"):
        d[k] = d[k].isoformat() if d[k] is not None else None
    d["channels"] = list(s.channels)
    d["incident_ids"] = list(s.incident_ids)
    return d


def state_from_json(d: dict[str, Any]) -> CashierState:
    def dt(v: Any) -> datetime | None:
        return datetime.fromisoformat(v) if v else None

    return CashierState(
        merchant_id=d["merchant_id"],
        channels=tuple(d.get("channels", ())),
        until=dt(d.get("until")),
        expected_until=dt(d.get("expected_until")),
        incident_ids=tuple(d.get("incident_ids", ())),
        reason=d.get("reason", ""),
        message_zh=d.get("message_zh", ""),
        changed_at=dt(d.get("changed_at")),
        exact=bool(d.get("exact", False)),
        version=int(d.get("version", 0)),
    )


def subjects_of(inc: Incident) -> list[str]:
    """The switches an incident is an input of: the platform switch, or its merchants'."""
    return [PLATFORM] if inc.scope.kind is ScopeKind.PLATFORM else list(inc.scope.merchant_ids)


class CashierStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- incidents as heard ------------------------------------------------------------------------
    async def note_incident(self, inc: Incident, heard_at: datetime) -> bool:
        """Keep the newest revision; the same revision again only refreshes ``heard_at``. Either way
        the subjects the incident covers are touched in the same transaction. False (and nothing
        written) for a revision older than the one kept."""

        async def work() -> bool:
            async with self.db.begin() as conn:
                row = (await conn.execute(select(heard.c.revision).where(heard.c.incident_id == inc.incident_id))).first()
                if row is not None and row[0] > inc.revision:
                    return False
                await upsert(
                    conn,
                    heard,
                    {
                        "incident_id": inc.incident_id,
                        "revision": inc.revision,
                        "scope_kind": inc.scope.kind.value,
                        "data": inc.model_dump(mode="json"),
                        "heard_at": heard_at,
                    },
                    ["incident_id"],
                )
                await self._touch(conn, subjects_of(inc), heard_at)
                return True

        return await self.db.run(work)

    async def _touch(self, conn: AsyncConnection, subjects: Iterable[str], at: datetime) -> None:
        """Bump the version of each subject's state (creating an empty one): an input changed, so
        a decision taken from older inputs must lose its compare-and-set."""
        for subject in subjects:
            for _ in range(2):  # an insert racing another process's insert: update the winner's row
                bumped = await conn.execute(
                    update(state_table).where(state_table.c.subject == subject).values(version=state_table.c.version + 1)
                )
                if bumped.rowcount:
                    break
                empty = state_to_json(CashierState(merchant_id=subject, version=1))
                row = {"subject": subject, "version": 1, "data": empty, "updated_at": at}
                if await insert_if_absent(conn, state_table, row, ["subject"]):
                    break

    async def heard_incidents(self, heard_since: datetime) -> list[Incident]:
        """Incidents heard at or after ``heard_since`` (older ones are forgotten: fail open)."""

        async def work() -> list[Incident]:
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(select(heard.c.data).where(heard.c.heard_at >= heard_since))).all()
            return [Incident.model_validate(r[0]) for r in rows]

        return await self.db.run(work)

    # -- housekeeping ------------------------------------------------------------------------------
    async def prune(self, *, audit_before: datetime, heard_before: datetime) -> dict[str, int]:
        """Delete published audit rows older than ``audit_before`` except each subject's newest
        (the status page reads whether it still holds), and incidents last heard before
        ``heard_before`` (only those heard within ``off_ttl`` count), and force-on overrides that
        expired before ``audit_before`` (an override without an end stays). Returns rows deleted
        per table."""
        newest = select(func.max(audit.c.seq)).group_by(audit.c.subject)
        old_audit = and_(audit.c.at < audit_before, audit.c.published.is_(True), audit.c.seq.not_in(newest))
        return {
            "cashier_audit": await delete_in_batches(self.db, audit, old_audit),
            "cashier_incidents": await delete_in_batches(self.db, heard, heard.c.heard_at < heard_before),
            "cashier_overrides": await delete_in_batches(
                self.db, overrides, and_(overrides.c.until.is_not(None), overrides.c.until < audit_before)),
        }

    # -- switch state --------------------------------------------------------------------------------
    async def states(self, subjects: list[str] | None = None) -> dict[str, CashierState]:
        """The stored switches; each ``version`` is the row's (touches included), the value a
        compare-and-set in :meth:`apply_change` checks."""

        async def work() -> dict[str, CashierState]:
            q = select(state_table.c.subject, state_table.c.version, state_table.c.data)
            if subjects is not None:
                q = q.where(state_table.c.subject.in_(subjects))
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(q)).all()
            return {r[0]: replace(state_from_json(r[2]), version=int(r[1])) for r in rows}

        return await self.db.run(work)

    async def state(self, subject: str) -> CashierState:
        return (await self.states([subject])).get(subject) or CashierState(merchant_id=subject)

    async def apply_change(self, change: Change, *, push_to: list[str]) -> int | None:
        """Compare-and-set the subject's state from ``change.before`` to ``change.after``, record
        the audit row and queue pushes, in one transaction. Returns the audit seq, or None when
        another process changed the subject first (the caller recomputes)."""
        subject = change.after.merchant_id

        async def work() -> int | None:
            async with self.db.begin() as conn:
                data = state_to_json(change.after)
                if change.before.version == 0:
                    ok = await insert_if_absent(
                        conn,
                        state_table,
                        {"subject": subject, "version": change.after.version, "data": data, "updated_at": change.at},
                        ["subject"],
                    )
                else:
                    res = await conn.execute(
                        update(state_table)
                        .where(and_(state_table.c.subject == subject, state_table.c.version == change.before.version))
                        .values(version=change.after.version, data=data, updated_at=change.at)
                    )
                    ok = bool(res.rowcount)
                if not ok:
                    return None
                if change.renewal and change.before.incident_ids == change.after.incident_ids:
                    return 0  # an expiry renewal: state only, nothing to audit or push
                seq = await self._audit(conn, change)
                for merchant_id in push_to:
                    await upsert(
                        conn,
                        pushes,
                        {"merchant_id": merchant_id, "seq": seq, "attempts": 0, "next_at": change.at,
                         "lease_until": None, "last_error": None, "done": False},
                        ["merchant_id"],
                    )
                return seq

        return await self.db.run(work)

    async def _audit(self, conn: AsyncConnection, change: Change) -> int:
        res = await conn.execute(
            audit.insert().values(
                subject=change.after.merchant_id,
                version=change.after.version,
                before=list(change.before.channels),
                after=list(change.after.channels),
                reason=change.after.reason[:1000],
                incident_ids=list(change.after.incident_ids),
                at=change.at,
                until=change.after.until,
                published=False,
            )
        )
        pk = res.inserted_primary_key
        return int(pk[0]) if pk else 0

    async def unpublished_audit(self, limit: int = 500) -> list[Any]:
        async def work() -> list[Any]:
            async with self.db.engine.connect() as conn:
                return list(
                    (await conn.execute(select(audit).where(audit.c.published.is_(False)).order_by(audit.c.seq).limit(limit))).all()
                )

        return await self.db.run(work)

    async def mark_audit_published(self, seq: int) -> None:
        async def work() -> None:
            async with self.db.begin() as conn:
                await conn.execute(update(audit).where(audit.c.seq == seq).values(published=True))

        await self.db.run(work)

    async def changes_since(self, since: int, limit: int) -> list[Any]:
        async def work() -> list[Any]:
            async with self.db.engine.connect() as conn:
                return list(
                    (await conn.execute(select(audit).where(audit.c.seq > since).order_by(audit.c.seq).limit(limit))).all()
                )

        return await self.db.run(work)

    # -- overrides ------------------------------------------------------------------------------
    async def force_on(
        self, merchant_id: str, incident_id: str, until: datetime | None, now: datetime, by: str,
        *, retry_for: float | None = None,
    ) -> None:
        """Record an ops override; touches the merchant (an input of its decision changed).
        ``retry_for`` bounds the wait for a failing database (then TransientError, nothing stored)."""

        async def work() -> None:
            async with self.db.begin(wait=LOCK_WAIT) as conn:
                await upsert(
                    conn,
                    overrides,
                    {"merchant_id": merchant_id, "incident_id": incident_id, "until": until, "created_at": now, "by": by},
                    ["merchant_id", "incident_id"],
                )
                await self._touch(conn, [merchant_id], now)

        await self.db.run(work, retry_for=retry_for)

    async def forced_on(self, merchant_id: str, now: datetime) -> set[str]:
        async def work() -> set[str]:
            async with self.db.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(overrides.c.incident_id).where(
                            and_(overrides.c.merchant_id == merchant_id, or_(overrides.c.until.is_(None), overrides.c.until > now))
                        )
                    )
                ).all()
            return {r[0] for r in rows}

        return await self.db.run(work)

    async def all_forced_on(self, now: datetime) -> dict[str, set[str]]:
        """Every merchant's live force-on overrides (merchant id -> incident ids, "*" for all)."""

        async def work() -> dict[str, set[str]]:
            async with self.db.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(overrides.c.merchant_id, overrides.c.incident_id).where(
                            or_(overrides.c.until.is_(None), overrides.c.until > now)
                        )
                    )
                ).all()
            out: dict[str, set[str]] = {}
            for mid, iid in rows:
                out.setdefault(mid, set()).add(iid)
            return out

        return await self.db.run(work)

    # -- push outbox -----------------------------------------------------------------------------
    async def claim_pushes(self, now: datetime, lease_until: datetime, limit: int) -> list[tuple[str, int, int]]:
        """Claim due pushes (merchant_id, seq, attempts) under a lease so two processes never both send."""

        async def work() -> list[tuple[str, int, int]]:
            claimed: list[tuple[str, int, int]] = []
            async with self.db.begin() as conn:
                rows = (
                    await conn.execute(
                        select(pushes.c.merchant_id, pushes.c.seq, pushes.c.attempts)
                        .where(and_(pushes.c.done.is_(False), pushes.c.next_at <= now,
                                    or_(pushes.c.lease_until.is_(None), pushes.c.lease_until < now)))
                        .order_by(pushes.c.next_at)
                        .limit(limit)
                    )
                ).all()
                for mid, seq, attempts in rows:
                    res = await conn.execute(
                        update(pushes)
                        .where(and_(pushes.c.merchant_id == mid, pushes.c.seq == seq,
                                    or_(pushes.c.lease_until.is_(None), pushes.c.lease_until < now)))
                        .values(lease_until=lease_until)
                    )
                    if res.rowcount:
                        claimed.append((mid, seq, attempts))
            return claimed

        return await self.db.run(work)

    async def push_done(self, merchant_id: str, seq: int) -> None:
        async def work() -> None:
            async with self.db.begin() as conn:
                await conn.execute(
                    update(pushes).where(and_(pushes.c.merchant_id == merchant_id, pushes.c.seq == seq))
                    .values(done=True, lease_until=None, last_error=None)
                )

        await self.db.run(work)

    async def push_failed(self, merchant_id: str, seq: int, error: str, next_at: datetime | None) -> None:
        """Reschedule (``next_at``) or give up (None: recorded as failed, done)."""

        async def work() -> None:
            async with self.db.begin() as conn:
                await conn.execute(
                    update(pushes).where(and_(pushes.c.merchant_id == merchant_id, pushes.c.seq == seq))
                    .values(attempts=pushes.c.attempts + 1, last_error=error[:500], lease_until=None,
                            next_at=next_at if next_at is not None else pushes.c.next_at, done=next_at is None)
                )

        await self.db.run(work)
