"""Calendars and feeds on the admin server.

* ``GET /v1/merchants/{id}/calendar.ics``: the maintenance windows that affect one merchant
  (merchant token as bearer or ``?token=``, a signed merchant link, or the ops token);
* ``GET /v1/maintenance.ics``: every maintenance window (ops token as bearer or ``?token=``);
* ``GET /v1/incidents.atom``: every incident, newest change first (ops token as bearer or ``?token=``).

Documents are built by :mod:`huabei_watch.root.calendars`; this module reads and answers.
"""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from huabei_watch.events import IncidentKind
from huabei_watch.root.calendars import calendar_windows, incidents_atom, maintenance_calendar
from huabei_watch.root.page_auth import base_url, merchant_access
from huabei_watch.runtime.admin import APP_KEY
from huabei_watch.runtime.auth import require_ops

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncConnection

    from huabei_watch.events import Incident
    from huabei_watch.root.settings import Settings
    from huabei_watch.runtime.app import App

log = logging.getLogger(__name__)

ICS = "text/calendar"
#: Incidents in the Atom feed: open ones and those changed within this long.
ATOM_HISTORY = timedelta(days=30)


def _app(request: web.Request) -> App[Settings]:
    app: App[Settings] = request.app[APP_KEY]
    return app


def _require_ops(request: web.Request, app: App[Settings]) -> None:
    """Ops, by bearer token or, for calendar and feed readers that cannot send headers, ``?token=``."""
    token, ops = request.query.get("token", ""), app.settings.admin.ops_token
    if token and ops is not None and hmac.compare_digest(token.encode(), ops.get_secret_value().encode()):
        return
    require_ops(request, ops)


def _ics(body: bytes, filename: str) -> web.Response:
    resp = web.Response(body=body, content_type=ICS, charset="utf-8")
    resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-cache"
    return resp


async def _incidents(conn: AsyncConnection, *, kinds: Sequence[str] = ()) -> list[Incident]:
    """:func:`huabei_watch.root.reads.incidents`, imported on the first feed asked (it loads the
    incidents role's store, which a process that serves no feed does not need)."""
    from huabei_watch.root import reads

    return await reads.incidents(conn, kinds=kinds)


async def merchant_calendar(request: web.Request) -> web.Response:
    app = _app(request)
    merchant_id = request.match_info["merchant_id"]
    merchant, _ = await merchant_access(request, app, merchant_id, query_token=True, signed_link=True)
    now = app.clock.now()
    async with app.db.engine.connect() as conn:
        found = await _incidents(conn, kinds=[IncidentKind.MAINTENANCE.value])
    windows = calendar_windows(found, now, merchant.id)
    page = f"{base_url(request, app)}/m/{quote(merchant.id, safe='')}"
    body = maintenance_calendar(
        windows, name=f"花呗维护 · {merchant.name or merchant.id}", now=now, page_url=page,
        switches=merchant.mode == "auto",
    )
    return _ics(body, f"huabei-{merchant.id}.ics")


async def ops_calendar(request: web.Request) -> web.Response:
    app = _app(request)
    _require_ops(request, app)
    now = app.clock.now()
    async with app.db.engine.connect() as conn:
        found = await _incidents(conn, kinds=[IncidentKind.MAINTENANCE.value])
    body = maintenance_calendar(
        calendar_windows(found, now), name="花呗维护 Huabei maintenance (ops)", now=now,
        page_url=f"{base_url(request, app)}/status",
    )
    return _ics(body, "huabei-maintenance.ics")


async def incidents_feed(request: web.Request) -> web.Response:
    app = _app(request)
    _require_ops(request, app)
    now = app.clock.now()
    async with app.db.engine.connect() as conn:
        found = await _incidents(conn)
    recent = [i for i in found if i.phase.is_open or i.updated_at >= now - ATOM_HISTORY]
    body = incidents_atom(recent, base_url=base_url(request, app), now=now)
    return web.Response(body=body, content_type="application/atom+xml", charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


def add_feed_routes(app: App[Any]) -> None:
    """Register the calendar and feed endpoints (``app.web[APP_KEY]`` must be set)."""
    app.web.router.add_get("/v1/merchants/{merchant_id}/calendar.ics", merchant_calendar)
    app.web.router.add_get("/v1/maintenance.ics", ops_calendar)
    app.web.router.add_get("/v1/incidents.atom", incidents_feed)
