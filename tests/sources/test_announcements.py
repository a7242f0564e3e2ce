"""The announcement watcher end to end against a loopback fake platform and a real SQLite store."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import generate_latest

from huabei_watch import metrics
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.errors import TransientError
from huabei_watch.events import (
    ANNOUNCEMENT_PUBLISHED,
    MAINTENANCE_CANCELLED,
    MAINTENANCE_SCHEDULED,
    MAINTENANCE_UPDATED,
    SOURCE_DEGRADED,
    SOURCE_RECOVERED,
    AnnouncementPublished,
    Event,
    EventData,
    MaintenanceSignal,
    SourceStatus,
)
from huabei_watch.events.base import PreparedEvent
from tests.fakes.bus import RecordingPublisher
from tests.sources.helpers import START, Page, Site, page, standin_understand
from watcher.notices import understand
from watcher.sources.announce_config import HtmlSource, JsonSource, RssSource
from watcher.sources.announcements import AnnouncementWatcher
from watcher.sources.extract import notice_id_for_url
from watcher.sources.fetch import Fetcher
from watcher.sources.seen import SqlSeenStore
from watcher.sources.source_states import SourceStates

GBK = "/notice/detail_maint_gbk.html"
OLD = "/notice/detail_old_maint.html"
FEE = "/notice/detail_fee.html"


def serve_list(site: Site, *, etag: bool = True, gbk: str = "detail_maint_gbk.html") -> None:
    site.pages["/notice/"] = Page(page("list.html"), etag=etag)
    site.pages[GBK] = Page(page(gbk), content_type="text/html")
    site.pages[OLD] = Page(page("detail_old_maint.html"))
    site.pages[FEE] = Page(page("detail_fee.html"))


def html_source(site: Site, **overrides: object) -> HtmlSource:
    fields: dict[str, object] = {
        "id": "example-notices",
        "list_url": site.url("/notice/"),
        "item_selector": "ul.notice-list li.notice-item",
        "link_selector": "a.notice-title",
        "date_selector": ".notice-date",
        "body_selector": "div.notice-body",
        "politeness_delay": 0.0,
        **overrides,
    }
    return HtmlSource.model_validate(fields)


def make_watcher(
    cfg: HtmlSource | RssSource | JsonSource,
    fetcher: Fetcher,
    store: SqlSeenStore,
    clock: ManualClock,
    publisher: RecordingPublisher | None = None,
    states: SourceStates | None = None,
) -> tuple[AnnouncementWatcher, RecordingPublisher]:
    pub = publisher or RecordingPublisher()
    return AnnouncementWatcher(cfg, fetcher, store, pub, clock, standin_understand, states=states), pub


def types(events: list[Event[EventData]]) -> list[str]:
    return [e.type for e in events]


def maint(event: Event[EventData]) -> MaintenanceSignal:
    assert isinstance(event.data, MaintenanceSignal)
    return event.data


def announcement(event: Event[EventData]) -> AnnouncementPublished:
    assert isinstance(event.data, AnnouncementPublished)
    return event.data


async def test_first_poll_records_history_and_publishes_only_future_maintenance(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    watcher, pub = make_watcher(html_source(site), fetcher, store, clock)
    report = await watcher.poll_once()

    assert report.ok and report.first_poll and report.listed == 3
    assert types(pub.events) == [MAINTENANCE_SCHEDULED]
    signal = maint(pub.events[0])
    assert signal.title == "关于花呗服务系统维护的公告"
    assert [(w.start, w.end) for w in signal.windows] == [
        (START + timedelta(minutes=10), START + timedelta(minutes=30))
    ]
    assert signal.channels == ("pcredit", "pcreditpayInstallment")
    assert await store.source_known("example-notices")
    for path in (GBK, OLD, FEE):
        assert site.hits[path] == 1


async def test_second_poll_gets_304_and_reads_nothing(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    watcher, pub = make_watcher(html_source(site), fetcher, store, clock)
    await watcher.poll_once()
    clock.advance(60)
    report = await watcher.poll_once()

    assert report.ok and report.not_modified and report.read == 0
    assert site.conditional_hits["/notice/"] == 1
    assert [site.hits[p] for p in (GBK, OLD, FEE)] == [1, 1, 1]
    assert len(pub.events) == 1


async def test_unchanged_list_without_etag_is_not_parsed_again(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site, etag=False)
    watcher, _ = make_watcher(html_source(site), fetcher, store, clock)
    await watcher.poll_once()
    report = await watcher.poll_once()
    assert report.ok and report.unchanged and not report.not_modified
    assert site.hits["/notice/"] == 2 and site.hits[GBK] == 1


async def test_new_notice_after_the_first_poll_is_announced_with_its_maintenance(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    site.pages["/notice/"] = Page(page("list.html").replace(b"detail_maint_gbk.html", b"gone.html"))
    site.pages[OLD] = Page(page("detail_old_maint.html"))
    site.pages[FEE] = Page(page("detail_fee.html"))
    site.pages["/notice/gone.html"] = Page(page("detail_fee.html"))
    watcher, pub = make_watcher(html_source(site), fetcher, store, clock)
    await watcher.poll_once()
    assert pub.events == []

    serve_list(site)
    clock.advance(60)
    report = await watcher.poll_once()
    assert report.ok and report.new == 1 and report.read == 1
    assert types(pub.events) == [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_SCHEDULED]
    ann = announcement(pub.events[0])
    assert not ann.edited and ann.kind == "maintenance"
    assert "花呗服务将于 2026年11月26日 18:10 至 18:30 暂停" in ann.text
    assert ann.published_at is not None and ann.published_at.date().isoformat() == "2026-11-26"
    assert maint(pub.events[1]).revision == ann.revision


async def test_edited_notice_gives_one_edit_and_one_update_without_duplicates(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    watcher, pub = make_watcher(html_source(site), fetcher, store, clock)
    await watcher.poll_once()
    first = maint(pub.events[0])

    # The platform postpones the window: the detail page changes and so does the list entry's date.
    site.pages["/notice/"] = Page(page("list.html").replace(b"2026-11-26", b"2026-11-27"))
    site.pages[GBK] = Page(page("detail_maint_gbk_edited.html"), content_type="text/html")
    clock.advance(120)
    report = await watcher.poll_once()
    again = await watcher.poll_once()

    assert report.ok and report.edited == 1 and report.new == 0
    assert again.not_modified
    assert types(pub.events) == [MAINTENANCE_SCHEDULED, ANNOUNCEMENT_PUBLISHED, MAINTENANCE_UPDATED]
    assert announcement(pub.events[1]).edited
    updated = maint(pub.events[2])
    assert updated.revision != first.revision
    assert [(w.start.astimezone(SHANGHAI).strftime("%H:%M"), w.end and w.end.strftime("%H:%M"))
            for w in updated.windows] == [("19:00", "19:40")]
    assert len({e.id for e in pub.events}) == 3
    assert [site.hits[p] for p in (GBK, OLD, FEE)] == [2, 1, 1], "only the changed notice is read again"


async def test_list_entry_change_with_same_content_publishes_nothing(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    watcher, pub = make_watcher(html_source(site), fetcher, store, clock)
    await watcher.poll_once()
    site.pages["/notice/"] = Page(page("list.html").replace(b"2026-11-18", b"2026-11-19"))
    report = await watcher.poll_once()
    assert report.ok and report.read == 1 and report.edited == 0
    assert types(pub.events) == [MAINTENANCE_SCHEDULED]


async def test_cancelled_maintenance_publishes_cancelled(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    watcher, pub = make_watcher(html_source(site), fetcher, store, clock)
    await watcher.poll_once()
    cancelled = page("detail_maint_gbk.html").decode("gbk").replace("为提升服务稳定性，", "原定维护已取消：")
    site.pages["/notice/"] = Page(page("list.html").replace("系统维护的公告".encode(), "系统维护取消的公告".encode()))
    site.pages[GBK] = Page(cancelled.encode("gbk"), content_type="text/html")
    await watcher.poll_once()
    assert types(pub.events) == [MAINTENANCE_SCHEDULED, ANNOUNCEMENT_PUBLISHED, MAINTENANCE_CANCELLED]
    assert [w.status for w in maint(pub.events[2]).windows] == ["cancelled"]


async def test_changed_layout_degrades_after_three_polls_once_then_recovers(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    watcher, pub = make_watcher(html_source(site), fetcher, store, clock)
    await watcher.poll_once()

    site.pages["/notice/"] = Page(page("list_new_layout.html"))
    broke_at = clock.now() + timedelta(minutes=5)
    reports = []
    for _ in range(5):
        clock.advance(timedelta(minutes=5))
        reports.append(await watcher.poll_once())
    assert [r.ok for r in reports] == [False] * 5
    assert all("matches nothing" in (r.error or "") for r in reports)
    degraded = [e for e in pub.events if e.type == SOURCE_DEGRADED]
    assert len(degraded) == 1
    status = degraded[0].data
    assert isinstance(status, SourceStatus)
    assert status.consecutive_failures == 3 and status.since == broke_at

    serve_list(site)
    clock.advance(timedelta(minutes=5))
    assert (await watcher.poll_once()).ok
    await watcher.poll_once()
    recovered = [e for e in pub.events if e.type == SOURCE_RECOVERED]
    assert len(recovered) == 1
    assert isinstance(recovered[0].data, SourceStatus) and recovered[0].data.since == broke_at
    assert types(pub.events).count(MAINTENANCE_SCHEDULED) == 1


async def test_garbage_list_page_is_a_reported_failure_not_a_crash(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    site.pages["/notice/"] = Page(page("garbage.bin"), content_type="text/html")
    watcher, pub = make_watcher(html_source(site), fetcher, store, clock)
    report = await watcher.poll_once()
    assert not report.ok and "undecodable page" in (report.error or "")
    assert pub.events == []
    assert not await store.source_known("example-notices")


async def test_failing_list_page_counts_towards_degraded(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    site.pages["/notice/"] = Page(b"busy", status=503)
    states = SourceStates(store)
    watcher, pub = make_watcher(html_source(site, degraded_after=2), fetcher, store, clock, states=states)
    first = await watcher.poll_once()
    second = await watcher.poll_once()
    assert "HTTP 503" in (first.error or "")
    assert types(pub.events) == [SOURCE_DEGRADED]
    assert (await store.get_state("example-notices")).consecutive_failures == 0, "written behind, not yet"
    await states.flush()
    assert second.error and (await store.get_state("example-notices")).consecutive_failures == 2


async def test_broken_detail_page_fails_the_poll_but_keeps_the_others(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    site.pages[FEE] = Page(b"<html><body><div class='other'>x</div></body></html>")
    watcher, pub = make_watcher(html_source(site), fetcher, store, clock)
    report = await watcher.poll_once()
    assert not report.ok and "div.notice-body" in (report.error or "")
    assert types(pub.events) == [MAINTENANCE_SCHEDULED]

    site.pages[FEE] = Page(page("detail_fee.html"))
    report = await watcher.poll_once()
    assert report.ok and report.read == 1 and report.first_poll
    assert types(pub.events) == [MAINTENANCE_SCHEDULED], "still the first poll: the fee notice is history"


async def test_two_watchers_sharing_a_store_publish_each_notice_once(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    a, pub_a = make_watcher(html_source(site), fetcher, store, clock)
    b, pub_b = make_watcher(html_source(site), fetcher, store, clock)
    await a.poll_once()
    await b.poll_once()
    site.pages[GBK] = Page(page("detail_maint_gbk_edited.html"), content_type="text/html")
    site.pages["/notice/"] = Page(page("list.html").replace(b"2026-11-26", b"2026-11-27"))
    await b.poll_once()
    await a.poll_once()
    assert types(pub_a.events) == [MAINTENANCE_SCHEDULED]
    assert types(pub_b.events) == [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_UPDATED]


async def test_replicas_with_their_own_stores_publish_identical_event_ids(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock, tmp_path: object
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from huabei_watch.db.tables import metadata

    serve_list(site)
    other_engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/replica.db")
    async with other_engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        a, pub_a = make_watcher(html_source(site), fetcher, store, clock)
        b, pub_b = make_watcher(html_source(site), fetcher, SqlSeenStore(other_engine), clock)
        await a.poll_once()
        clock.advance(7)
        await b.poll_once()
    finally:
        await other_engine.dispose()
    assert [e.id for e in pub_a.events] == [e.id for e in pub_b.events]
    assert len(pub_a.events) == 1


class FlakyPublisher(RecordingPublisher):
    """A bus that is away for the first ``failures`` publishes."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def publish(self, event: Event[Any] | PreparedEvent) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise TransientError("broker unavailable")
        await super().publish(event)


async def test_publish_failure_marks_nothing_seen_and_republishes_next_poll(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    site.pages["/notice/"] = Page(page("list.html").replace(b"detail_maint_gbk.html", b"gone.html"))
    site.pages[OLD] = Page(page("detail_old_maint.html"))
    site.pages[FEE] = Page(page("detail_fee.html"))
    site.pages["/notice/gone.html"] = Page(page("detail_fee.html"))
    flaky = FlakyPublisher(failures=1)
    states = SourceStates(store)
    watcher, _ = make_watcher(html_source(site), fetcher, store, clock, flaky, states)
    await watcher.poll_once()
    serve_list(site)

    failed = await watcher.poll_once()
    assert not failed.ok and failed.error == "publish failed: broker unavailable"
    assert flaky.events == []
    assert await store.get("example-notices", notice_id_for_url(site.url(GBK))) is None
    await states.flush()
    state = await store.get_state("example-notices")
    assert state.consecutive_failures == 0, "a bus outage is not the source's fault"

    retried = await watcher.poll_once()
    assert retried.ok and not retried.not_modified and retried.new == 1
    assert types(flaky.events) == [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_SCHEDULED]
    assert (await watcher.poll_once()).not_modified


async def test_first_poll_reads_at_most_its_budget_of_detail_pages(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    watcher, pub = make_watcher(html_source(site, first_poll_details=1), fetcher, store, clock)
    report = await watcher.poll_once()
    assert report.ok and report.read == 1
    assert [site.hits[p] for p in (GBK, OLD, FEE)] == [1, 0, 0]
    assert types(pub.events) == [MAINTENANCE_SCHEDULED]


async def test_rss_feed_notices_are_announced_after_the_first_poll(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    rss = page("feed_rss.xml")
    first_item_end = rss.index(b"</item>") + len(b"</item>")
    site.pages["/feed.xml"] = Page(rss[: rss.index(b"<item>")] + rss[first_item_end:], "application/rss+xml")
    cfg = RssSource(id="example-rss", feed_url=site.url("/feed.xml"), politeness_delay=0)
    watcher, pub = make_watcher(cfg, fetcher, store, clock)
    assert (await watcher.poll_once()).ok and pub.events == []

    site.pages["/feed.xml"] = Page(rss, "application/rss+xml")
    report = await watcher.poll_once()
    assert report.ok and report.new == 1 and report.read == 1
    assert types(pub.events) == [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_SCHEDULED]
    assert announcement(pub.events[0]).url == site.url("/notices/2026112601.html")
    assert site.hits["/notices/2026112601.html"] == 0, "the feed carries the body"


async def test_atom_feed_first_poll_publishes_the_future_window(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    site.pages["/atom"] = Page(page("feed_atom.xml"), "application/atom+xml")
    cfg = RssSource(id="example-atom", feed_url=site.url("/atom"), politeness_delay=0)
    watcher, pub = make_watcher(cfg, fetcher, store, clock)
    await watcher.poll_once()
    assert types(pub.events) == [MAINTENANCE_SCHEDULED]
    assert maint(pub.events[0]).url == "https://open.example.com/notices/maint-1126"


async def test_json_api_notices_once_the_window_has_passed_publish_nothing(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    site.pages["/api/notices"] = Page(page("api.json"), "application/json")
    cfg = JsonSource(
        id="example-api", url=site.url("/api/notices"), items_path="data.list", id_field="noticeId",
        url_field="link", date_field="publishTime", body_field="content", politeness_delay=0,
    )
    clock.advance(timedelta(hours=1))  # 19:00: the 18:10-18:30 window is over
    watcher, pub = make_watcher(cfg, fetcher, store, clock)
    report = await watcher.poll_once()
    assert report.ok and report.listed == 2 and pub.events == []


async def test_json_api_new_item_is_announced(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    doc = page("api.json")
    renamed = doc.replace(b'"noticeId": 90017', b'"noticeId": 1').replace(b"/notice/90017", b"/notice/1")
    site.pages["/api/notices"] = Page(renamed, "application/json")
    cfg = JsonSource(
        id="example-api", url=site.url("/api/notices"), items_path="data.list", id_field="noticeId",
        url_field="link", date_field="publishTime", body_field="content", politeness_delay=0,
    )
    watcher, pub = make_watcher(cfg, fetcher, store, clock)
    await watcher.poll_once()
    first_ids = {e.id for e in pub.events}
    site.pages["/api/notices"] = Page(doc, "application/json")
    report = await watcher.poll_once()
    assert report.new == 1
    new_events = [e for e in pub.events if e.id not in first_ids]
    assert types(new_events) == [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_SCHEDULED]


@pytest.mark.parametrize("status", [404, 500])
async def test_poll_never_raises_on_list_errors(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock, status: int
) -> None:
    site.pages["/notice/"] = Page(b"x", status=status)
    watcher, _ = make_watcher(html_source(site), fetcher, store, clock)
    report = await watcher.poll_once()
    assert not report.ok and f"HTTP {status}" in (report.error or "")


async def test_a_failing_source_is_logged_unavailable_once_and_back_once(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    site.pages["/notice/"] = Page(b"busy", status=503)
    watcher, _ = make_watcher(html_source(site), fetcher, store, clock)
    caplog.set_level(logging.INFO, logger="watcher.sources.poll_health")
    for _ in range(4):
        await watcher.poll_once()
        clock.advance(timedelta(minutes=5))
    serve_list(site)
    await watcher.poll_once()
    await watcher.poll_once()
    assert [r.msg for r in caplog.records] == ["poller.unavailable", "poller.back"]
    assert caplog.records[0].reason.startswith("HTTP 503") and caplog.records[1].unavailable_s == 20 * 60  # type: ignore[attr-defined]


def _understood_counts() -> dict[tuple[str, str], float]:
    """The notices-understood counter as the /metrics registry exposes it."""
    out: dict[tuple[str, str], float] = {}
    for family in metrics.REGISTRY.collect():
        if family.name == "huabei_notices_understood":
            for s in family.samples:
                if s.name.endswith("_total"):
                    out[(s.labels["kind"], s.labels["needs_review"])] = s.value
    return out


async def test_every_notice_read_is_counted_by_kind_and_needs_review(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    watcher = AnnouncementWatcher(html_source(site), fetcher, store, RecordingPublisher(), clock, understand)
    before = _understood_counts()
    report = await watcher.poll_once()
    await watcher.poll_once()  # nothing changed: nothing read, nothing counted again
    after = _understood_counts()
    added = {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}

    assert report.read == 3
    # Two maintenance notices (one GBK-encoded) and a fee change, all understood without doubt.
    assert added == {("maintenance", "false"): 2.0, ("fee_policy", "false"): 1.0}
    text = generate_latest(metrics.REGISTRY).decode()
    assert 'huabei_notices_understood_total{kind="fee_policy",needs_review="false"}' in text


async def test_a_failed_source_answering_304_recovers_and_a_healthy_304_changes_only_the_time(
    site: Site, fetcher: Fetcher, store: SqlSeenStore, clock: ManualClock
) -> None:
    serve_list(site)
    states = SourceStates(store)
    watcher, pub = make_watcher(html_source(site, degraded_after=2), fetcher, store, clock, states=states)
    assert (await watcher.poll_once()).ok
    await states.flush()
    stored = await store.get_state("example-notices")
    listed = site.pages["/notice/"]
    site.pages["/notice/"] = Page(b"busy", status=503)
    for _ in range(2):
        clock.advance(timedelta(minutes=5))
        assert not (await watcher.poll_once()).ok
    site.pages["/notice/"] = listed  # the same list again: a conditional GET gets 304
    clock.advance(timedelta(minutes=5))
    report = await watcher.poll_once()
    assert report.ok and report.not_modified
    assert types(pub.events)[-2:] == [SOURCE_DEGRADED, SOURCE_RECOVERED]
    assert (watcher.consecutive_failures, watcher.degraded) == (0, False)
    await states.flush()
    assert await store.get_state("example-notices") == replace(stored, last_poll_at=clock.now())
    clock.advance(timedelta(minutes=5))
    assert (await watcher.poll_once()).not_modified
    await states.flush()
    assert await store.get_state("example-notices") == replace(stored, last_poll_at=clock.now())
