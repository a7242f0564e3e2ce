"""Issue 15, end to end: what each provider fake receives is true, addressed right, and sent once."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.events import MERCHANT_FINDING, Cause, Event
from huabei_watch.events.signals import MerchantFinding
from tests.e2e.harness import OPS, post_json, role
from tests.fakes.base import Failure
from tests.notify.world import CODE_SPAN, NOW, notify_world
from tests.support import eventually, notify_idle

_STEPS = {"maintenance": ("announced", "reminder", "started", "resolved", "changed", "cancelled"),
          "outage": ("opened", "ongoing", "resolved"), "merchant_account": ("opened", "resolved"),
          "integration": ("opened", "resolved")}
#: Every template a merchant message can use: auto and (where Huabei is switched) manual voices.
MERCHANT_BASES = [f"{k}.{s}{v}" for k, steps in _STEPS.items() for s in steps
                  for v in (("", ".manual") if k in ("maintenance", "outage") else ("",))]

ALIYUN_IDS = {base: f"SMS_{100 + i}" for i, base in enumerate([*MERCHANT_BASES, "ops"])}
TENCENT_IDS = {base: str(900100 + i) for i, base in enumerate([*MERCHANT_BASES, "ops"])}
SELF_ACTION = "请在收银台暂停花呗"


def merchant(mid: str, mode: str, channels: list[str], robot: str | None = None, phone: str | None = None) -> dict[str, Any]:
    contacts = {k: v for k, v in (("wecom_robot_key", robot), ("phone", phone)) if v}
    return {"id": mid, "mode": mode, "token": f"tok-{mid}", "channels": channels, "contacts": contacts}


async def open_outage(world: Any) -> str:
    status, body = await post_json(world.app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用"})
    assert status == 201, body
    return str(body["incident_id"])


async def settle(world: Any) -> None:
    await notify_idle(role(world.app, "notify"))


async def test_notify_only_merchant_is_told_what_to_do_and_never_a_switch_that_did_not_happen(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    merchants = [
        merchant("m-auto", "auto", ["wecom", "sms"], "robot-auto", "13800000001"),
        merchant("m-self", "notify_only", ["wecom", "sms"], "robot-self", "13800000002"),
    ]
    notify = {"wecom": {}, "aliyun_sms": {"templates": ALIYUN_IDS}}
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify=notify,
                            robots={"robot-auto", "robot-self"}, aliyun_templates=set(ALIYUN_IDS.values())) as w:
        incident_id = await open_outage(w)
        await eventually(lambda: len(w.wecom.received) == 2 and len(w.aliyun.received) == 2, what="opened messages")
        (auto_text,) = w.wecom_texts("robot-auto")
        (self_text,) = w.wecom_texts("robot-self")
        assert "收银台已暂时关闭花呗" in auto_text
        assert SELF_ACTION in self_text and "已暂时关闭" not in self_text and "自动" not in self_text
        assert [r.body["TemplateCode"] for r in w.sms_to(w.aliyun, "13800000001")] == [ALIYUN_IDS["outage.opened"]]
        assert [r.body["TemplateCode"] for r in w.sms_to(w.aliyun, "13800000002")] == [ALIYUN_IDS["outage.opened.manual"]]

        status, _ = await post_json(w.app, f"/v1/incidents/{incident_id}/resolve", {})
        assert status == 200
        await eventually(lambda: len(w.wecom.received) == 4 and len(w.aliyun.received) == 4, what="resolved messages")
        await settle(w)
        assert "已重新开启花呗付款" in w.wecom_texts("robot-auto")[1]
        resolved_self = w.wecom_texts("robot-self")[1]
        assert "如您在收银台暂停了花呗" in resolved_self and "已重新开启" not in resolved_self
        assert w.sms_to(w.aliyun, "13800000002")[1].body["TemplateCode"] == ALIYUN_IDS["outage.resolved.manual"]
        assert not w.wecom.duplicates() and not w.aliyun.rejected


async def test_sms_default_templates_are_what_providers_receive_without_a_map(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    merchants = [
        merchant("m-ali", "auto", ["aliyun_sms"], phone="13800000011"),
        merchant("m-tc", "auto", ["tencent_sms"], phone="13800000012"),
    ]
    notify = {"aliyun_sms": {"default_template_code": "SMS_DEFAULT"}, "tencent_sms": {"default_template_id": "777001"}}
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify=notify, robots=set(),
                            aliyun_templates={"SMS_DEFAULT"}) as w:
        await open_outage(w)
        await eventually(lambda: w.aliyun.received and w.tencent.received, what="both SMS")
        await settle(w)
        assert [r.body["TemplateCode"] for r in w.aliyun.received] == ["SMS_DEFAULT"]
        assert [r.body["TemplateId"] for r in w.tencent.received] == ["777001"]
        assert not w.aliyun.rejected and not w.tencent.rejected
        # Aliyun's parameters travel in the query string, as the official SDKs send them.
        assert w.aliyun.param_places == ["query"]


async def test_two_ops_robots_on_one_channel_each_get_every_message(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    notify = {"wecom": {}, "ops": [{"channel": "wecom", "address": "ops-1"}, {"channel": "wecom", "address": "ops-2"}]}
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=[], notify=notify,
                            robots={"ops-1", "ops-2"}) as w:
        await open_outage(w)
        await eventually(lambda: len(w.wecom.received) == 2, what="both ops robots")
        await settle(w)
        assert sorted(w.wecom.count_by_recipient().items()) == [("ops-1", 1), ("ops-2", 1)]


async def test_an_incident_id_copied_from_wecom_resolves_that_incident(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    notify = {"wecom": {}, "ops": [{"channel": "wecom", "address": "ops-robot"}]}
    merchants = [merchant("m-blocked", "auto", ["wecom"], "robot-blocked")]
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify=notify,
                            robots={"ops-robot", "robot-blocked"}) as w:
        finding = MerchantFinding(
            finding_id="precreate:m-blocked", merchant_id="m-blocked", state="raised", origin="precreate",
            cause=Cause.MERCHANT_ACCOUNT, code="40004", sub_code="ACQ.SELLER_BEEN_BLOCKED",
            advice_zh="请处理 ACQ.SELLER_BEEN_BLOCKED", observed_at=NOW,
        )
        await bus.publish(Event.build(MERCHANT_FINDING, finding, time=NOW))
        texts = await eventually(lambda: w.wecom_texts("ops-robot"), timeout=60, what="the ops message")
        assert "＿" not in texts[0]
        assert "`ACQ.SELLER_BEEN_BLOCKED`" in texts[0]
        copied = next(span for span in CODE_SPAN.findall(texts[0]) if span.startswith("merchant_account:"))
        cfg = tmp_path / "cli.toml"
        cfg.write_text(f'[admin]\nops_token = "{OPS}"\n', "utf-8")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "huabei_watch.root.cli", "--config", str(cfg), "incident",
            "--url", f"http://127.0.0.1:{w.app.admin_port}", "resolve", copied,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert json.loads(out)["phase"] == "resolved"


async def test_each_merchant_uses_its_own_sms_provider_and_map_and_falls_back_in_its_order(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    merchants = [
        merchant("m-ali", "auto", ["aliyun_sms"], phone="13800000021"),
        merchant("m-tc", "auto", ["tencent_sms"], phone="13800000022"),
        merchant("m-both", "auto", ["tencent_sms", "aliyun_sms"], phone="13800000023"),
    ]
    notify = {"aliyun_sms": {"templates": ALIYUN_IDS}, "tencent_sms": {"templates": TENCENT_IDS}}
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify=notify, robots=set(),
                            aliyun_templates=set(ALIYUN_IDS.values())) as w:
        # Tencent refuses m-both's number for good (its region is blocked for the app): Aliyun carries it.
        w.tencent.blocked_numbers.add("13800000023")
        await open_outage(w)
        await eventually(lambda: len(w.aliyun.received) == 2 and len(w.tencent.received) == 1, what="three SMS")
        await settle(w)
        assert {r.recipient: r.body["TemplateCode"] for r in w.aliyun.received} == {
            "13800000021": ALIYUN_IDS["outage.opened"], "13800000023": ALIYUN_IDS["outage.opened"]}
        assert {r.recipient: r.body["TemplateId"] for r in w.tencent.received} == {"13800000022": TENCENT_IDS["outage.opened"]}
        # The blacklist answer is final: m-both's number was asked once at Tencent (in one request
        # with m-tc's, the text being the same), never retried.
        assert [code for code, _ in w.tencent.rejected] == ["LimitExceeded.AppCountryOrRegionInBlacklist"]
        assert w.tencent.requests == 1


async def test_tencent_blacklisted_region_is_not_retried(broker: EmbeddedBroker, bus: Bus, tmp_path: Path) -> None:
    merchants = [merchant("m-tc", "auto", ["tencent_sms"], phone="13800000031")]
    notify = {"tencent_sms": {"templates": TENCENT_IDS}}
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify=notify, robots=set()) as w:
        w.tencent.fail_always(Failure(code="LimitExceeded.AppCountryOrRegionInBlacklist", message="blocked"))
        await open_outage(w)
        await eventually(lambda: w.tencent.requests >= 1, what="the attempt")
        await settle(w)
        deliverer = role(w.app, "notify").deliverer
        await deliverer.run_due()
        assert w.tencent.requests == 1
        (dead,) = await deliverer.store.dead_letters(10)
        assert "AppCountryOrRegionInBlacklist" in dead.last_error
