"""The shared poller health tracker, as a table: polls in, streak and availability out, and the
"unavailable" and "back" lines logged once each; time from an injected clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from huabei_watch.clock import ManualClock
from watcher.sources.poll_health import PollHealth, PollTracker

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
X, OK = False, True


@pytest.mark.parametrize(
    ("fail_after", "recover_after", "polls", "failures", "unavailable", "logged"),
    [
        # a plain poller: the first failure makes it unavailable, the first success brings it back
        (1, 1, [X], [1], [True], ["unavailable"]),
        (1, 1, [X, X, X], [1, 2, 3], [True, True, True], ["unavailable"]),
        (1, 1, [X, X, OK], [1, 2, 0], [True, True, False], ["unavailable", "back"]),
        (1, 1, [OK, OK], [0, 0], [False, False], []),
        (1, 1, [X, OK, X, OK], [1, 0, 1, 0], [True, False, True, False], ["unavailable", "back", "unavailable", "back"]),
        # thresholds (a health probe's failure and success thresholds)
        (3, 2, [X, X], [1, 2], [False, False], []),
        (3, 2, [X, X, OK, X, X], [1, 2, 0, 1, 2], [False] * 5, []),
        (3, 2, [X, X, X, X], [1, 2, 3, 4], [False, False, True, True], ["unavailable"]),
        (3, 2, [X, X, X, OK], [1, 2, 3, 0], [False, False, True, True], ["unavailable"]),
        (3, 2, [X, X, X, OK, X, OK, OK], [1, 2, 3, 0, 1, 0, 0], [False, False, True, True, True, True, False],
         ["unavailable", "back"]),
    ],
)
def test_the_tracker_counts_the_streak_and_logs_each_change_once(
    fail_after: int, recover_after: int, polls: list[bool], failures: list[int], unavailable: list[bool],
    logged: list[str], caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(T0)
    tracker = PollTracker("source", "feed", interval=60, fail_after=fail_after, recover_after=recover_after)
    health = PollHealth()
    seen: list[tuple[int, bool]] = []
    caplog.set_level(logging.INFO, logger="watcher.sources.poll_health")
    for ok in polls:
        health = tracker.succeeded(health, clock.now()) if ok else tracker.failed(health, clock.now(), "HTTP 503")
        seen.append((health.failures, health.unavailable))
        clock.advance(60)
    assert seen == list(zip(failures, unavailable, strict=True))
    assert [r.msg.removeprefix("poller.") for r in caplog.records] == logged


def test_the_log_lines_say_which_poller_since_when_and_for_how_long(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(T0)
    tracker = PollTracker("probe", "gw", interval=30, fail_after=2)
    caplog.set_level(logging.INFO, logger="watcher.sources.poll_health")
    health = tracker.failed(PollHealth(), clock.now(), "timeout")
    clock.advance(30)
    health = tracker.failed(health, clock.now(), "connection refused")
    assert health.failing_since == T0 and health.last_error == "connection refused"
    clock.advance(90)
    health = tracker.succeeded(health, clock.now())
    assert health == PollHealth()
    down, back = caplog.records
    assert (down.levelno, down.kind, down.poller, down.failures, down.since, down.reason) == (  # type: ignore[attr-defined]
        logging.WARNING, "probe", "gw", 2, T0.isoformat(), "connection refused")
    assert (back.levelno, back.unavailable_s) == (logging.INFO, 120.0)  # type: ignore[attr-defined]


def test_interval_and_jitter_become_the_scheduler_job() -> None:
    assert PollTracker("source", "a", interval=300, jitter=30).job() == {
        "trigger": "interval", "seconds": 300, "jitter": 30}
    assert PollTracker("probe", "b", interval=5).job()["jitter"] is None
    with pytest.raises(ValueError, match="interval"):
        PollTracker("source", "c", interval=0)
    with pytest.raises(ValueError, match="fail_after"):
        PollTracker("source", "d", interval=1, fail_after=0)
