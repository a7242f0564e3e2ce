"""The cashier store's compare-and-set: a decision taken from inputs older than the state is refused.

Run on SQLite, and on PostgreSQL when HUABEI_TEST_PG_URL is set (the ``db`` fixture).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from consumers.cashier.model import CashierState, Mode
from consumers.cashier.policy import Reconciler, desired_channels
from consumers.cashier.settings import CashierSettings
from consumers.cashier.store import CashierStore
from huabei_watch.clock import SHANGHAI
from huabei_watch.db.engine import Database
from huabei_watch.events import HUABEI_CHANNELS, Incident, IncidentKind, Phase, Scope

AT = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
SETTINGS = CashierSettings(min_hold=0)


def outage(merchant: str, *, resolved: bool) -> Incident:
    end = AT + timedelta(minutes=1)
    return Incident(
        incident_id=f"outage:{merchant}", kind=IncidentKind.OUTAGE, scope=Scope.merchants(merchant),
        channels=HUABEI_CHANNELS, phase=Phase.RESOLVED if resolved else Phase.ACTIVE, starts_at=AT,
        disable_from=AT, disable_until=end if resolved else None, opened_at=AT, updated_at=end if resolved else AT,
        resolved_at=end if resolved else None, revision=2 if resolved else 1,
    )


async def decide(store: CashierStore, merchant: str, current: CashierState, incidents: list[Incident],
                 now: datetime) -> int | None:
    """Decide from ``current`` and ``incidents`` as the role does, and try to apply it."""
    desired = desired_channels(merchant, Mode.AUTO, incidents, now)
    change = Reconciler(SETTINGS).reconcile(merchant, desired, current, now)
    assert change is not None
    return await store.apply_change(change, push_to=[])


async def test_decision_from_inputs_read_before_a_newer_incident_loses_the_compare_and_set(db: Database) -> None:
    store = CashierStore(db)
    now = AT + timedelta(seconds=5)
    await store.note_incident(outage("m1", resolved=False), now)
    assert await decide(store, "m1", await store.state("m1"), await store.heard_incidents(AT), now)
    off = await store.state("m1")
    assert off.channels == HUABEI_CHANNELS

    # A periodic pass read the state, then the incidents; the outage is resolved and the merchant
    # switched back on before the pass writes its decision.
    stale_state, stale_incidents = off, await store.heard_incidents(AT)
    later = now + timedelta(minutes=2)
    await store.note_incident(outage("m1", resolved=True), later)
    assert await decide(store, "m1", await store.state("m1"), await store.heard_incidents(AT), later)
    assert (await store.state("m1")).channels == ()

    # Renewing the "off" from the stale reads must not win, whatever it would have written.
    renewal = Reconciler(SETTINGS).reconcile(
        "m1", desired_channels("m1", Mode.AUTO, stale_incidents, later), stale_state, later + timedelta(minutes=10)
    )
    assert renewal is not None
    assert await store.apply_change(renewal, push_to=[]) is None
    assert (await store.state("m1")).channels == ()


async def test_hearing_an_incident_touches_the_switches_it_covers(db: Database) -> None:
    store = CashierStore(db)
    never_decided = await store.state("m2")
    assert never_decided.version == 0
    await store.note_incident(outage("m2", resolved=False), AT)
    touched = await store.state("m2")
    assert touched.version == 1 and touched.channels == ()  # an empty switch, created by the touch
    # A decision from before the incident was heard (no row yet) is refused ...
    assert await decide(store, "m2", never_decided, [outage("m2", resolved=False)], AT) is None
    # ... and the same incident heard again (a re-assertion) still moves the version.
    await store.note_incident(outage("m2", resolved=False), AT + timedelta(minutes=5))
    assert (await store.state("m2")).version == 2


async def test_an_older_revision_changes_nothing(db: Database) -> None:
    store = CashierStore(db)
    await store.note_incident(outage("m3", resolved=True), AT)
    version = (await store.state("m3")).version
    assert await store.note_incident(outage("m3", resolved=False), AT) is False
    assert (await store.state("m3")).version == version
    assert [i.phase for i in await store.heard_incidents(AT)] == [Phase.RESOLVED]


async def test_force_on_touches_the_merchant(db: Database) -> None:
    store = CashierStore(db)
    before = await store.state("m4")
    await store.force_on("m4", "*", None, AT, "ops")
    assert (await store.state("m4")).version == before.version + 1


async def test_an_incident_not_heard_again_within_off_ttl_is_forgotten(db: Database) -> None:
    """What the role reads is ``heard_incidents(now - off_ttl)``: an incident the stream stopped
    re-asserting drops out, so its "off" is not renewed and Huabei fails open."""
    store = CashierStore(db)
    ttl = SETTINGS.ttl
    inc = outage("m5", resolved=False)
    await store.note_incident(inc, AT)
    assert [i.incident_id for i in await store.heard_incidents(AT + ttl / 2 - ttl)] == [inc.incident_id]
    await store.note_incident(inc, AT + ttl / 2)  # re-published: heard again
    assert [i.incident_id for i in await store.heard_incidents(AT + ttl - ttl)] == [inc.incident_id]
    assert await store.heard_incidents(AT + ttl * 3 / 2 + timedelta(seconds=1) - ttl) == []
