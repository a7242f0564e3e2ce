"""WeCom group robot adapter against the loopback fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypedDict, Unpack

import aiohttp
import pytest
from pydantic import SecretStr

from consumers.notify.channels.base import OutboundMessage
from consumers.notify.channels.ratelimit import Limiter, Rate, RateLimiter
from consumers.notify.channels.wecom import WeComChannel
from huabei_watch.clock import ManualClock
from huabei_watch.errors import PermanentError, TransientError
from tests.fakes.base import Failure
from tests.fakes.sleep import DrivenSleep
from tests.fakes.wecom import FakeWeCom

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def message(n: int = 1, *, address: str = KEY, markdown: str = "## 花呗维护通知\n> 今晚 **02:00-04:00**") -> OutboundMessage:
    return OutboundMessage(
        dedupe_key=f"m1|inc-{n}|announced|wecom", recipient="m1", address=address,
        title="花呗维护通知", text="花呗今晚维护", markdown=markdown,
    )


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(clock, keys={KEY}) as server:
        yield server


class ChannelOptions(TypedDict, total=False):
    default_key: SecretStr | None
    limiter: Limiter | None
    timeout: float


def channel(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeCom, **kw: Unpack[ChannelOptions]) -> WeComChannel:
    return WeComChannel(http, clock, base_url=fake.base_url, **kw)


async def test_markdown_reaches_the_robot_once(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeCom) -> None:
    msg = message()
    receipt = await channel(http, clock, fake).send(msg)
    assert receipt.attempts == 1
    assert fake.count_by_ref() == {msg.ref: 1}
    assert fake.count_by_recipient() == {KEY: 1}
    assert fake.received[0].body["markdown"]["content"] == msg.markdown


async def test_full_webhook_url_as_address_uses_its_key(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeCom
) -> None:
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
    await channel(http, clock, fake).send(message(address=url))
    assert fake.count_by_recipient() == {KEY: 1}


async def test_empty_address_goes_to_the_default_robot(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeCom
) -> None:
    await channel(http, clock, fake, default_key=SecretStr(KEY)).send(message(address=""))
    assert fake.count_by_recipient() == {KEY: 1}


async def test_unknown_robot_key_is_permanent(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeCom) -> None:
    with pytest.raises(PermanentError, match="93000"):
        await channel(http, clock, fake).send(message(address="wrong-key"))
    assert fake.received == []


async def test_over_twenty_a_minute_is_transient_with_a_minute_to_wait(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeCom
) -> None:
    wecom = channel(http, clock, fake)
    for n in range(20):
        await wecom.send(message(n))
    with pytest.raises(TransientError) as caught:
        await wecom.send(message(20))
    assert caught.value.retry_after == 60.0
    assert len(fake.received) == 20


async def test_shared_limiter_keeps_a_burst_under_the_robot_limit(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeCom
) -> None:
    sleep = DrivenSleep(clock, auto=True)
    limiter = RateLimiter(clock, {"wecom": (Rate(20, 60.0),)}, sleep=sleep)
    wecom = channel(http, clock, fake, limiter=limiter)
    sent = [message(n) for n in range(45)]
    for msg in sent:
        await wecom.send(msg)
    assert fake.rejected == []
    assert fake.duplicates() == {}
    assert set(fake.count_by_ref()) == {m.ref for m in sent}
    assert sleep.calls == [60.0, 60.0]  # two waits of a full window, nothing real


@pytest.mark.parametrize(
    ("failure", "retry_after"),
    [
        (Failure(status=500, message="boom"), None),
        (Failure(status=502), None),
        (Failure(status=429, retry_after=7), 7.0),
        (Failure(code=-1, message="system busy"), None),
        (Failure(code=45009, message="api freq out of limit"), 60.0),
    ],
)
async def test_provider_trouble_is_transient(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeCom, failure: Failure, retry_after: float | None
) -> None:
    fake.fail_next(1, failure)
    with pytest.raises(TransientError) as caught:
        await channel(http, clock, fake).send(message())
    assert caught.value.retry_after == retry_after
    await channel(http, clock, fake).send(message())  # the next attempt goes through
    assert len(fake.received) == 1


async def test_documented_final_codes_are_permanent(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeCom
) -> None:
    fake.fail_next(1, Failure(code=93000, message="invalid webhook url"))
    with pytest.raises(PermanentError, match="robot removed"):
        await channel(http, clock, fake).send(message())


async def test_unreachable_endpoint_is_transient(http: aiohttp.ClientSession, clock: ManualClock) -> None:
    async with FakeWeCom(clock, keys={KEY}) as gone:
        url = gone.base_url
    with pytest.raises(TransientError, match="connection failed"):
        await WeComChannel(http, clock, base_url=url).send(message())


async def test_provider_that_never_answers_times_out_as_transient(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeCom
) -> None:
    fake.fail_next(1, Failure(hang=True))
    with pytest.raises(TransientError, match="timed out"):
        await channel(http, clock, fake, timeout=0.2).send(message())
    assert fake.received == []


async def test_long_markdown_is_cut_to_the_robot_limit(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeCom
) -> None:
    await channel(http, clock, fake).send(message(markdown="花呗" * 2000))
    content = fake.received[0].body["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    assert content.endswith("…")
