"""Aliyun SMS SendSms: signature v1 checked by the fake, flow control and error codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp
import pytest
from pydantic import SecretStr

from consumers.notify.channels.aliyun_sms import AliyunSmsChannel, limit_retry_after, percent_encode
from consumers.notify.channels.base import OutboundMessage
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.errors import PermanentError, TransientError
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.base import Failure

KEY_ID = "LTAI5tExampleKeyId"
KEY_SECRET = "ExampleSecretKeyValue0123456789"
PHONE = "13800138000"


def message(n: int = 1, *, phone: str = PHONE, template: str = "SMS_4710001") -> OutboundMessage:
    return OutboundMessage(
        dedupe_key=f"m1|inc-{n}|announced|sms", recipient="m1", address=phone, title="花呗维护",
        text="花呗今晚维护", template_id=template,
        template_params=(("start", "11月28日 02:00"), ("end", "04:00 & 之后")),
    )


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeAliyunSms]:
    async with FakeAliyunSms(clock, access_key_id=KEY_ID, access_key_secret=KEY_SECRET, sign_names={"花呗助手"}) as s:
        yield s


def channel(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeAliyunSms, secret: str = KEY_SECRET) -> AliyunSmsChannel:
    return AliyunSmsChannel(http, clock, access_key_id=KEY_ID, access_key_secret=SecretStr(secret),
                            sign_name="花呗助手", base_url=fake.base_url)


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("abcXYZ019-_.~", "abcXYZ019-_.~"),
        ("a b", "a%20b"),
        ("a+b", "a%2Bb"),
        ("a*b", "a%2Ab"),
        ("/", "%2F"),
        ("=&", "%3D%26"),
        ("花呗", "%E8%8A%B1%E5%91%97"),
        ('{"k":"v"}', "%7B%22k%22%3A%22v%22%7D"),
    ],
)
def test_percent_encoding_follows_aliyun_rules(raw: str, encoded: str) -> None:
    assert percent_encode(raw) == encoded


async def test_sms_is_accepted_with_a_valid_signature(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeAliyunSms
) -> None:
    msg = message()
    receipt = await channel(http, clock, fake).send(msg)
    assert receipt.attempts == 1 and receipt.provider_message_id
    got = fake.received[0]
    assert got.ref == msg.ref and got.recipient == PHONE  # OutId carries our ref
    assert got.body["TemplateParam"] == {"start": "11月28日 02:00", "end": "04:00 & 之后"}
    assert got.body["SignName"] == "花呗助手"


async def test_wrong_secret_fails_the_signature_check_and_is_permanent(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeAliyunSms
) -> None:
    with pytest.raises(PermanentError, match="SignatureDoesNotMatch"):
        await channel(http, clock, fake, secret="wrong-secret").send(message())
    assert fake.received == []


async def test_second_sms_within_a_minute_is_flow_controlled_for_a_minute(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeAliyunSms
) -> None:
    sms = channel(http, clock, fake)
    await sms.send(message(1))
    with pytest.raises(TransientError, match="BUSINESS_LIMIT_CONTROL") as caught:
        await sms.send(message(2))
    assert caught.value.retry_after == 60.0
    clock.advance(61)
    await sms.send(message(2))
    assert len(fake.received) == 2 and fake.duplicates() == {}


async def test_hourly_flow_control_asks_for_an_hour(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeAliyunSms
) -> None:
    sms = channel(http, clock, fake)
    for n in range(5):
        await sms.send(message(n))
        clock.advance(61)
    with pytest.raises(TransientError) as caught:
        await sms.send(message(5))
    assert caught.value.retry_after == 3600.0


def test_daily_flow_control_waits_until_after_midnight_in_shanghai() -> None:
    now = datetime(2026, 11, 24, 21, 0, tzinfo=SHANGHAI)
    assert limit_retry_after("触发天级流控Permits:10", now) == 3 * 3600 + 5
    assert limit_retry_after("触发分钟级流控Permits:1", now) == 60.0
    assert limit_retry_after("something new", now) == 3600.0


async def test_illegal_number_is_permanent(http: aiohttp.ClientSession, clock: ManualClock, fake: FakeAliyunSms) -> None:
    with pytest.raises(PermanentError, match="MOBILE_NUMBER_ILLEGAL"):
        await channel(http, clock, fake).send(message(phone="12345"))


@pytest.mark.parametrize(
    "code", ["isv.AMOUNT_NOT_ENOUGH", "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL", "isv.OUT_OF_SERVICE"]
)
async def test_account_and_template_problems_are_permanent(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeAliyunSms, code: str
) -> None:
    fake.fail_next(1, Failure(code=code, message="no"))
    with pytest.raises(PermanentError, match=code):
        await channel(http, clock, fake).send(message())


@pytest.mark.parametrize(
    ("failure", "retry_after"),
    [
        (Failure(status=400, code="Throttling.User", message="Request was denied due to user flow control."), None),
        (Failure(status=503, code="ServiceUnavailable", message="later", retry_after=30), 30.0),
        (Failure(status=200, code="isp.SYSTEM_ERROR", message="系统错误"), None),
        (Failure(status=500, code="SomethingNew", message="?"), None),
        (Failure(status=502), None),
    ],
)
async def test_throttling_and_outages_are_transient(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeAliyunSms, failure: Failure, retry_after: float | None
) -> None:
    fake.fail_next(1, failure)
    with pytest.raises(TransientError) as caught:
        await channel(http, clock, fake).send(message())
    assert caught.value.retry_after == retry_after
