"""Cashier webhook pushes: signed, retried, and a failing webhook never blocks the others."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import ManualClock
from tests.e2e.harness import post_json, role, running, settings_for
from tests.support import eventually

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


class Cashier:
    """A merchant's cashier webhook on loopback that checks the signature like a merchant would."""

    def __init__(self, secret: str, fail_first: int = 0, always_fail: bool = False) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.always_fail = always_fail
        self.requests = 0
        self.accepted: list[dict[str, Any]] = []
        self.bad_signatures = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        ts = request.headers.get("X-Huabei-Timestamp", "")
        expected = "sha256=" + hmac.new(self.secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Huabei-Signature", "")):
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.always_fail or self.requests <= self.fail_first:
            return web.Response(status=500)
        self.accepted.append(json.loads(body))
        return web.Response(status=204)


@pytest.fixture
async def cashiers() -> AsyncIterator[dict[str, tuple[Cashier, str]]]:
    out: dict[str, tuple[Cashier, str]] = {}
    servers = []
    for name, c in (("ok", Cashier("s-ok")), ("flaky", Cashier("s-flaky", fail_first=2)), ("down", Cashier("s-down", always_fail=True))):
        app = web.Application()
        app.router.add_post("/hook", c.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        out[name] = (c, str(server.make_url("/hook")))
    yield out
    for s in servers:
        await s.close()


async def test_policy_changes_are_pushed_signed_retried_and_never_blocked_by_a_failing_webhook(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path, cashiers: dict[str, tuple[Cashier, str]]
) -> None:
    clock = ManualClock(NOW)
    merchants = [
        {"id": f"w-{name}", "mode": "auto", "token": f"t-{name}", "cashier_webhook": url, "webhook_secret": c.secret}
        for name, (c, url) in cashiers.items()
    ]
    merchants.append({"id": "w-notify", "mode": "notify_only", "cashier_webhook": cashiers["ok"][1], "webhook_secret": "x"})
    settings = settings_for(tmp_path, bus.topics.prefix, {"merchants": merchants})
    async with running(settings, broker, ["incidents", "cashier"], clock) as app:
        status, _ = await post_json(app, "/v1/incidents", {"title": "花呗异常"})
        assert status == 201
        ok, flaky, down = cashiers["ok"][0], cashiers["flaky"][0], cashiers["down"][0]
        pusher = role(app, "cashier").pusher

        async def pushed_ok() -> bool:
            await pusher.run_once()
            return bool(ok.accepted)

        await eventually(pushed_ok, timeout=60, what="push to the healthy webhook")
        assert ok.accepted[0]["merchant_id"] == "w-ok"
        assert ok.accepted[0]["policy"]["disable_pay_channels"] == ["pcredit", "pcreditpayInstallment"]
        assert down.requests >= 1 and flaky.requests >= 1  # tried, failing, and not in the way

        async def flaky_delivered() -> bool:
            clock.advance(120)  # past the retry backoff
            await pusher.run_once()
            return bool(flaky.accepted)

        await eventually(flaky_delivered, timeout=60, what="retried push to the flaky webhook")
        assert flaky.requests == 3
        assert not down.accepted and ok.bad_signatures == flaky.bad_signatures == down.bad_signatures == 0
        assert [p["merchant_id"] for p in ok.accepted] == ["w-ok"]  # the notify_only merchant gets no push
