"""DingTalk and Feishu robots: their signing checked by the fakes, rate limits and codes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from consumers.notify.channels.base import OutboundMessage
from consumers.notify.channels.dingtalk import DingTalkChannel
from consumers.notify.channels.feishu import FeishuChannel
from huabei_watch.clock import ManualClock
from huabei_watch.errors import PermanentError, TransientError
from tests.fakes.base import Failure
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.feishu import FakeFeishu

DT_SIGNED, DT_SECRET, DT_PLAIN = "tok-signed", "SEC5a3ecf88f2b3eb50db30ecfc00f53033ac909c99bf", "tok-plain"
FS_SIGNED, FS_SECRET, FS_PLAIN = "5e3d587e-d78e-4a07-bd07-265f269f86fd", "nIMtb7r3N9pkXyXdtAbx6e", "hook-plain"


def message(address: str, n: int = 1) -> OutboundMessage:
    return OutboundMessage(
        dedupe_key=f"ops|inc-{n}|opened|robot", recipient="ops", address=address, title="花呗故障",
        text="花呗支付失败率升高", markdown="### 花呗故障\n- 失败率 **35%**",
    )


@pytest.fixture
async def dingtalk(clock: ManualClock) -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk(clock, robots={DT_SIGNED: DT_SECRET, DT_PLAIN: None}) as server:
        yield server


@pytest.fixture
async def feishu(clock: ManualClock) -> AsyncIterator[FakeFeishu]:
    async with FakeFeishu(clock, bots={FS_SIGNED: FS_SECRET, FS_PLAIN: None}) as server:
        yield server


def dt(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeDingTalk, secret: str = DT_SECRET) -> DingTalkChannel:
    return DingTalkChannel(http, clock, base_url=fake.base_url, secrets={DT_SIGNED: SecretStr(secret)})


def fs(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeFeishu, secret: str = FS_SECRET) -> FeishuChannel:
    return FeishuChannel(http, clock, base_url=fake.base_url, secrets={FS_SIGNED: SecretStr(secret)})


# -- DingTalk ---------------------------------------------------------------------------------------
async def test_dingtalk_signed_markdown_is_accepted(
    http: aiohttp.ClientSession, clock: ManualClock, dingtalk: FakeDingTalk
) -> None:
    msg = message(DT_SIGNED)
    await dt(http, clock, dingtalk).send(msg)
    assert dingtalk.count_by_ref() == {msg.ref: 1}
    assert dingtalk.received[0].body["markdown"] == {"title": "花呗故障", "text": msg.markdown}


async def test_dingtalk_webhook_url_address_and_unsigned_robot(
    http: aiohttp.ClientSession, clock: ManualClock, dingtalk: FakeDingTalk
) -> None:
    await dt(http, clock, dingtalk).send(message(f"https://oapi.dingtalk.com/robot/send?access_token={DT_PLAIN}"))
    assert dingtalk.count_by_recipient() == {DT_PLAIN: 1}


async def test_dingtalk_wrong_secret_is_rejected_and_permanent(
    http: aiohttp.ClientSession, clock: ManualClock, dingtalk: FakeDingTalk
) -> None:
    with pytest.raises(PermanentError, match="310000"):
        await dt(http, clock, dingtalk, secret="SECwrong").send(message(DT_SIGNED))
    assert dingtalk.received == []


async def test_dingtalk_unsigned_request_to_a_signed_robot_is_rejected(
    http: aiohttp.ClientSession, clock: ManualClock, dingtalk: FakeDingTalk
) -> None:
    with pytest.raises(PermanentError, match="310000"):
        await DingTalkChannel(http, clock, base_url=dingtalk.base_url).send(message(DT_SIGNED))


async def test_dingtalk_over_twenty_a_minute_is_transient_for_ten_minutes(
    http: aiohttp.ClientSession, clock: ManualClock, dingtalk: FakeDingTalk
) -> None:
    robot = dt(http, clock, dingtalk)
    for n in range(20):
        await robot.send(message(DT_SIGNED, n))
    with pytest.raises(TransientError, match="130101") as caught:
        await robot.send(message(DT_SIGNED, 20))
    assert caught.value.retry_after == 600.0


async def test_dingtalk_unknown_token_is_permanent(
    http: aiohttp.ClientSession, clock: ManualClock, dingtalk: FakeDingTalk
) -> None:
    with pytest.raises(PermanentError, match="300001"):
        await dt(http, clock, dingtalk).send(message("tok-removed"))


async def test_dingtalk_server_error_is_transient(
    http: aiohttp.ClientSession, clock: ManualClock, dingtalk: FakeDingTalk
) -> None:
    dingtalk.fail_next(1, Failure(status=503, retry_after=12))
    with pytest.raises(TransientError) as caught:
        await dt(http, clock, dingtalk).send(message(DT_SIGNED))
    assert caught.value.retry_after == 12.0


# -- Feishu -----------------------------------------------------------------------------------------
async def test_feishu_signed_card_is_accepted(http: aiohttp.ClientSession, clock: ManualClock, feishu: FakeFeishu) -> None:
    msg = message(FS_SIGNED)
    await fs(http, clock, feishu).send(msg)
    body = feishu.received[0].body
    assert feishu.count_by_ref() == {msg.ref: 1}
    assert body["msg_type"] == "interactive"
    assert body["card"]["header"]["title"]["content"] == "花呗故障"
    assert body["card"]["elements"][0]["content"] == msg.markdown


async def test_feishu_hook_url_address_and_unsigned_bot(
    http: aiohttp.ClientSession, clock: ManualClock, feishu: FakeFeishu
) -> None:
    await fs(http, clock, feishu).send(message(f"https://open.feishu.cn/open-apis/bot/v2/hook/{FS_PLAIN}"))
    assert feishu.count_by_recipient() == {FS_PLAIN: 1}


async def test_feishu_wrong_secret_is_rejected_and_permanent(
    http: aiohttp.ClientSession, clock: ManualClock, feishu: FakeFeishu
) -> None:
    with pytest.raises(PermanentError, match="19021"):
        await fs(http, clock, feishu, secret="wrong").send(message(FS_SIGNED))
    assert feishu.received == []


async def test_feishu_sixth_message_in_a_second_is_frequency_limited(
    http: aiohttp.ClientSession, clock: ManualClock, feishu: FakeFeishu
) -> None:
    bot = fs(http, clock, feishu)
    for n in range(5):
        await bot.send(message(FS_SIGNED, n))
    with pytest.raises(TransientError, match="11232") as caught:
        await bot.send(message(FS_SIGNED, 5))
    assert caught.value.retry_after == 60.0
    clock.advance(1)
    await bot.send(message(FS_SIGNED, 5))
    assert len(feishu.received) == 6 and feishu.duplicates() == {}


async def test_feishu_removed_bot_is_permanent(http: aiohttp.ClientSession, clock: ManualClock, feishu: FakeFeishu) -> None:
    with pytest.raises(PermanentError, match="19001"):
        await fs(http, clock, feishu).send(message("hook-removed"))


async def test_feishu_rate_limit_answered_as_http_429_is_transient(
    http: aiohttp.ClientSession, clock: ManualClock, feishu: FakeFeishu
) -> None:
    feishu.fail_next(1, Failure(status=429, code=11232, message="frequency limited"))
    with pytest.raises(TransientError):
        await fs(http, clock, feishu).send(message(FS_SIGNED))
