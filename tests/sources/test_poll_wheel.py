"""The poll wheel: which pollers are due, when they come back, how first polls are spread (pure)."""

from __future__ import annotations

import random

import pytest

from watcher.sources.poll_wheel import PollWheel, first_spread


def test_pollers_come_due_in_order_and_leave_the_wheel_until_done() -> None:
    wheel = PollWheel()
    wheel.add("b", interval=30, jitter=0, first_due=2.0)
    wheel.add("a", interval=30, jitter=0, first_due=1.0)
    wheel.add("c", interval=30, jitter=0, first_due=5.0)
    assert wheel.take_due(0.5, limit=10) == []
    assert [d.key for d in wheel.take_due(3.0, limit=10)] == ["a", "b"]
    assert wheel.take_due(4.0, limit=10) == [], "a and b are polling: never due twice"
    assert wheel.next_due() == 5.0


def test_take_due_starts_at_most_the_limit_and_keeps_the_rest_due() -> None:
    wheel = PollWheel()
    for i in range(5):
        wheel.add(f"s{i}", interval=10, jitter=0, first_due=float(i))
    assert [d.key for d in wheel.take_due(10.0, limit=2)] == ["s0", "s1"]
    assert [(d.key, d.due) for d in wheel.take_due(10.0, limit=9)] == [("s2", 2.0), ("s3", 3.0), ("s4", 4.0)]


def test_a_poller_is_due_again_one_interval_after_its_poll_started_plus_jitter() -> None:
    wheel = PollWheel(rng=random.Random(7))
    wheel.add("s", interval=30, jitter=0, first_due=0.0)
    wheel.add("j", interval=30, jitter=10, first_due=0.0)
    wheel.take_due(0.0, limit=2)
    assert wheel.done("s", started=1.5) == 31.5
    jittered = wheel.done("j", started=1.5)
    assert 31.5 <= jittered <= 41.5
    assert [d.key for d in wheel.take_due(31.5, limit=5)] == ["s"]


def test_a_poll_longer_than_its_interval_is_due_at_once_after_it_not_during_it() -> None:
    wheel = PollWheel()
    wheel.add("slow", interval=5, jitter=0, first_due=0.0)
    [due] = wheel.take_due(0.0, limit=1)
    assert wheel.take_due(20.0, limit=1) == []  # still polling at 20 s: not started again
    wheel.done("slow", started=due.due)
    assert [d.key for d in wheel.take_due(20.0, limit=1)] == ["slow"]


def test_the_wheel_refuses_a_key_twice_and_bad_intervals() -> None:
    wheel = PollWheel()
    wheel.add("s", interval=5, jitter=0, first_due=0.0)
    with pytest.raises(ValueError, match="already on the wheel"):
        wheel.add("s", interval=5, jitter=0, first_due=0.0)
    with pytest.raises(ValueError, match="interval must be positive"):
        wheel.add("t", interval=0, jitter=0, first_due=0.0)
    assert len(wheel) == 1


@pytest.mark.parametrize(
    ("count", "shortest", "spread"),
    [(0, 30.0, 0.0), (1, 30.0, 0.0), (20, 30.0, 0.1), (2_000, 30.0, 10.0), (20_000, 30.0, 30.0), (2_000, 5.0, 5.0)],
)
def test_first_polls_spread_two_hundred_a_second_within_the_shortest_interval(
    count: int, shortest: float, spread: float
) -> None:
    assert first_spread(count, shortest) == pytest.approx(spread)
