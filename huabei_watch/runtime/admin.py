"""Admin server basics: /healthz (alive), /readyz (the truth about readiness), /metrics, and the
middleware that turns errors into JSON.

``/readyz`` answers 503 while any of these is false: the broker answers a metadata request; the
database commits a small write (a bounded probe, at most once a second); every consumer group of
the process is running and assigned since the broker's last restart; the process is not stopping.

Every error leaves as JSON ``{"error", "reason"}``: :class:`~huabei_watch.errors.InvalidInput` 400,
:class:`~huabei_watch.errors.TransientError` 503 with ``Retry-After``, anything else 500 (logged
once per kind, rate-limited). A client that goes away mid-request is logged at debug level only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from huabei_watch import metrics
from huabei_watch.errors import InvalidInput, TransientError

if TYPE_CHECKING:
    from huabei_watch.runtime.app import App

log = logging.getLogger(__name__)

APP_KEY: web.AppKey[App[Any]] = web.AppKey("huabei_app")
PROBE_EVERY_S = 1.0
RETRY_AFTER_S = 5


def error_response(status: int, error: str, reason: str, *, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps({"error": error, "reason": reason}, ensure_ascii=False), status=status,
        content_type="application/json", headers=headers,
    )


@web.middleware
async def errors_as_json(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.content_type == "application/json" or exc.status < 400:
            raise
        return error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.text or exc.reason,
                              headers={k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")})
    except InvalidInput as exc:
        return error_response(400, "invalid_input", exc.reason)
    except TransientError as exc:
        retry = str(max(1, int(exc.retry_after))) if exc.retry_after else str(RETRY_AFTER_S)
        log.warning("admin.unavailable", extra={"path": request.path, "reason": exc.reason})
        return error_response(503, "unavailable", f"{exc.reason}; nothing was changed, retry later",
                              headers={"Retry-After": retry})
    except (ConnectionResetError, asyncio.IncompleteReadError) as exc:
        log.debug("admin.client_gone", extra={"path": request.path, "reason": type(exc).__name__})
        return error_response(400, "client_gone", "the request ended before its body did")
    except Exception:
        log.exception("admin.handler_failed", extra={"path": request.path})
        return error_response(500, "internal", "unexpected error; see the daemon's log")


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


class _WriteProbe:
    """The database write probe, run at most once per :data:`PROBE_EVERY_S` (a flood of /readyz
    requests must not become a flood of writes); concurrent callers share one run."""

    def __init__(self) -> None:
        self._at = -1e18
        self._ok = False
        self._lock = asyncio.Lock()

    async def __call__(self, app: App[Any]) -> bool:
        async with self._lock:
            if time.monotonic() - self._at >= PROBE_EVERY_S:
                self._ok = await app.db.write_probe(app.clock.now())
                self._at = time.monotonic()
            return self._ok


_PROBE_KEY: web.AppKey[_WriteProbe] = web.AppKey("huabei_write_probe")


async def readiness(app: App[Any]) -> tuple[bool, dict[str, bool]]:
    """See the module docstring."""
    probe = app.web.get(_PROBE_KEY) or _WriteProbe()
    checks: dict[str, bool] = {"broker": await _broker_ok(app), "database": await probe(app)}
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
    ok, checks = await readiness(request.app[APP_KEY])
    metrics.READY.set(1.0 if ok else 0.0)
    for name, passed in checks.items():
        metrics.READY_CHECK.labels(name).set(1.0 if passed else 0.0)
    body = generate_latest(metrics.REGISTRY)
    resp = web.Response(body=body)
    resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    resp.charset = "utf-8"
    return resp


def add_routes(app: App[Any]) -> None:
    app.web[APP_KEY] = app
    app.web[_PROBE_KEY] = _WriteProbe()
    app.web.middlewares.append(errors_as_json)
    app.web.router.add_get("/healthz", healthz)
    app.web.router.add_get("/readyz", readyz)
    app.web.router.add_get("/metrics", metrics_handler)
