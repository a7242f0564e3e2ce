"""``huabei-watch run``: build the roles, start, wait for SIGTERM/SIGINT, drain, exit 0.

The role registry lives here: the only place that names every role, builds each one from the
process's :class:`~huabei_watch.runtime.app.Resources` by handing its factory exactly what it needs
(its settings section, database, publisher, clock, ...), and wires what one role offers another
(the cashier's policy reader into the watcher's ``GET /v1/diagnose``, ``cashier.off_ttl`` into
notify).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Mapping
from datetime import timedelta

# First of ours: it makes sqlalchemy.ext.asyncio load without the ORM (huabei_watch.db.core_async)
# before the modules below import it.
import huabei_watch.db  # noqa: F401
from huabei_watch.bus.broker import broker_address_file
from huabei_watch.clock import Clock
from huabei_watch.lease import Fence
from huabei_watch.merchants.links import merchant_link
from huabei_watch.root import schema
from huabei_watch.root.feeds import add_feed_routes
from huabei_watch.root.merchant_routes import add_merchant_routes
from huabei_watch.root.settings import PagesSettings, Settings
from huabei_watch.root.standby import LEASE_LOST_EXIT, LEASED_ROLE, give_back, wait_for_lease
from huabei_watch.root.status import add_status_routes
from huabei_watch.runtime.app import App, Resources, Role, RoleFactory

log = logging.getLogger(__name__)


# Each factory imports its role lazily, so a single-role process loads only what it runs.
async def _watcher(r: Resources[Settings]) -> Role:
    from watcher.role import create_watcher_role

    return await create_watcher_role(
        r.settings, db=r.db, registry=r.registry, publisher=r.bus, clock=r.clock, http=r.http,
        scheduler=r.scheduler, tasks=r.tasks, payment_results_topic=r.topics.payment_results, router=r.router,
    )


async def _incidents(r: Resources[Settings]) -> Role:
    from consumers.incidents.role import create_incidents_role

    return await create_incidents_role(
        r.settings.incidents, db=r.db, publisher=r.bus, clock=r.clock, scheduler=r.scheduler,
        signals_topic=r.topics.signals, router=r.router, ops_token=r.settings.admin.ops_token, fence=r.fence,
        retention=r.settings.retention,
    )


async def _cashier(r: Resources[Settings]) -> Role:
    from consumers.cashier.role import create_cashier_role
    from watcher.compat.api import add_diagnose_routes

    role = await create_cashier_role(
        r.settings.cashier, db=r.db, registry=r.registry, publisher=r.bus, clock=r.clock, http=r.http,
        scheduler=r.scheduler, incidents_topic=r.topics.incidents, router=r.router,
        ops_token=r.settings.admin.ops_token, retention=r.settings.retention,
    )
    # Shopper hints (the watcher's diagnosis) answer with this process's cashier policy.
    add_diagnose_routes(r.router, role.reader.policy_message, registry=r.registry, ops_token=r.settings.admin.ops_token)
    return role


async def _notify(r: Resources[Settings]) -> Role:
    from consumers.notify.role import create_notify_role

    return await create_notify_role(
        r.settings.notify, off_ttl=r.settings.cashier.ttl, db=r.db, registry=r.registry, publisher=r.bus,
        clock=r.clock, http=r.http, scheduler=r.scheduler, tasks=r.tasks, incidents_topic=r.topics.incidents,
        link_for=merchant_links(r.settings.pages, r.clock), retention=r.settings.retention,
    )


def merchant_links(pages: PagesSettings, clock: Clock) -> Callable[[str], str] | None:
    """Merchant id -> a signed link to its page, valid ``pages.link_ttl`` from when it is made;
    None unless both ``pages.public_url`` (where people reach the page) and ``pages.link_secret``
    are set."""
    base, secret = pages.public_url, pages.link_secret
    if base is None or secret is None:
        return None
    key, ttl = secret.get_secret_value(), timedelta(seconds=pages.link_ttl)
    return lambda merchant_id: merchant_link(base, merchant_id, key, clock.now() + ttl)


#: Every role by name, in the order a process that runs several builds them.
ROLE_FACTORIES: Mapping[str, RoleFactory[Settings]] = {
    "watcher": _watcher,
    "incidents": _incidents,
    "cashier": _cashier,
    "notify": _notify,
}


def role_factories(names: list[str]) -> dict[str, RoleFactory[Settings]]:
    """Name -> factory of ``names``, in the order given. Raises ValueError for an unknown name.
    Every role's tables are loaded only when the database must be upgraded or checked
    (:func:`huabei_watch.root.schema.migrations`): a process imports the stores of its own roles."""
    unknown = [n for n in names if n not in ROLE_FACTORIES]
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r} (known: {', '.join(ROLE_FACTORIES)})")
    return {n: ROLE_FACTORIES[n] for n in names}


async def start_app(
    settings: Settings, roles: list[str], *, clock: Clock | None = None, bootstrap: str | None = None,
    fence: Fence | None = None,
) -> App[Settings]:
    """A running :class:`App` with the roles ``roles``, the status, feed and merchant pages on its
    admin server, and the schema made ready at start (:func:`huabei_watch.root.schema.prepare_database`).
    ``fence``: the lease the process holds (see :mod:`huabei_watch.root.standby`)."""
    return await App.start(
        settings, role_factories(roles), clock=clock, bootstrap=bootstrap,
        admin_routes=(add_status_routes, add_feed_routes, add_merchant_routes),
        prepare_database=schema.prepare_database, fence=fence,
    )


async def run_daemon(settings: Settings, role_names: list[str], *, ready: asyncio.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (exit 0). A process with the incidents role first waits as a
    standby for the lease; it exits with :data:`LEASE_LOST_EXIT` if the lease is lost later."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)  # the handler only sets a flag
    keeper = await wait_for_lease(settings, stop) if LEASED_ROLE in role_names else None
    if LEASED_ROLE in role_names and keeper is None:
        return 0  # stopped while standby
    code = 0
    keeping = asyncio.create_task(keeper.keep(), name="lease") if keeper is not None else None
    try:
        code = await _run_app(settings, role_names, stop, keeping, keeper.fence if keeper is not None else None, ready)
    finally:
        if keeping is not None:
            keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # a loss was logged as lease.lost
                await keeping
        if keeper is not None:
            await give_back(keeper)
    return code


async def _run_app(
    settings: Settings, role_names: list[str], stop: asyncio.Event, keeping: asyncio.Task[None] | None,
    fence: Fence | None, ready: asyncio.Event | None,
) -> int:
    app = await start_app(settings, role_names, fence=fence)
    code = 0
    try:
        if app.broker is not None:
            broker_address_file(settings).write_text(app.broker.bootstrap_servers + "\n", "utf-8")
        log.info(
            "daemon.ready",
            extra={"roles": ",".join(role_names), "admin": f"http://{settings.admin.listen.rpartition(':')[0]}:{app.admin_port}"},
        )
        if ready is not None:
            ready.set()
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([stopping, *([keeping] if keeping is not None else [])], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if keeping is not None and keeping.done() and not keeping.cancelled():
            lost = keeping.exception()
            log.error("lease.lost", extra={"reason": str(lost), "exit_code": LEASE_LOST_EXIT,
                                           "action": "stopping; the supervisor starts this process again as a standby"})
            code = LEASE_LOST_EXIT
        log.info("daemon.stopping")
    finally:
        await app.stop()
        if app.broker is not None:
            broker_address_file(settings).unlink(missing_ok=True)
    return code
