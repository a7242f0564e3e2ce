"""Who may open a merchant's page, calendar or feed.

* ``Authorization: Bearer <token>``: the merchant's own token (that merchant only) or the ops token;
* ``?token=<token>`` on calendar URLs, because calendar apps cannot send headers (same tokens);
* ``?exp=&sig=`` on the merchant page: a signed link (:mod:`huabei_watch.merchants.links`), when
  ``pages.link_secret`` is set.

Failures are 401 (nothing given), 403 (wrong or expired), never telling whether a merchant exists;
404 only to a caller that is ops.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web

from huabei_watch.merchants.links import link_valid
from huabei_watch.merchants.model import Merchant, token_matches
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.runtime.auth import bearer

if TYPE_CHECKING:
    from huabei_watch.root.settings import Settings
    from huabei_watch.runtime.app import App

Access = Literal["ops", "merchant", "link"]


def _deny(status: int, reason_zh: str, reason: str) -> web.HTTPException:
    cls: type[web.HTTPException] = web.HTTPUnauthorized if status == 401 else web.HTTPForbidden
    headers = {"WWW-Authenticate": 'Bearer realm="huabei-watch"'} if status == 401 else None
    return cls(text=f"{reason_zh}\n{reason}\n", content_type="text/plain", headers=headers)


async def merchant_access(
    request: web.Request, app: App[Settings], merchant_id: str, *, query_token: bool = False, signed_link: bool = False
) -> tuple[Merchant, Access]:
    """The merchant and how the caller proved access; raises an HTTP error otherwise."""
    token = bearer(request) or (request.query.get("token", "").strip() if query_token else "") or None
    exp, sig = request.query.get("exp", ""), request.query.get("sig", "")
    secret = app.settings.pages.link_secret
    if token is None and not (signed_link and secret is not None and sig):
        raise _deny(401, "请使用消息中的链接打开，或提供商户令牌。", "missing token: send Authorization: Bearer <token>")
    merchant = await MerchantRegistry(app.db).get(merchant_id)
    access: Access | None = None
    ops = app.settings.admin.ops_token
    if token is not None:
        if ops is not None and hmac.compare_digest(token.encode(), ops.get_secret_value().encode()):
            access = "ops"
        elif merchant is not None and token_matches(token, merchant.token_hash):
            access = "merchant"
    elif secret is not None and link_valid(secret.get_secret_value(), merchant_id, exp, sig, app.clock.now()):
        access = "link"
    if access is None:
        raise _deny(403, "链接已过期或无效，请使用最新消息中的链接。", "this token or link does not open this merchant")
    if merchant is None:
        raise web.HTTPNotFound(text=f"unknown merchant {merchant_id!r}\n", content_type="text/plain")
    return merchant, access


def base_url(request: web.Request, app: App[Any]) -> str:
    """``pages.public_url`` when set, else the scheme and host the request came in on."""
    configured: str | None = app.settings.pages.public_url
    return configured.rstrip("/") if configured else f"{request.scheme}://{request.host}"
