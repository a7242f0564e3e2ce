"""The built-in sandbox platform, read by the real watcher (with a stand-in understanding)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.events import (
    ANNOUNCEMENT_PUBLISHED,
    MAINTENANCE_CANCELLED,
    MAINTENANCE_SCHEDULED,
    MAINTENANCE_UPDATED,
    AnnouncementPublished,
    MaintenanceSignal,
)
from tests.fakes.bus import RecordingPublisher
from tests.sources.helpers import START, standin_understand
from watcher.sandbox import make_sandbox_app, sandbox_sources, start_sandbox
from watcher.sources.announcements import AnnouncementWatcher
from watcher.sources.fetch import Fetcher
from watcher.sources.seen import SqlSeenStore


@pytest.fixture
async def sandbox(clock: ManualClock) -> AsyncIterator[TestServer]:
    server = TestServer(make_sandbox_app(clock, start=START, health_follows_maintenance=True), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def base_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


def watchers(
    server: TestServer, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock, pub: RecordingPublisher
) -> tuple[AnnouncementWatcher, AnnouncementWatcher]:
    html, rss = (cfg.model_copy(update={"politeness_delay": 0.0}) for cfg in sandbox_sources(base_url(server)))
    return (
        AnnouncementWatcher(html, fetcher, store, pub, clock, standin_understand),
        AnnouncementWatcher(rss, fetcher, store, pub, clock, standin_understand),
    )


def hhmm(signal: MaintenanceSignal) -> list[tuple[str, str]]:
    return [
        (w.start.astimezone(SHANGHAI).strftime("%m-%d %H:%M"), w.end.astimezone(SHANGHAI).strftime("%H:%M") if w.end else "")
        for w in signal.windows
    ]


async def test_first_poll_of_the_sandbox_schedules_only_the_coming_huabei_maintenance(
    sandbox: TestServer, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    pub = RecordingPublisher()
    html, rss = watchers(sandbox, fetcher, store, clock, pub)
    html_report, rss_report = await html.poll_once(), await rss.poll_once()
    assert html_report.ok and html_report.listed == 2
    assert rss_report.ok and rss_report.listed == 2
    assert [e.type for e in pub.events] == [MAINTENANCE_SCHEDULED]
    signal = pub.events[0].data
    assert isinstance(signal, MaintenanceSignal)
    assert hhmm(signal) == [("11-26 18:10", "18:30")]
    assert signal.title == "关于花呗服务系统维护的公告"
    assert (await html.poll_once()).not_modified
    assert (await rss.poll_once()).not_modified


async def test_postponed_then_cancelled_maintenance_in_the_sandbox(
    sandbox: TestServer, session: aiohttp.ClientSession, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    pub = RecordingPublisher()
    html, _ = watchers(sandbox, fetcher, store, clock, pub)
    await html.poll_once()

    async with session.post(sandbox.make_url("/admin/maintenance?shift=30")) as resp:
        assert resp.status == 200
    clock.advance(60)
    report = await html.poll_once()
    assert report.ok and report.edited == 1
    assert [e.type for e in pub.events] == [MAINTENANCE_SCHEDULED, ANNOUNCEMENT_PUBLISHED, MAINTENANCE_UPDATED]
    ann, updated = pub.events[1].data, pub.events[2].data
    assert isinstance(ann, AnnouncementPublished) and ann.edited and ann.title.endswith("（更新）")
    assert "因维护安排调整，花呗服务将于 11月26日 18:40 至 19:00 暂停" in ann.text
    assert isinstance(updated, MaintenanceSignal) and hhmm(updated) == [("11-26 18:40", "19:00")]

    async with session.get(sandbox.make_url("/admin/maintenance?cancel=1")) as resp:
        assert (await resp.json())["cancelled"] is True
    await html.poll_once()
    assert [e.type for e in pub.events][-2:] == [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_CANCELLED]


async def test_sandbox_gbk_page_says_its_charset_only_in_meta(
    sandbox: TestServer, session: aiohttp.ClientSession, fetcher: Fetcher
) -> None:
    async with session.get(sandbox.make_url("/notices/n1004.html")) as resp:
        raw = await resp.read()
        assert resp.headers["Content-Type"] == "text/html"
    assert b'<meta charset="gbk">' in raw
    assert "花呗服务将于".encode("gbk") in raw
    result = await fetcher.fetch(str(sandbox.make_url("/notices/n1004.html")))
    assert result.encoding == "gb18030" and "花呗服务将于 11月26日 18:10 至 18:30 暂停" in result.text


async def test_sandbox_pages_answer_304_to_their_etag(sandbox: TestServer, session: aiohttp.ClientSession) -> None:
    for path in ("/notices/", "/notices/n1002.html", "/dev/rss.xml"):
        async with session.get(sandbox.make_url(path)) as first:
            etag = first.headers["ETag"]
        async with session.get(sandbox.make_url(path), headers={"If-None-Match": etag}) as second:
            assert second.status == 304, path


async def test_sandbox_health_switch_and_maintenance_window(
    sandbox: TestServer, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    async def status() -> tuple[int, str]:
        async with session.get(sandbox.make_url("/health")) as resp:
            return resp.status, (await resp.json())["status"]

    assert await status() == (200, "ok")
    async with session.get(sandbox.make_url("/admin/health?down=1")):
        pass
    assert await status() == (503, "down")
    async with session.get(sandbox.make_url("/admin/health?down=0")):
        pass
    assert await status() == (200, "ok")
    clock.advance(timedelta(minutes=15))  # 18:15, inside 18:10-18:30
    assert await status() == (503, "down")
    clock.advance(timedelta(minutes=15))
    assert await status() == (200, "ok")


async def test_start_sandbox_serves_on_a_free_loopback_port(clock: ManualClock, session: aiohttp.ClientSession) -> None:
    server = await start_sandbox(clock, start=START)
    try:
        assert server.base_url.startswith("http://127.0.0.1:")
        async with session.get(server.base_url + "/") as resp:
            assert resp.status == 200 and "平台公告" in await resp.text()
    finally:
        await server.close()
    html, rss = sandbox_sources(server.base_url)
    assert html.list_url == server.base_url + "/notices/"
    assert rss.feed_url == server.base_url + "/dev/rss.xml"


async def test_sandbox_maintenance_starts_on_a_whole_minute_ten_minutes_on(
    clock: ManualClock, session: aiohttp.ClientSession
) -> None:
    server = await start_sandbox(clock, start=START + timedelta(seconds=20))
    try:
        async with session.get(server.base_url + "/admin/maintenance") as resp:
            window = await resp.json()
    finally:
        await server.close()
    assert window["start"] == "2026-11-26T18:11:00+08:00"
    assert window["end"] == "2026-11-26T18:31:00+08:00"
