"""Signed payment-result batches: their pure verification.

A platform posts a JSON :class:`~huabei_watch.events.payments.PaymentResultBatch` to
``POST /v1/payment-results`` with the three headers of :mod:`huabei_watch.signing`
(``X-Huabei-Merchant``, ``X-Huabei-Timestamp``, ``X-Huabei-Signature``).

The server accepts a timestamp within ``max_skew_s`` (300 s) of its clock in either direction;
an older one is a replay, a newer one a wrong clock. Within that window an identical request
(same timestamp, same body) may arrive twice; it carries the same event id downstream, and the
HTTP handler answers it from a short memory of accepted signatures instead of publishing again.

Rejections are :class:`Rejected` errors carrying the HTTP status and a reason a person can act on:
400 malformed JSON or schema, 401 missing or bad signature, unknown merchant, stale or future
timestamp, 403 a batch naming another merchant than the signer, 413 a body over the limit.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from huabei_watch.errors import InvalidInput
from huabei_watch.events.bounds import MAX_DEPTH, depth_exceeds
from huabei_watch.events.payments import (
    BATCH_JSON,
    BATCH_VALIDATOR,
    FAILURE_NEEDS_A_REASON,
    PaymentResultBatchDict,
    PaymentResultDict,
    reason_missing,
)
from huabei_watch.signing import (
    MERCHANT_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_PREFIX,
    TIMESTAMP_HEADER,
    sign,
    signed_headers,
)

__all__ = [
    "DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_SKEW_S", "MERCHANT_HEADER", "SIGNATURE_HEADER", "SIGNATURE_PREFIX",
    "TIMESTAMP_HEADER", "Authenticated", "Rejected", "VerifiedBatch", "authenticate", "parse_batch", "sign",
    "signed_headers", "verify_request",
]

DEFAULT_MAX_SKEW_S = 300.0
DEFAULT_MAX_BODY_BYTES = 1_048_576


class Rejected(InvalidInput):
    """A request we refuse. ``status`` is the HTTP status; ``error`` a stable machine code."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error


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


def normalised_signature(headers: Mapping[str, str]) -> str:
    """The signature header as it is compared: trimmed, lowercase hex (``SHA256=AB..`` and
    ``sha256=ab..`` are the same signature, so the same request)."""
    return _header(headers, SIGNATURE_HEADER).lower()


@dataclass(frozen=True, slots=True)
class VerifiedBatch:
    """A batch that passed every check of :func:`verify_request`: signed by ``merchant_id``, whose
    results all name that merchant and match :class:`~huabei_watch.events.payments.PaymentResult`
    (validated into plain dicts by :data:`~huabei_watch.events.payments.BATCH_VALIDATOR`: an optional
    field the sender left out is absent, not filled in; nothing mutates them afterwards)."""

    merchant_id: str
    results: list[PaymentResultDict]
    #: The request body these results were validated from, as received (HMAC-authenticated);
    #: None for a part of a split batch.
    body: bytes | None = None

    def to_json(self) -> bytes:
        """The batch's normalised compact JSON: exactly ``PaymentResultBatch.model_dump_json()`` of
        the same results (the defaults filled in), whatever whitespace or key order the sender used."""
        return BATCH_JSON.dump_json(BATCH_JSON.validate_python({"merchant_id": self.merchant_id, "results": self.results}))


@dataclass(frozen=True, slots=True)
class Authenticated:
    """A request that passed :func:`authenticate`: signed by ``merchant_id`` with ``signature``
    (normalised) over ``timestamp`` and the body, within the skew window. The body is not parsed."""

    merchant_id: str
    timestamp: str
    signature: str


def authenticate(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret_for: Callable[[str], str | None],
    now: datetime,
    max_skew_s: float = DEFAULT_MAX_SKEW_S,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Authenticated:
    """Check the size, the headers, the signature (constant-time) and the timestamp's skew, without
    decoding the body. Raises :class:`Rejected`. Header lookup is case-insensitive."""
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
    signature = normalised_signature(headers)
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
    return Authenticated(merchant_id, raw_ts, signature)


def parse_batch(merchant_id: str, body: bytes) -> VerifiedBatch:
    """Parse and validate an authenticated body signed by ``merchant_id``. Raises :class:`Rejected`
    (400 malformed or off the schema, 403 a batch naming another merchant)."""
    try:
        # Parsed and validated in one pass by pydantic-core's JSON parser into plain dicts (no model
        # per result); it does not recurse without bound (it stops at 200 levels). A batch that
        # validates is 3 levels deep, so the nesting bound is measured only to explain a failure.
        doc: PaymentResultBatchDict = BATCH_VALIDATOR.validate_json(body)
    except ValidationError as exc:
        if depth_exceeds(body, MAX_DEPTH):
            raise Rejected(400, "malformed_json", f"body nests JSON deeper than {MAX_DEPTH} levels") from None
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise Rejected(400, "malformed_json", f"body is not valid JSON: {exc.errors()[0]['msg']}") from None
        raise Rejected(400, "invalid_batch", _schema_reason(exc)) from None
    results = doc["results"]
    others = doc["merchant_id"] != merchant_id
    for i, r in enumerate(results):  # one pass: a schema error (400) wins over a mismatch (403)
        if not r["success"] and reason_missing(False, r.get("code", ""), r.get("sub_code", ""), r.get("transport_error", "")):
            raise Rejected(400, "invalid_batch", f"batch does not match the schema: results.{i}: {FAILURE_NEEDS_A_REASON}")
        if r["merchant_id"] != merchant_id:
            others = True
    if others:
        raise Rejected(403, "merchant_mismatch", f"signed by {merchant_id!r} but the batch names another merchant")
    return VerifiedBatch(merchant_id, results, body)


def verify_request(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret_for: Callable[[str], str | None],
    now: datetime,
    max_skew_s: float = DEFAULT_MAX_SKEW_S,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> VerifiedBatch:
    """Authenticate and parse one request (:func:`authenticate`, then :func:`parse_batch`).
    Returns the batch or raises :class:`Rejected`; unauthenticated bytes are never decoded."""
    auth = authenticate(headers, body, secret_for=secret_for, now=now, max_skew_s=max_skew_s,
                        max_body_bytes=max_body_bytes)
    return parse_batch(auth.merchant_id, body)
