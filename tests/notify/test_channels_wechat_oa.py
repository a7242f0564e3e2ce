"""WeChat Official Account template messages: stable token cache, refresh-once, error codes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from consumers.notify.channels.base import OutboundMessage
from consumers.notify.channels.wechat_oa import WeChatOAChannel
from huabei_watch.clock import ManualClock
from huabei_watch.errors import InvalidInput, PermanentError, TransientError
from tests.fakes.base import Failure
from tests.fakes.wechat_oa import FakeWeChatOA

APP_ID = "wx4440b601e34ca5cf"
SECRET = "0123456789abcdef0123456789abcdef"
OPENID = "oqq5b5R9bExxVBXkNEnGaP_MJGMs"
TEMPLATE = "g8xR8g9z4FFdbhJ4CUtWDSVmu_ZDWuc5DJm8VSvMg6s"


def message(n: int = 1, *, openid: str = OPENID, template: str | None = TEMPLATE) -> OutboundMessage:
    return OutboundMessage(
        dedupe_key=f"m1|inc-{n}|announced|wechat_oa", recipient="m1", address=openid, title="花呗维护",
        text="花呗今晚维护", template_id=template,
        template_params=(("thing1", "花呗服务维护"), ("time2", "2026年11月28日 02:00")),
    )


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeWeChatOA]:
    async with FakeWeChatOA(clock, app_id=APP_ID, app_secret=SECRET, refused={"o-refused"}) as server:
        yield server


def channel(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA, secret: str = SECRET) -> WeChatOAChannel:
    return WeChatOAChannel(http, clock, app_id=APP_ID, app_secret=SecretStr(secret), base_url=fake.base_url)


async def test_template_message_reaches_the_openid(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA
) -> None:
    msg = message()
    receipt = await channel(http, clock, fake).send(msg)
    assert receipt.attempts == 1 and receipt.provider_message_id.isdigit()
    body = fake.received[0].body
    assert body["template_id"] == TEMPLATE
    assert body["data"] == {"thing1": {"value": "花呗服务维护"}, "time2": {"value": "2026年11月28日 02:00"}}
    assert fake.count_by_ref() == {msg.ref: 1}  # client_msg_id carries our ref


async def test_one_token_serves_many_sends(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA) -> None:
    wechat = channel(http, clock, fake)
    for n in range(3):
        await wechat.send(message(n))
    await asyncio.gather(*(wechat.send(message(n)) for n in range(10, 15)))
    assert fake.token_calls == 1
    assert len(fake.received) == 8


async def test_token_is_fetched_again_only_near_its_expiry(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA
) -> None:
    wechat = channel(http, clock, fake)
    await wechat.send(message(1))
    clock.advance(7200 - 300 - 1)
    await wechat.send(message(2))
    assert fake.token_calls == 1
    clock.advance(2)
    await wechat.send(message(3))
    assert fake.token_calls == 2


async def test_rejected_token_is_refreshed_once_and_the_send_retried(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA
) -> None:
    wechat = channel(http, clock, fake)
    await wechat.send(message(1))
    fake.invalidate_token()  # e.g. another process force-refreshed: our cached token answers 40001
    receipt = await wechat.send(message(2))
    assert receipt.attempts == 2
    assert fake.token_calls == 2 and fake.force_calls == 0
    assert [code for code, _ in fake.rejected] == ["40001"]
    assert fake.duplicates() == {} and len(fake.received) == 2


async def test_same_token_handed_back_after_40001_forces_a_new_one(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA
) -> None:
    wechat = channel(http, clock, fake)
    fake.fail_next(1, Failure(code=42001, message="access_token expired"))
    receipt = await wechat.send(message())
    assert receipt.attempts == 2
    assert fake.force_calls == 1  # normal mode returned the rejected token, so force mode was used


async def test_token_still_rejected_after_the_refresh_is_transient(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA
) -> None:
    fake.fail_next(2, Failure(code=40001, message="invalid credential"))
    with pytest.raises(TransientError, match="after one refresh"):
        await channel(http, clock, fake).send(message())
    assert fake.requests == 2  # one retry, not more
    assert fake.received == []


async def test_wrong_app_secret_is_permanent(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA) -> None:
    with pytest.raises(PermanentError, match="40125"):
        await channel(http, clock, fake, secret="not-the-secret").send(message())
    assert fake.requests == 0


async def test_user_who_refused_messages_is_permanent(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA
) -> None:
    with pytest.raises(PermanentError, match="43101"):
        await channel(http, clock, fake).send(message(openid="o-refused"))


@pytest.mark.parametrize(("code", "retry_after"), [(45009, 3600.0), (-1, None)])
async def test_quota_and_busy_answers_are_transient(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA, code: int, retry_after: float | None
) -> None:
    fake.fail_next(1, Failure(code=code, message="later"))
    with pytest.raises(TransientError) as caught:
        await channel(http, clock, fake).send(message())
    assert caught.value.retry_after == retry_after


async def test_server_error_is_transient(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA) -> None:
    fake.fail_next(1, Failure(status=503))
    with pytest.raises(TransientError, match="HTTP 503"):
        await channel(http, clock, fake).send(message())


async def test_message_without_template_is_invalid_input(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeChatOA
) -> None:
    with pytest.raises(InvalidInput):
        await channel(http, clock, fake).send(message(template=None))
    assert fake.token_calls == 0
