"""The policy API on the admin server.

``GET  /v1/merchants/{id}/pay-channels``   the merchant's policy (merchant or ops token), ETag / 304
``GET  /v1/pay-channels/changes?since=N``  every switch change after audit sequence N (ops token);
                                           ``merchant_id`` ``"*"`` is the platform switch, which
                                           applies to every merchant in ``auto`` mode
``POST /v1/merchants/{id}/force-on``       ops: keep Huabei on for one merchant
                                           (``{"incident_id": "*" | id, "until": iso | null}``)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from consumers.cashier.fallbacks import next_down_change
from consumers.cashier.model import Mode
from consumers.cashier.store import PLATFORM
from consumers.cashier.view import etag
from huabei_watch.config.loader import format_errors
from huabei_watch.errors import InvalidInput
from huabei_watch.events.bounds import parse_json
from huabei_watch.runtime.auth import require_merchant_or_ops, require_ops

if TYPE_CHECKING:
    from consumers.cashier.role import CashierRole
    from huabei_watch.runtime.app import App


class ForceOnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: str = Field(default="*", min_length=1, max_length=200)
    until: AwareDatetime | None = None
    by: str = "ops"


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(obj, ensure_ascii=False, default=str), status=status, content_type="application/json",
        headers=headers,
    )


MAX_SEQ = 2**63 - 1


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int | web.Response:
    """A whole-number query value within [low, high], or the 400 that says so."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not low <= int(raw) <= high:
        return _json({"error": f"{name} must be a whole number from {low} to {high}"}, 400)
    return int(raw)


def add_cashier_routes(app: App[Any], role: CashierRole) -> None:
    ops_token = app.settings.admin.ops_token

    async def pay_channels(request: web.Request) -> web.Response:
        assert role.cache is not None and role.view is not None
        merchant_id = request.match_info["merchant_id"]
        merchant = await role.cache.merchant(merchant_id)
        require_merchant_or_ops(request, merchant, ops_token)
        if merchant is None:
            return _json({"error": f"unknown merchant {merchant_id!r}"}, 404)
        body, tag = await render(merchant_id, merchant.mode)
        headers = {"ETag": tag, "Cache-Control": "no-cache"}
        inm = request.headers.get("If-None-Match", "")
        if inm and (inm.strip() == "*" or tag in [t.strip() for t in inm.split(",")]):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers, content_type="application/json", charset="utf-8")

    async def render(merchant_id: str, mode: str) -> tuple[bytes, str]:
        """The policy body and its ETag, rendered once per state generation (the hot path: cashiers
        poll this for every checkout)."""
        assert role.cache is not None and role.view is not None
        await role.cache.fresh()
        now = app.clock.now()
        # An ``auto`` merchant with no switch and no override of its own has the platform's policy,
        # and the body names no merchant: all of them share one rendering (100,000 merchants
        # polled at random would otherwise each be rendered again after every refresh).
        own = merchant_id in role.cache.states or merchant_id in role.cache.forced
        key = (merchant_id if own else "", mode)
        hit = role.cache.rendered.get(key)
        if hit is not None and hit[0] == role.cache.generation and (hit[1] is None or now < hit[1]):
            return hit[2], hit[3]
        generation = role.cache.generation
        state = await role.merchant_state(merchant_id, Mode(mode))
        policy = role.view.policy_json(state, now, role.channels_down(now))
        body = json.dumps(policy, ensure_ascii=False).encode()
        tag = etag(policy)
        if len(role.cache.rendered) > 100_000:
            role.cache.rendered.clear()
        # Valid until the earliest expiry among the switches it was built from (fail open on time).
        # ... and until a maintenance window starts or ends (its channels join or leave the fallbacks).
        untils = [st.until for st in (role.cache.states.get(PLATFORM), role.cache.states.get(merchant_id))
                  if st is not None and st.channels and st.until is not None and st.until > now]
        change = next_down_change(role.cache.maintenance, now)
        if change is not None:
            untils.append(change)
        role.cache.rendered[key] = (generation, min(untils, default=None), body, tag)
        return body, tag

    async def changes(request: web.Request) -> web.Response:
        assert role.store is not None
        require_ops(request, ops_token)
        since = _int_param(request, "since", 0, 0, MAX_SEQ)
        limit = _int_param(request, "limit", 500, 1, 5000)
        if isinstance(since, web.Response):
            return since
        if isinstance(limit, web.Response):
            return limit
        rows = await role.store.changes_since(since, limit)
        items = [
            {
                "seq": r.seq, "merchant_id": r.subject, "before": r.before, "after": r.after, "reason": r.reason,
                "incident_ids": r.incident_ids, "at": r.at.isoformat() if r.at else None,
                "until": r.until.isoformat() if r.until else None,
            }
            for r in rows
        ]
        return _json({"changes": items, "next": rows[-1].seq if rows else since})

    async def force_on(request: web.Request) -> web.Response:
        assert role.registry is not None
        require_ops(request, ops_token)
        merchant_id = request.match_info["merchant_id"]
        if await role.registry.get(merchant_id) is None:
            return _json({"error": f"unknown merchant {merchant_id!r}"}, 404)
        raw = await request.read()
        try:
            req = ForceOnRequest.model_validate(parse_json(raw) if raw.strip() else {})
        except InvalidInput as exc:
            return _json({"error": exc.reason}, 400)
        except ValidationError as exc:
            return _json({"error": "; ".join(format_errors(exc))}, 400)
        await role.force_on(merchant_id, req.incident_id, req.until, req.by)
        return _json({"merchant_id": merchant_id, "forced_on": req.incident_id, "until": req.until})

    app.web.router.add_get("/v1/merchants/{merchant_id}/pay-channels", pay_channels)
    app.web.router.add_get("/v1/pay-channels/changes", changes)
    app.web.router.add_post("/v1/merchants/{merchant_id}/force-on", force_on)
