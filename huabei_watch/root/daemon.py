"""``huabei-watch run``: build the roles, start, wait for SIGTERM/SIGINT, drain, exit 0.

The role registry lives here: the only place that names and constructs every role, and wires
what one role offers another (the cashier's policy lookup into the watcher's ``/v1/diagnose``).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from huabei_watch.bus.broker import broker_address_file
from huabei_watch.clock import Clock
from huabei_watch.root import schema
from huabei_watch.root.feeds import add_feed_routes
from huabei_watch.root.merchant_page import add_merchant_routes
from huabei_watch.root.settings import Settings
from huabei_watch.root.status import add_status_routes
from huabei_watch.runtime.app import App, Role

log = logging.getLogger(__name__)


def build_roles(names: list[str]) -> list[Role]:
    """Roles in start order. Imports lazily so a single-role process loads only what it runs
    (and the tables of every role, which the migrations check)."""
    schema.load_tables()
    roles: list[Role] = []
    for name in names:
        if name == "watcher":
            from watcher.role import WatcherRole

            roles.append(WatcherRole())
        elif name == "incidents":
            from consumers.incidents.role import IncidentsRole

            roles.append(IncidentsRole())
        elif name == "cashier":
            from consumers.cashier.role import CashierRole
            from watcher.compat.api import add_diagnose_routes

            roles.append(CashierRole(diagnose_routes=add_diagnose_routes))
        elif name == "notify":
            from consumers.notify.role import NotifyRole

            roles.append(NotifyRole())
        else:
            raise ValueError(f"unknown role {name!r}")
    return roles


def build_app(settings: Settings, *, clock: Clock | None = None, bootstrap: str | None = None) -> App[Settings]:
    """The daemon's :class:`App`, with the status page on its admin server and the schema made ready
    at start (:func:`huabei_watch.root.schema.prepare_database`)."""
    schema.load_tables()
    return App(
        settings, clock=clock, bootstrap=bootstrap,
        admin_routes=(add_status_routes, add_feed_routes, add_merchant_routes),
        prepare_database=schema.prepare_database,
    )


async def run_daemon(settings: Settings, role_names: list[str], *, ready: asyncio.Event | None = None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)  # the handler only sets a flag
    app = build_app(settings)
    try:
        await app.start(build_roles(role_names))
        if app.broker is not None:
            broker_address_file(settings).write_text(app.broker.bootstrap_servers + "\n", "utf-8")
        log.info(
            "daemon.ready",
            extra={"roles": ",".join(role_names), "admin": f"http://{settings.admin.listen.rpartition(':')[0]}:{app.admin_port}"},
        )
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("daemon.stopping")
    finally:
        await app.stop()
        if app.broker is not None:
            broker_address_file(settings).unlink(missing_ok=True)
    return 0
