"""Which notice pages to read again (pure): due order, leaving when over, and the earliest time
anything can happen (``wake_at``), before which a poll asks in constant time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from huabei_watch.events.common import Window
from watcher.sources.recheck import Rechecks
from watcher.sources.seen_model import SeenNotice

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def notice(nid: str, *windows: Window, maintenance: bool = True) -> SeenNotice:
    return SeenNotice(source_id="s", notice_id=nid, url=f"https://p.example/{nid}", title=nid, item_hash="h",
                      revision="r", published=None, kind="maintenance", first_seen_at=T0, updated_at=T0,
                      maintenance=maintenance, windows=windows)


def window(start_h: float, end_h: float | None = None, status: str = "scheduled") -> Window:
    return Window(start=T0 + timedelta(hours=start_h),
                  end=None if end_h is None else T0 + timedelta(hours=end_h), status=status)


def test_nothing_watched_wakes_nothing() -> None:
    rechecks = Rechecks(every=600)
    rechecks.track(notice("old", window(-3, -1)), T0, read_now=True)  # over already: not watched
    rechecks.track(notice("other", window(1, 2), maintenance=False), T0, read_now=True)
    assert len(rechecks) == 0 and rechecks.wake_at is None
    assert rechecks.next_due(T0 + timedelta(days=30)) is None


def test_wake_at_is_the_earliest_due_and_next_due_before_it_keeps_everything() -> None:
    rechecks = Rechecks(every=600)
    rechecks.track(notice("a", window(5, 6)), T0, read_now=True)  # due at T0 + 10 min
    rechecks.track(notice("b", window(5, 6)), T0 + timedelta(minutes=3), read_now=True)  # due at T0 + 13 min
    assert rechecks.wake_at == T0 + timedelta(minutes=10)
    assert rechecks.next_due(T0 + timedelta(minutes=9)) is None
    assert len(rechecks) == 2
    due = rechecks.next_due(T0 + timedelta(minutes=14))
    assert due is not None and due.notice.notice_id == "a", "the one due longest ago"
    rechecks.checked("a", T0 + timedelta(minutes=14), etag='"1"', last_modified=None, page_hash="x")
    due = rechecks.next_due(T0 + timedelta(minutes=14))
    assert due is not None and due.notice.notice_id == "b"
    rechecks.checked("b", T0 + timedelta(minutes=14), etag=None, last_modified=None, page_hash="y")
    assert rechecks.next_due(T0 + timedelta(minutes=15)) is None
    assert rechecks.wake_at == T0 + timedelta(minutes=24), "both checked at 14 min: next due 10 min later"


def test_a_notice_seen_through_the_database_is_due_at_once() -> None:
    rechecks = Rechecks(every=600)
    rechecks.track(notice("a", window(5, 6)), T0, read_now=False)
    assert rechecks.wake_at == T0
    due = rechecks.next_due(T0)
    assert due is not None and due.notice.notice_id == "a"
    assert rechecks.next_due(T0, skip={"a"}) is None, "read by this poll already"


def test_wake_at_comes_no_later_than_the_end_of_the_last_window_and_the_notice_then_leaves() -> None:
    rechecks = Rechecks(every=3 * 3600)
    # The last window not cancelled ends at 2 h (the cancelled one at 5 h does not count).
    rechecks.track(notice("a", window(1, 2), window(4, 5, status="cancelled")), T0, read_now=True)
    assert rechecks.wake_at == T0 + timedelta(hours=2)
    assert rechecks.next_due(T0 + timedelta(hours=1)) is None and len(rechecks) == 1
    assert rechecks.next_due(T0 + timedelta(hours=2)) is None
    assert len(rechecks) == 0 and rechecks.wake_at is None


def test_a_window_without_an_end_keeps_the_notice_until_it_starts() -> None:
    rechecks = Rechecks(every=3 * 3600)
    rechecks.track(notice("a", window(1)), T0, read_now=True)
    assert rechecks.wake_at == T0 + timedelta(hours=1)
    rechecks.next_due(T0 + timedelta(hours=1))
    assert len(rechecks) == 0


def test_a_postponed_check_moves_wake_at_only_when_nothing_else_is_earlier() -> None:
    rechecks = Rechecks(every=600)
    rechecks.track(notice("a", window(5, 6)), T0, read_now=False)
    rechecks.track(notice("b", window(5, 6)), T0 + timedelta(minutes=2), read_now=True)  # due at 12 min
    rechecks.postpone("a", T0)  # due at 10 min
    assert rechecks.next_due(T0 + timedelta(minutes=1)) is None
    assert rechecks.wake_at == T0 + timedelta(minutes=10)
