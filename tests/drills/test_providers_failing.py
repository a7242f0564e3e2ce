"""Fault drill: every provider answers 500 or 429 for a minute; afterwards everything is
delivered, once.

The daemon runs in-process (incidents + notify roles) on a ManualClock, with every channel kind a
merchant can have (WeCom, SMS, WeChat OA, DingTalk, Feishu, webhook), each behind its loopback
fake. Retries are all left to ``Deliverer.run_due`` (``max_inline_wait = 0``), so the drill moves
the clock through "a minute" of failures, then clears them and lets the stored retries go out.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import ManualClock
from tests.e2e.harness import post_json, role, running, settings_for
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.base import Failure, FakeProvider
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.feishu import FakeFeishu
from tests.fakes.webhook import FakeWebhookReceiver
from tests.fakes.wechat_oa import FakeWeChatOA
from tests.fakes.wecom import FakeWeCom
from tests.support import eventually, notify_idle

MERCHANTS = 5
START = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)  # 11:00 Shanghai, no quiet hours


@pytest.mark.slow
async def test_messages_held_by_a_minute_of_provider_errors_all_go_out_once_afterwards(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    ids = range(MERCHANTS)
    async with AsyncExitStack() as stack:
        wecom = await stack.enter_async_context(FakeWeCom(clock, keys={f"robot-{i}" for i in ids} | {"ops-robot"}))
        sms = await stack.enter_async_context(FakeAliyunSms(clock, access_key_id="AK", access_key_secret="SK"))
        oa = await stack.enter_async_context(FakeWeChatOA(clock, app_id="wxapp", app_secret="wxsecret"))
        dingtalk = await stack.enter_async_context(FakeDingTalk(clock, robots={f"dt-{i}": None for i in ids}))
        feishu = await stack.enter_async_context(FakeFeishu(clock, bots={f"fs-{i}": None for i in ids}))
        webhook = await stack.enter_async_context(FakeWebhookReceiver(clock, secret="hook-secret"))
        fakes: list[FakeProvider] = [wecom, sms, oa, dingtalk, feishu, webhook]
        settings = settings_for(tmp_path, bus.topics.prefix, {
            "notify": {
                "ops": [{"channel": "wecom", "address": "ops-robot"}],
                "wecom": {"base_url": wecom.base_url},
                "aliyun_sms": {"base_url": sms.base_url, "access_key_id": "AK", "access_key_secret": "SK",
                               "sign_name": "花呗助手", "default_template_code": "SMS_1"},
                "wechat_oa": {"base_url": oa.base_url, "app_id": "wxapp", "app_secret": "wxsecret",
                              "default_template_id": "TPL_1"},
                "dingtalk": {"base_url": dingtalk.base_url},
                "feishu": {"base_url": feishu.base_url},
                "webhook": {"secret": "hook-secret"},
                "delivery": {"max_inline_wait": 0, "backoff_initial": 5, "backoff_max": 20, "max_attempts": 30},
            },
            "merchants": [
                {"id": f"m{i}", "mode": "auto", "token": f"t{i}",
                 "channels": ["wecom", "sms", "wechat_oa", "dingtalk", "feishu", "webhook"],
                 "contacts": {"wecom_robot_key": f"robot-{i}", "phone": f"1380000{i:04d}", "wechat_openid": f"openid-{i}",
                              "dingtalk_access_token": f"dt-{i}", "feishu_hook": f"fs-{i}",
                              "webhook_url": f"{webhook.base_url}/hooks/m{i}"}}
                for i in ids
            ],
        })
        for n, fake in enumerate(fakes):  # half the providers fail with 500, half are throttled
            fake.fail_always(Failure(status=500, message="internal error") if n % 2 == 0
                             else Failure(status=429, message="throttled", retry_after=3))
        expected = {
            wecom: {f"robot-{i}" for i in ids} | {"ops-robot"},
            sms: {f"1380000{i:04d}" for i in ids},
            oa: {f"openid-{i}" for i in ids},
            dingtalk: {f"dt-{i}" for i in ids},
            feishu: {f"fs-{i}" for i in ids},
            webhook: {f"/hooks/m{i}" for i in ids},
        }
        total = sum(len(v) for v in expected.values())

        async with running(settings, broker, ["incidents", "notify"], clock) as app:
            notify = role(app, "notify")
            deliverer = notify.deliverer
            status, body = await post_json(app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用"})
            assert status == 201, body
            await eventually(lambda: deliverer.deferred >= total, timeout=30, what="every first attempt failed")
            await notify_idle(notify)

            # A minute of errors: every due retry is tried and fails again.
            for _ in range(12):
                clock.advance(5)
                await deliverer.run_due()
            assert all(f.received == [] for f in fakes)
            assert all(f.requests >= 2 * len(expected[f]) for f in fakes if f is not oa)  # retried, not given up
            assert deliverer.failed == 0

            for fake in fakes:
                fake.clear_failures()

            async def all_sent() -> bool:
                clock.advance(5)
                await deliverer.run_due()
                return sum(len(f.received) for f in fakes) >= total

            await eventually(all_sent, timeout=30, what="every held message delivered")
            # Re-planning and more retry rounds must not send anything again.
            await notify.replan_open()
            await notify_idle(notify)
            clock.advance(60)
            await deliverer.run_due()

        for fake, recipients in expected.items():
            assert not fake.duplicates(), fake.name
            assert fake.count_by_recipient() == dict.fromkeys(recipients, 1), fake.name
        assert deliverer.failed == 0
