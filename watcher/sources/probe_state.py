"""Hysteresis of one probe, pure: observations in, state changes out.

Rules (like Gatus' failure/success thresholds):

* A probe starts ``unknown``.
* ``failure_threshold`` consecutive failures make it ``down`` (from ``unknown`` or ``up``): a
  :class:`Transition` with ``since`` = the first failure of the streak and the streak's
  observations as evidence.
* ``success_threshold`` consecutive successes make a ``down`` probe ``up``: a Transition likewise.
* From ``unknown``, reaching ``success_threshold`` successes sets ``up`` **silently** (no
  Transition). Decision: after a restart every healthy probe would otherwise announce "up" and
  consumers would see a burst of meaningless recoveries. The cost: a probe that was down before a
  restart and recovered while the daemon was away never announces "up" -- unless its state is
  restored with :func:`resume` (from storage, or from its last event via :func:`state_from_event`),
  which is why restoring is part of the contract. Without a restore, a probe still down after the
  restart announces ``down`` again (unknown -> down is always published), with a new ``since``.
* Anything else (flapping below a threshold, more of the same) changes nothing.

Deterministic: the same observations give the same transitions, and :func:`health_event` derives
the event id from type + probe id + ``since`` and the event time from the observation that
completed the streak, so a replay publishes byte-identical events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, Field

from huabei_watch.events.base import Event
from huabei_watch.events.common import Frozen, Scope
from huabei_watch.events.signals import HEALTH_DOWN, HEALTH_UP, HealthChange, ProbeObservation

#: Evidence attached to an event is at most this many observations (the latest ones).
MAX_EVIDENCE = 20


class Health(StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Thresholds:
    failure_threshold: int
    success_threshold: int

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.success_threshold < 1:
            raise ValueError("thresholds must be >= 1")

    def keep(self) -> int:
        """How many recent observations a state keeps (enough for either kind of evidence)."""
        return min(max(self.failure_threshold, self.success_threshold), MAX_EVIDENCE)


class ProbeState(Frozen):
    """Everything the hysteresis remembers about one probe. JSON-serialisable for persistence.

    ``since`` / ``changed_at`` / ``evidence`` describe how the current health was reached
    (first observation of the deciding streak, the observation that completed it, the streak).
    ``announced`` is False only for a silent initial ``up``.
    """

    health: Health = Health.UNKNOWN
    since: AwareDatetime | None = None
    changed_at: AwareDatetime | None = None
    evidence: tuple[ProbeObservation, ...] = ()
    announced: bool = False
    streak_ok: bool | None = None
    streak_len: int = Field(default=0, ge=0)
    streak_start: AwareDatetime | None = None
    recent: tuple[ProbeObservation, ...] = ()

    @property
    def last(self) -> ProbeObservation | None:
        return self.recent[-1] if self.recent else None


@dataclass(frozen=True, slots=True)
class Transition:
    """A published state change: to ``health`` (UP or DOWN), begun at ``since``, decided at ``at``."""

    health: Health
    since: datetime
    at: datetime
    evidence: tuple[ProbeObservation, ...]


def observe(rule: Thresholds, state: ProbeState, obs: ProbeObservation) -> tuple[ProbeState, Transition | None]:
    """Fold one observation into the state. Observations must come in time order: one older than
    the last observation seen is ignored (returned state unchanged, no transition)."""
    last = state.last
    if last is not None and obs.at < last.at:
        return state, None
    if state.streak_ok is obs.ok:
        streak_len, streak_start = state.streak_len + 1, state.streak_start or obs.at
    else:
        streak_len, streak_start = 1, obs.at
    recent = (*state.recent, obs)[-rule.keep():]
    moved = state.model_copy(
        update={"streak_ok": obs.ok, "streak_len": streak_len, "streak_start": streak_start, "recent": recent}
    )
    target, needed = (Health.UP, rule.success_threshold) if obs.ok else (Health.DOWN, rule.failure_threshold)
    if state.health is target or streak_len < needed:
        return moved, None
    evidence = recent[-min(needed, MAX_EVIDENCE):]
    announce = not (state.health is Health.UNKNOWN and target is Health.UP)
    new_state = moved.model_copy(
        update={
            "health": target,
            "since": streak_start,
            "changed_at": obs.at,
            "evidence": evidence,
            "announced": announce,
        }
    )
    if not announce:
        return new_state, None
    return new_state, Transition(health=target, since=streak_start, at=obs.at, evidence=evidence)


def observe_all(
    rule: Thresholds, state: ProbeState, observations: Sequence[ProbeObservation]
) -> tuple[ProbeState, list[Transition]]:
    """Fold many observations; the transitions in order."""
    out: list[Transition] = []
    for obs in observations:
        state, change = observe(rule, state, obs)
        if change is not None:
            out.append(change)
    return state, out


def resume(saved: ProbeState) -> ProbeState:
    """The state to start from after a restart: the saved health (and how it was reached), with the
    streak forgotten, since the time the daemon was away breaks any streak."""
    return ProbeState(
        health=saved.health,
        since=saved.since,
        changed_at=saved.changed_at,
        evidence=saved.evidence,
        announced=saved.announced,
    )


def current_transition(state: ProbeState) -> Transition | None:
    """The transition that established the current health, to republish it (e.g. after the broker
    lost its records). None for ``unknown`` and for a silent initial ``up``."""
    if not state.announced or state.health is Health.UNKNOWN or state.since is None or state.changed_at is None:
        return None
    return Transition(health=state.health, since=state.since, at=state.changed_at, evidence=state.evidence)


@dataclass(frozen=True, slots=True)
class ProbeMeta:
    """What an event says about the probe besides the transition."""

    probe_id: str
    target: str
    scope: Scope
    channels: tuple[str, ...]


def health_event(meta: ProbeMeta, change: Transition) -> Event[HealthChange]:
    """The ``huabei.health.down`` / ``huabei.health.up`` event for a transition."""
    data = HealthChange(
        probe_id=meta.probe_id,
        target=meta.target,
        scope=meta.scope,
        channels=meta.channels,
        since=change.since,
        evidence=change.evidence,
    )
    event_type = HEALTH_DOWN if change.health is Health.DOWN else HEALTH_UP
    return Event.build(event_type, data, time=change.at)


def state_from_event(event: Event[HealthChange]) -> ProbeState:
    """A state to :func:`resume` from the probe's last published health event (read back from the
    signals topic at start-up when no stored state exists)."""
    health = Health.DOWN if event.type == HEALTH_DOWN else Health.UP
    return ProbeState(
        health=health,
        since=event.data.since,
        changed_at=event.time,
        evidence=event.data.evidence,
        announced=True,
    )
