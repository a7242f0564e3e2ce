"""One active process for a singleton role, enforced by a lease with a fencing token.

The ``leases`` table holds one row per lease name: the holder, a fencing token that grows by one
at every change of holder, and (PostgreSQL) an expiry in the database's own clock.

* **PostgreSQL** (several hosts): the lease is the row. A process takes it only when it has
  expired (one atomic upsert), renews it every ``ha.renew_every`` for ``ha.lease_ttl`` and counts
  itself active only until its last renewal's send time plus ``ha.lease_ttl`` on its own
  monotonic clock, which ends before the database's expiry. A process SIGKILLed or paused stops
  renewing; the standby takes the row once it expired (at most ``lease_ttl`` + ``standby_poll``).
* **SQLite** (one machine): the lease is an exclusive ``flock`` on ``<state_dir>/<name>.lease``,
  released by the kernel the moment its holder dies; the row only carries the fencing token.

**Fencing.** The holder's :class:`Fence` stamps every record it publishes with the header
``huabei_fence: <name>:<token>``, and its bus refuses to publish
once the fence is no longer valid locally; the holder's database writes check it too
(:func:`check_fence`). A consumer given :class:`LeaseTokens` refuses a
record whose token is below the row's current token: a former leader that was paused past its
lease, woke up and published before noticing, is refused by everyone who reads it. The header is
not covered by the event signature (so readers of an older release still verify these records);
whoever could rewrite it could only replay a record its signer published, which incident
revisions already make harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import BigInteger, Column, DateTime, String, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from huabei_watch.config.settings import LeaseSettings
from huabei_watch.db.engine import Database, dialect
from huabei_watch.db.tables import metadata
from huabei_watch.errors import TransientError
from huabei_watch.events.auth import FENCE_HEADER

log = logging.getLogger(__name__)

leases = Table(
    "leases", metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("expires_at", DateTime(timezone=True)),
)


class LeaseLost(Exception):
    """The lease went to another process (or could not be renewed in time): stop acting."""


@dataclass
class Fence:
    """The holder's side: its token, and until when (monotonic) it may act."""

    name: str
    token: int
    valid_until: float
    monotonic: Callable[[], float] = time.monotonic

    def valid(self) -> bool:
        return self.monotonic() < self.valid_until

    def header(self) -> tuple[str, bytes]:
        return FENCE_HEADER, f"{self.name}:{self.token}".encode()


async def check_fence(conn: AsyncConnection, fence: Fence | None) -> None:
    """Inside a transaction of the lease holder: raise :class:`TransientError` unless ``fence``
    still holds its lease (its own clock, then the row's token). On PostgreSQL the row stays
    share-locked until the transaction ends, so a takeover (which updates the row) waits for this
    transaction and then rebuilds with its writes; after the takeover, this check refuses. Does
    nothing without a fence."""
    if fence is None:
        return
    if fence.valid():
        current = (await conn.execute(
            select(leases.c.token).where(leases.c.name == fence.name).with_for_update(read=True)
        )).scalar_one_or_none()
        if current is not None and int(current) == fence.token:
            return
    raise TransientError(f"not written: this process no longer holds the {fence.name} lease (token {fence.token}); "
                         "it stops, and the active process goes on")


class LeaseTokens:
    """The readers' side: whether a record's fencing token is still current (one indexed read)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def stale(self, name: str, token: int) -> bool:
        async def read() -> int | None:
            async with self.db.engine.connect() as conn:
                value = (await conn.execute(select(leases.c.token).where(leases.c.name == name))).scalar_one_or_none()
                return None if value is None else int(value)

        current = await self.db.run(read)
        return current is not None and token < current


class LeaseKeeper:
    """Takes, keeps and gives back one lease (see the module docstring). ``holder`` names this
    process in the row and in logs (host and pid)."""

    def __init__(
        self, db: Database, name: str, settings: LeaseSettings, *, state_dir: Path, holder: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.name = name
        self.settings = settings
        self.holder = holder or f"{os.uname().nodename}:{os.getpid()}"
        self.monotonic = monotonic
        self.sqlite = dialect(db.engine) == "sqlite"
        self.lock_path = state_dir / f"{name}.lease"
        self._lock_file: IO[bytes] | None = None
        self.fence: Fence | None = None
        #: Tries to take the lease, and renewals done (logged when the lease is given back).
        self.attempts = 0
        self.renewals = 0

    async def try_acquire(self) -> Fence | None:
        """One try: the fence if the lease is ours now, else None (held elsewhere, or the database
        failed: logged)."""
        self.attempts += 1
        try:
            fence = await (self._take_file() if self.sqlite else self._take_row())
        except TransientError as exc:
            log.warning("lease.acquire_failed", extra={"lease": self.name, "reason": exc.reason})
            return None
        if fence is not None:
            self.fence = fence
            log.info("lease.acquired", extra={"lease": self.name, "token": fence.token, "holder": self.holder})
        return fence

    async def acquire(self, stop: asyncio.Event) -> Fence | None:
        """Wait as standby until the lease is ours (then the fence) or ``stop`` is set (None)."""
        logged = False
        while not stop.is_set():
            fence = await self.try_acquire()
            if fence is not None:
                return fence
            if not logged:
                log.info("lease.standby", extra={"lease": self.name, "holder": self.holder,
                                                 "takes_over_within_s": self.settings.takeover_within})
                logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.standby_poll)
        return None

    async def keep(self) -> None:
        """Renew until cancelled; raises :class:`LeaseLost` once another process holds the lease
        or the lease could not be renewed before it ran out here."""
        fence = self.fence
        if fence is None:
            raise LeaseLost(f"lease {self.name} was never acquired")
        if self.sqlite:  # the flock lasts as long as the process
            await asyncio.Event().wait()
        while True:
            await asyncio.sleep(self.settings.renew_every)
            sent = self.monotonic()
            try:
                renewed = await self._renew_row(fence.token)
            except TransientError as exc:
                log.warning("lease.renew_failed", extra={"lease": self.name, "reason": exc.reason})
                if not fence.valid():
                    raise LeaseLost(f"lease {self.name} ran out while the database was unreachable") from None
                continue
            if not renewed:
                fence.valid_until = 0.0
                raise LeaseLost(f"lease {self.name} (token {fence.token}) is held by another process now")
            fence.valid_until = sent + self.settings.lease_ttl
            self.renewals += 1

    async def release(self) -> None:
        """Give the lease back (a clean stop: the standby takes over at its next poll)."""
        fence, self.fence = self.fence, None
        if fence is not None:
            fence.valid_until = 0.0
        if self._lock_file is not None:
            self._lock_file.close()  # closing drops the flock
            self._lock_file = None
        elif fence is not None:
            async def give_back() -> None:
                async with self.db.engine.begin() as conn:
                    await conn.execute(update(leases).where(leases.c.name == self.name, leases.c.token == fence.token)
                                       .values(expires_at=func.now() - timedelta(seconds=1)))

            with contextlib.suppress(TransientError):
                await self.db.run(give_back, retry_for=2.0)
        if fence is not None:
            log.info("lease.released", extra={"lease": self.name, "token": fence.token, "renewals": self.renewals})

    # -- backends --------------------------------------------------------------------------------
    async def _take_row(self) -> Fence | None:
        ttl = timedelta(seconds=self.settings.lease_ttl)

        from sqlalchemy.dialects.postgresql import insert as pg_insert  # PostgreSQL only (memory elsewhere)

        async def take() -> int | None:
            async with self.db.engine.begin() as conn:
                stmt = pg_insert(leases).values(name=self.name, holder=self.holder, token=1,
                                                expires_at=func.now() + ttl).on_conflict_do_update(
                    index_elements=[leases.c.name],
                    set_={"holder": self.holder, "token": leases.c.token + 1, "expires_at": func.now() + ttl},
                    where=(leases.c.expires_at < func.now()) | leases.c.expires_at.is_(None),
                ).returning(leases.c.token)
                value = (await conn.execute(stmt)).scalar_one_or_none()
                return None if value is None else int(value)

        sent = self.monotonic()
        token = await self.db.run(take, retry_for=self.settings.standby_poll)
        return None if token is None else Fence(self.name, token, sent + self.settings.lease_ttl, self.monotonic)

    async def _renew_row(self, token: int) -> bool:
        ttl = timedelta(seconds=self.settings.lease_ttl)

        async def renew() -> bool:
            async with self.db.engine.begin() as conn:
                done = await conn.execute(update(leases).where(leases.c.name == self.name, leases.c.token == token)
                                          .values(expires_at=func.now() + ttl).returning(leases.c.token))
                return done.first() is not None

        return await self.db.run(renew, retry_for=self.settings.renew_every)

    async def _take_file(self) -> Fence | None:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.lock_path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None

        async def bump() -> int:
            async with self.db.engine.begin() as conn:
                current = (await conn.execute(select(leases.c.token).where(leases.c.name == self.name))).scalar_one_or_none()
                if current is None:
                    await conn.execute(insert(leases).values(name=self.name, holder=self.holder, token=1))
                    return 1
                await conn.execute(update(leases).where(leases.c.name == self.name)
                                   .values(holder=self.holder, token=leases.c.token + 1))
                return int(current) + 1

        try:
            token = await self.db.run(bump)
        except BaseException:
            handle.close()
            raise
        self._lock_file = handle
        return Fence(self.name, token, float("inf"), self.monotonic)
