"""``GET /v1/diagnose`` on the admin server: shopper hints for a failed payment.

``GET /v1/diagnose?code=40004&sub_code=ACQ.BUYER_BALANCE_NOT_ENOUGH[&merchant_id=m1][&transport_error=timeout]``

Answers ``{"cause", "shopper_message_zh", "advice_zh", "explanation", "retry"}``.

Auth (decided here): with ``merchant_id`` the merchant's own token or the ops token (401 without a
token, 403 for another merchant's token, 404 for an unknown merchant and the ops token); the
answer then takes the merchant's current Huabei switch into account (a maintenance's expected end).
Without ``merchant_id``: the ops token answers the diagnosis alone; a merchant's token stands for
its merchant (looked up by the token's hash), as if ``merchant_id`` named it; any other token is 403.
At least one of ``code``, ``sub_code``, ``transport_error`` is required (400 otherwise).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from huabei_watch.errors import TransientError
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.runtime.auth import bearer, is_ops, require_merchant_or_ops, require_ops
from watcher.compat.hints import shopper_hint
from watcher.payments.diagnosis import diagnose

if TYPE_CHECKING:
    from pydantic import SecretStr

log = logging.getLogger(__name__)

PolicyLookup = Callable[[str], Awaitable[str | None]]
MAX_PARAM = 128


def _json(obj: object, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(obj, ensure_ascii=False), status=status, content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def add_diagnose_routes(
    router: web.UrlDispatcher, policy_lookup: PolicyLookup, *, registry: MerchantRegistry, ops_token: SecretStr | None,
) -> None:
    """Add ``GET /v1/diagnose``. ``policy_lookup(merchant_id)`` returns the merchant's current cashier
    policy message (``message_zh``) when Huabei is switched off there, else None; if it fails the
    answer falls back to the diagnosis alone. ``registry`` says which merchants exist."""

    async def handler(request: web.Request) -> web.Response:
        q = request.query
        merchant_id = q.get("merchant_id", "").strip()
        params = {k: q.get(k, "").strip() for k in ("code", "sub_code", "transport_error")}
        if len(merchant_id) > 64 or any(len(v) > MAX_PARAM for v in params.values()):
            return _json({"error": f"merchant_id is at most 64 characters, the codes at most {MAX_PARAM}"}, 400)
        policy: str | None = None
        if merchant_id:
            merchant = await registry.get(merchant_id)
            require_merchant_or_ops(request, merchant, ops_token)
            if merchant is None:
                return _json({"error": f"unknown merchant {merchant_id!r}"}, 404)
        elif not is_ops(request, ops_token):
            token = bearer(request)
            merchant = await registry.by_token(token) if token is not None else None
            if merchant is None:
                require_ops(request, ops_token)  # raises the 401/403 that says why
            else:
                merchant_id = merchant.id
        if not any(params.values()):
            return _json({"error": "give code, sub_code or transport_error"}, 400)
        if merchant_id:
            policy = await _policy(policy_lookup, merchant_id)
        d = diagnose(params["code"], params["sub_code"], transport_error=params["transport_error"])
        return _json(shopper_hint(d, policy).to_json())

    router.add_get("/v1/diagnose", handler)


async def _policy(lookup: PolicyLookup, merchant_id: str) -> str | None:
    """The policy message, or None when the lookup fails (a hint must not fail with it)."""
    try:
        return await lookup(merchant_id)
    except (TransientError, OSError, TimeoutError) as exc:
        log.warning("diagnose.policy_unavailable", extra={"merchant_id": merchant_id, "reason": type(exc).__name__})
        return None
