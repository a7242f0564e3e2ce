"""One notice, one identity: a list page and a feed of the same platform name a notice alike; an
edit made only on the notice's page is found; an empty list is not a broken source."""

from __future__ import annotations

from datetime import timedelta

from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.events import (
    ANNOUNCEMENT_PUBLISHED,
    MAINTENANCE_SCHEDULED,
    MAINTENANCE_UPDATED,
    SOURCE_DEGRADED,
    Event,
    EventData,
    MaintenanceSignal,
    Window,
)
from tests.fakes.bus import RecordingPublisher
from tests.sources.helpers import START, Page, Site, page, standin_understand
from watcher.sources.announce_config import HtmlSource, JsonSource, RssSource
from watcher.sources.announcements import AnnouncementWatcher
from watcher.sources.extract import NoticeRef
from watcher.sources.fetch import Fetcher
from watcher.sources.notice_plan import content_key, notice_key_for
from watcher.sources.seen import SqlSeenStore
from watcher.sources.seen_model import SeenNotice
from watcher.sources.source_states import SourceStates

GBK = "/notice/detail_maint_gbk.html"
MAINT_TEXT = "<p>为提升服务稳定性，花呗服务将于 2026年11月26日 18:10 至 18:30 暂停。</p>"


def serve_list(site: Site) -> None:
    site.pages["/notice/"] = Page(page("list.html"))
    site.pages[GBK] = Page(page("detail_maint_gbk.html"), content_type="text/html")
    site.pages["/notice/detail_old_maint.html"] = Page(page("detail_old_maint.html"))
    site.pages["/notice/detail_fee.html"] = Page(page("detail_fee.html"))


def serve_feed(site: Site, *, guid_only: bool = False) -> None:
    """The platform's RSS feed with the same maintenance notice: its link carries a tracking
    parameter and a default port, its guid is the permalink."""
    host, port = site.server.host, site.server.port
    link = f"http://{host.upper()}:{port}{GBK}?utm_source=rss"
    item = (f"<guid>{site.url(GBK)}</guid>" if guid_only else
            f"<link>{link}</link><guid isPermaLink='false'>maint-1126</guid>")
    rss = (f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>公告</title>"
           f"<item><title>关于花呗服务系统维护的公告</title>{item}"
           f"<pubDate>Thu, 26 Nov 2026 09:30:00 +0800</pubDate><description><![CDATA[{MAINT_TEXT}]]></description>"
           f"</item></channel></rss>")
    site.pages["/feed.xml"] = Page(rss.encode(), "application/rss+xml")


def html_source(site: Site, **overrides: object) -> HtmlSource:
    return HtmlSource.model_validate({
        "id": "notice-list", "list_url": site.url("/notice/"), "item_selector": "ul.notice-list li.notice-item",
        "link_selector": "a.notice-title", "date_selector": ".notice-date", "body_selector": "div.notice-body",
        "politeness_delay": 0.0, **overrides,
    })


def watcher(cfg: HtmlSource | RssSource | JsonSource, fetcher: Fetcher, store: SqlSeenStore,
            clock: ManualClock) -> tuple[AnnouncementWatcher, RecordingPublisher]:
    pub = RecordingPublisher()
    return AnnouncementWatcher(cfg, fetcher, store, pub, clock, standin_understand, states=SourceStates(store)), pub


def maint(events: list[Event[EventData]]) -> list[MaintenanceSignal]:
    return [e.data for e in events if isinstance(e.data, MaintenanceSignal)]


async def test_the_same_notice_on_the_list_page_and_in_the_feed_has_one_identity(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    serve_feed(site)
    listing, pub_list = watcher(html_source(site), fetcher, store, clock)
    feed, pub_feed = watcher(RssSource(id="notice-feed", feed_url=site.url("/feed.xml"), politeness_delay=0),
                             fetcher, store, clock)
    await listing.poll_once()
    await feed.poll_once()
    [from_list], [from_feed] = maint(pub_list.events), maint(pub_feed.events)
    assert from_list.notice_id == from_feed.notice_id
    assert (from_list.source_id, from_feed.source_id) == ("notice-list", "notice-feed")
    assert from_list.windows == from_feed.windows


async def test_a_permalink_guid_names_the_notice_like_its_list_link(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    serve_feed(site, guid_only=True)
    listing, pub_list = watcher(html_source(site), fetcher, store, clock)
    feed, pub_feed = watcher(RssSource(id="notice-feed", feed_url=site.url("/feed.xml"), politeness_delay=0),
                             fetcher, store, clock)
    await listing.poll_once()
    await feed.poll_once()
    assert maint(pub_list.events)[0].notice_id == maint(pub_feed.events)[0].notice_id


async def test_notices_without_a_page_of_their_own_are_named_by_title_and_windows(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    doc = ('{"list": [{"id": %d, "title": "关于花呗服务系统维护的公告", "content": "%s"}]}')
    text = "花呗服务将于 2026年11月26日 18:10 至 18:30 暂停。"
    site.pages["/a"] = Page((doc % (7, text)).encode(), "application/json")
    site.pages["/b"] = Page((doc % (12345, text)).encode(), "application/json")
    pubs = []
    for sid in ("a", "b"):
        w, pub = watcher(JsonSource(id=f"api-{sid}", url=site.url(f"/{sid}"), items_path="list", id_field="id",
                                    url_field="link", body_field="content", politeness_delay=0), fetcher, store, clock)
        await w.poll_once()
        pubs.append(pub)
    [a], [b] = maint(pubs[0].events), maint(pubs[1].events)
    assert a.notice_id == b.notice_id == content_key(a.title, a.windows)


def test_an_identity_once_given_is_kept_through_edits() -> None:
    start = START + timedelta(minutes=10)
    ref = NoticeRef("local-1", "https://open.example.com/api", "维护公告", None)
    first = notice_key_for(ref, None, ref.title, (Window(start=start, end=start + timedelta(hours=1)),))
    prev = SeenNotice(source_id="s", notice_id="local-1", url=ref.url, title=ref.title, item_hash="h",
                      revision="r1", published=None, kind="maintenance", first_seen_at=START, updated_at=START,
                      maintenance=True, notice_key=first)
    moved = (Window(start=start + timedelta(hours=2), end=start + timedelta(hours=3)),)
    assert notice_key_for(ref, prev, ref.title, moved) == first != content_key(ref.title, moved)
    # a record written before identities existed keeps the notice id it was published under
    legacy = SeenNotice(source_id="s", notice_id="local-1", url=ref.url, title=ref.title, item_hash="h",
                        revision="r1", published=None, kind="maintenance", first_seen_at=START, updated_at=START)
    assert notice_key_for(ref, legacy, ref.title, moved) == "local-1"


async def test_an_edit_made_only_on_the_notice_page_is_found_by_the_recheck(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    w, pub = watcher(html_source(site, detail_recheck=300), fetcher, store, clock)
    await w.poll_once()
    assert [e.type for e in pub.events] == [MAINTENANCE_SCHEDULED]
    site.pages[GBK] = Page(page("detail_maint_gbk_edited.html"), content_type="text/html")

    clock.advance(60)
    early = await w.poll_once()
    assert early.not_modified and early.rechecked == 0 and site.hits[GBK] == 1, "not due yet"

    clock.advance(240)
    found = await w.poll_once()
    assert found.ok and found.not_modified and found.rechecked == 1 and found.edited == 1
    assert [e.type for e in pub.events] == [MAINTENANCE_SCHEDULED, ANNOUNCEMENT_PUBLISHED, MAINTENANCE_UPDATED]
    [first, moved] = maint(pub.events)
    assert moved.notice_id == first.notice_id
    assert [w.start.astimezone(SHANGHAI).strftime("%H:%M") for w in moved.windows] == ["19:00"]

    clock.advance(300)
    again = await w.poll_once()
    assert again.rechecked == 1 and again.edited == 0 and len(pub.events) == 3
    assert site.conditional_hits[GBK] == 1, "the second recheck asked with the page's ETag"


async def test_the_recheck_survives_a_restart_and_stops_after_the_window(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    w, _ = watcher(html_source(site, detail_recheck=300), fetcher, store, clock)
    await w.poll_once()
    restarted, pub = watcher(html_source(site, detail_recheck=300), fetcher, store, clock)
    site.pages[GBK] = Page(page("detail_maint_gbk_edited.html"), content_type="text/html")
    clock.advance(30)
    report = await restarted.poll_once()  # known from the database: due at once
    assert report.rechecked == 1 and [e.type for e in pub.events] == [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_UPDATED]
    clock.advance(timedelta(hours=3))  # 21:00: the moved window (19:00-19:40) is over
    hits = site.hits[GBK]
    assert (await restarted.poll_once()).rechecked == 0 and site.hits[GBK] == hits


async def test_an_empty_list_is_not_a_degraded_source_but_a_missing_list_is(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    site.pages["/notice/"] = Page(b"<html><body><ul class='notice-list'></ul></body></html>")
    w, pub = watcher(html_source(site), fetcher, store, clock)
    for _ in range(4):
        report = await w.poll_once()
        assert report.ok and report.listed == 0
        clock.advance(60)
        site.pages["/notice/"] = Page(site.pages["/notice/"].body + b" ")  # type: ignore[union-attr]
    assert pub.events == []

    site.pages["/notice/"] = Page(page("list_new_layout.html"))
    for _ in range(3):
        clock.advance(60)
        assert not (await w.poll_once()).ok
    assert [e.type for e in pub.events] == [SOURCE_DEGRADED]
