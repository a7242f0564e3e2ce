"""Issue 18: a merchant's WeCom and WeChat messages carry a signed link that opens its own page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from consumers.notify.channels.base import OutboundMessage
from consumers.notify.channels.wecom import LINK_TEXT, MAX_MARKDOWN_BYTES, content
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from tests.e2e.harness import get_json
from tests.notify.test_notify_truth import merchant, open_outage, settle
from tests.notify.world import notify_world
from tests.support import eventually

PUBLIC = "https://huabei.example.com"
PAGES = {"pages": {"public_url": PUBLIC, "link_secret": "links-secret-0123456789"}}
LINK = re.compile(re.escape(f"[{LINK_TEXT}](") + r"(" + re.escape(PUBLIC) + r"/m/[^)\s]+)\)$")


def shop(mid: str, robot: str, openid: str, phone: str = "13800000077") -> dict[str, Any]:
    m = merchant(mid, "auto", ["wecom", "wechat_oa", "sms"], robot, phone)
    m["contacts"]["wechat_openid"] = openid
    return m


async def opens(world: Any, url: str) -> int:
    """The status of the link's page on the world's admin server, opened without a token."""
    parts = urlsplit(url)
    status, _, _ = await get_json(world.app, f"{parts.path}?{parts.query}", token=None)
    return status


async def test_merchant_messages_on_wecom_and_wechat_carry_a_link_that_opens_only_its_own_page(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    merchants = [shop("m-link", "robot-link", "o-link"), shop("m-other", "robot-other", "o-other", "13800000078")]
    notify = {"wecom": {}, "wechat_oa": {"default_template_id": "TPL-1"}, "aliyun_sms": {"default_template_code": "SMS_1"},
              "ops": [{"channel": "wecom", "address": "ops-robot"}]}
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify=notify,
                            robots={"robot-link", "robot-other", "ops-robot"}, aliyun_templates={"SMS_1"},
                            extra=PAGES) as w:
        await open_outage(w)
        await eventually(lambda: (len(w.wecom.received), len(w.wechat.received), len(w.aliyun.received)) == (3, 2, 2),
                         what="every message of the outage")
        await settle(w)

        (wecom_text,) = w.wecom_texts("robot-link")
        found = LINK.search(wecom_text)
        assert found, wecom_text
        link = found.group(1)
        assert urlsplit(link).path == "/m/m-link"
        wechat = {r.body["touser"]: r.body for r in w.wechat.received}
        assert wechat["o-link"]["url"].startswith(f"{PUBLIC}/m/m-link?")
        assert wechat["o-other"]["url"].startswith(f"{PUBLIC}/m/m-other?")
        (ops_text,) = w.wecom_texts("ops-robot")
        assert PUBLIC not in ops_text  # ops get no merchant's link
        assert all(PUBLIC not in str(r.body) for r in w.aliyun.received)  # SMS templates are fixed: no link

        assert await opens(w, link) == 200
        assert await opens(w, wechat["o-other"]["url"]) == 200
        # The signature is this merchant's only: not another merchant's page, not a changed one.
        assert await opens(w, link.replace("/m/m-link?", "/m/m-other?")) == 403
        assert await opens(w, link[:-1] + ("0" if link[-1] != "0" else "1")) == 403


async def test_no_link_without_a_public_url(broker: EmbeddedBroker, bus: Bus, tmp_path: Path) -> None:
    notify: dict[str, Any] = {"wecom": {}}
    pages = {"pages": {"link_secret": "links-secret-0123456789"}}  # no public_url: no address to give people
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=[shop("m-link", "robot-link", "o-link")],
                            notify=notify, robots={"robot-link"}, extra=pages) as w:
        await open_outage(w)
        await eventually(lambda: len(w.wecom.received) == 1, what="the outage message")
        assert LINK_TEXT not in w.wecom_texts("robot-link")[0]


def test_a_long_message_is_clipped_before_the_link_so_the_link_stays_whole() -> None:
    link = f"{PUBLIC}/m/m-1?exp=1800000000&sig={'a' * 64}"
    msg = OutboundMessage(dedupe_key="k", recipient="m-1", address="r", title="t", text="", markdown="花" * 3000,
                          link=link)
    sent = content(msg)
    assert len(sent.encode("utf-8")) <= MAX_MARKDOWN_BYTES
    assert sent.endswith(f"[{LINK_TEXT}]({link})")
