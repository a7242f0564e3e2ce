"""Signed ingestion: every wrong request is a clear rejection; accepted batches are never lost."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from huabei_watch.clock import ManualClock
from huabei_watch.errors import InvalidInput, TransientError
from huabei_watch.events.payments import PaymentResultBatch
from watcher.payments.ingest import (
    MERCHANT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Rejected,
    VerifiedBatch,
    make_payment_results_handler,
    sign,
    signed_headers,
    verify_request,
)
from watcher.payments.signing import Authenticated, authenticate, parse_batch

NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
SECRETS = {"m1": "s3cret-m1", "m2": "s3cret-m2"}
LIMIT = 4096

Client = TestClient[web.Request, web.Application]


def batch_json(merchant: str = "m1", **overrides: Any) -> bytes:
    doc: dict[str, Any] = {
        "merchant_id": merchant,
        "results": [
            {"merchant_id": merchant, "at": "2026-11-11T09:59:00+08:00", "channel": "pcredit", "success": True},
            {
                "merchant_id": merchant,
                "at": "2026-11-11T09:59:30+08:00",
                "channel": "pcredit",
                "success": False,
                "code": "40004",
                "sub_code": "ACQ.BUYER_BALANCE_NOT_ENOUGH",
            },
        ],
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


class RecordingSink:
    """Keeps each accepted batch as the model a consumer of its record would decode."""

    def __init__(self) -> None:
        self.batches: list[PaymentResultBatch] = []
        self.unavailable = False

    async def accept(self, batch: VerifiedBatch) -> None:
        if self.unavailable:
            raise TransientError("broker away", retry_after=7.2)
        self.batches.append(PaymentResultBatch.model_validate_json(batch.to_json()))


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
async def client(sink: RecordingSink) -> AsyncIterator[Client]:
    app = web.Application()
    handler = make_payment_results_handler(
        secret_for=SECRETS.get, sink=sink, clock=ManualClock(NOW), max_body_bytes=LIMIT
    )
    app.router.add_post("/v1/payment-results", handler)
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        yield c


async def post(client: Client, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any], Any]:
    resp = await client.post("/v1/payment-results", data=body, headers={"Content-Type": "application/json", **headers})
    return resp.status, await resp.json(), resp.headers


async def test_signed_batch_is_accepted_and_reaches_the_sink(client: Client, sink: RecordingSink) -> None:
    body = batch_json()
    status, doc, _ = await post(client, body, signed_headers("m1", SECRETS["m1"], body, NOW))

    assert (status, doc) == (202, {"accepted": 2})
    assert sink.batches == [PaymentResultBatch.model_validate_json(body)]


@pytest.mark.parametrize(
    ("make_headers", "status", "error"),
    [
        (lambda body: signed_headers("m1", "wrong-secret", body, NOW), 401, "bad_signature"),
        (lambda body: signed_headers("m1", SECRETS["m1"], body, NOW - timedelta(seconds=301)), 401, "stale_timestamp"),
        (lambda body: signed_headers("m1", SECRETS["m1"], body, NOW - timedelta(days=3)), 401, "stale_timestamp"),
        (lambda body: signed_headers("m1", SECRETS["m1"], body, NOW + timedelta(seconds=400)), 401, "future_timestamp"),
        (lambda body: signed_headers("ghost", "whatever", body, NOW), 401, "unknown_merchant"),
        (lambda body: {}, 401, "missing_merchant"),
        (lambda body: {MERCHANT_HEADER: "m1", TIMESTAMP_HEADER: str(int(NOW.timestamp()))}, 401, "missing_signature"),
        (lambda body: {**signed_headers("m1", SECRETS["m1"], body, NOW), TIMESTAMP_HEADER: "yesterday"}, 401, "bad_timestamp"),
        (lambda body: {**signed_headers("m1", SECRETS["m1"], body, NOW), SIGNATURE_HEADER: "md5=abc"}, 401, "bad_signature"),
        (lambda body: signed_headers("m2", SECRETS["m2"], body, NOW), 403, "merchant_mismatch"),
    ],
    ids=[
        "wrong-secret", "replayed-301s", "replayed-3d", "future", "unknown-merchant", "no-headers",
        "no-signature", "timestamp-not-a-number", "not-sha256", "other-merchants-batch",
    ],
)
async def test_bad_credentials_are_rejected_with_a_reason_and_nothing_is_stored(
    client: Client, sink: RecordingSink, make_headers: Any, status: int, error: str
) -> None:
    body = batch_json()
    got, doc, _ = await post(client, body, make_headers(body))

    assert (got, doc["error"]) == (status, error)
    assert doc["reason"]
    assert sink.batches == []


async def test_signature_over_a_different_body_is_rejected(client: Client, sink: RecordingSink) -> None:
    headers = signed_headers("m1", SECRETS["m1"], batch_json(), NOW)
    tampered = batch_json().replace(b"ACQ.BUYER_BALANCE_NOT_ENOUGH", b"ACQ.SYSTEM_ERROR")

    status, doc, _ = await post(client, tampered, headers)

    assert (status, doc["error"]) == (401, "bad_signature") and sink.batches == []


async def test_malformed_json_is_a_400_with_the_parse_error(client: Client, sink: RecordingSink) -> None:
    body = b'{"merchant_id": "m1", "results": [}'
    status, doc, _ = await post(client, body, signed_headers("m1", SECRETS["m1"], body, NOW))

    assert (status, doc["error"]) == (400, "malformed_json")
    assert "JSON" in doc["reason"] and sink.batches == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (batch_json(results=[{"merchant_id": "m1", "at": "2026-11-11T10:00:00+08:00", "success": False}]), "results.0"),
        (batch_json(results=[{"merchant_id": "m1", "at": "2026-11-11T10:00:00", "success": True}]), "results.0.at"),
        (batch_json(results=[]), "results"),
        (batch_json(extra="field"), "extra"),
        (b"[1, 2, 3]", "(body)"),
    ],
    ids=["failure-without-reason", "naive-time", "empty", "unknown-field", "not-an-object"],
)
async def test_schema_invalid_batch_is_a_400_naming_the_field(client: Client, sink: RecordingSink, body: bytes, where: str) -> None:
    status, doc, _ = await post(client, body, signed_headers("m1", SECRETS["m1"], body, NOW))

    assert (status, doc["error"]) == (400, "invalid_batch")
    assert where in doc["reason"] and sink.batches == []


async def test_declared_oversized_body_is_refused_with_413(client: Client, sink: RecordingSink) -> None:
    body = batch_json(padding="x" * (2 * LIMIT))
    status, doc, _ = await post(client, body, signed_headers("m1", SECRETS["m1"], body, NOW))

    assert (status, doc["error"]) == (413, "body_too_large") and sink.batches == []


async def test_chunked_oversized_body_is_refused_while_reading(client: Client, sink: RecordingSink) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b" " * 2000

    resp = await client.post("/v1/payment-results", data=chunks(), headers=signed_headers("m1", SECRETS["m1"], b"", NOW))

    assert resp.status == 413 and (await resp.json())["error"] == "body_too_large"
    assert sink.batches == []


async def test_unavailable_sink_gets_503_with_retry_after_and_the_retry_is_stored_once(client: Client, sink: RecordingSink) -> None:
    body = batch_json()
    headers = signed_headers("m1", SECRETS["m1"], body, NOW)
    sink.unavailable = True

    status, doc, resp_headers = await post(client, body, headers)

    assert (status, doc["error"], resp_headers["Retry-After"]) == (503, "unavailable", "8")
    assert sink.batches == []

    sink.unavailable = False
    status, doc, _ = await post(client, body, headers)
    assert (status, doc) == (202, {"accepted": 2})
    assert len(sink.batches) == 1


async def test_identical_request_after_acceptance_is_acknowledged_without_a_second_publish(client: Client, sink: RecordingSink) -> None:
    body = batch_json()
    headers = signed_headers("m1", SECRETS["m1"], body, NOW)

    first = await post(client, body, headers)
    second = await post(client, body, headers)

    assert first[:2] == (202, {"accepted": 2})
    assert second[:2] == (202, {"accepted": 2, "duplicate": True})
    assert len(sink.batches) == 1


async def test_an_accepted_request_repeated_past_the_skew_window_is_refused_not_answered_from_memory(sink: RecordingSink) -> None:
    clock = ManualClock(NOW)
    app = web.Application()
    app.router.add_post("/v1/payment-results", make_payment_results_handler(
        secret_for=SECRETS.get, sink=sink, clock=clock, max_body_bytes=LIMIT))
    body = batch_json()
    headers = signed_headers("m1", SECRETS["m1"], body, NOW)
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        first = await post(c, body, headers)
        clock.advance(timedelta(seconds=301))  # the memory keeps it for twice the window
        again = await post(c, body, headers)

    assert first[:2] == (202, {"accepted": 2})
    assert (again[0], again[1]["error"]) == (401, "stale_timestamp")
    assert len(sink.batches) == 1


async def test_a_repeat_with_the_signature_hex_in_upper_case_is_the_same_request(client: Client, sink: RecordingSink) -> None:
    body = batch_json()
    headers = signed_headers("m1", SECRETS["m1"], body, NOW)
    shouted = {**headers, SIGNATURE_HEADER: "sha256=" + headers[SIGNATURE_HEADER].removeprefix("sha256=").upper()}

    first = await post(client, body, headers)
    second = await post(client, body, shouted)

    assert first[:2] == (202, {"accepted": 2})
    assert second[:2] == (202, {"accepted": 2, "duplicate": True})
    assert len(sink.batches) == 1


# -- the pure check, without a server -------------------------------------------------------------


def test_headers_are_matched_case_insensitively() -> None:
    body = batch_json()
    headers = {k.lower(): v for k, v in signed_headers("m1", SECRETS["m1"], body, NOW).items()}

    batch = verify_request(headers, body, secret_for=SECRETS.get, now=NOW)

    assert batch.merchant_id == "m1" and len(batch.results) == 2


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", 1700000000, b"{}") == f"sha256={expected}"


def test_rejections_carry_status_and_are_invalid_input() -> None:
    with pytest.raises(Rejected) as info:
        verify_request({}, b"x" * 11, secret_for=SECRETS.get, now=NOW, max_body_bytes=10)
    assert info.value.status == 413 and isinstance(info.value, InvalidInput)


def test_authenticate_checks_signature_and_time_without_decoding_the_body() -> None:
    body = b"not JSON at all"
    headers = signed_headers("m1", SECRETS["m1"], body, NOW)

    auth = authenticate(headers, body, secret_for=SECRETS.get, now=NOW)

    assert auth == Authenticated("m1", str(int(NOW.timestamp())), headers[SIGNATURE_HEADER].lower())
    with pytest.raises(Rejected) as info:
        parse_batch("m1", body)
    assert (info.value.status, info.value.error) == (400, "malformed_json")
    with pytest.raises(Rejected) as tampered:
        authenticate(headers, body + b" ", secret_for=SECRETS.get, now=NOW)
    assert tampered.value.error == "bad_signature"
