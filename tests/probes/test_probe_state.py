"""Hysteresis of a probe: which observation sequences publish which state changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huabei_watch.events.common import Scope
from huabei_watch.events.signals import HEALTH_DOWN, HEALTH_UP, ProbeObservation
from watcher.sources.probe_state import (
    MAX_EVIDENCE,
    Health,
    ProbeMeta,
    ProbeState,
    Thresholds,
    current_transition,
    health_event,
    observe,
    observe_all,
    resume,
    state_from_event,
)

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
META = ProbeMeta(probe_id="gw", target="https://127.0.0.1/health", scope=Scope.platform(), channels=("pcredit",))


def _obs(pattern: str, start: int = 0) -> list[ProbeObservation]:
    """'S' success, 'F' failure; one observation every 10 s, the i-th at T0 + 10*(start+i) s."""
    return [
        ProbeObservation(at=T0 + timedelta(seconds=10 * (start + i)), ok=c == "S", detail="ok" if c == "S" else "status 500")
        for i, c in enumerate(pattern)
    ]


def _at(i: int) -> datetime:
    return T0 + timedelta(seconds=10 * i)


@pytest.mark.parametrize(
    ("fail", "succ", "pattern", "expected", "final"),
    [
        # (threshold to go down, threshold to come back, observations, [(health, since index, decided index)], final)
        (3, 2, "FF", [], Health.UNKNOWN),
        (3, 2, "FFF", [("down", 0, 2)], Health.DOWN),
        (3, 2, "FFFFFFFF", [("down", 0, 2)], Health.DOWN),
        (3, 2, "S", [], Health.UNKNOWN),
        (3, 2, "SS", [], Health.UP),  # initial up is silent
        (3, 2, "SSSSSS", [], Health.UP),
        (3, 2, "SSFFF", [("down", 2, 4)], Health.DOWN),
        (3, 2, "SSFFSFF", [], Health.UP),
        (3, 2, "FFFSS", [("down", 0, 2), ("up", 3, 4)], Health.UP),
        (3, 2, "FFFSFSS", [("down", 0, 2), ("up", 5, 6)], Health.UP),
        (3, 2, "FFFSFSFSFSF", [("down", 0, 2)], Health.DOWN),
        (3, 2, "FFFSSFFF", [("down", 0, 2), ("up", 3, 4), ("down", 5, 7)], Health.DOWN),
        (3, 2, "FFSFFSFFS", [], Health.UNKNOWN),
        (2, 2, "SFSFSFSFSFSF", [], Health.UNKNOWN),
        (2, 2, "SSFSFSFSFSF", [], Health.UP),
        (1, 1, "SFSF", [("down", 1, 1), ("up", 2, 2), ("down", 3, 3)], Health.DOWN),
        (1, 1, "F", [("down", 0, 0)], Health.DOWN),
        (3, 1, "SFFF", [("down", 1, 3)], Health.DOWN),
        (1, 3, "FSSFSSS", [("down", 0, 0), ("up", 4, 6)], Health.UP),
    ],
)
def test_hysteresis_table(fail: int, succ: int, pattern: str, expected: list[tuple[str, int, int]], final: Health) -> None:
    state, changes = observe_all(Thresholds(fail, succ), ProbeState(), _obs(pattern))
    assert [(c.health.value, c.since, c.at) for c in changes] == [(h, _at(s), _at(d)) for h, s, d in expected]
    assert state.health is final


def test_down_evidence_is_the_failure_streak() -> None:
    _state, (down,) = observe_all(Thresholds(3, 2), ProbeState(), _obs("SSFSFFF"))
    assert [o.at for o in down.evidence] == [_at(4), _at(5), _at(6)]
    assert all(not o.ok for o in down.evidence)


def test_evidence_is_capped_for_large_thresholds() -> None:
    _state, (down,) = observe_all(Thresholds(50, 2), ProbeState(), _obs("F" * 50))
    assert len(down.evidence) == MAX_EVIDENCE
    assert down.evidence[-1].at == _at(49)
    assert down.since == _at(0)


def test_older_observation_is_ignored() -> None:
    rule = Thresholds(2, 2)
    state, _ = observe_all(rule, ProbeState(), _obs("F", start=5))
    same, change = observe(rule, state, _obs("F", start=1)[0])
    assert same == state and change is None


def test_same_observations_give_identical_events() -> None:
    rule = Thresholds(2, 2)
    pattern = "SSFFSSFSFFFSS"
    _, first = observe_all(rule, ProbeState(), _obs(pattern))
    _, second = observe_all(rule, ProbeState(), _obs(pattern))
    events_1 = [health_event(META, c) for c in first]
    events_2 = [health_event(META, c) for c in second]
    assert events_1 == events_2
    assert [e.type for e in events_1] == [HEALTH_DOWN, HEALTH_UP, HEALTH_DOWN, HEALTH_UP]
    assert len({e.id for e in events_1}) == 4


def test_event_carries_probe_meta_and_is_keyed_by_probe() -> None:
    _, (down,) = observe_all(Thresholds(2, 2), ProbeState(), _obs("FF"))
    event = health_event(META, down)
    assert event.type == HEALTH_DOWN
    assert event.key == "probe:gw"
    assert event.time == _at(1)
    assert event.data.since == _at(0)
    assert event.data.target == META.target and event.data.channels == ("pcredit",)
    assert event.data.evidence == down.evidence


def test_restart_while_down_without_restore_publishes_down_again() -> None:
    rule = Thresholds(2, 2)
    _, before = observe_all(rule, ProbeState(), _obs("FF"))
    _, after = observe_all(rule, ProbeState(), _obs("FF", start=100))
    assert [c.health for c in before] == [Health.DOWN] and [c.health for c in after] == [Health.DOWN]


def test_restored_down_state_publishes_up_on_recovery_and_nothing_while_still_down() -> None:
    rule = Thresholds(2, 2)
    saved, _ = observe_all(rule, ProbeState(), _obs("FFF"))
    restored = resume(ProbeState.model_validate_json(saved.model_dump_json()))
    assert restored.health is Health.DOWN and restored.streak_len == 0
    _, still_down = observe_all(rule, restored, _obs("FFFF", start=100))
    assert still_down == []
    _, recovered = observe_all(rule, restored, _obs("SS", start=100))
    assert [(c.health, c.since) for c in recovered] == [(Health.UP, _at(100))]


def test_resume_forgets_a_streak_broken_by_the_restart() -> None:
    rule = Thresholds(3, 2)
    saved, _ = observe_all(rule, ProbeState(), _obs("SSFF"))
    _, changes = observe_all(rule, resume(saved), _obs("F", start=100))
    assert changes == []


def test_state_from_last_event_restores_the_down_and_republishes_it_identically() -> None:
    _, (down,) = observe_all(Thresholds(2, 2), ProbeState(), _obs("SSFF"))
    event = health_event(META, down)
    state = resume(state_from_event(event))
    assert state.health is Health.DOWN
    again = current_transition(state)
    assert again is not None and health_event(META, again) == event


def test_silent_initial_up_has_nothing_to_republish() -> None:
    state, _ = observe_all(Thresholds(2, 2), ProbeState(), _obs("SS"))
    assert state.health is Health.UP and current_transition(state) is None
    assert current_transition(ProbeState()) is None


@given(
    pattern=st.text(alphabet="SF", max_size=60),
    fail=st.integers(min_value=1, max_value=5),
    succ=st.integers(min_value=1, max_value=5),
)
def test_flapping_never_publishes_more_than_the_thresholds_allow(pattern: str, fail: int, succ: int) -> None:
    _, changes = observe_all(Thresholds(fail, succ), ProbeState(), _obs(pattern))
    # Each change needs its own run of at least `threshold` equal results.
    runs: list[str] = []
    for ch in pattern:
        if runs and runs[-1][0] == ch:
            runs[-1] += ch
        else:
            runs.append(ch)
    qualifying = sum(1 for r in runs if len(r) >= (succ if r[0] == "S" else fail))
    assert len(changes) <= qualifying
    # Changes alternate, the first published one is always "down".
    assert all(a.health is not b.health for a, b in itertools.pairwise(changes))
    if changes:
        assert changes[0].health is Health.DOWN
    for c in changes:
        needed = fail if c.health is Health.DOWN else succ
        assert len(c.evidence) == min(needed, MAX_EVIDENCE)
        assert all(o.ok is (c.health is Health.UP) for o in c.evidence)
        assert c.evidence[0].at == c.since and c.evidence[-1].at == c.at
