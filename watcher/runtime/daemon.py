"""``huabei-watch run``: build the roles, start, wait for SIGTERM/SIGINT, drain, exit 0."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from watcher.config.settings import Settings
from watcher.runtime.app import App, Role

log = logging.getLogger(__name__)


def broker_address_file(settings: Settings) -> Path:
    return settings.daemon.state_dir / "broker.addr"


def read_broker_address(settings: Settings) -> str | None:
    try:
        text = broker_address_file(settings).read_text("utf-8").strip()
    except OSError:
        return None
    return text or None


def build_roles(names: list[str]) -> list[Role]:
    """Roles in start order. Imports lazily so a single-role process loads only what it runs."""
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

            roles.append(CashierRole())
        elif name == "notify":
            from consumers.notify.role import NotifyRole

            roles.append(NotifyRole())
        else:
            raise ValueError(f"unknown role {name!r}")
    return roles


async def run_daemon(settings: Settings, role_names: list[str], *, ready: asyncio.Event | None = None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)  # the handler only sets a flag
    app = App(settings)
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
