"""Tencent Cloud SMS SendSms 2021-01-11: TC3 signature checked by the fake, per-number codes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp
import pytest
from pydantic import SecretStr

from consumers.notify.channels.base import OutboundMessage
from consumers.notify.channels.tencent_sms import TencentSmsChannel, classify, tc3_authorization
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.errors import PermanentError, TransientError
from tests.fakes.base import Failure
from tests.fakes.tencent_sms import FakeTencentSms

SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
APP_ID = "1400006666"
PHONE = "+8613800138000"
NOW = datetime(2026, 11, 24, 21, 0, tzinfo=SHANGHAI)


def message(n: int = 1, *, phone: str = PHONE) -> OutboundMessage:
    return OutboundMessage(
        dedupe_key=f"m1|inc-{n}|announced|sms", recipient="m1", address=phone, title="花呗维护", text="花呗今晚维护",
        template_id="1110", template_params=(("start", "02:00"), ("end", "04:00"), ("shop", "小王水果店")),
    )


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeTencentSms]:
    async with FakeTencentSms(clock, secret_id=SECRET_ID, secret_key=SECRET_KEY, sdk_app_id=APP_ID) as server:
        yield server


def channel(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeTencentSms, secret: str = SECRET_KEY
) -> TencentSmsChannel:
    return TencentSmsChannel(http, clock, secret_id=SECRET_ID, secret_key=SecretStr(secret), sdk_app_id=APP_ID,
                             sign_name="花呗助手", base_url=fake.base_url)


def test_authorization_header_has_the_documented_shape() -> None:
    header = tc3_authorization(secret_id=SECRET_ID, secret_key=SECRET_KEY, service="sms",
                               host="sms.tencentcloudapi.com", timestamp=1551113065, body=b"{}")
    prefix = f"TC3-HMAC-SHA256 Credential={SECRET_ID}/2019-02-25/sms/tc3_request, SignedHeaders=content-type;host, Signature="
    assert header.startswith(prefix)
    assert len(header.removeprefix(prefix)) == 64


async def test_sms_is_accepted_with_a_valid_tc3_signature(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeTencentSms
) -> None:
    msg = message()
    receipt = await channel(http, clock, fake).send(msg)
    assert receipt.attempts == 1 and receipt.provider_message_id.startswith("2433:")
    got = fake.received[0]
    assert got.ref == msg.ref  # SessionContext carries our ref
    assert got.body["TemplateParamSet"] == ["02:00", "04:00", "小王水果店"]  # positional, in order
    assert got.body["SignName"] == "花呗助手"


async def test_wrong_secret_key_fails_the_signature_and_is_permanent(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeTencentSms
) -> None:
    with pytest.raises(PermanentError, match=r"AuthFailure\.SignatureFailure"):
        await channel(http, clock, fake, secret="not-the-key").send(message())
    assert fake.received == []


async def test_skewed_clock_is_rejected_as_expired_signature(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeTencentSms
) -> None:
    late = ManualClock(clock.now())
    late.advance(600)
    with pytest.raises(PermanentError, match="SignatureExpire"):
        await TencentSmsChannel(http, late, secret_id=SECRET_ID, secret_key=SecretStr(SECRET_KEY), sdk_app_id=APP_ID,
                                sign_name="花呗助手", base_url=fake.base_url).send(message())


async def test_second_sms_within_thirty_seconds_waits_thirty_seconds(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeTencentSms
) -> None:
    sms = channel(http, clock, fake)
    await sms.send(message(1))
    with pytest.raises(TransientError, match="ThirtySecondLimit") as caught:
        await sms.send(message(2))
    assert caught.value.retry_after == 30.0
    clock.advance(31)
    await sms.send(message(2))
    assert fake.duplicates() == {} and len(fake.received) == 2


async def test_concurrent_fan_out_delivers_each_message_exactly_once(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeTencentSms
) -> None:
    sms = channel(http, clock, fake)
    batch = [message(n, phone=f"+86138{n:08d}") for n in range(60)]
    await asyncio.gather(*(sms.send(m) for m in batch))
    assert fake.missing(m.ref for m in batch) == set()
    assert fake.duplicates() == {} and fake.rejected == []


async def test_incorrect_phone_number_is_permanent(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeTencentSms
) -> None:
    with pytest.raises(PermanentError, match="IncorrectPhoneNumber"):
        await channel(http, clock, fake).send(message(phone="+86123"))


@pytest.mark.parametrize(
    ("code", "transient", "retry_after"),
    [
        ("LimitExceeded.PhoneNumberThirtySecondLimit", True, 30.0),
        ("LimitExceeded.PhoneNumberOneHourLimit", True, 3600.0),
        ("LimitExceeded.PhoneNumberDailyLimit", True, 3 * 3600 + 5.0),
        ("LimitExceeded.PhoneNumberSameContentDailyLimit", True, 3 * 3600 + 5.0),
        ("LimitExceeded.AppDailyLimit", True, 3 * 3600 + 5.0),
        ("LimitExceeded.DeliveryFrequencyLimit", True, 60.0),
        ("LimitExceeded.PhoneNumberCountLimit", False, None),
        ("InternalError.Timeout", True, None),
        ("InternalError.OtherError", True, None),
        ("RequestLimitExceeded", True, 1.0),
        ("FailedOperation.MarketingSendTimeConstraint", True, None),
        ("FailedOperation.InsufficientBalanceInSmsPackage", False, None),
        ("FailedOperation.PhoneNumberInBlacklist", False, None),
        ("FailedOperation.TemplateIncorrectOrUnapproved", False, None),
        ("FailedOperation.SignatureIncorrectOrUnapproved", False, None),
        ("InvalidParameterValue.IncorrectPhoneNumber", False, None),
        ("AuthFailure.SignatureFailure", False, None),
        ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", False, None),
    ],
)
def test_codes_map_to_what_to_do(code: str, transient: bool, retry_after: float | None) -> None:
    error = classify(code, "msg", NOW)
    assert isinstance(error, TransientError) is transient
    assert isinstance(error, PermanentError) is not transient
    if isinstance(error, TransientError):
        assert error.retry_after == retry_after


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (Failure(code="InternalError.Timeout", message="timeout"), TransientError),
        (Failure(code="LimitExceeded.DeliveryFrequencyLimit", message="freq"), TransientError),
        (Failure(code="FailedOperation.InsufficientBalanceInSmsPackage", message="no balance"), PermanentError),
        (Failure(code="RequestLimitExceeded", message="too many"), TransientError),
        (Failure(status=500), TransientError),
    ],
)
async def test_injected_answers_reach_the_caller_as_the_right_error(
    http: aiohttp.ClientSession, clock: ManualClock, fake: FakeTencentSms, failure: Failure, expected: type[Exception]
) -> None:
    fake.fail_next(1, failure)
    with pytest.raises(expected):
        await channel(http, clock, fake).send(message())
