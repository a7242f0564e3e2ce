"""Generic signed webhook and the sandbox channels (console, file)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from consumers.notify.channels.base import OutboundMessage
from consumers.notify.channels.console import ConsoleChannel
from consumers.notify.channels.file import FileChannel
from consumers.notify.channels.webhook import WebhookChannel, webhook_signature
from huabei_watch.clock import ManualClock
from huabei_watch.errors import PermanentError, TransientError
from tests.fakes.base import Failure
from tests.fakes.webhook import FakeWebhookReceiver

SECRET = "whsec-0123456789"


def message(url: str, n: int = 1) -> OutboundMessage:
    return OutboundMessage(
        dedupe_key=f"m1|inc-{n}|opened|webhook", recipient="m1", address=url, title="花呗故障", text="花呗暂不可用",
        markdown="**花呗暂不可用**", critical=True, template_params=(("shop", "小王水果店"),),
    )


@pytest.fixture
async def receiver(clock: ManualClock) -> AsyncIterator[FakeWebhookReceiver]:
    async with FakeWebhookReceiver(clock, secret=SECRET) as server:
        yield server


def hook(http: aiohttp.ClientSession, clock: ManualClock, secret: str = SECRET) -> WebhookChannel:
    return WebhookChannel(http, clock, secret=SecretStr(secret))


async def test_signed_json_is_accepted_by_a_receiver_checking_the_signature(
    http: aiohttp.ClientSession, clock: ManualClock, receiver: FakeWebhookReceiver
) -> None:
    msg = message(receiver.base_url + "/huabei")
    await hook(http, clock).send(msg)
    got = receiver.received[0]
    assert got.recipient == "/huabei" and got.ref == msg.ref
    assert got.body["dedupe_key"] == msg.dedupe_key
    assert got.body["critical"] is True and got.body["params"] == {"shop": "小王水果店"}


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"dedupe_key":"k"}'
    expected = hmac.new(b"s3cret", b"1764000000." + body, hashlib.sha256).hexdigest()
    assert webhook_signature("s3cret", 1764000000, body) == f"sha256={expected}"


async def test_wrong_secret_is_refused_and_permanent(
    http: aiohttp.ClientSession, clock: ManualClock, receiver: FakeWebhookReceiver
) -> None:
    with pytest.raises(PermanentError, match="HTTP 401"):
        await hook(http, clock, secret="other").send(message(receiver.base_url + "/h"))
    assert receiver.received == []


@pytest.mark.parametrize(
    ("failure", "retry_after"),
    [(Failure(status=429, retry_after=17), 17.0), (Failure(status=503), None), (Failure(status=500, retry_after=3), 3.0)],
)
async def test_rate_limit_and_server_errors_are_transient_with_retry_after(
    http: aiohttp.ClientSession, clock: ManualClock, receiver: FakeWebhookReceiver, failure: Failure,
    retry_after: float | None,
) -> None:
    receiver.fail_next(1, failure)
    with pytest.raises(TransientError) as caught:
        await hook(http, clock).send(message(receiver.base_url + "/h"))
    assert caught.value.retry_after == retry_after


@pytest.mark.parametrize("status", [400, 403, 404, 410])
async def test_other_client_errors_are_permanent(
    http: aiohttp.ClientSession, clock: ManualClock, receiver: FakeWebhookReceiver, status: int
) -> None:
    receiver.fail_next(1, Failure(status=status))
    with pytest.raises(PermanentError, match=f"HTTP {status}"):
        await hook(http, clock).send(message(receiver.base_url + "/h"))


async def test_provider_down_for_a_while_loses_nothing_once_it_returns(
    http: aiohttp.ClientSession, clock: ManualClock, receiver: FakeWebhookReceiver
) -> None:
    channel = hook(http, clock)
    pending = [message(receiver.base_url + "/h", n) for n in range(10)]
    receiver.fail_always(Failure(status=503))
    for msg in pending:
        with pytest.raises(TransientError):
            await channel.send(msg)
    receiver.clear_failures()
    for msg in pending:
        await channel.send(msg)
    assert receiver.missing(m.ref for m in pending) == set()
    assert receiver.duplicates() == {}


async def test_console_channel_logs_the_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="consumers.notify.channels.console"):
        receipt = await ConsoleChannel().send(message("", 1))
    assert receipt.attempts == 1
    record = next(r for r in caplog.records if r.getMessage() == "notify.console")
    assert record.__dict__["dedupe_key"] == "m1|inc-1|opened|webhook"


async def test_file_channel_appends_one_json_line_per_message(clock: ManualClock, tmp_path: Path) -> None:
    path = tmp_path / "out" / "notifications.jsonl"
    channel = FileChannel(path, clock)
    await channel.send(message("", 1))
    await channel.send(message("", 2))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["dedupe_key"] for line in lines] == ["m1|inc-1|opened|webhook", "m1|inc-2|opened|webhook"]
    assert lines[0]["text"] == "花呗暂不可用"


async def test_file_channel_that_cannot_write_is_permanent(clock: ManualClock, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(PermanentError, match="cannot write"):
        await FileChannel(blocker / "n.jsonl", clock).send(message("", 1))
