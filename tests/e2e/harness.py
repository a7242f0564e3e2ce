"""Run real roles in-process against the session broker, with an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, overload

import aiohttp

from consumers.cashier.role import CashierRole
from consumers.incidents.role import IncidentsRole
from consumers.notify.role import NotifyRole
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.clock import ManualClock
from huabei_watch.root.daemon import start_app
from huabei_watch.root.settings import Settings, parse_settings
from huabei_watch.runtime.app import App
from tests.support import security_section
from watcher.role import WatcherRole

OPS = "ops-token-for-tests"


def settings_for(tmp_path: Path, prefix: str, extra: dict[str, Any] | None = None) -> Any:
    data: dict[str, Any] = {
        "daemon": {"state_dir": str(tmp_path / "state"), "shutdown_timeout": 10},
        "admin": {"listen": "127.0.0.1:0", "ops_token": OPS},
        "kafka": {"topic_prefix": prefix, "group_prefix": prefix, "partitions": 2, "session_timeout": 6},
        "sandbox": {"enabled": False},
        "security": security_section(),
        "merchants": [
            {"id": "m-auto", "name": "自动店", "mode": "auto", "token": "tok-auto"},
            {"id": "m-notify", "name": "通知店", "mode": "notify_only", "token": "tok-notify"},
        ],
    }
    for k, v in (extra or {}).items():
        data[k] = {**data.get(k, {}), **v} if isinstance(v, dict) else v
    return parse_settings(data)


@asynccontextmanager
async def running(
    settings: Any, broker: EmbeddedBroker, roles: list[str], clock: ManualClock
) -> AsyncIterator[App[Settings]]:
    app = await start_app(settings, roles, clock=clock, bootstrap=broker.bootstrap_servers)
    try:
        yield app
    finally:
        await app.stop()


@overload
def role(app: App[Settings], name: Literal["watcher"]) -> WatcherRole: ...
@overload
def role(app: App[Settings], name: Literal["incidents"]) -> IncidentsRole: ...
@overload
def role(app: App[Settings], name: Literal["cashier"]) -> CashierRole: ...
@overload
def role(app: App[Settings], name: Literal["notify"]) -> NotifyRole: ...
def role(app: App[Settings], name: str) -> object:
    """The running role ``name`` of ``app``, as its class."""
    found = next(r for r in app.roles if r.name == name)
    expected = {"watcher": WatcherRole, "incidents": IncidentsRole, "cashier": CashierRole, "notify": NotifyRole}[name]
    assert isinstance(found, expected), f"role {name!r} is a {type(found).__name__}, not a {expected.__name__}"
    return found


async def get_json(app: App[Settings], path: str, token: str | None = OPS, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{app.admin_port}{path}", headers=h) as r:
        body = await r.text()
        return r.status, (await r.json() if body and r.content_type == "application/json" else body), {k.lower(): v for k, v in r.headers.items()}


async def post_json(app: App[Settings], path: str, body: Any, token: str | None = OPS) -> tuple[int, Any]:
    h = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as s, s.post(f"http://127.0.0.1:{app.admin_port}{path}", json=body, headers=h) as r:
        return r.status, await r.json()


def at(clock: ManualClock, when: datetime) -> None:
    clock.set(when)
