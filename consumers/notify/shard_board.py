"""The shard board: shards of incident phases in the shared database, taken under leases.

A row per (incident, phase, shard). The process that plans a phase writes its rows (all shards of
a phase in one statement; a second planner racing it inserts nothing); any notify process takes a
shard by setting ``owner`` and ``lease_until`` where the lease is free or expired (a compare-and-set
in one UPDATE, so two processes never both win), renews the lease while it works, and writes
``done_at`` when the shard is told. A process that dies stops renewing: its shard is taken by
another after the lease runs out, and the delivery store's reservations keep every message to
once. The rules (ranges, completion) are in :mod:`consumers.notify.shards`.

Leases run on the database's clock on PostgreSQL (``now()``, as :mod:`huabei_watch.lease` does), so
hosts whose clocks disagree never take a live lease; SQLite serves one machine, one clock, and
uses the caller's. A renewal says which claims it kept: a lease that lapsed (or went to another
process) is lost, and its holder stops streaming the range. Every change is matched on owner,
phase and scope, so a shard's other phases held by the same process are left alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    String,
    Table,
    and_,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)

from consumers.notify.progress import scope_digest
from consumers.notify.shards import KeyRange, ShardRow, key_ranges, phases_complete, phases_to_offer
from huabei_watch.db.engine import Database, dialect
from huabei_watch.db.prune import delete_in_batches
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import insert_all_if_absent
from huabei_watch.events import Incident

notify_fanout_shards = Table(
    "notify_fanout_shards",
    metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("phase", String(64), primary_key=True),
    Column("shard", Integer, primary_key=True),
    Column("scope_digest", String(64), nullable=False),
    Column("lo", String(64), nullable=False),  # merchant ids lo <= id < hi
    Column("hi", String(64)),  # none: no upper bound
    Column("owner", String(128)),  # the process that took it last
    Column("lease_until", AwareDateTime()),  # free when none or past
    Column("done_at", AwareDateTime()),
    Column("created_at", AwareDateTime(), nullable=False),
)
T = notify_fanout_shards

#: Cuts the registry into ranges: shards -> sorted first ids of shards 1..n-1.
Bounds = Callable[[int], Awaitable[Sequence[str]]]


@dataclass(frozen=True, slots=True)
class Claim:
    """A shard this process holds: the phases of it still to tell, for one key range."""

    incident_id: str
    shard: int
    phases: frozenset[str]
    scope_digest: str
    keys: KeyRange


@dataclass(frozen=True, slots=True)
class Offered:
    split: frozenset[str]  # phases split into shards by this offer
    complete: frozenset[str]  # phases already done in every shard


class ShardBoard:
    """The board in the shared database (see the module doc)."""

    def __init__(self, db: Database, *, database_clock: bool | None = None) -> None:
        """``database_clock``: leases on the database's clock (default: on PostgreSQL) or on the
        ``now`` callers pass (default on SQLite; tests that move time by hand)."""
        self.db = db
        self._db_clock = dialect(db.engine) == "postgresql" if database_clock is None else database_clock

    def _at(self, now: datetime, seconds: float = 0.0) -> ColumnElement[datetime]:
        """``seconds`` from now on the lease clock (see ``database_clock``), as SQL."""
        if self._db_clock:
            return func.now() + timedelta(seconds=seconds)
        return literal(now + timedelta(seconds=seconds), AwareDateTime())

    @staticmethod
    def _mine(owner: str, c: Claim) -> tuple[ColumnElement[bool], ...]:
        """The rows of ``c`` (its phases, for its scope) ``owner`` holds and has not finished."""
        return (T.c.incident_id == c.incident_id, T.c.shard == c.shard, T.c.phase.in_(sorted(c.phases)),
                T.c.scope_digest == c.scope_digest, T.c.owner == owner, T.c.done_at.is_(None))

    async def offer(self, incident: Incident, pending: frozenset[str], shards: int, bounds: Bounds,
                    now: datetime) -> Offered:
        """Split each phase of ``pending`` not yet split for the incident's scope into ``shards``
        key ranges (``bounds`` cuts the registry; read only when a phase needs splitting). Shards
        of another scope are replaced. Says which phases this call split, and which were done in
        every shard already (their mark is due: the process that finished the last shard may have
        stopped before writing it)."""
        digest = scope_digest(incident)
        rows = await self._rows(incident.incident_id, pending)
        new = phases_to_offer(pending, rows, digest)
        complete = phases_complete(rows, digest)
        if not new:
            return Offered(new, complete)
        ranges = key_ranges(await bounds(shards)) if shards > 1 else [KeyRange()]
        fresh = [{"incident_id": incident.incident_id, "phase": p, "shard": i, "scope_digest": digest,
                  "lo": r.lo, "hi": r.hi, "owner": None, "lease_until": None, "done_at": None, "created_at": now}
                 for p in sorted(new) for i, r in enumerate(ranges)]

        async def work() -> None:
            async with self.db.begin() as conn:
                await conn.execute(delete(T).where(T.c.incident_id == incident.incident_id, T.c.phase.in_(sorted(new)),
                                                   T.c.scope_digest != digest))
                await insert_all_if_absent(conn, T, fresh, ["incident_id", "phase", "shard"])

        await self.db.run(work)
        return Offered(new, complete)

    async def _rows(self, incident_id: str, phases: Iterable[str]) -> list[ShardRow]:
        async def work() -> list[ShardRow]:
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(select(T.c.phase, T.c.shard, T.c.scope_digest, T.c.done_at).where(
                    T.c.incident_id == incident_id, T.c.phase.in_(sorted(set(phases)))))).all()
            return [ShardRow(r.phase, r.shard, r.scope_digest, r.done_at is not None) for r in rows]

        return await self.db.run(work)

    async def claim(self, owner: str, now: datetime, lease: float, limit: int) -> list[Claim]:
        """Take up to ``limit`` free shards, in (incident, shard) order, for ``lease`` seconds; each
        claim holds the free phases of that shard cut the same way (same scope and range). Never
        takes a shard another process holds (leases compared on the lease clock, not ``now``'s host)."""
        free = and_(T.c.done_at.is_(None), or_(T.c.lease_until.is_(None), T.c.lease_until <= self._at(now)))
        shape = (T.c.incident_id, T.c.shard, T.c.scope_digest, T.c.lo, T.c.hi)

        async def work() -> list[Claim]:
            async with self.db.engine.connect() as conn:
                candidates = (await conn.execute(
                    select(*shape).where(free).group_by(*shape).order_by(T.c.incident_id, T.c.shard)
                    .limit(limit * 4))).all()
            out: list[Claim] = []
            for c in candidates:
                if len(out) >= limit:
                    break
                same = (T.c.incident_id == c.incident_id, T.c.shard == c.shard, T.c.scope_digest == c.scope_digest,
                        T.c.lo == c.lo, T.c.hi.is_(None) if c.hi is None else T.c.hi == c.hi)
                async with self.db.begin() as conn:
                    taken = (await conn.execute(
                        update(T).where(free, *same).values(owner=owner, lease_until=self._at(now, lease))
                        .returning(T.c.phase))).scalars().all()
                if taken:
                    out.append(Claim(c.incident_id, c.shard, frozenset(taken), c.scope_digest, KeyRange(c.lo, c.hi)))
            return out

        return await self.db.run(work)

    async def renew(self, owner: str, claims: Iterable[Claim], now: datetime, lease: float) -> list[Claim]:
        """Extend the leases ``owner`` still holds on ``claims`` and returns the claims kept. A claim
        whose lease lapsed (taken over, or free for anyone to take) is lost and stays lost: its
        holder must stop telling its range."""
        held = list(claims)
        if not held:
            return []
        live = T.c.lease_until > self._at(now)

        async def work() -> list[Claim]:
            kept: list[Claim] = []
            async with self.db.begin() as conn:
                for c in held:
                    got = (await conn.execute(update(T).where(*self._mine(owner, c), live)
                                              .values(lease_until=self._at(now, lease)).returning(T.c.phase)))
                    if frozenset(got.scalars().all()) == c.phases:
                        kept.append(c)
            return kept

        return await self.db.run(work)

    async def release(self, owner: str, claims: Iterable[Claim]) -> None:
        """Give back the shards of ``claims`` ``owner`` still holds: free at once (e.g. on shutdown)."""
        held = list(claims)
        if not held:
            return

        async def work() -> None:
            async with self.db.begin() as conn:
                for c in held:
                    await conn.execute(update(T).where(*self._mine(owner, c)).values(lease_until=None))

        await self.db.run(work)

    async def finish(self, owner: str, claim: Claim, done: frozenset[str], again: frozenset[str],
                     again_at: datetime | None, now: datetime) -> frozenset[str]:
        """Record a pass over ``claim``: ``done`` phases are never taken again, ``again`` ones are
        free from ``again_at``; only rows ``owner`` still holds change (a shard taken over is the
        new holder's to record). Returns the phases of the claim now done in every shard."""
        c = claim

        async def work() -> None:
            async with self.db.begin() as conn:
                where = (T.c.incident_id == c.incident_id, T.c.shard == c.shard, T.c.scope_digest == c.scope_digest)
                if done:
                    await conn.execute(update(T).where(*where, T.c.phase.in_(sorted(done)), T.c.owner == owner,
                                                       T.c.done_at.is_(None)).values(done_at=now, lease_until=None))
                if again:
                    await conn.execute(update(T).where(*where, T.c.phase.in_(sorted(again)), T.c.owner == owner,
                                                       T.c.done_at.is_(None)).values(lease_until=again_at))

        await self.db.run(work)
        return phases_complete(await self._rows(c.incident_id, c.phases), c.scope_digest) if done else frozenset()

    async def prune(self, before: datetime) -> int:
        """Delete shards created before ``before`` (their phases are long marked, or moot)."""
        return await delete_in_batches(self.db, T, T.c.created_at < before)
