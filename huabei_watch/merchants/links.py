"""Signed links to a merchant's page, for messages that cannot carry a bearer token (a WeChat or
SMS message opened in a phone's in-app browser).

A link is ``{base}/m/{merchant_id}?exp={unix seconds}&sig={hex}`` where ``sig`` is
``HMAC-SHA256(secret, "merchant-page|" + merchant_id + "|" + exp)``. It reads one merchant's page
until ``exp`` and nothing else (no API, no other merchant). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote, urlencode


def link_signature(secret: str, merchant_id: str, expires: int) -> str:
    message = f"merchant-page|{merchant_id}|{expires}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def merchant_link(base_url: str, merchant_id: str, secret: str, expires_at: datetime) -> str:
    """The absolute link to ``merchant_id``'s page, valid until ``expires_at``."""
    exp = int(expires_at.timestamp())
    query = urlencode({"exp": exp, "sig": link_signature(secret, merchant_id, exp)})
    return f"{base_url.rstrip('/')}/m/{quote(merchant_id, safe='')}?{query}"


def link_valid(secret: str, merchant_id: str, exp: str, sig: str, now: datetime) -> bool:
    """True if ``exp``/``sig`` (query values as received) sign ``merchant_id`` and ``exp`` is not past."""
    if not exp.isdigit() or len(exp) > 12 or len(sig) != 64:
        return False
    expires = int(exp)
    if expires < now.timestamp():
        return False
    return hmac.compare_digest(link_signature(secret, merchant_id, expires), sig.lower())
