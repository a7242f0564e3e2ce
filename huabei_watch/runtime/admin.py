"""Admin server basics: /healthz (alive), /readyz (broker and database reachable), /metrics."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from huabei_watch import metrics

if TYPE_CHECKING:
    from huabei_watch.runtime.app import App

APP_KEY: web.AppKey[App[Any]] = web.AppKey("huabei_app")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def _broker_ok(app: App[Any]) -> bool:
    bus = app.bus
    if bus._producer is None:
        return False
    try:
        await asyncio.wait_for(bus._producer.client.fetch_all_metadata(), 3.0)
        return True
    except Exception:
        return False


async def readiness(app: App[Any]) -> tuple[bool, dict[str, bool]]:
    """Broker and database reachable, every consumer group joined, not shutting down."""
    checks: dict[str, bool] = {
        "broker": await _broker_ok(app),
        "database": await app.db.ping(),
    }
    for name, check in app.ready_checks.items():
        try:
            checks[name] = await check()
        except Exception:
            checks[name] = False
    return all(checks.values()) and not app.stopping.is_set(), checks


async def readyz(request: web.Request) -> web.Response:
    ok, checks = await readiness(request.app[APP_KEY])
    return web.json_response({"ready": ok, "checks": checks}, status=200 if ok else 503)


async def metrics_handler(request: web.Request) -> web.Response:
    body = generate_latest(metrics.REGISTRY)
    resp = web.Response(body=body)
    resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    resp.charset = "utf-8"
    return resp


def add_routes(app: App[Any]) -> None:
    app.web[APP_KEY] = app
    app.web.router.add_get("/healthz", healthz)
    app.web.router.add_get("/readyz", readyz)
    app.web.router.add_get("/metrics", metrics_handler)
