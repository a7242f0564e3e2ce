"""End to end: one maintenance notice on a platform's list page and in its RSS feed (the feed's guid
is the notice's permalink) is one incident and one message per merchant and phase, counted at the
fake WeCom -- the announcement once, the cancellation once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import SHANGHAI, ManualClock
from tests.e2e.harness import role, running, settings_for
from tests.fakes.wecom import FakeWeCom
from tests.support import eventually

NOW = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)  # 11:00 in Shanghai
DAY = (NOW + timedelta(days=2)).astimezone(SHANGHAI)
TITLE = "关于花呗服务系统维护的公告"


class Platform:
    """A loopback notice site: a list page, the notice's page and an RSS feed naming the same page."""

    def __init__(self) -> None:
        self.cancelled = False
        app = web.Application()
        app.router.add_get("/notice/", self.list_page)
        app.router.add_get("/notice/1126.html", self.detail)
        app.router.add_get("/feed.xml", self.feed)
        self.server = TestServer(app, host="127.0.0.1")

    def text(self) -> str:
        words = "原定维护已取消" if self.cancelled else "为提升服务稳定性"
        return (f"尊敬的商户：{words}，花呗服务将于 {DAY.year}年{DAY.month}月{DAY.day}日 02:00 至 04:00 暂停，"
                "期间消费者使用花呗及花呗分期付款将无法完成支付。")

    def title(self) -> str:
        return TITLE.replace("维护的", "维护取消的") if self.cancelled else TITLE

    async def list_page(self, request: web.Request) -> web.Response:
        html = (f"<html><body><ul class='notice-list'><li><a href='/notice/1126.html?spm=list.1'>{self.title()}</a>"
                f"</li></ul></body></html>")
        return web.Response(text=html, content_type="text/html")

    async def detail(self, request: web.Request) -> web.Response:
        html = f"<html><body><h1>{self.title()}</h1><div class='notice-body'><p>{self.text()}</p></div></body></html>"
        return web.Response(text=html, content_type="text/html")

    async def feed(self, request: web.Request) -> web.Response:
        permalink = str(self.server.make_url("/notice/1126.html"))
        rss = (f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>公告</title><item>"
               f"<title>{self.title()}</title><guid>{permalink}</guid>"
               f"<description><![CDATA[<p>{self.text()}</p>]]></description></item></channel></rss>")
        return web.Response(text=rss, content_type="application/rss+xml")


@pytest.fixture
async def platform() -> AsyncIterator[Platform]:
    p = Platform()
    await p.server.start_server()
    yield p
    await p.server.close()


async def test_a_notice_on_the_list_and_in_the_feed_is_one_incident_and_one_message_per_phase(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path, platform: Platform
) -> None:
    clock = ManualClock(NOW)
    base = str(platform.server.make_url("")).rstrip("/")
    async with FakeWeCom(clock, keys={"robot-auto", "robot-notify"}) as wecom:
        settings = settings_for(tmp_path, bus.topics.prefix, {
            "notify": {"ops": [], "wecom": {"base_url": wecom.base_url}},
            "merchants": [
                {"id": "m-auto", "mode": "auto", "token": "tok-auto", "channels": ["wecom"],
                 "contacts": {"wecom_robot_key": "robot-auto"}},
                {"id": "m-notify", "mode": "notify_only", "token": "tok-notify", "channels": ["wecom"],
                 "contacts": {"wecom_robot_key": "robot-notify"}},
            ],
            "sources": [
                {"kind": "html", "id": "platform-list", "list_url": f"{base}/notice/", "interval": 5,
                 "item_selector": "ul.notice-list li", "body_selector": "div.notice-body", "politeness_delay": 0},
                {"kind": "rss", "id": "platform-feed", "feed_url": f"{base}/feed.xml", "interval": 5,
                 "politeness_delay": 0},
            ],
        })
        async with running(settings, broker, ["watcher", "incidents", "notify"], clock) as app:
            incidents, notify = role(app, "incidents"), role(app, "notify")
            watcher = role(app, "watcher")
            clock.advance(1)  # both sources' first polls are due
            await eventually(lambda: watcher.polling.summary.first == 2, timeout=60, what="both first polls")
            opened = await eventually(lambda: incidents.list(open_only=True), timeout=60, what="the incident")
            await eventually(lambda: len(wecom.received) >= 2, timeout=60, what="announcements")

            platform.cancelled = True
            for _ in range(2):  # each source sees the cancellation on its next poll
                clock.advance(6)
                polled = watcher.polling.summary.polls + 2
                await eventually(lambda: watcher.polling.summary.polls >= polled, timeout=60,  # noqa: B023 awaited here
                                 what="both sources polled")
            await eventually(lambda: not incidents.list(open_only=True), timeout=60, what="the cancellation")
            await eventually(lambda: len(wecom.received) >= 4, timeout=60, what="cancellation messages")
            await notify.stop()  # deliveries in progress finish: what the fake received is final

        assert [i.incident_id for i in opened] == [i.incident_id for i in incidents.list(open_only=False)]
        assert len(opened) == 1
        assert not wecom.duplicates()
        assert wecom.count_by_recipient() == {"robot-auto": 2, "robot-notify": 2}
        texts = [r.body["markdown"]["content"] for r in wecom.received if r.recipient == "robot-auto"]
        assert "取消" not in texts[0] and "取消" in texts[1]
