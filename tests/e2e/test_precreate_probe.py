"""The synthetic pre-order probe wired into the daemon: a frozen account reaches the merchant."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import ManualClock
from huabei_watch.events import IncidentKind
from tests.e2e.harness import role, running, settings_for
from tests.fakes.alipay_gateway import FakeAlipayGateway, Mode
from tests.support import eventually
from watcher.sources.precreate import PrecreateOutcome

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


async def test_blocked_seller_found_by_the_pre_order_probe_opens_a_merchant_incident_and_tells_the_merchant(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    from tests.alipay.support import new_pair

    keys = new_pair()
    clock = ManualClock(NOW)
    out = tmp_path / "n.jsonl"
    async with FakeAlipayGateway(apps={"2021000000000001": keys.public_pem}) as gw:
        gw.set_mode("2021000000000001", Mode.SELLER_BLOCKED)
        settings = settings_for(tmp_path, bus.topics.prefix, {
            "alipay": {
                "enabled": True, "gateway_url": gw.url, "interval": 600, "raise_after": 2,
                "merchants": [{"merchant_id": "pa", "app_id": "2021000000000001", "private_key": keys.private_pem,
                               "alipay_public_key": gw.alipay_public_key_pem}],
            },
            "notify": {"file": {"path": str(out)}},
            "merchants": [{"id": "pa", "mode": "auto", "token": "t", "channels": ["file"]}],
        })
        async with running(settings, broker, ["watcher", "incidents", "cashier", "notify"], clock) as app:
            scheduler = role(app, "watcher").precreate
            assert scheduler is not None  # [precreate] is configured
            outcomes: list[PrecreateOutcome] = []
            for _ in range(2):
                clock.advance(timedelta(seconds=601))
                outcomes += await scheduler.run_due()
            assert [o.sub_code for o in outcomes] == ["ACQ.SELLER_BEEN_BLOCKED"] * 2
            assert not gw.open_orders()  # every pre-order cancelled: nothing left behind
            incidents = role(app, "incidents")
            opened = await eventually(lambda: incidents.list(open_only=True), timeout=60, what="merchant incident")
            assert opened[0].kind is IncidentKind.MERCHANT_ACCOUNT and opened[0].scope.merchant_ids == ("pa",)
            assert opened[0].toggle is False  # a merchant's own problem never switches Huabei platform-wide

            def messages() -> list[dict[str, str]]:
                return [json.loads(x) for x in out.read_text("utf-8").splitlines()] if out.exists() else []

            await eventually(messages, timeout=60, what="message to the merchant")
            text = messages()[0]["text"]
            assert "冻结" in text or "账户" in text
