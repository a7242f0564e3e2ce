"""Issue 17: one incident's fan-out split into shards any notify process can take.

The rules (key ranges, which phases need splitting, when a phase is done everywhere, what a pass
over a shard means) as tables; the board and the registry's ranges against a real database
(SQLite, and PostgreSQL when configured).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from consumers.notify.progress import FanoutMarks, scope_digest
from consumers.notify.shard_board import ShardBoard, notify_fanout_shards
from consumers.notify.shard_worker import ShardSplitter
from consumers.notify.shards import (
    KeyRange,
    ShardRow,
    boundary_offsets,
    key_ranges,
    phases_complete,
    phases_to_offer,
    shard_count,
    shard_outcome,
)
from consumers.notify.subsettings import FanOutSettings
from huabei_watch.clock import ManualClock
from huabei_watch.config.settings import MerchantConfig
from huabei_watch.db.engine import Database, dialect
from huabei_watch.events import Scope
from huabei_watch.merchants.registry import MerchantRegistry
from tests.cashier.incident_builders import outage_incident
from tests.support import fresh_pg_database, migrated_database

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(("count", "shards", "offsets"), [
    (100, 4, [25, 50, 75]),
    (10, 3, [3, 6]),
    (2, 4, [1]),  # fewer ids than shards: fewer cuts
    (0, 4, []),
    (100, 1, []),
])
def test_boundary_offsets_cut_the_registry_into_nearly_equal_ranges(count: int, shards: int, offsets: list[int]) -> None:
    assert boundary_offsets(count, shards) == offsets


@pytest.mark.parametrize(("count", "shards", "min_size", "expected"), [
    (100_000, 32, 1000, 32),
    (20_000, 32, 1000, 20),  # none smaller than 1,000 merchants
    (1_999, 32, 1000, 1),
    (0, 32, 1000, 1),
    (50, 4, 1, 4),
])
def test_shard_count_keeps_shards_above_the_minimum_size(count: int, shards: int, min_size: int, expected: int) -> None:
    assert shard_count(count, shards, min_size) == expected


def test_boundary_offsets_refuse_no_shard() -> None:
    with pytest.raises(ValueError, match="shards must be >= 1"):
        boundary_offsets(10, 0)


def test_key_ranges_put_every_id_in_exactly_one_range() -> None:
    ranges = key_ranges(["m03", "m06", "m06"])
    assert ranges == [KeyRange("", "m03"), KeyRange("m03", "m06"), KeyRange("m06", None)]
    for merchant_id in ["", "a", "m00", "m02", "m03", "m05", "m06", "m99", "zzz", "m03x"]:
        assert sum(merchant_id in r for r in ranges) == 1, merchant_id


def test_key_ranges_take_bounds_in_code_point_order_whatever_order_they_come_in() -> None:
    # a database collation that ignores case sorts shop-a before Shop-B; Python compares code points
    ranges = key_ranges(["shop-a", "Shop-B", "shop-a", ""])
    assert ranges == [KeyRange("", "Shop-B"), KeyRange("Shop-B", "shop-a"), KeyRange("shop-a", None)]
    for merchant_id in ["Shop-A", "Shop-B", "Shop-C", "shop-a", "shop-b", "SHOP", "zz"]:
        assert sum(merchant_id in r for r in ranges) == 1, merchant_id


@pytest.mark.parametrize(("pending", "rows", "expected"), [
    ({"active"}, [], {"active"}),  # never split
    ({"active"}, [ShardRow("active", 0, "d", False)], set()),  # split, running: left alone
    ({"active"}, [ShardRow("active", 0, "d", True)], set()),  # split and done: never redone
    ({"active"}, [ShardRow("active", 0, "old", True)], {"active"}),  # split for another scope
    ({"active", "resolved"}, [ShardRow("active", 0, "d", False)], {"resolved"}),
])
def test_phases_to_offer(pending: set[str], rows: list[ShardRow], expected: set[str]) -> None:
    assert phases_to_offer(pending, rows, "d") == expected


@pytest.mark.parametrize(("rows", "expected"), [
    ([], set()),
    ([ShardRow("active", 0, "d", True), ShardRow("active", 1, "d", False)], set()),
    ([ShardRow("active", 0, "d", True), ShardRow("active", 1, "d", True)], {"active"}),
    ([ShardRow("active", 0, "d", True), ShardRow("active", 1, "old", False)], {"active"}),  # another scope's
    ([ShardRow("active", 0, "old", True)], set()),
    ([ShardRow("a", 0, "d", True), ShardRow("b", 0, "d", False), ShardRow("b", 1, "d", True)], {"a"}),
])
def test_phase_is_complete_only_when_every_shard_of_its_scope_is_done(rows: list[ShardRow], expected: set[str]) -> None:
    assert phases_complete(rows, "d") == expected


def test_shard_outcome_table() -> None:
    phases = frozenset({"active", "reminder"})
    later, retry, replan = NOW + timedelta(hours=2), timedelta(seconds=30), timedelta(minutes=10)

    def outcome(held: set[str], until: datetime | None, *, ok: bool = True, merchants_held: bool = False) -> tuple[
            frozenset[str], frozenset[str], datetime | None]:
        out = shard_outcome(phases, held, until, ok=ok, merchants_held=merchants_held, now=NOW, retry_after=retry,
                            replan_after=replan)
        return out.done, out.again, out.again_at

    assert outcome(set(), None) == (phases, frozenset(), None)
    assert outcome(set(), None, ok=False) == (frozenset(), phases, NOW + retry)  # the store was away
    assert outcome(set(), None, merchants_held=True) == (frozenset(), phases, NOW + replan)  # silence, review
    assert outcome({"reminder"}, later) == (frozenset({"active"}), frozenset({"reminder"}), later)  # quiet hours


def test_shard_lease_must_outlive_renewals() -> None:
    with pytest.raises(ValidationError, match="shard_lease"):
        FanOutSettings(shards=4, shard_lease=2, claim_every=1)
    with pytest.raises(ValidationError, match="shards"):
        FanOutSettings(shards=0)
    assert FanOutSettings().shards == 1  # one process tells everyone, as before


async def _bounds_for(ids: list[str]) -> list[str]:
    return ids


async def test_board_splits_a_phase_once_and_two_owners_never_take_the_same_shard(db: Database) -> None:
    board, incident = ShardBoard(db, database_clock=False), outage_incident(NOW)  # time moved by hand

    async def bounds(shards: int) -> list[str]:
        assert shards == 3
        return ["m10", "m20"]

    assert (await board.offer(incident, frozenset({"active"}), 3, bounds, NOW)).split == {"active"}
    again = await board.offer(incident, frozenset({"active"}), 3, bounds, NOW)  # re-planned: nothing
    assert (again.split, again.complete) == (frozenset(), frozenset())

    a = await board.claim("a", NOW, 30, 2)
    b = await board.claim("b", NOW, 30, 2)
    assert [c.shard for c in a] == [0, 1] and [c.shard for c in b] == [2]
    assert [c.keys for c in a + b] == [KeyRange("", "m10"), KeyRange("m10", "m20"), KeyRange("m20", None)]
    assert await board.claim("c", NOW + timedelta(seconds=29), 30, 2) == []  # every lease still running

    # "a" stops renewing (killed): its shards are taken over once the lease ran out; "b" renews.
    await board.renew("b", b, NOW + timedelta(seconds=20), 30)
    taken = await board.claim("c", NOW + timedelta(seconds=31), 30, 5)
    assert [c.shard for c in taken] == [0, 1]


async def test_phase_is_marked_complete_only_by_the_last_shard_and_finished_shards_are_never_redone(
    db: Database,
) -> None:
    board, incident = ShardBoard(db), outage_incident(NOW)

    async def bounds(shards: int) -> list[str]:
        return ["m5"]

    await board.offer(incident, frozenset({"active"}), 2, bounds, NOW)
    first, second = await board.claim("a", NOW, 30, 2)
    phases = frozenset({"active"})
    assert await board.finish("a", first, phases, frozenset(), None, NOW) == frozenset()
    assert await board.finish("a", second, phases, frozenset(), None, NOW) == {"active"}

    replanned = await board.offer(incident, phases, 2, bounds, NOW)
    assert (replanned.split, replanned.complete) == (frozenset(), frozenset({"active"}))  # the mark is due, nothing to redo
    assert await board.claim("b", NOW + timedelta(hours=1), 30, 5) == []


async def test_a_shard_left_for_later_is_free_again_at_that_time_only(db: Database) -> None:
    board, incident = ShardBoard(db, database_clock=False), outage_incident(NOW)  # time moved by hand
    await board.offer(incident, frozenset({"active"}), 1, _no_bounds, NOW)
    (claim,) = await board.claim("a", NOW, 30, 1)
    later = NOW + timedelta(hours=2)
    assert await board.finish("a", claim, frozenset(), claim.phases, later, NOW) == frozenset()
    assert await board.claim("b", later - timedelta(seconds=1), 30, 1) == []
    assert [c.shard for c in await board.claim("b", later, 30, 1)] == [0]


async def test_a_wider_scope_splits_the_phase_again(db: Database) -> None:
    board = ShardBoard(db)
    narrow = outage_incident(NOW).model_copy(update={"scope": Scope.merchants("m1")})
    wide = outage_incident(NOW)
    await board.offer(narrow, frozenset({"active"}), 1, _no_bounds, NOW)
    (claim,) = await board.claim("a", NOW, 30, 1)
    await board.finish("a", claim, claim.phases, frozenset(), None, NOW)
    assert (await board.offer(wide, frozenset({"active"}), 1, _no_bounds, NOW)).split == {"active"}
    (again,) = await board.claim("b", NOW, 30, 1)
    assert again.scope_digest == scope_digest(wide)


async def test_given_back_shards_are_free_at_once(db: Database) -> None:
    board, incident = ShardBoard(db), outage_incident(NOW)
    await board.offer(incident, frozenset({"active"}), 1, _no_bounds, NOW)
    held = await board.claim("a", NOW, 30, 1)
    await board.release("a", held)
    assert len(await board.claim("b", NOW, 30, 1)) == 1


async def _no_bounds(shards: int) -> list[str]:
    raise AssertionError("one shard needs no bounds")


async def test_registry_ranges_stream_every_merchant_exactly_once(db: Database) -> None:
    registry = MerchantRegistry(db)
    ids = [f"m{i:03d}" for i in range(57)]
    await registry.upsert_many([MerchantConfig.model_validate({"id": i}) for i in ids], origin="import", now=NOW)
    bounds = await registry.ids_at(boundary_offsets(await registry.count(), 4))
    assert bounds == ["m014", "m028", "m042"]
    seen: list[str] = []
    for r in key_ranges(bounds):
        part = [m.id async for m in registry.iter_all(chunk=5, start=r.lo, stop=r.hi)]
        assert all(i in r for i in part)
        seen += part
    assert seen == ids


async def test_phases_cut_at_different_points_are_claimed_each_with_its_own_range(db: Database) -> None:
    board, incident = ShardBoard(db), outage_incident(NOW)

    async def early(shards: int) -> list[str]:
        return ["m5"]

    async def grown(shards: int) -> list[str]:  # the registry grew before the next phase was split
        return ["m7"]

    await board.offer(incident, frozenset({"active"}), 2, early, NOW)
    await board.offer(incident, frozenset({"active", "resolved"}), 2, grown, NOW)
    claims = await board.claim("a", NOW, 30, 10)
    got = sorted((c.shard, sorted(c.phases), c.keys) for c in claims)
    assert got == [
        (0, ["active"], KeyRange("", "m5")), (0, ["resolved"], KeyRange("", "m7")),
        (1, ["active"], KeyRange("m5", None)), (1, ["resolved"], KeyRange("m7", None)),
    ]


async def test_splitter_cuts_a_small_registry_into_fewer_shards(db: Database) -> None:
    registry = MerchantRegistry(db)
    await registry.upsert_many([MerchantConfig.model_validate({"id": f"m{i:03d}"}) for i in range(57)],
                               origin="import", now=NOW)
    board, wake = ShardBoard(db), asyncio.Event()
    splitter = ShardSplitter(board, registry, FanoutMarks(db), FanOutSettings(shards=8, min_shard_merchants=20),
                             ManualClock(NOW), wake)
    await splitter.offer(outage_incident(NOW), frozenset({"active"}))
    assert wake.is_set()  # this process looks for the new shards at once
    claims = await board.claim("a", NOW, 30, 10)
    assert [c.keys for c in claims] == [KeyRange("", "m028"), KeyRange("m028", None)]  # 57 // 20 = 2 shards


PAST = datetime(2000, 1, 1, tzinfo=UTC)  # before any clock a test runs on


async def _lapse(db: Database, owner: str) -> None:
    """``owner`` stopped renewing (paused, cut off) until its leases ran out."""
    async with db.begin() as conn:
        await conn.execute(update(notify_fanout_shards).where(notify_fanout_shards.c.owner == owner)
                           .values(lease_until=PAST))


async def _leases(db: Database) -> dict[tuple[str, int], tuple[str | None, datetime | None, bool]]:
    t = notify_fanout_shards
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(t.c.phase, t.c.shard, t.c.owner, t.c.lease_until, t.c.done_at))).all()
    return {(r.phase, r.shard): (r.owner, r.lease_until, r.done_at is not None) for r in rows}


async def test_a_lapsed_lease_is_lost_on_renewal_and_its_former_owner_cannot_finish_the_shard(db: Database) -> None:
    board, incident = ShardBoard(db), outage_incident(NOW)
    await board.offer(incident, frozenset({"active"}), 2, _bounds_m5, NOW)
    first, second = await board.claim("a", NOW, 30, 2)
    assert await board.renew("a", [first, second], NOW, 30) == [first, second]

    await _lapse(db, "a")
    (taken,) = await board.claim("b", NOW, 30, 1)  # "b" takes shard 0 over
    assert taken.shard == 0
    assert await board.renew("a", [first, second], NOW, 30) == []  # both lost, even the one nobody took yet
    assert await board.renew("b", [taken], NOW, 30) == [taken]

    assert await board.finish("a", first, first.phases, frozenset(), None, NOW) == frozenset()
    leases = await _leases(db)
    assert leases[("active", 0)][0::2] == ("b", False)  # "b"'s to record, not marked done by "a"
    assert leases[("active", 1)] == ("a", PAST, False)


async def test_claims_compare_leases_on_the_database_clock_on_postgresql(db: Database) -> None:
    if dialect(db.engine) != "postgresql":
        pytest.skip("SQLite serves one machine: one clock")
    board, incident = ShardBoard(db), outage_incident(NOW)
    await board.offer(incident, frozenset({"active"}), 1, _no_bounds, NOW)
    assert len(await board.claim("a", PAST, 30, 1)) == 1  # "a"'s clock is far behind: the lease is still 30 s
    ahead = datetime.now(UTC) + timedelta(days=1)  # "c"'s clock is a day ahead
    assert await board.claim("c", ahead, 30, 1) == []


async def test_renewing_or_giving_back_one_phase_leaves_the_same_shard_of_another_phase_alone(db: Database) -> None:
    board, incident = ShardBoard(db), outage_incident(NOW)
    await board.offer(incident, frozenset({"active"}), 1, _no_bounds, NOW)
    (active,) = await board.claim("a", NOW, 30, 1)
    quiet_end = datetime.now(UTC) + timedelta(days=400)  # messages held for the end of quiet hours
    await board.finish("a", active, frozenset(), active.phases, quiet_end, NOW)
    await board.offer(incident, frozenset({"active", "resolved"}), 1, _no_bounds, NOW)
    (resolved,) = await board.claim("a", NOW, 30, 1)
    assert resolved.phases == {"resolved"}

    await board.renew("a", [resolved], NOW, 30)
    await board.release("a", [resolved])
    leases = await _leases(db)
    assert leases[("active", 0)] == ("a", quiet_end, False)  # still held until quiet hours end
    assert leases[("resolved", 0)] == ("a", None, False)


async def _bounds_m5(shards: int) -> list[str]:
    return ["m5"]


MIXED_CASE = ["Shop-B", "shop-a", "Shop-C", "shop-d", "SHOP-e", "shop-F", "Shop-a", "shop-b", "m01", "M02"]


@pytest.mark.parametrize("icu_locale", [None, "en-US"])
async def test_registry_ranges_of_mixed_case_ids_stream_every_merchant_exactly_once(
    db: Database, icu_locale: str | None, tmp_path: Path,
) -> None:
    """Merchant ids are case-sensitive: cut points and streaming both in code-point order, whatever
    the database's collation (an en_US one puts ``shop-a`` before ``Shop-B``)."""
    if icu_locale is not None:
        base = os.environ.get("HUABEI_TEST_PG_URL")
        if dialect(db.engine) != "postgresql" or not base:
            pytest.skip("a database collation other than binary needs PostgreSQL")
        db = await migrated_database(await fresh_pg_database(base, icu_locale=icu_locale), retry_for=5)
    try:
        registry = MerchantRegistry(db)
        await registry.upsert_many([MerchantConfig.model_validate({"id": i}) for i in MIXED_CASE], origin="import",
                                   now=NOW)
        bounds = await registry.ids_at(boundary_offsets(await registry.count(), 3))
        assert bounds == sorted(MIXED_CASE)[3:4] + sorted(MIXED_CASE)[6:7]
        seen: list[str] = []
        for r in key_ranges(bounds):
            part = [m.id async for m in registry.iter_all(chunk=2, start=r.lo, stop=r.hi)]
            assert all(i in r for i in part), (r, part)
            seen += part
        assert seen == sorted(MIXED_CASE)
    finally:
        if icu_locale is not None:
            await db.close()
