"""The ops status page: ``GET /status`` (and ``/`` redirecting to it) on the admin server.

Server-rendered HTML that works without JavaScript and refreshes itself every 15 s. Protected like
every ops endpoint (:func:`huabei_watch.runtime.auth.require_ops`: bearer ops token, or loopback when
no token is configured). Reads the database through :mod:`huabei_watch.root.status_data`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from huabei_watch.clock import to_shanghai
from huabei_watch.root.status_data import read_status
from huabei_watch.runtime.admin import APP_KEY, readiness
from huabei_watch.runtime.auth import require_ops

if TYPE_CHECKING:
    from huabei_watch.runtime.app import App

log = logging.getLogger(__name__)

REFRESH_SECONDS = 15
KIND_ZH = {"maintenance": "维护", "outage": "故障", "merchant_account": "商户账户", "integration": "兼容性"}
PHASE_ZH = {"scheduled": "计划中", "active": "进行中", "resolved": "已恢复", "cancelled": "已取消"}
HEALTH_ZH = {"ok": "正常", "failing": "失败", "degraded": "降级", "pending": "未完成首次轮询"}
WHY_ZH = {"platform": "平台开关", "merchant": "商户事件", "pinned": "固定关闭"}


@dataclass(frozen=True, slots=True)
class DaemonHealth:
    """The same checks as ``/readyz``, plus what runs in this process."""

    ready: bool
    checks: tuple[tuple[str, bool], ...]
    roles: tuple[str, ...]
    broker: str
    broker_restarts: int | None


async def daemon_health(app: App[Any]) -> DaemonHealth:
    ready, checks = await readiness(app)
    broker = "embedded" if app.broker is not None else app.bootstrap
    restarts = app.broker.restarts if app.broker is not None else None
    return DaemonHealth(ready, tuple(checks.items()), tuple(r.name for r in app.roles), broker, restarts)


def shanghai(value: datetime | None) -> str:
    """``2026-11-28 02:00`` in Asia/Shanghai; ``—`` for None."""
    return to_shanghai(value).strftime("%Y-%m-%d %H:%M") if value is not None else "—"


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["sh"] = shanghai
    text = resources.files("huabei_watch.root").joinpath("status.html.j2").read_text("utf-8")
    return env.from_string(text)


def _page_link(q: str, page: int) -> str:
    params: dict[str, str | int] = {"page": page}
    if q:
        params["q"] = q
    return "/status?" + urlencode(params)


async def status_page(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    require_ops(request, app.settings.admin.ops_token)
    q = request.query.get("q", "")
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        page = 1
    now = app.clock.now()
    health = await daemon_health(app)
    try:
        data = await read_status(app.db, now, q=q, page=page)
    except Exception as exc:
        log.warning("status.read_failed", extra={"reason": type(exc).__name__})
        return web.Response(
            status=503, content_type="text/html", charset="utf-8",
            text=f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
            "<p>数据库暂时无法读取 Database unavailable</p>",
        )
    off = data.off
    html = _template().render(
        now=now, refresh=REFRESH_SECONDS, health=health, data=data,
        active=[i for i in data.incidents if i.phase.value == "active"],
        upcoming=[i for i in data.incidents if i.phase.value == "scheduled"],
        kind_zh=KIND_ZH, phase_zh=PHASE_ZH, health_zh=HEALTH_ZH, why_zh=WHY_ZH,
        prev_link=_page_link(off.q, off.page - 1) if off.page > 1 else None,
        next_link=_page_link(off.q, off.page + 1) if off.page < off.pages else None,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-store"})


async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/status")


def add_status_routes(app: App[Any]) -> None:
    """Register ``/status`` and ``/`` on the admin server (``app.web[APP_KEY]`` must be set)."""
    app.web.router.add_get("/status", status_page)
    app.web.router.add_get("/", index)
