"""A process that runs the incidents role is active only while it holds the ``incidents`` lease
(:mod:`huabei_watch.lease`); until then it is a standby.

A process that does not get the lease at its first try stands by: it answers ``/healthz`` (200,
``"standby"``) and ``/readyz`` (503) on ``admin.listen`` and tries to take the lease every
``ha.standby_poll``. Once it holds it, the standby server closes
and the daemon starts every role of the process as usual: the incidents role rebuilds from the
database, applies what fell due and re-asserts every open incident.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from huabei_watch.db.engine import Database
from huabei_watch.lease import Fence, LeaseKeeper
from huabei_watch.root import schema
from huabei_watch.root.settings import Settings
from huabei_watch.runtime.app import AdminServer

log = logging.getLogger(__name__)

#: The role that must run in one process at a time.
LEASED_ROLE = "incidents"
#: Exit code of a process that lost its lease (its supervisor starts it again, as a standby).
LEASE_LOST_EXIT = 3


async def wait_for_lease(settings: Settings, stop: asyncio.Event) -> LeaseKeeper | None:
    """The keeper holding the lease, or None when ``stop`` was set first. The keeper owns a
    database connection of its own (closed by :func:`give_back`)."""
    settings.daemon.state_dir.mkdir(parents=True, exist_ok=True)
    db = await Database.open(settings.database_url(), pool_size=1, retry_for=settings.database.retry_for)
    try:
        await schema.prepare_database(db)
        keeper = LeaseKeeper(db, LEASED_ROLE, settings.ha, state_dir=settings.daemon.state_dir)
        fence = await keeper.try_acquire()
        if fence is None:
            fence = await _stand_by(settings, keeper, stop)
    except BaseException:
        await db.close()
        raise
    if fence is None:
        await db.close()
        return None
    return keeper


async def _stand_by(settings: Settings, keeper: LeaseKeeper, stop: asyncio.Event) -> Fence | None:
    """Serve the standby's health endpoints while waiting for the lease."""
    server = AdminServer(settings.admin)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "standby", "lease": LEASED_ROLE})

    async def readyz(_: web.Request) -> web.Response:
        return web.json_response({"ready": False, "standby": True, "lease": LEASED_ROLE}, status=503)

    server.web.router.add_get("/healthz", healthz)
    server.web.router.add_get("/readyz", readyz)
    await server.start()
    try:
        return await keeper.acquire(stop)
    finally:
        await server.close()


async def give_back(keeper: LeaseKeeper) -> None:
    """Release the lease (the standby takes over at its next poll) and close the keeper's database."""
    try:
        await keeper.release()
    finally:
        await keeper.db.close()
