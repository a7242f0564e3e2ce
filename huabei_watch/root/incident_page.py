"""``GET /status/incidents/{id}``: one incident's timeline (ops, like the status page; no JavaScript).

Data from :mod:`huabei_watch.root.incident_data`; 404 for an incident not stored (closed ones are
removed some days after they end).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from huabei_watch.root.templates import render
from huabei_watch.runtime.admin import APP_KEY
from huabei_watch.runtime.auth import require_ops

log = logging.getLogger(__name__)

KIND_ZH = {"maintenance": "维护", "outage": "故障", "merchant_account": "商户账户", "integration": "兼容性"}
PHASE_ZH = {"scheduled": "计划中", "active": "进行中", "resolved": "已恢复", "cancelled": "已取消"}
WHAT_ZH = {"opened": "开启 opened", "phase": "阶段 phase", "switch": "开关 switch", "message": "通知 message"}
OUTCOME_ZH = {"sent": "已发送", "retried": "重试", "failed": "失败", "unconfirmed": "未确认", "pending": "发送中"}


async def incident_page(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    require_ops(request, app.settings.admin.ops_token)
    incident_id = request.match_info["incident_id"]
    now = app.clock.now()
    from huabei_watch.root.incident_data import read_timeline  # on the first page (the roles' stores)

    try:
        timeline = await read_timeline(app.db, incident_id, now)
    except Exception as exc:
        log.warning("incident_page.read_failed", extra={"reason": type(exc).__name__})
        return web.Response(status=503, content_type="text/html", charset="utf-8",
                            text='<!doctype html><meta charset="utf-8"><p>数据库暂时无法读取 Database unavailable</p>')
    if timeline is None:
        return web.Response(status=404, content_type="text/html", charset="utf-8",
                            text=render("incident_missing.html.j2", incident_id=incident_id))
    html = render(
        "status_incident.html.j2", now=now, t=timeline, i=timeline.incident, kind_zh=KIND_ZH, phase_zh=PHASE_ZH,
        what_zh=WHAT_ZH, outcome_zh=OUTCOME_ZH,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-store"})


def add_incident_route(app: Any) -> None:
    app.web.router.add_get("/status/incidents/{incident_id}", incident_page)
