"""A notify deployment against the loopback provider fakes, for end-to-end tests of what people get.

The notify role (and the incidents role when a test needs incidents opened for real) runs in an
``App`` on the session broker; WeCom, Aliyun SMS and Tencent SMS are the fakes of ``tests/fakes``,
which check signatures and count every message they accept.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.clock import ManualClock
from huabei_watch.runtime.app import App
from tests.e2e.harness import running, settings_for
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.base import Received
from tests.fakes.tencent_sms import FakeTencentSms
from tests.fakes.wechat_oa import FakeWeChatOA
from tests.fakes.wecom import FakeWeCom
from tests.fakes.wecom_app import FakeWeComApp

#: 11:00 in Shanghai: outside quiet hours, so SMS go out at once.
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
AK, SK = "ak-id", "ak-secret"
TC_ID, TC_KEY, TC_APP = "tc-id", "tc-key", "1400000001"
SIGN = "花呗助手"
WX_APP, WX_SECRET = "wx-app-1", "wx-secret-0123456789"
CORP_ID, CORP_SECRET, AGENT_ID = "ww0123456789", "corp-secret-0123456789", 1000002


@dataclass
class World:
    app: App[Any]
    clock: ManualClock
    wecom: FakeWeCom
    aliyun: FakeAliyunSms
    tencent: FakeTencentSms
    wechat: FakeWeChatOA
    wecom_app: FakeWeComApp

    def wecom_texts(self, robot: str) -> list[str]:
        return [r.body["markdown"]["content"] for r in self.wecom.received if r.recipient == robot]

    def sms_to(self, fake: FakeAliyunSms | FakeTencentSms, phone: str) -> list[Received]:
        return [r for r in fake.received if r.recipient == phone]


def aliyun_table(base_url: str, **extra: Any) -> dict[str, Any]:
    return {"base_url": base_url, "access_key_id": AK, "access_key_secret": SK, "sign_name": SIGN, **extra}


def tencent_table(base_url: str, **extra: Any) -> dict[str, Any]:
    return {"base_url": base_url, "secret_id": TC_ID, "secret_key": TC_KEY, "sdk_app_id": TC_APP, "sign_name": SIGN,
            **extra}


@asynccontextmanager
async def notify_world(
    tmp_path: Path, prefix: str, broker: EmbeddedBroker, *, merchants: list[dict[str, Any]],
    notify: dict[str, Any], robots: set[str], roles: tuple[str, ...] = ("incidents", "notify"),
    aliyun_templates: set[str] | None = None, extra: dict[str, Any] | None = None,
    members: set[str] | None = None,
) -> AsyncIterator[World]:
    """Fakes started, ``notify`` completed with their URLs (tables given as ``{}`` or with
    extra keys), the roles running. ``aliyun_templates``: the only TemplateCodes Aliyun accepts.
    ``members``: the userids the WeCom application reaches.
    ``extra``: other sections of the settings (e.g. ``pages``)."""
    clock = ManualClock(NOW)
    async with AsyncExitStack() as stack:
        wecom = await stack.enter_async_context(FakeWeCom(clock, keys=robots))
        aliyun = await stack.enter_async_context(FakeAliyunSms(
            clock, access_key_id=AK, access_key_secret=SK, sign_names={SIGN}, templates=aliyun_templates))
        tencent = await stack.enter_async_context(
            FakeTencentSms(clock, secret_id=TC_ID, secret_key=TC_KEY, sdk_app_id=TC_APP))
        wechat = await stack.enter_async_context(FakeWeChatOA(clock, app_id=WX_APP, app_secret=WX_SECRET))
        wecom_app = await stack.enter_async_context(FakeWeComApp(
            clock, corp_id=CORP_ID, corp_secret=CORP_SECRET, agent_id=AGENT_ID, members=members or set()))
        cfg = dict(notify)
        if "wecom_app" in cfg:
            cfg["wecom_app"] = {"base_url": wecom_app.base_url, "corp_id": CORP_ID, "corp_secret": CORP_SECRET,
                                "agent_id": AGENT_ID, **cfg["wecom_app"]}
        if "wecom" in cfg:
            cfg["wecom"] = {"base_url": wecom.base_url, **cfg["wecom"]}
        if "aliyun_sms" in cfg:
            cfg["aliyun_sms"] = aliyun_table(aliyun.base_url, **cfg["aliyun_sms"])
        if "tencent_sms" in cfg:
            cfg["tencent_sms"] = tencent_table(tencent.base_url, **cfg["tencent_sms"])
        if "wechat_oa" in cfg:
            cfg["wechat_oa"] = {"base_url": wechat.base_url, "app_id": WX_APP, "app_secret": WX_SECRET, **cfg["wechat_oa"]}
        settings = settings_for(tmp_path, prefix, {"notify": cfg, "merchants": merchants, **(extra or {})})
        app = await stack.enter_async_context(running(settings, broker, list(roles), clock))
        yield World(app, clock, wecom, aliyun, tencent, wechat, wecom_app)


CODE_SPAN = re.compile(r"`([^`]+)`")
