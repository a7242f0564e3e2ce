"""Shards of one incident's fan-out: the rules, with no I/O (the board in the database is
:mod:`consumers.notify.shard_board`, the loop that takes shards :mod:`consumers.notify.shard_worker`).

A platform-wide incident's phase is split into ``notify.fanout.shards`` ranges of merchant ids
(registry key ranges, cut at quantiles of the registry when the phase is first planned). Together
the ranges cover every possible id, so a merchant added later still falls into exactly one. Shard 0
also carries the ops route. Any notify process may take a shard; a phase is told to everyone once
every shard of it is done for the incident's current scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Merchant ids ``lo <= id < hi`` (``hi`` None: no upper bound; ``lo`` "": no lower bound)."""

    lo: str = ""
    hi: str | None = None

    def __contains__(self, merchant_id: object) -> bool:
        return isinstance(merchant_id, str) and self.lo <= merchant_id and (self.hi is None or merchant_id < self.hi)


def boundary_offsets(count: int, shards: int) -> list[int]:
    """Where to cut a registry of ``count`` ids (in id order) into ``shards`` ranges of nearly equal
    size: the 0-based offsets of the first id of shards 1..n-1. Fewer offsets (fewer shards) when
    the registry is smaller than ``shards``; raises ValueError when ``shards`` < 1."""
    if shards < 1:
        raise ValueError(f"shards must be >= 1, not {shards}")
    return sorted({i * count // shards for i in range(1, shards)} - {0})


def shard_count(count: int, shards: int, min_size: int) -> int:
    """How many shards a registry of ``count`` merchants is cut into: ``shards``, but none smaller
    than ``min_size`` merchants (a small registry is told faster in one piece than in many: each
    shard costs a few statements and a lane start); at least 1."""
    return max(1, min(shards, count // max(min_size, 1)))


def key_ranges(bounds: Sequence[str]) -> list[KeyRange]:
    """The ranges between ``bounds`` (the first id of each shard after the first): one more range
    than distinct non-empty bounds, covering every possible id with no overlap. Bounds are taken in
    code-point order (as :class:`KeyRange` compares ids), whatever order they come in; duplicates
    are dropped."""
    cuts = sorted({b for b in bounds if b})
    edges: list[str | None] = ["", *cuts, None]
    return [KeyRange(str(edges[i]), edges[i + 1]) for i in range(len(edges) - 1)]


@dataclass(frozen=True, slots=True)
class ShardRow:
    """One shard of one phase as the board holds it."""

    phase: str
    shard: int
    scope_digest: str
    done: bool


def phases_to_offer(pending: Iterable[str], rows: Iterable[ShardRow], digest: str) -> frozenset[str]:
    """The phases of ``pending`` that need new shards: none exist yet, or only for another scope (a
    revision widened or narrowed it). Phases already split for this scope keep their shards, done
    or not, so re-planning never redoes a finished shard."""
    current = {r.phase for r in rows if r.scope_digest == digest}
    return frozenset(p for p in pending if p not in current)


def phases_complete(rows: Iterable[ShardRow], digest: str) -> frozenset[str]:
    """The phases with at least one shard for scope ``digest`` and every such shard done."""
    seen: dict[str, bool] = {}
    for r in rows:
        if r.scope_digest == digest:
            seen[r.phase] = seen.get(r.phase, True) and r.done
    return frozenset(p for p, done in seen.items() if done)


@dataclass(frozen=True, slots=True)
class ShardOutcome:
    """What a finished pass over a shard means for its phases."""

    done: frozenset[str]  # told to everyone in the range: never taken again
    again: frozenset[str]  # taken again (by any process) from ``again_at``
    again_at: datetime | None


def shard_outcome(
    phases: frozenset[str], held: Iterable[str], held_until: datetime | None, *, ok: bool, merchants_held: bool,
    now: datetime, retry_after: timedelta, replan_after: timedelta,
) -> ShardOutcome:
    """A pass over a shard for ``phases`` ran through its range. A phase is done unless a delivery
    raised (``ok`` False, e.g. the store was away: taken again after ``retry_after``), merchants
    were held back (silence, review: taken again after ``replan_after``, as the timer re-plans an
    unsplit incident), or one of its messages is not due yet (``held``: taken again at
    ``held_until``, the earliest such time)."""
    if not ok:
        return ShardOutcome(frozenset(), phases, now + retry_after)
    if merchants_held:
        return ShardOutcome(frozenset(), phases, now + replan_after)
    waiting = phases & frozenset(held)
    if not waiting:
        return ShardOutcome(phases, frozenset(), None)
    return ShardOutcome(phases - waiting, waiting, held_until or now + retry_after)
