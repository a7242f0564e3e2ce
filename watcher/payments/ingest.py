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
  are compared on the merchant, the timestamp and the normalised signature (lowercase hex), so
  changing the case of the hex does not make a replay new; such a repeat is answered after the
  signature and timestamp checks, before its body is parsed (it is the body already accepted).
  The detector also drops a batch whose event id it has counted already.
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
    authenticate,
    parse_batch,
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
    """Requests accepted within the skew window (by digest, with their result count), bounded in size."""

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._seen: OrderedDict[bytes, tuple[float, int]] = OrderedDict()

    def _expire(self, now: float) -> None:
        while self._seen:
            at, _ = next(iter(self._seen.values()))
            if now - at < self._ttl_s and len(self._seen) <= self._max:
                break
            self._seen.popitem(last=False)

    def accepted(self, key: bytes, now: float) -> int | None:
        """The result count of the request accepted under ``key``; None when there is none."""
        self._expire(now)
        entry = self._seen.get(key)
        return None if entry is None else entry[1]

    def add(self, key: bytes, now: float, results: int) -> None:
        self._seen[key] = (now, results)
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
            auth = authenticate(
                request.headers,
                body,
                secret_for=secret_for,
                now=now,
                max_skew_s=max_skew_s,
                max_body_bytes=max_body_bytes,
            )
            # A request already accepted (same merchant, signature and timestamp, hence the same
            # body) is answered from memory before its body is parsed: a retry costs one HMAC.
            key = hashlib.sha256(f"{auth.signature}|{auth.timestamp}|{auth.merchant_id}".encode()).digest()
            mono = clock.monotonic()
            repeated = recent.accepted(key, mono)
            if repeated is not None:
                return _accepted(repeated, duplicate=True)
            batch = parse_batch(auth.merchant_id, body)
        except Rejected as exc:
            log.info(
                "payments.ingest_rejected",
                extra={"status": exc.status, "error": exc.error, "merchant": request.headers.get(MERCHANT_HEADER, "")[:64]},
            )
            response = _reject(exc)
            if exc.status == 413:
                response.force_close()  # the rest of the body is not read; do not reuse the connection
            return response
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
        recent.add(key, mono, len(batch.results))
        log.info("payments.ingest_accepted", extra={"merchant": batch.merchant_id, "results": len(batch.results)})
        return _accepted(len(batch.results))

    return handle
