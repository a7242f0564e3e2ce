"""Channel configuration and the factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import ValidationError

from consumers.notify.channels.base import OutboundMessage
from consumers.notify.channels.config import ChannelsConfig, WeComConfig, build_channels
from consumers.notify.channels.ratelimit import Rate
from huabei_watch.clock import ManualClock
from tests.fakes.sleep import DrivenSleep
from tests.fakes.wecom import FakeWeCom

KEY = "robot-key-1"


@pytest.fixture
async def wecom(clock: ManualClock) -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(clock, keys={KEY}) as server:
        yield server


def test_only_present_and_enabled_tables_have_rates() -> None:
    cfg = ChannelsConfig.model_validate(
        {
            "wecom": {"default_key": "k"},
            "dingtalk": {"enabled": False},
            "console": {},
            "file": {"path": "state/n.jsonl"},
        }
    )
    assert cfg.rates() == {"wecom": (Rate(20, 60.0),)}
    assert cfg.file is not None and cfg.file.path == Path("state/n.jsonl")


async def test_build_channels_names_every_enabled_channel(http: aiohttp.ClientSession, clock: ManualClock) -> None:
    cfg = ChannelsConfig.model_validate(
        {
            "wecom": {},
            "wechat_oa": {"app_id": "wx1", "app_secret": "s"},
            "aliyun_sms": {"access_key_id": "id", "access_key_secret": "s", "sign_name": "花呗助手"},
            "tencent_sms": {"secret_id": "id", "secret_key": "k", "sdk_app_id": "1400", "sign_name": "花呗助手"},
            "dingtalk": {"secrets": {"tok": "SEC1"}},
            "feishu": {"enabled": False},
            "webhook": {"secret": "w"},
            "console": {},
        }
    )
    channels = build_channels(cfg, http, clock)
    assert sorted(channels) == ["aliyun_sms", "console", "dingtalk", "tencent_sms", "webhook", "wechat_oa", "wecom"]
    assert all(channel.name == name for name, channel in channels.items())


def test_secrets_are_redacted_in_repr() -> None:
    cfg = ChannelsConfig.model_validate(
        {"aliyun_sms": {"access_key_id": "id", "access_key_secret": "TOPSECRET", "sign_name": "x"}}
    )
    assert "TOPSECRET" not in repr(cfg) and "TOPSECRET" not in str(cfg.model_dump())


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"wecom": {"base_url": "qyapi.weixin.qq.com"}}, "must start with http:// or https://"),
        ({"wecom": {"timeout_seconds": 0}}, "must be > 0 s"),
        ({"wecom": {"rate_per_minute": 0}}, "greater than or equal to 1"),
        ({"wecom": {"typo": 1}}, "Extra inputs are not permitted"),
        ({"wechat_oa": {"app_id": "wx1"}}, "app_secret"),
        ({"webhook": {"default_url": "ftp://example"}}, "must start with http:// or https://"),
    ],
)
def test_bad_tables_fail_with_a_readable_reason(table: dict[str, object], needle: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ChannelsConfig.model_validate(table)
    assert needle in str(caught.value)


async def test_built_channels_share_the_limiter_so_a_burst_never_trips_the_robot_limit(
    http: aiohttp.ClientSession, clock: ManualClock, wecom: FakeWeCom
) -> None:
    cfg = ChannelsConfig(wecom=WeComConfig(base_url=wecom.base_url))
    sleep = DrivenSleep(clock, auto=True)
    channel = build_channels(cfg, http, clock, sleep=sleep)["wecom"]
    for n in range(30):
        await channel.send(OutboundMessage(dedupe_key=f"k{n}", recipient="m1", address=KEY, title="t", text="花呗"))
    assert wecom.rejected == [] and len(wecom.received) == 30
    assert sleep.calls == [60.0]
