"""Fault drill: every provider answers 500 or 429 for a minute; afterwards everything is
delivered, once.

The daemon runs in-process (incidents + notify roles) on a ManualClock. Retries are all left to
``Deliverer.run_due`` (``max_inline_wait = 0``), so the drill moves the clock through "a minute" of
failures, then clears them and lets the stored retries go out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.harness import post_json, role, running, settings_for
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.base import Failure
from tests.fakes.wecom import FakeWeCom
from tests.support import eventually
from watcher.broker import EmbeddedBroker
from watcher.bus import Bus
from watcher.clock import ManualClock

MERCHANTS = 6
START = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)  # 11:00 Shanghai, no quiet hours


@pytest.mark.slow
async def test_messages_held_by_a_minute_of_provider_errors_all_go_out_once_afterwards(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    robots = {f"robot-{i}" for i in range(MERCHANTS)} | {"ops-robot"}
    async with FakeWeCom(clock, keys=robots) as wecom, FakeAliyunSms(
        clock, access_key_id="AK", access_key_secret="SK"
    ) as sms:
        settings = settings_for(tmp_path, bus.topics.prefix, {
            "notify": {
                "ops": [{"channel": "wecom", "address": "ops-robot"}],
                "wecom": {"base_url": wecom.base_url},
                "aliyun_sms": {"base_url": sms.base_url, "access_key_id": "AK", "access_key_secret": "SK",
                               "sign_name": "花呗助手", "default_template_code": "SMS_1"},
                "delivery": {"max_inline_wait": 0, "backoff_initial": 5, "backoff_max": 20, "max_attempts": 30},
            },
            "merchants": [
                {"id": f"m{i}", "mode": "auto", "token": f"t{i}", "channels": ["wecom", "sms"],
                 "contacts": {"wecom_robot_key": f"robot-{i}", "phone": f"1380000{i:04d}"}}
                for i in range(MERCHANTS)
            ],
        })
        wecom.fail_always(Failure(status=500, message="internal error"))
        sms.fail_always(Failure(status=429, message="throttled", retry_after=3))
        expected = MERCHANTS * 2 + 1  # each merchant by WeCom and SMS, plus the ops robot

        async with running(settings, broker, ["incidents", "notify"], clock) as app:
            notify = role(app, "notify")
            deliverer = notify.deliverer
            status, body = await post_json(app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用"})
            assert status == 201, body
            await eventually(lambda: deliverer.deferred >= expected, timeout=30, what="every first attempt failed")
            await notify.drain()

            # A minute of errors: every due retry is tried and fails again.
            for _ in range(12):
                clock.advance(5)
                await deliverer.run_due()
            assert wecom.received == [] and sms.received == []
            assert wecom.requests >= MERCHANTS + 1 + 6 and sms.requests >= MERCHANTS + 6  # retried, not given up

            wecom.clear_failures()
            sms.clear_failures()

            async def all_sent() -> bool:
                clock.advance(5)
                await deliverer.run_due()
                return len(wecom.received) + len(sms.received) >= expected

            await eventually(all_sent, timeout=30, what="every held message delivered")
            # Re-planning and more retry rounds must not send anything again.
            await notify.replan_open()
            await notify.drain()
            clock.advance(60)
            await deliverer.run_due()

        assert not wecom.duplicates() and not sms.duplicates()
        assert wecom.count_by_recipient() == dict.fromkeys(robots, 1)
        assert sorted(sms.count_by_recipient()) == sorted(f"1380000{i:04d}" for i in range(MERCHANTS))
        assert len(sms.received) == MERCHANTS
        assert deliverer.failed == 0
