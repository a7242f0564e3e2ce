"""The ops status page: ``GET /status`` (and ``/`` redirecting to it) on the admin server.

Server-rendered HTML that works without JavaScript and refreshes itself every 15 s. Protected like
every ops endpoint (:func:`huabei_watch.runtime.auth.require_ops`: bearer ops token, or loopback when
no token is configured). Reads the database through :mod:`huabei_watch.root.status_data`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from aiohttp import web

from huabei_watch.root import status_svg
from huabei_watch.root.incident_page import add_incident_route
from huabei_watch.root.templates import render
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


def _page_link(q: str, page: int) -> str:
    params: dict[str, str | int] = {"page": page}
    if q:
        params["q"] = q
    return "/status?" + urlencode(params)


async def status_page(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    require_ops(request, app.settings.admin.ops_token)
    q = request.query.get("q", "")
    raw_page = request.query.get("page", "1")
    if not (raw_page.isascii() and raw_page.isdigit() and 1 <= int(raw_page[:7]) <= 100_000 and len(raw_page) <= 6):
        raise web.HTTPBadRequest(text='{"error": "bad_query", "reason": "page must be a whole number from 1 to 100000"}',
                                 content_type="application/json")
    page = int(raw_page)
    now = app.clock.now()
    health = await daemon_health(app)
    # Imported on the first page, not at start: they load every role's stores (~1 MB a watcher
    # would keep for a page nobody may open; bench/README.md, round `rss8`).
    from huabei_watch.root.status_data import read_status
    from huabei_watch.root.status_history import read_history

    try:
        data = await read_status(app.db, now, q=q, page=page)
        history = await read_history(app.db, now)
    except Exception as exc:
        log.warning("status.read_failed", extra={"reason": type(exc).__name__})
        return web.Response(
            status=503, content_type="text/html", charset="utf-8",
            text=f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
            "<p>数据库暂时无法读取 Database unavailable</p>",
        )
    off = data.off
    html = render(
        "status.html.j2",
        now=now, refresh=REFRESH_SECONDS, health=health, data=data, history=history, svg=status_svg,
        incident_link=incident_link,
        active=[i for i in data.incidents if i.phase.value == "active"],
        upcoming=[i for i in data.incidents if i.phase.value == "scheduled"],
        kind_zh=KIND_ZH, phase_zh=PHASE_ZH, health_zh=HEALTH_ZH, why_zh=WHY_ZH,
        prev_link=_page_link(off.q, off.page - 1) if off.page > 1 else None,
        next_link=_page_link(off.q, off.page + 1) if off.page < off.pages else None,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-store"})


def incident_link(incident_id: str) -> str:
    return "/status/incidents/" + quote(incident_id, safe="")


async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/status")


def add_status_routes(app: App[Any]) -> None:
    """Register ``/status``, ``/status/incidents/{id}`` and ``/`` on the admin server (``app.web[APP_KEY]`` must be set)."""
    app.web.router.add_get("/status", status_page)
    app.web.router.add_get("/", index)
    add_incident_route(app)
