"""The one backoff formula: doubling, cap, spread, and the bad inputs it refuses."""

from __future__ import annotations

import pytest

from huabei_watch.backoff import backoff_delay


@pytest.mark.parametrize(
    ("attempt", "initial", "maximum", "expected"),
    [
        (1, 0.5, 10.0, 0.5),
        (2, 0.5, 10.0, 1.0),
        (3, 0.5, 10.0, 2.0),
        (5, 0.5, 10.0, 8.0),
        (6, 0.5, 10.0, 10.0),  # capped
        (1, 4.0, 600.0, 4.0),
        (8, 4.0, 600.0, 512.0),
        (9, 4.0, 600.0, 600.0),
        (10_000, 0.05, 5.0, 5.0),  # no overflow however many attempts
        (3, 0.0, 5.0, 0.0),
    ],
)
def test_doubles_from_initial_and_stops_at_the_cap(attempt: int, initial: float, maximum: float, expected: float) -> None:
    assert backoff_delay(attempt, initial, maximum) == expected


@pytest.mark.parametrize(
    ("spread", "rand", "expected"),
    [
        ((0.5, 1.0), 0.0, 4.0),  # consumer retries: between half and all of the step
        ((0.5, 1.0), 0.5, 6.0),
        ((0.75, 1.25), 0.0, 6.0),  # notifications: +/- a fraction
        ((0.75, 1.25), 0.5, 8.0),
        ((1.0, 1.0), 0.9, 8.0),  # no jitter: rand unused
    ],
)
def test_spread_scales_the_step_by_a_uniform_factor(spread: tuple[float, float], rand: float, expected: float) -> None:
    assert backoff_delay(4, 1.0, 100.0, spread=spread, rand=lambda: rand) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempt": 0, "initial": 1.0, "maximum": 2.0}, "1-based"),
        ({"attempt": 1, "initial": -1.0, "maximum": 2.0}, "negative"),
        ({"attempt": 1, "initial": 1.0, "maximum": 2.0, "spread": (1.0, 0.5)}, "low <= high"),
    ],
)
def test_refuses_inputs_that_make_no_wait(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        backoff_delay(**kwargs)  # type: ignore[arg-type]  # the table's bad inputs, on purpose
