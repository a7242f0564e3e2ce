"""The one HMAC signing scheme huabei-watch speaks over HTTP, both ways: payment-result batches
posted to it, and what it posts out (cashier pushes, the webhook notification channel).

* ``X-Huabei-Merchant``: the merchant id the body belongs to (selects the shared secret);
* ``X-Huabei-Timestamp``: the signing time, whole unix seconds;
* ``X-Huabei-Signature``: ``sha256=`` followed by the lowercase hex of
  ``HMAC-SHA256(secret, timestamp + "." + body)``, where ``timestamp`` is the header value as
  sent and ``body`` the raw request bytes.

Pure: no I/O. Verifying an incoming payment-result batch is the watcher's
(:mod:`watcher.payments.signing`).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

MERCHANT_HEADER = "X-Huabei-Merchant"
TIMESTAMP_HEADER = "X-Huabei-Timestamp"
SIGNATURE_HEADER = "X-Huabei-Signature"
SIGNATURE_PREFIX = "sha256="


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Huabei-Signature`` value for ``body`` signed at ``timestamp``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(merchant_id: str, secret: str, body: bytes, now: datetime) -> dict[str, str]:
    """All three headers for a client sending ``body`` at ``now``."""
    ts = int(now.timestamp())
    return {MERCHANT_HEADER: merchant_id, TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(secret, ts, body)}
