"""The cashier's read side (:class:`PolicyReader`): write-through, no-regress refresh, rendering
cached per state and expiring on time. Real store and registry (SQLite, and PostgreSQL when
HUABEI_TEST_PG_URL is set)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import delete, event

from consumers.cashier.model import CashierState, Mode
from consumers.cashier.policy import PLATFORM, PolicyView, Reconciler, desired_channels
from consumers.cashier.reader import PolicyReader
from consumers.cashier.settings import CashierSettings
from consumers.cashier.store import CashierStore
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.config.settings import MerchantConfig
from huabei_watch.db.engine import Database
from huabei_watch.events import HUABEI_CHANNELS, Incident, IncidentKind, Phase, Scope
from huabei_watch.merchants.model import token_hash
from huabei_watch.merchants.registry import MerchantRegistry, merchants_table
from tests.support import eventually

AT = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
SETTINGS = CashierSettings(min_hold=0)


def outage(subject: str) -> Incident:
    scope = Scope.platform() if subject == PLATFORM else Scope.merchants(subject)
    return Incident(
        incident_id=f"outage:{subject}", kind=IncidentKind.OUTAGE, scope=scope, channels=HUABEI_CHANNELS,
        phase=Phase.ACTIVE, starts_at=AT, disable_from=AT, opened_at=AT, updated_at=AT, revision=1,
    )


async def switch_off(store: CashierStore, subject: str, now: datetime) -> CashierState:
    """Decide and commit an "off" for ``subject`` as the role does; returns the committed state."""
    await store.note_incident(outage(subject), now)
    current = await store.state(subject)
    desired = desired_channels(subject, Mode.AUTO, await store.heard_incidents(now - SETTINGS.ttl), now)
    change = Reconciler(SETTINGS).reconcile(subject, desired, current, now)
    assert change is not None and await store.apply_change(change, push_to=[]) is not None
    return await store.state(subject)


async def rig(db: Database) -> tuple[PolicyReader, CashierStore, ManualClock]:
    clock = ManualClock(AT)
    registry = MerchantRegistry(db)
    await registry.upsert_many([MerchantConfig.model_validate({"id": "m1", "mode": "auto"}),
                                MerchantConfig.model_validate({"id": "m2", "mode": "notify_only"})],
                               origin="config", now=AT)
    store = CashierStore(db)
    return PolicyReader(store, registry, clock, PolicyView(SETTINGS), ttl=2.0), store, clock


async def test_a_committed_switch_is_served_at_once_through_put(db: Database) -> None:
    reader, store, _clock = await rig(db)
    assert (await reader.state("m1", Mode.AUTO)).channels == ()  # loads the (empty) cache
    committed = await switch_off(store, "m1", AT)
    assert (await reader.state("m1", Mode.AUTO)).channels == ()  # not refreshed yet (within ttl)
    reader.put(committed)
    assert (await reader.state("m1", Mode.AUTO)).channels == HUABEI_CHANNELS


async def test_put_of_an_older_version_is_ignored(db: Database) -> None:
    reader, store, _clock = await rig(db)
    committed = await switch_off(store, "m1", AT)
    await reader.refresh()
    reader.put(replace(committed, channels=(), version=committed.version - 1))
    assert (await reader.state("m1", Mode.AUTO)).channels == HUABEI_CHANNELS


async def test_refresh_never_replaces_a_switch_with_an_older_version(db: Database) -> None:
    reader, store, _clock = await rig(db)
    committed = await switch_off(store, "m1", AT)
    # This process committed a newer "on" the read below does not see yet (another row version).
    newer_on = replace(committed, channels=(), incident_ids=(), reason="", version=committed.version + 1)
    reader.put(newer_on)
    await reader.refresh()
    assert (await reader.state("m1", Mode.AUTO)).channels == ()
    # A stored version at least as new as the cached one wins (the stored row is still "off").
    await store.note_incident(outage("m1"), AT + timedelta(seconds=1))  # touches: version moves on
    assert (await store.state("m1")).version >= newer_on.version
    await reader.refresh()
    assert (await reader.state("m1", Mode.AUTO)).channels == HUABEI_CHANNELS


async def test_changes_by_another_process_show_after_ttl(db: Database) -> None:
    reader, store, clock = await rig(db)
    assert (await reader.state("m1", Mode.AUTO)).channels == ()
    await switch_off(store, PLATFORM, AT)  # written by someone else: no put here
    clock.advance(1)
    assert (await reader.state("m1", Mode.AUTO)).channels == ()
    clock.advance(2)
    assert (await reader.state("m1", Mode.AUTO)).channels == HUABEI_CHANNELS


async def test_render_is_reused_until_the_state_changes_and_fails_open_at_the_expiry(db: Database) -> None:
    reader, store, clock = await rig(db)
    body_on, tag_on = await reader.render("m1", Mode.AUTO)
    assert json.loads(body_on)["disable_pay_channels"] == []
    assert await reader.render("m1", Mode.AUTO) == (body_on, tag_on)
    committed = await switch_off(store, PLATFORM, AT)
    reader.put(committed)
    body_off, tag_off = await reader.render("m1", Mode.AUTO)
    assert json.loads(body_off)["disable_pay_channels"] == list(HUABEI_CHANNELS) and tag_off != tag_on
    assert committed.until is not None
    clock.set(committed.until)  # nobody renewed the "off"
    body, tag = await reader.render("m1", Mode.AUTO)
    assert json.loads(body)["disable_pay_channels"] == [] and tag == tag_on


async def test_policy_message_only_while_huabei_is_off_and_only_for_known_merchants(db: Database) -> None:
    reader, store, _clock = await rig(db)
    assert await reader.policy_message("m1") is None
    reader.put(await switch_off(store, PLATFORM, AT))
    assert await reader.policy_message("m1") == "花呗暂时无法使用，请使用其他支付方式"
    assert await reader.policy_message("m2") is None  # notify_only: never switched
    assert await reader.policy_message("nobody") is None
    assert (await reader.policy("m1", Mode.AUTO))["alipay_param"] == ",".join(HUABEI_CHANNELS)


async def test_concurrent_merchant_misses_are_read_in_one_query_then_remembered(db: Database) -> None:
    registry = MerchantRegistry(db)
    await registry.upsert_many(
        [MerchantConfig(id=f"m{i}", mode="auto", token=SecretStr(f"tok-{i}")) for i in range(1200)], origin="import")
    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "FROM merchants" in statement:
            reads.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    reader = PolicyReader(CashierStore(db), registry, ManualClock(AT), PolicyView(SETTINGS))
    asked = [f"m{i}" for i in range(0, 1200, 2)] + ["nobody", "m0"]
    got = await asyncio.gather(*(reader.merchant(m) for m in asked))
    assert [m.id if m else None for m in got] == [m if m != "nobody" else None for m in asked]
    assert len(reads) == 2  # 601 distinct ids: two queries of at most LOAD_BATCH (500), not 602
    again = await asyncio.gather(*(reader.merchant(m) for m in asked))
    assert again == got and len(reads) == 2


async def test_access_comes_from_an_index_of_the_whole_registry_read_again_after_merchant_ttl(db: Database) -> None:
    registry = MerchantRegistry(db)
    await registry.upsert_many(
        [MerchantConfig(id=f"m{i}", mode="auto", token=SecretStr(f"tok-{i}")) for i in range(2500)], origin="import")
    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "FROM merchants" in statement:
            reads.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    clock = ManualClock(AT)
    reader = PolicyReader(CashierStore(db), registry, clock, PolicyView(SETTINGS), merchant_ttl=30.0)
    got = await asyncio.gather(*(reader.access(f"m{i}") for i in range(0, 2500, 7)))
    assert [a.id for a in got if a] == [f"m{i}" for i in range(0, 2500, 7)]
    assert got[0] is not None and got[0].token_hash == token_hash("tok-0") and got[0].mode == "auto"
    assert len(reads) == 1  # one page of the index (10,000 a page), whatever was asked
    assert await reader.access("m2499") is not None and len(reads) == 1

    await registry.upsert_many([MerchantConfig(id="late", mode="notify_only", token=SecretStr("t"))], origin="import")
    late = await reader.access("late")  # added after the index was read: read on its own
    assert late is not None and late.mode == "notify_only" and len(reads) == 2
    assert await reader.access("nobody") is None and len(reads) == 3
    assert await reader.access("nobody") is None and len(reads) == 3  # an unknown id is remembered too

    await registry.upsert_many([MerchantConfig(id="m1", mode="pinned_off", token=SecretStr("new"))], origin="import")
    clock.advance(timedelta(seconds=31))
    await reader.access("m5")  # past merchant_ttl: served from the old index, re-read behind it

    async def m1_changed() -> bool:
        m1 = await reader.access("m1")
        return m1 is not None and m1.mode == "pinned_off" and m1.token_hash == token_hash("new")

    await eventually(m1_changed, what="the index read again, with m1's new mode and token")
    assert len(reads) == 5  # the merchants changed since (one page) and the registry's count


async def test_the_index_rereads_only_merchants_changed_since_and_sees_a_removal(db: Database) -> None:
    clock = ManualClock(AT)
    registry = MerchantRegistry(db)
    await registry.upsert_many(
        [MerchantConfig(id=f"m{i}", mode="auto", token=SecretStr(f"tok-{i}")) for i in range(3000)], origin="import",
        now=clock.now() - timedelta(hours=1))
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "FROM merchants" in statement:
            statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    reader = PolicyReader(CashierStore(db), registry, clock, PolicyView(SETTINGS), merchant_ttl=30.0)
    assert await reader.access("m1") is not None and reader.index_rows_read == 3000

    async def reread() -> None:  # past merchant_ttl: one re-read behind the served index, waited for
        clock.advance(timedelta(seconds=31))
        before = reader.index_reads
        await reader.access("m2")
        await eventually(lambda: reader.index_reads == before + 1, what="a re-read of the index")

    await registry.upsert_many([MerchantConfig(id="m1", mode="pinned_off", token=SecretStr("new"))], origin="import",
                               now=clock.now())
    await reread()

    async def m1_changed() -> bool:
        m1 = await reader.access("m1")
        return m1 is not None and m1.mode == "pinned_off" and m1.token_hash == token_hash("new")

    await eventually(m1_changed, what="m1's new mode and token served")
    assert reader.index_rows_read == 3001  # the change, not the 3000 again
    assert [s for s in statements[1:] if "updated_at" not in s and "count" not in s] == []  # no whole read
    for _ in range(3):
        await reread()  # nothing changed: m1 is read again while it is within INDEX_OVERLAP, then nothing
    read = reader.index_rows_read
    await reread()
    assert reader.index_rows_read == read

    async with db.begin() as conn:
        await conn.execute(delete(merchants_table).where(merchants_table.c.id == "m7"))
    await reread()

    async def m7_gone() -> bool:
        return await reader.access("m7") is None

    await eventually(m7_gone, what="the removed m7 no longer served")
    assert (await reader.access("m8")) is not None
