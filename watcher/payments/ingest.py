"""``POST /v1/payment-results``: the aiohttp edge for signed payment-result batches.

The header scheme and the pure check live in :mod:`watcher.payments.signing` (re-exported here):
``X-Huabei-Merchant``, ``X-Huabei-Timestamp`` (unix seconds) and
``X-Huabei-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>``.

Contract of the handler:

* the body is read in chunks and refused with 413 as soon as it passes ``max_body_bytes``
  (a declared ``Content-Length`` over the limit is refused before reading anything);
* every rejection is JSON ``{"error": <code>, "reason": <text>}`` with the status of
  :class:`~watcher.payments.signing.Rejected`;
* ``202 {"accepted": n}`` is sent only after ``sink.accept(batch)`` returned, so an acknowledged
  batch is never lost; if the sink raises :class:`~huabei_watch.errors.TransientError` the answer is
  503 with ``Retry-After`` and the sender must retry; any other sink error is a 500, also not
  acknowledged;
* an identical signed request already accepted (while its timestamp is still valid) is answered 202 again
  (``"duplicate": true``) without a second publish: a retry after a lost response is safe. Requests
  are compared on the normalised signature (lowercase hex), so changing the case of the hex does
  not make a replay new; the detector also drops a batch whose event id it has counted already.
* a batch the sink cannot take in one record is split by the sink (:class:`~watcher.payments.pipeline.KafkaSink`);
  a body over the limit is a final 413, never a 503 that cannot succeed.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from aiohttp import web

from huabei_watch.clock import Clock
from huabei_watch.errors import TransientError
from watcher.payments.signing import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_SKEW_S,
    MERCHANT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Rejected,
    VerifiedBatch,
    normalised_signature,
    sign,
    signed_headers,
    verify_request,
)

__all__ = [
    "MERCHANT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "PaymentResultSink",
    "Rejected",
    "VerifiedBatch",
    "make_payment_results_handler",
    "sign",
    "signed_headers",
    "verify_request",
]

log = logging.getLogger(__name__)

PATH = "/v1/payment-results"
DEFAULT_RETRY_AFTER_S = 5
_CHUNK = 65_536


class PaymentResultSink(Protocol):
    async def accept(self, batch: VerifiedBatch) -> None:
        """Make the batch durable (e.g. publish to Kafka with acks=all).

        Returns only once it is durable; raises TransientError when it cannot be, right now.
        """
        ...


class _RecentlyAccepted:
    """Digests of requests accepted within the skew window, bounded in size."""

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    def _expire(self, now: float) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if now - at < self._ttl_s and len(self._seen) <= self._max:
                break
            del self._seen[key]

    def seen(self, key: bytes, now: float) -> bool:
        self._expire(now)
        return key in self._seen

    def add(self, key: bytes, now: float) -> None:
        self._seen[key] = now
        self._seen.move_to_end(key)
        self._expire(now)


def _accepted(n: int, *, duplicate: bool = False) -> web.Response:
    """``202 {"accepted": n}`` (``"duplicate": true`` for a repeated request), written without a
    JSON encoder: it is the answer to every good request."""
    body = b'{"accepted": %d, "duplicate": true}' % n if duplicate else b'{"accepted": %d}' % n
    return web.Response(body=body, status=202, content_type="application/json")


def _reject(exc: Rejected) -> web.Response:
    return web.json_response({"error": exc.error, "reason": exc.reason}, status=exc.status)


async def _read_bounded(request: web.Request, limit: int) -> bytes:
    declared = request.content_length
    if declared is not None and declared > limit:
        raise Rejected(413, "body_too_large", f"body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise Rejected(413, "body_too_large", f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def make_payment_results_handler(
    *,
    secret_for: Callable[[str], str | None],
    sink: PaymentResultSink,
    clock: Clock,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_skew_s: float = DEFAULT_MAX_SKEW_S,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler for ``POST /v1/payment-results`` (see the module docstring)."""
    recent = _RecentlyAccepted(ttl_s=2 * max_skew_s)

    async def handle(request: web.Request) -> web.StreamResponse:
        now: datetime = clock.now()
        try:
            body = await _read_bounded(request, max_body_bytes)
            batch = verify_request(
                request.headers,
                body,
                secret_for=secret_for,
                now=now,
                max_skew_s=max_skew_s,
                max_body_bytes=max_body_bytes,
            )
        except Rejected as exc:
            log.info(
                "payments.ingest_rejected",
                extra={"status": exc.status, "error": exc.error, "merchant": request.headers.get(MERCHANT_HEADER, "")[:64]},
            )
            response = _reject(exc)
            if exc.status == 413:
                response.force_close()  # the rest of the body is not read; do not reuse the connection
            return response
        key = hashlib.sha256(
            normalised_signature(request.headers).encode() + b"|" + request.headers.get(TIMESTAMP_HEADER, "").strip().encode()
        ).digest()
        mono = clock.monotonic()
        if recent.seen(key, mono):
            return _accepted(len(batch.results), duplicate=True)
        try:
            await sink.accept(batch)
        except TransientError as exc:
            retry_after = max(1, math.ceil(exc.retry_after)) if exc.retry_after else DEFAULT_RETRY_AFTER_S
            log.warning("payments.ingest_sink_unavailable", extra={"merchant": batch.merchant_id, "reason": exc.reason})
            return web.json_response(
                {"error": "unavailable", "reason": f"could not store the batch, retry later: {exc.reason}"},
                status=503,
                headers={"Retry-After": str(retry_after)},
            )
        except Exception:
            log.exception("payments.ingest_sink_failed", extra={"merchant": batch.merchant_id})
            return web.json_response({"error": "internal", "reason": "could not store the batch; retry later"}, status=500)
        recent.add(key, mono)
        log.info("payments.ingest_accepted", extra={"merchant": batch.merchant_id, "results": len(batch.results)})
        return _accepted(len(batch.results))

    return handle
