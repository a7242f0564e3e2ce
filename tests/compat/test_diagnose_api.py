"""GET /v1/diagnose over a real loopback server: shopper hints, the switch's message, auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from huabei_watch.config.settings import MerchantConfig
from huabei_watch.db.engine import Database
from huabei_watch.errors import TransientError
from huabei_watch.merchants.registry import MerchantRegistry
from watcher.compat.api import add_diagnose_routes

OPS = "ops-token-for-tests"
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
MAINTENANCE_MSG = "花呗系统维护中，预计04:00恢复，请使用其他支付方式"


@dataclass
class Policies:
    """What the cashier role would answer: the merchant's policy message while Huabei is off."""

    messages: dict[str, str] = field(default_factory=dict)
    broken: bool = False
    asked: list[str] = field(default_factory=list)

    async def lookup(self, merchant_id: str) -> str | None:
        self.asked.append(merchant_id)
        if self.broken:
            raise TransientError("database unavailable")
        return self.messages.get(merchant_id)


@dataclass
class Api:
    url: str
    policies: Policies

    async def get(self, token: str | None, **params: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with aiohttp.ClientSession() as s, s.get(f"{self.url}/v1/diagnose", params=params, headers=headers) as r:
            return r.status, await r.json()


@pytest.fixture
async def api(db: Database, tmp_path: Path) -> AsyncIterator[Api]:
    registry = MerchantRegistry(db)
    await registry.upsert_many(
        [MerchantConfig.model_validate({"id": "m1", "token": "tok-1"}),
         MerchantConfig.model_validate({"id": "m2", "token": "tok-2"})],
        origin="config", now=NOW,
    )
    policies = Policies({"m1": MAINTENANCE_MSG})
    web_app = web.Application()
    add_diagnose_routes(web_app.router, policies.lookup, registry=registry, ops_token=SecretStr(OPS))
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    try:
        yield Api(str(server.make_url("")).rstrip("/"), policies)
    finally:
        await server.close()


async def test_buyer_quota_suggests_checking_quota_or_another_method(api: Api) -> None:
    status, body = await api.get("tok-2", code="40004", sub_code="ACQ.BUYER_BALANCE_NOT_ENOUGH", merchant_id="m2")
    assert status == 200
    assert body == {
        "cause": "buyer", "shopper_message_zh": "花呗额度不足，请查看花呗额度或选择其他支付方式",
        "advice_zh": body["advice_zh"], "explanation": body["explanation"], "retry": False,
    }
    assert "无需处理" in body["advice_zh"]


async def test_failure_during_maintenance_shows_the_expected_end_from_the_policy(api: Api) -> None:
    status, body = await api.get("tok-1", code="40004", sub_code="ACQ.SYSTEM_ERROR", merchant_id="m1")
    assert status == 200 and body["cause"] == "platform"
    assert body["shopper_message_zh"] == MAINTENANCE_MSG and body["retry"] is False
    status, body = await api.get("tok-1", transport_error="timeout", merchant_id="m1")
    assert body["shopper_message_zh"] == MAINTENANCE_MSG
    assert api.policies.asked == ["m1", "m1"]


async def test_platform_failure_without_a_switch_suggests_retrying_later(api: Api) -> None:
    status, body = await api.get("tok-2", code="ACQ.SYSTEM_ERROR", merchant_id="m2")
    assert status == 200 and body["cause"] == "platform" and body["retry"] is True
    assert body["shopper_message_zh"] == "支付服务繁忙，请稍后重试或选择其他支付方式"


async def test_unknown_code_still_tells_the_shopper_what_to_do(api: Api) -> None:
    status, body = await api.get(OPS, code="40004", sub_code="ACQ.BRAND_NEW_CODE")
    assert status == 200 and body["cause"] == "unknown" and body["retry"] is False
    assert body["shopper_message_zh"] == "本次支付未成功，请选择其他支付方式"


async def test_policy_lookup_failure_falls_back_to_the_diagnosis(api: Api) -> None:
    api.policies.broken = True
    status, body = await api.get("tok-1", code="ACQ.SYSTEM_ERROR", merchant_id="m1")
    assert status == 200 and body["shopper_message_zh"] == "支付服务繁忙，请稍后重试或选择其他支付方式"


async def test_a_merchant_token_without_merchant_id_stands_for_its_merchant(api: Api) -> None:
    status, body = await api.get("tok-1", code="40004", sub_code="ACQ.SYSTEM_ERROR")
    assert status == 200 and body["shopper_message_zh"] == MAINTENANCE_MSG  # m1's own switch message
    status, body = await api.get("tok-2", code="ACQ.SYSTEM_ERROR")
    assert status == 200 and body["retry"] is True
    assert api.policies.asked == ["m1", "m2"]


async def test_ops_without_merchant_id_gets_the_diagnosis_alone(api: Api) -> None:
    status, body = await api.get(OPS, code="ACQ.SYSTEM_ERROR")
    assert status == 200 and body["cause"] == "platform" and api.policies.asked == []


@pytest.mark.parametrize(
    ("token", "params", "status"),
    [
        (None, {"code": "ACQ.SYSTEM_ERROR", "merchant_id": "m1"}, 401),
        (None, {"code": "ACQ.SYSTEM_ERROR"}, 401),
        ("wrong", {"code": "ACQ.SYSTEM_ERROR", "merchant_id": "m1"}, 403),
        ("wrong", {"code": "ACQ.SYSTEM_ERROR"}, 403),
        ("tok-2", {"code": "ACQ.SYSTEM_ERROR", "merchant_id": "m1"}, 403),
        ("tok-1", {"code": "ACQ.SYSTEM_ERROR", "merchant_id": "nobody"}, 403),
        (OPS, {"code": "ACQ.SYSTEM_ERROR", "merchant_id": "nobody"}, 404),
        (OPS, {"code": "ACQ.SYSTEM_ERROR", "merchant_id": "m1"}, 200),
        ("tok-1", {"merchant_id": "m1"}, 400),
        ("tok-1", {"code": "x" * 129, "merchant_id": "m1"}, 400),
    ],
)
async def test_auth_and_input_errors(api: Api, token: str | None, params: dict[str, str], status: int) -> None:
    got, body = await api.get(token, **params)
    assert got == status
    assert ("error" in body) == (status != 200)
    if status in (401, 403):
        assert api.policies.asked == []  # nothing about the merchant leaks before auth
