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
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, ValidationError

from consumers.cashier.model import Mode
from consumers.cashier.reader import PolicyReader
from consumers.cashier.store import CashierStore
from huabei_watch.config.loader import format_errors
from huabei_watch.errors import InvalidInput
from huabei_watch.events.bounds import parse_json
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.runtime.auth import require_merchant_or_ops, require_ops

#: Keeps Huabei on for one merchant: (merchant id, incident id or "*", until or None, by whom).
ForceOn = Callable[[str, str, datetime | None, str], Awaitable[None]]


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


def add_cashier_routes(
    router: web.UrlDispatcher, *, reader: PolicyReader, store: CashierStore, registry: MerchantRegistry,
    force_on: ForceOn, ops_token: SecretStr | None,
) -> None:
    """Add the endpoints above: policies from ``reader``, the change feed from ``store``, force-on
    through ``force_on`` (the role: it records the override and reconciles)."""

    async def pay_channels(request: web.Request) -> web.Response:
        merchant_id = request.match_info["merchant_id"]
        merchant = await reader.access(merchant_id)
        require_merchant_or_ops(request, merchant, ops_token)
        if merchant is None:
            return _json({"error": f"unknown merchant {merchant_id!r}"}, 404)
        body, tag = await reader.render(merchant_id, Mode(merchant.mode))
        headers = {"ETag": tag, "Cache-Control": "no-cache"}
        inm = request.headers.get("If-None-Match", "")
        if inm and (inm.strip() == "*" or tag in [t.strip() for t in inm.split(",")]):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers, content_type="application/json", charset="utf-8")

    async def changes(request: web.Request) -> web.Response:
        require_ops(request, ops_token)
        since = _int_param(request, "since", 0, 0, MAX_SEQ)
        limit = _int_param(request, "limit", 500, 1, 5000)
        if isinstance(since, web.Response):
            return since
        if isinstance(limit, web.Response):
            return limit
        rows = await store.changes_since(since, limit)
        items = [
            {
                "seq": r.seq, "merchant_id": r.subject, "before": r.before, "after": r.after, "reason": r.reason,
                "incident_ids": r.incident_ids, "at": r.at.isoformat() if r.at else None,
                "until": r.until.isoformat() if r.until else None,
            }
            for r in rows
        ]
        return _json({"changes": items, "next": rows[-1].seq if rows else since})

    async def post_force_on(request: web.Request) -> web.Response:
        require_ops(request, ops_token)
        merchant_id = request.match_info["merchant_id"]
        if await registry.get(merchant_id) is None:
            return _json({"error": f"unknown merchant {merchant_id!r}"}, 404)
        raw = await request.read()
        try:
            req = ForceOnRequest.model_validate(parse_json(raw) if raw.strip() else {})
        except InvalidInput as exc:
            return _json({"error": exc.reason}, 400)
        except ValidationError as exc:
            return _json({"error": "; ".join(format_errors(exc))}, 400)
        await force_on(merchant_id, req.incident_id, req.until, req.by)
        return _json({"merchant_id": merchant_id, "forced_on": req.incident_id, "until": req.until})

    router.add_get("/v1/merchants/{merchant_id}/pay-channels", pay_channels)
    router.add_get("/v1/pay-channels/changes", changes)
    router.add_post("/v1/merchants/{merchant_id}/force-on", post_force_on)
