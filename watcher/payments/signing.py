"""Signed payment-result batches: the header scheme and its pure verification.

A platform posts a JSON :class:`~watcher.events.payments.PaymentResultBatch` to
``POST /v1/payment-results`` with three headers:

* ``X-Huabei-Merchant``: the merchant id the batch belongs to (selects the shared secret);
* ``X-Huabei-Timestamp``: the signing time, whole unix seconds;
* ``X-Huabei-Signature``: ``sha256=`` followed by the lowercase hex of
  ``HMAC-SHA256(secret, timestamp + "." + body)``, where ``timestamp`` is the header value as
  sent and ``body`` the raw request bytes.

The server accepts a timestamp within ``max_skew_s`` (300 s) of its clock in either direction;
an older one is a replay, a newer one a wrong clock. Within that window an identical request
(same timestamp, same body) may arrive twice; it carries the same event id downstream, and the
HTTP handler answers it from a short memory of accepted signatures instead of publishing again.

Rejections are :class:`Rejected` errors carrying the HTTP status and a reason a person can act on:
400 malformed JSON or schema, 401 missing or bad signature, unknown merchant, stale or future
timestamp, 403 a batch naming another merchant than the signer, 413 a body over the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime

from pydantic import ValidationError

from watcher.errors import InvalidInput
from watcher.events.payments import PaymentResultBatch

MERCHANT_HEADER = "X-Huabei-Merchant"
TIMESTAMP_HEADER = "X-Huabei-Timestamp"
SIGNATURE_HEADER = "X-Huabei-Signature"
SIGNATURE_PREFIX = "sha256="
DEFAULT_MAX_SKEW_S = 300.0
DEFAULT_MAX_BODY_BYTES = 1_048_576


class Rejected(InvalidInput):
    """A request we refuse. ``status`` is the HTTP status; ``error`` a stable machine code."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Huabei-Signature`` value for ``body`` signed at ``timestamp``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(merchant_id: str, secret: str, body: bytes, now: datetime) -> dict[str, str]:
    """All three headers for a client sending ``body`` at ``now``."""
    ts = int(now.timestamp())
    return {MERCHANT_HEADER: merchant_id, TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(secret, ts, body)}


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return (value or "").strip()


def _schema_reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(body)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "batch does not match the schema: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def verify_request(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret_for: Callable[[str], str | None],
    now: datetime,
    max_skew_s: float = DEFAULT_MAX_SKEW_S,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> PaymentResultBatch:
    """Authenticate and parse one request. Returns the batch or raises :class:`Rejected`.

    Header lookup is case-insensitive. The signature is checked (constant-time) before the body
    is parsed, so unauthenticated bytes are never decoded.
    """
    if len(body) > max_body_bytes:
        raise Rejected(413, "body_too_large", f"body is {len(body)} bytes; the limit is {max_body_bytes}")
    merchant_id = _header(headers, MERCHANT_HEADER)
    if not merchant_id:
        raise Rejected(401, "missing_merchant", f"missing {MERCHANT_HEADER} header")
    raw_ts = _header(headers, TIMESTAMP_HEADER)
    if not raw_ts:
        raise Rejected(401, "missing_timestamp", f"missing {TIMESTAMP_HEADER} header")
    if not raw_ts.isascii() or not raw_ts.isdigit() or len(raw_ts) > 12:
        raise Rejected(401, "bad_timestamp", f"{TIMESTAMP_HEADER} must be whole unix seconds, got {raw_ts[:32]!r}")
    signature = _header(headers, SIGNATURE_HEADER).lower()
    if not signature:
        raise Rejected(401, "missing_signature", f"missing {SIGNATURE_HEADER} header")
    if not signature.startswith(SIGNATURE_PREFIX):
        raise Rejected(401, "bad_signature", f"{SIGNATURE_HEADER} must look like 'sha256=<hex>'")
    secret = secret_for(merchant_id)
    if not secret:
        raise Rejected(401, "unknown_merchant", f"merchant {merchant_id[:64]!r} has no signing secret configured")
    if not hmac.compare_digest(signature.encode("ascii", "replace"), sign(secret, raw_ts, body).encode("ascii")):
        raise Rejected(401, "bad_signature", "signature does not match (check the secret and sign timestamp + '.' + raw body)")
    skew = int(raw_ts) - now.timestamp()
    if skew < -max_skew_s:
        raise Rejected(401, "stale_timestamp", f"timestamp is {-skew:.0f}s old; at most {max_skew_s:g}s allowed (replay?)")
    if skew > max_skew_s:
        raise Rejected(401, "future_timestamp", f"timestamp is {skew:.0f}s in the future; check the sender's clock")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected(400, "malformed_json", f"body is not valid UTF-8 JSON: {exc}") from None
    try:
        batch = PaymentResultBatch.model_validate(payload)
    except ValidationError as exc:
        raise Rejected(400, "invalid_batch", _schema_reason(exc)) from None
    if batch.merchant_id != merchant_id or any(r.merchant_id != merchant_id for r in batch.results):
        raise Rejected(403, "merchant_mismatch", f"signed by {merchant_id!r} but the batch names another merchant")
    return batch
