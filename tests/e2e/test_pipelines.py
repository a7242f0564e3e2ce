"""End to end on the embedded broker: sandbox notices, signed payment results, notifications."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import ManualClock
from huabei_watch.root.settings import Settings
from huabei_watch.runtime.app import App
from tests.e2e.harness import get_json, role, running, settings_for
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.wecom import FakeWeCom
from tests.support import eventually, notify_idle
from watcher.payments.ingest import signed_headers

NOW = datetime.now(UTC).replace(microsecond=0)


async def test_sandbox_notice_becomes_a_maintenance_that_switches_huabei_and_tells_merchants(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    clock = ManualClock(NOW)
    out = tmp_path / "notifications.jsonl"
    settings = settings_for(tmp_path, bus.topics.prefix, {
        "sandbox": {"enabled": True},
        "notify": {"ops": [{"channel": "console"}], "console": {}, "file": {"path": str(out)}},
        "merchants": [
            {"id": "m-auto", "mode": "auto", "token": "tok-auto", "channels": ["file"]},
            {"id": "m-notify", "mode": "notify_only", "token": "tok-notify", "channels": ["file"]},
        ],
    })
    async with running(settings, broker, ["watcher", "incidents", "cashier", "notify"], clock) as app:
        incidents = role(app, "incidents")
        opened = await eventually(lambda: incidents.list(open_only=True), timeout=60, what="maintenance incident")
        inc = opened[0]
        assert inc.kind.value == "maintenance" and inc.channels == ("pcredit", "pcreditpayInstallment")
        assert inc.starts_at is not None and inc.starts_at > NOW  # the sandbox's maintenance begins ~10 minutes after start

        def lines() -> list[dict[str, str]]:
            return [json.loads(x) for x in out.read_text("utf-8").splitlines()] if out.exists() else []

        await eventually(lambda: len(lines()) >= 2, timeout=60, what="announcements in the file channel")
        texts = {m["recipient"]: m["text"] for m in lines()}
        assert "花呗" in texts["m-auto"] and "花呗" in texts["m-notify"]

        assert inc.disable_from is not None
        clock.set(inc.disable_from)
        await incidents.tick()

        async def off() -> bool:
            _, body, _ = await get_json(app, "/v1/merchants/m-auto/pay-channels", token="tok-auto")
            return bool(body["disable_pay_channels"])

        await eventually(off, timeout=60, what="Huabei off for the auto merchant")
        _, body, _ = await get_json(app, "/v1/merchants/m-notify/pay-channels", token="tok-notify")
        assert body["disable_pay_channels"] == []


async def test_signed_payment_results_from_many_merchants_open_a_platform_outage(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    clock = ManualClock(NOW)
    merchants = [{"id": f"p{i}", "mode": "auto", "token": f"t{i}", "payments_secret": f"s{i}"} for i in range(5)]
    settings = settings_for(tmp_path, bus.topics.prefix, {"merchants": merchants})
    async with running(settings, broker, ["watcher", "incidents", "cashier"], clock) as app:
        url = f"http://127.0.0.1:{app.admin_port}/v1/payment-results"
        async with aiohttp.ClientSession() as s:
            for i in range(5):
                results = []
                for j in range(12):
                    at = (clock.now() - timedelta(seconds=30 - j)).isoformat()
                    results.append({"merchant_id": f"p{i}", "at": at, "channel": "pcredit", "success": False,
                                    "code": "20000", "sub_code": "isp.unknow-error"})
                    results.append({"merchant_id": f"p{i}", "at": at, "channel": "balance", "success": True})
                body = json.dumps({"merchant_id": f"p{i}", "results": results}).encode()
                async with s.post(url, data=body, headers=signed_headers(f"p{i}", f"s{i}", body, clock.now())) as r:
                    assert r.status == 202, await r.text()
                bad = json.dumps({"merchant_id": f"p{i}", "results": results[:1]}).encode()
                async with s.post(url, data=bad, headers=signed_headers(f"p{i}", "wrong", bad, clock.now())) as r:
                    assert r.status == 401
        watcher = role(app, "watcher")

        async def counted() -> bool:
            return watcher.payments.detector.status().tracked_merchants >= 5

        await eventually(counted, timeout=60, what="results consumed from Kafka")
        anomalies = await watcher.payments.evaluate()
        assert [(a.anomaly_id, a.state) for a in anomalies] == [("platform:pcredit", "raised")]
        incidents = role(app, "incidents")
        opened = await eventually(lambda: incidents.list(open_only=True), timeout=60, what="outage incident")
        assert opened[0].kind.value == "outage"

        async def off() -> bool:
            _, body, _ = await get_json(app, "/v1/merchants/p0/pay-channels", token="t0")
            return bool(body["disable_pay_channels"])

        await eventually(off, timeout=60, what="Huabei off during the outage")


async def test_notify_sends_each_message_once_across_a_restart(broker: EmbeddedBroker, bus: Bus, tmp_path: Path) -> None:
    clock = ManualClock(NOW.replace(hour=3))  # 11:00 in Shanghai: outside quiet hours
    async with FakeWeCom(clock, keys={"robot-1", "ops-robot"}) as wecom, FakeAliyunSms(
        clock, access_key_id="AK", access_key_secret="SK"
    ) as sms:
        settings = settings_for(tmp_path, bus.topics.prefix, {
            "notify": {
                "ops": [{"channel": "wecom", "address": "ops-robot"}],
                "wecom": {"base_url": wecom.base_url},
                "aliyun_sms": {"base_url": sms.base_url, "access_key_id": "AK", "access_key_secret": "SK",
                               "sign_name": "花呗助手", "default_template_code": "SMS_1"},
            },
            "merchants": [{"id": "m1", "mode": "auto", "token": "t1", "channels": ["wecom", "sms"],
                           "contacts": {"wecom_robot_key": "robot-1", "phone": "13800000001"}}],
        })
        async with running(settings, broker, ["incidents", "notify"], clock) as app:
            status, _ = await _open(app)
            assert status == 201
            await eventually(lambda: len(wecom.received) >= 2 and len(sms.received) >= 1, timeout=60, what="messages")
        async with running(settings, broker, ["incidents", "notify"], clock) as app:
            await role(app, "notify").replan_open()
            await role(app, "incidents").republish()
            await notify_idle(role(app, "notify"))
        assert not wecom.duplicates() and not sms.duplicates()
        assert sorted(wecom.count_by_recipient()) == ["ops-robot", "robot-1"]
        assert len(sms.received) == 1


async def _open(app: App[Settings]) -> tuple[int, Any]:  # the JSON answer
    from tests.e2e.harness import post_json

    return await post_json(app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用"})


async def test_metrics_show_fan_out_progress_open_incidents_and_the_switch(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    clock = ManualClock(NOW.replace(hour=3))
    out = tmp_path / "n.jsonl"
    settings = settings_for(tmp_path, bus.topics.prefix, {
        "notify": {"file": {"path": str(out)}},
        "merchants": [{"id": f"f{i}", "mode": "auto", "token": f"t{i}", "channels": ["file"]} for i in range(20)],
    })
    async with running(settings, broker, ["incidents", "cashier", "notify"], clock) as app:
        status, _ = await _open(app)
        assert status == 201
        await eventually(lambda: out.exists() and len(out.read_text("utf-8").splitlines()) == 20, timeout=60,
                         what="20 messages")

        async def scraped() -> dict[str, float]:
            await role(app, "cashier").reconcile_all()
            _, text, _ = await get_json(app, "/metrics", token=None)
            values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                      if line.startswith("huabei_")}
            # The file line is written before the fan-out counts the message as sent.
            sent = values.get('huabei_notify_messages_total{outcome="sent"}', 0.0)
            return values if values.get("huabei_cashier_platform_off") == 1 and sent >= 20 else {}

        values = await eventually(scraped, timeout=60, what="the switch off in /metrics")
        assert values['huabei_notify_messages_total{outcome="sent"}'] >= 20
        assert values['huabei_incidents_open{kind="outage",phase="active"}'] == 1
        assert values["huabei_cashier_platform_off"] == 1
