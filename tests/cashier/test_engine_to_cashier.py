"""The pure path end to end: signals -> incident engine -> desired state -> reconciler -> policy JSON."""

from __future__ import annotations

from datetime import datetime, timedelta

from consumers.cashier.model import CashierState, Mode
from consumers.cashier.policy import PolicyView, Reconciler, desired_channels
from consumers.cashier.settings import CashierSettings
from consumers.incidents.engine import IncidentEngine
from consumers.incidents.settings import IncidentSettings
from huabei_watch.clock import ManualClock
from huabei_watch.events import HUABEI_CHANNELS, Incident
from tests.fakes.incident_book import IncidentBook
from tests.incidents.factories import T0, WIN_END, WIN_START, maintenance, probe

ISET = IncidentSettings()
CSET = CashierSettings()


class Cashier:
    """A minimal level-triggered shell for the test: reconciles every merchant at each step."""

    def __init__(self, modes: dict[str, Mode]) -> None:
        self.modes = modes
        self.states = {m: CashierState(m) for m in modes}
        self.reconciler = Reconciler(CSET)
        self.view = PolicyView(CSET)

    def step(self, incidents: tuple[Incident, ...], now: datetime) -> None:
        for merchant, mode in self.modes.items():
            desired = desired_channels(merchant, mode, incidents, now)
            change = self.reconciler.reconcile(merchant, desired, self.states[merchant], now)
            if change is not None:
                self.states[merchant] = change.after

    def disabled(self, merchant: str, now: datetime) -> list[str]:
        return list(self.view.policy_json(self.states[merchant], now)["disable_pay_channels"])


def run_until(engine: IncidentEngine, cashier: Cashier, clock: ManualClock, until: datetime) -> None:
    """Advance like the daemon would: to the next due tick or the next heartbeat (every 5 minutes)."""
    while clock.now() < until:
        due = engine.next_due(clock.now())
        step = clock.now() + timedelta(minutes=5)
        clock.set(min(x for x in (due, step, until) if x is not None and x > clock.now()))
        engine.tick(clock.now())
        cashier.step(engine.open_incidents(), clock.now())


def test_maintenance_switches_auto_merchant_not_notify_only_and_back_after_grace() -> None:
    clock = ManualClock(T0)
    engine = IncidentEngine(ISET)
    cashier = Cashier({"auto": Mode.AUTO, "quiet": Mode.NOTIFY_ONLY})
    engine.apply(maintenance(), clock.now())
    cashier.step(engine.open_incidents(), clock.now())
    off_at = WIN_START - timedelta(seconds=ISET.maintenance_lead)
    run_until(engine, cashier, clock, off_at - timedelta(seconds=1))
    assert cashier.disabled("auto", clock.now()) == []
    run_until(engine, cashier, clock, off_at)
    assert cashier.disabled("auto", clock.now()) == list(HUABEI_CHANNELS)
    assert cashier.disabled("quiet", clock.now()) == []
    run_until(engine, cashier, clock, WIN_END)
    assert cashier.disabled("auto", clock.now()) == list(HUABEI_CHANNELS)  # renewed all through the window
    on_at = WIN_END + timedelta(seconds=ISET.maintenance_grace)
    run_until(engine, cashier, clock, on_at)
    assert cashier.disabled("auto", clock.now()) == []


def test_restart_in_the_middle_of_a_window_resumes_off() -> None:
    engine = IncidentEngine(ISET)
    engine.apply(maintenance(), T0)
    restarted = IncidentEngine.restore(ISET, engine.records())  # down from T0 to mid-window
    now = WIN_START + timedelta(minutes=30)
    restarted.tick(now)
    cashier = Cashier({"auto": Mode.AUTO})
    cashier.step(restarted.open_incidents(), now)
    assert cashier.disabled("auto", now) == list(HUABEI_CHANNELS)


def test_probe_outage_opens_and_closes_at_the_cashier() -> None:
    engine = IncidentEngine(ISET)
    cashier = Cashier({"auto": Mode.AUTO})
    t = WIN_END + timedelta(days=1)
    engine.apply(probe(True, t), t)
    cashier.step(engine.open_incidents(), t)
    assert cashier.disabled("auto", t) == list(HUABEI_CHANNELS)
    back = t + timedelta(minutes=10)
    engine.apply(probe(False, back), back)
    cashier.step(engine.open_incidents(), back)
    assert cashier.disabled("auto", back) == []


def test_silent_incident_stream_restores_huabei_even_with_cashier_timer_running() -> None:
    engine = IncidentEngine(ISET)
    book = IncidentBook(CSET)
    cashier = Cashier({"auto": Mode.AUTO})
    t = WIN_END + timedelta(days=1)
    for incident in engine.apply(probe(True, t), t):
        book.note(incident, t)
    cashier.step(book.current(t), t)
    assert cashier.disabled("auto", t) == list(HUABEI_CHANNELS)
    # the incident stream goes silent (no re-publication); the cashier keeps reconciling on its timer
    now = t
    while cashier.states["auto"].channels:
        recheck = cashier.reconciler.recheck_at(cashier.states["auto"], now)
        assert recheck is not None, "an off must always have a time to look at it again"
        now = recheck
        cashier.step(book.current(now), now)
    assert now == t + timedelta(seconds=CSET.off_ttl)
    assert cashier.disabled("auto", now) == []
    assert cashier.states["auto"].reason.startswith("expired")
