"""Ops control of incidents on the admin server (``huabei-watch incident ...`` calls these).

Every command is stored before it takes effect; a database that does not take the write within a
few seconds answers ``503 {"error": "unavailable", "reason"}`` (the admin middleware) and nothing
of the command remains. A body that is not JSON (of any nesting depth), fails the schema, or a bad
query value is a 400.

``GET  /v1/incidents[?all=1]``            open incidents (all with ``all=1``)
``POST /v1/incidents``                    open a manual incident
``POST /v1/incidents/{id}/resolve``       resolve (or cancel, if not started) early
``POST /v1/incidents/{id}/silence``       silence notifications until a time or for a duration
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from consumers.incidents.engine import UnknownIncident
from huabei_watch.config.loader import format_errors
from huabei_watch.config.types import Duration
from huabei_watch.errors import InvalidInput
from huabei_watch.events import HUABEI_CHANNELS, IncidentKind, Scope
from huabei_watch.events.bounds import parse_json
from huabei_watch.runtime.auth import require_ops

if TYPE_CHECKING:
    from pydantic import SecretStr

    from consumers.incidents.role import IncidentsRole
    from huabei_watch.clock import Clock


class OpenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=200)
    summary_zh: str = ""
    advice_zh: str = ""
    kind: IncidentKind = IncidentKind.OUTAGE
    merchants: tuple[str, ...] = Field(default=(), description="Empty: platform-wide")
    channels: tuple[str, ...] = HUABEI_CHANNELS
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    toggle: bool = True
    by: str = "ops"


class SilenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    until: AwareDatetime | None = None
    duration: Annotated[float, Duration(gt=0, le=30 * 86400)] | None = Field(default=None, alias="for")


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    by: str = "ops"


def _bad(reason: str | list[str]) -> web.HTTPBadRequest:
    body = {"error": reason if isinstance(reason, str) else "; ".join(reason)}
    return web.HTTPBadRequest(text=json.dumps(body, ensure_ascii=False), content_type="application/json")


async def _body(request: web.Request, model: type[Any]) -> Any:
    raw = await request.read()
    try:
        data = parse_json(raw) if raw.strip() else {}
    except InvalidInput as exc:
        raise _bad(exc.reason) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _bad(format_errors(exc)) from None


def add_incident_routes(router: web.UrlDispatcher, role: IncidentsRole, *, ops_token: SecretStr | None, clock: Clock) -> None:
    """Add the ops endpoints above, answering from ``role``; every one needs the ops token."""

    def ok(obj: Any, status: int = 200) -> web.Response:
        return web.Response(
            text=json.dumps(obj, ensure_ascii=False, default=str), status=status, content_type="application/json"
        )

    async def list_incidents(request: web.Request) -> web.Response:
        require_ops(request, ops_token)
        show_all = request.query.get("all", "0")
        if show_all not in ("0", "1", "true", "false"):
            raise _bad("all must be 1, 0, true or false")
        items = role.list(open_only=show_all not in ("1", "true"))
        return ok({"incidents": [i.model_dump(mode="json") for i in items]})

    async def open_incident(request: web.Request) -> web.Response:
        require_ops(request, ops_token)
        req: OpenRequest = await _body(request, OpenRequest)
        try:
            inc = await role.open_manual(
                by=req.by, title=req.title, summary_zh=req.summary_zh, advice_zh=req.advice_zh, kind=req.kind,
                scope=Scope.merchants(*req.merchants) if req.merchants else Scope.platform(),
                channels=req.channels, starts_at=req.starts_at, ends_at=req.ends_at, toggle=req.toggle,
            )
        except InvalidInput as exc:
            raise _bad(exc.reason) from None
        return ok(inc.model_dump(mode="json"), 201)

    async def resolve(request: web.Request) -> web.Response:
        require_ops(request, ops_token)
        req: ResolveRequest = await _body(request, ResolveRequest)
        try:
            inc = await role.resolve(request.match_info["incident_id"], req.by)
        except UnknownIncident as exc:
            raise web.HTTPNotFound(text=json.dumps({"error": exc.reason}), content_type="application/json") from None
        return ok(inc.model_dump(mode="json"))

    async def silence(request: web.Request) -> web.Response:
        require_ops(request, ops_token)
        req: SilenceRequest = await _body(request, SilenceRequest)
        now: datetime = clock.now()
        if req.until is None and req.duration is None:
            raise _bad("give 'until' (a time with offset) or 'for' (a duration such as '2h')")
        until = req.until or now + timedelta(seconds=req.duration or 0)
        try:
            inc = await role.silence(request.match_info["incident_id"], until)
        except UnknownIncident as exc:
            raise web.HTTPNotFound(text=json.dumps({"error": exc.reason}), content_type="application/json") from None
        except InvalidInput as exc:
            raise _bad(exc.reason) from None
        return ok(inc.model_dump(mode="json"))

    router.add_get("/v1/incidents", list_incidents)
    router.add_post("/v1/incidents", open_incident)
    router.add_post("/v1/incidents/{incident_id}/resolve", resolve)
    router.add_post("/v1/incidents/{incident_id}/silence", silence)

