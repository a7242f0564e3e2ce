"""WeCom application messages (``message/send``) against the loopback fake of the documented API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from consumers.notify.channels.base import OutboundMessage, SendReceipt
from consumers.notify.channels.config import ChannelsConfig, WeComAppConfig, build_channels
from consumers.notify.channels.sms_batch import BatchingChannel
from consumers.notify.channels.wecom_app import (
    MAX_MEMBERS,
    REFUSED_INVALID,
    REFUSED_UNLICENSED,
    WeComAppChannel,
)
from huabei_watch.clock import ManualClock
from huabei_watch.errors import InvalidInput, PermanentError, TransientError
from tests.fakes.base import Failure
from tests.fakes.sleep import DrivenSleep
from tests.fakes.wecom_app import FakeWeComApp

CORP, SECRET, AGENT = "ww-corp", "corp-secret", 1000002
MEMBERS = {f"ZhangSan{i}" for i in range(1200)}


def message(member: str, *, n: int = 1, markdown: str = "## 花呗维护通知\n> 今晚 **02:00-04:00**") -> OutboundMessage:
    return OutboundMessage(dedupe_key=f"{member}|inc-{n}|announced|wecom_app", recipient=member, address=member,
                           title="花呗维护通知", text="花呗今晚维护", markdown=markdown)


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeWeComApp]:
    async with FakeWeComApp(clock, corp_id=CORP, corp_secret=SECRET, agent_id=AGENT, members=MEMBERS,
                            unlicensed={"ZhangSan7"}) as server:
        yield server


def channel(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeComApp, secret: str = SECRET) -> WeComAppChannel:
    return WeComAppChannel(http, clock, corp_id=CORP, corp_secret=SecretStr(secret), agent_id=AGENT,
                           base_url=fake.base_url)


async def test_one_call_tells_many_members_and_names_each_refused_one(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeComApp
) -> None:
    members = [f"ZhangSan{i}" for i in range(10)] + ["nobody", "GHOST"]
    results = await channel(http, clock, fake).send_batch([message(m) for m in members])
    assert fake.requests == 1 and fake.calls == [members]
    assert fake.count_by_recipient() == {m: 1 for m in members[:10] if m != "ZhangSan7"}
    by_member = dict(zip(members, results, strict=True))
    assert all(isinstance(by_member[m], SendReceipt) for m in members[:10] if m != "ZhangSan7")
    for refused, why in (("nobody", REFUSED_INVALID), ("GHOST", REFUSED_INVALID), ("ZhangSan7", REFUSED_UNLICENSED)):
        err = by_member[refused]
        assert isinstance(err, PermanentError) and why in err.reason, (refused, err)
    body = fake.received[0].body
    assert body["msgtype"] == "markdown" and body["agentid"] == AGENT and body["touser"] == "|".join(members)


async def test_every_member_refused_is_81013_and_each_fails(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeComApp
) -> None:
    results = await channel(http, clock, fake).send_batch([message("x1"), message("x2")])
    assert [type(r) for r in results] == [PermanentError, PermanentError]
    assert all(isinstance(r, PermanentError) and REFUSED_INVALID in r.reason for r in results)
    assert fake.rejected == [("81013", "user & party & tag all invalid")]


async def test_token_is_fetched_once_and_refreshed_once_when_expired(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeComApp
) -> None:
    ch = channel(http, clock, fake)
    await ch.send(message("ZhangSan1"))
    await ch.send(message("ZhangSan2"))
    assert fake.token_requests == 1
    fake.expire_tokens()
    receipt = await ch.send(message("ZhangSan3"))
    assert receipt.attempts == 2 and fake.token_requests == 2
    assert fake.count_by_recipient() == {"ZhangSan1": 1, "ZhangSan2": 1, "ZhangSan3": 1}


async def test_wrong_secret_is_permanent_and_sends_nothing(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeComApp
) -> None:
    with pytest.raises(PermanentError, match="40001"):
        await channel(http, clock, fake, secret="wrong").send(message("ZhangSan1"))
    assert fake.requests == 0


async def test_busy_is_transient_for_the_whole_call(http: aiohttp.ClientSession, clock: ManualClock,
                                                    fake: FakeWeComApp) -> None:
    fake.fail_next(1, Failure(code=-1, message="system busy"))
    with pytest.raises(TransientError):
        await channel(http, clock, fake).send_batch([message("ZhangSan1"), message("ZhangSan2")])
    assert not fake.received


async def test_more_members_than_one_call_takes_is_refused_before_sending(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeComApp
) -> None:
    with pytest.raises(InvalidInput, match="1000"):
        await channel(http, clock, fake).send_batch([message(f"ZhangSan{i}") for i in range(MAX_MEMBERS + 1)])
    assert fake.requests == 0


async def test_batching_groups_same_text_in_calls_of_at_most_1000_and_each_member_once(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeComApp
) -> None:
    inner = channel(http, clock, fake)
    batching = BatchingChannel(inner, key=inner.batch_key)
    msgs = [message(f"ZhangSan{i}") for i in range(1200)] + [message("ZhangSan0", markdown="另一条")]
    results = await asyncio.gather(*(batching.send(m) for m in msgs), return_exceptions=True)
    assert sorted(len(c) for c in fake.calls) == [1, 200, 1000]  # two texts: 1,200 members, then the other one
    counts = fake.count_by_recipient()
    assert counts["ZhangSan0"] == 2 and all(counts[f"ZhangSan{i}"] == 1 for i in range(1, 1200) if i != 7)
    refused = [m.recipient for m, r in zip(msgs, results, strict=True) if isinstance(r, PermanentError)]
    assert refused == ["ZhangSan7"]


async def test_built_wecom_app_holds_a_partial_call_that_waits_for_the_limit_and_fills_it_meanwhile(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeWeComApp
) -> None:
    cfg = ChannelsConfig(wecom_app=WeComAppConfig(base_url=fake.base_url, corp_id=CORP, corp_secret=SecretStr(SECRET),
                                                  agent_id=AGENT, rate_per_minute=1))
    sleep = DrivenSleep(clock)
    built = build_channels(cfg, http, clock, sleep=sleep)["wecom_app"]
    await built.send(message("ZhangSan0"))  # the minute's only call, at once
    waiting = [asyncio.ensure_future(built.send(message(f"ZhangSan{i}"))) for i in range(1, 4)]
    await sleep.wait_parked(1)
    joining = [asyncio.ensure_future(built.send(message(f"ZhangSan{i}"))) for i in range(4, 6)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert fake.calls == [["ZhangSan0"]]
    sleep.advance(60.0)
    await asyncio.wait_for(asyncio.gather(*waiting, *joining), 5)
    assert [sorted(c) for c in fake.calls] == [["ZhangSan0"], [f"ZhangSan{i}" for i in range(1, 6)]]
