"""Bearer-token checks for the admin API.

* ops endpoints: ``Authorization: Bearer <admin.ops_token>``. With no ops token configured, only
  requests from loopback are allowed (a fresh install is usable locally, never remotely).
* merchant endpoints: a merchant's own token reads only that merchant (403 otherwise); the ops token
  reads all; no token is 401.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Literal, Protocol

from aiohttp import web
from pydantic import SecretStr

from huabei_watch.merchants.model import token_matches


class TokenHolder(Protocol):
    """A merchant as far as auth is concerned (:class:`~huabei_watch.merchants.model.Merchant` or
    :class:`~huabei_watch.merchants.model.MerchantAccess`)."""

    @property
    def token_hash(self) -> str | None: ...


def bearer(request: web.Request) -> str | None:
    """The bearer token, or None when absent or not printable ASCII (no real token is anything else)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not (token.isascii() and token.isprintable()):
        return None
    return token


def _is_loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def _error(status: int, reason: str) -> web.HTTPException:
    cls: type[web.HTTPException] = {401: web.HTTPUnauthorized, 403: web.HTTPForbidden}[status]
    return cls(text=f'{{"error": "{reason}"}}', content_type="application/json",
               headers={"WWW-Authenticate": 'Bearer realm="huabei-watch"'} if status == 401 else None)


def is_ops(request: web.Request, ops_token: SecretStr | None) -> bool:
    token = bearer(request)
    if ops_token is None:
        return _is_loopback(request)
    return token is not None and hmac.compare_digest(token.encode(), ops_token.get_secret_value().encode())


def require_ops(request: web.Request, ops_token: SecretStr | None) -> None:
    if is_ops(request, ops_token):
        return
    if ops_token is None:
        raise _error(403, "ops endpoints are only open to loopback until admin.ops_token is set")
    if bearer(request) is None:
        raise _error(401, "missing bearer token")
    raise _error(403, "this token may not use ops endpoints")


def require_merchant_or_ops(
    request: web.Request, merchant: TokenHolder | None, ops_token: SecretStr | None
) -> Literal["ops", "merchant"]:
    """Raise 401/403 unless the caller is ops or this merchant. Never tells whether a merchant exists
    to a caller that is neither."""
    token = bearer(request)
    if token is None:
        raise _error(401, "missing bearer token")
    if ops_token is not None and hmac.compare_digest(token.encode(), ops_token.get_secret_value().encode()):
        return "ops"
    if merchant is not None and token_matches(token, merchant.token_hash):
        return "merchant"
    raise _error(403, "this token may not read this merchant")
