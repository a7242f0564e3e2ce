"""Issue 5 end to end on the embedded broker: signals -> incidents -> cashier -> policy API."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.events import (
    HEALTH_DOWN,
    HEALTH_UP,
    INCIDENT_OPENED,
    INCIDENT_RESOLVED,
    MAINTENANCE_SCHEDULED,
    Event,
    HealthChange,
    Incident,
    MaintenanceSignal,
    ProbeObservation,
    Scope,
    Window,
)
from huabei_watch.root.settings import Settings
from huabei_watch.runtime.app import App
from tests.cashier.incident_builders import outage_incident
from tests.e2e.harness import OPS, get_json, post_json, role, running, settings_for
from tests.support import data_as, eventually
from watcher.notices import understand
from watcher.sources.extract import NoticeRef
from watcher.sources.notice_plan import plan_notice

T0 = datetime(2026, 11, 27, 20, 0, tzinfo=SHANGHAI)
START = datetime(2026, 11, 28, 2, 0, tzinfo=SHANGHAI)
END = datetime(2026, 11, 28, 4, 0, tzinfo=SHANGHAI)


def maintenance() -> Event[MaintenanceSignal]:
    data = MaintenanceSignal(
        source_id="sandbox", notice_id="n1", url="http://127.0.0.1/n1", title="花呗系统维护公告", revision="r1",
        windows=(Window(start=START, end=END, products=("花呗",), channels=("pcredit", "pcreditpayInstallment")),),
        channels=("pcredit", "pcreditpayInstallment"), products=("花呗",), huabei_affected=True, confidence=0.95,
    )
    return Event.build(MAINTENANCE_SCHEDULED, data, time=T0)


async def policy(app: App[Settings], merchant: str, token: str) -> list[str]:
    status, body, _ = await get_json(app, f"/v1/merchants/{merchant}/pay-channels", token=token)
    assert status == 200, body
    return list(body["disable_pay_channels"])


async def test_maintenance_switches_auto_merchant_off_at_start_minus_lead_and_back_after_end_plus_grace(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    settings = settings_for(tmp_path, bus.topics.prefix)
    async with running(settings, broker, ["incidents", "cashier"], clock) as app:
        incidents, cashier = role(app, "incidents"), role(app, "cashier")
        await bus.publish(maintenance())
        await eventually(lambda: incidents.list(open_only=True), what="incident opened")
        assert await policy(app, "m-auto", "tok-auto") == []  # announced, not started

        clock.set(START - timedelta(minutes=5))  # start minus lead (300 s)
        await incidents.tick()

        async def off() -> bool:
            return await policy(app, "m-auto", "tok-auto") == ["pcredit", "pcreditpayInstallment"]

        await eventually(off, what="Huabei off at m-auto")
        _status, body, _ = await get_json(app, "/v1/merchants/m-auto/pay-channels", token="tok-auto")
        assert body["alipay_param"] == "pcredit,pcreditpayInstallment"
        assert body["message_zh"] == "花呗系统维护中，预计04:00恢复，请使用其他支付方式"
        assert body["incident_ids"] == ["maint:n1"]
        assert await policy(app, "m-notify", "tok-notify") == []

        # Through the window the incidents role re-asserts the open incident (keep-alive) and the
        # cashier renews the "off"; jump in steps shorter than off_ttl as the real timers would.
        t = START
        while t + timedelta(minutes=10) < END + timedelta(minutes=4):
            t += timedelta(minutes=10)
            clock.set(t)
            await incidents.tick()
            seen = app.consumers[1][0].handled
            await incidents.republish()
            await eventually(lambda: app.consumers[1][0].handled > seen, what="keep-alive consumed")  # noqa: B023
            await cashier.reconcile_all()
        clock.set(END + timedelta(minutes=4))  # still inside the grace time
        await cashier.reconcile_all()
        assert await policy(app, "m-auto", "tok-auto") != []
        clock.set(END + timedelta(minutes=5))
        await incidents.tick()

        async def on() -> bool:
            return await policy(app, "m-auto", "tok-auto") == []

        await eventually(on, what="Huabei back on")

        async def recorded() -> list[tuple[str, list[str]]]:
            await cashier.reconcile_all()
            _, changes, _ = await get_json(app, "/v1/pay-channels/changes?since=0")
            return [(c["merchant_id"], c["after"]) for c in changes["changes"]]

        await eventually(lambda: recorded(), what="the switch back recorded")
        assert await recorded() == [("*", ["pcredit", "pcreditpayInstallment"]), ("*", [])]


async def test_probe_outage_opens_and_closes_and_flapping_toggles_at_most_once_per_hold(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    settings = settings_for(tmp_path, bus.topics.prefix, {"cashier": {"min_hold": 120}})
    async with running(settings, broker, ["incidents", "cashier"], clock) as app:
        incidents, cashier = role(app, "incidents"), role(app, "cashier")
        n = 0

        async def probe(kind: str, since: datetime) -> None:
            nonlocal n
            n += 1
            data = HealthChange(probe_id="gw", target="http://127.0.0.1/h", since=since,
                                evidence=(ProbeObservation(at=since, ok=kind == HEALTH_UP),))
            await bus.publish(Event.build(kind, data, time=since))
            await eventually(lambda: app.consumers[0][0].handled >= n, what=f"signal {n} handled")

        async def off() -> bool:
            return await policy(app, "m-auto", "tok-auto") != []

        await probe(HEALTH_DOWN, clock.now())
        await eventually(off, what="outage switches Huabei off")
        # Flap: up and down every 15 s for 90 s, inside one hold time (120 s).
        for _ in range(3):
            clock.advance(15)
            await probe(HEALTH_UP, clock.now())
            clock.advance(15)
            await probe(HEALTH_DOWN, clock.now())
        await cashier.reconcile_all()
        _, changes, _ = await get_json(app, "/v1/pay-channels/changes?since=0")
        toggles = [c for c in changes["changes"] if c["before"] != c["after"]]
        assert len(toggles) == 1  # off once; no toggling inside the hold time
        clock.advance(200)
        await probe(HEALTH_UP, clock.now())

        async def resolved() -> bool:
            await cashier.reconcile_all()
            return not incidents.list(open_only=True) and not await off()

        await eventually(resolved, what="outage resolved, Huabei on")
        _, changes, _ = await get_json(app, "/v1/pay-channels/changes?since=0")
        toggles = [c["after"] for c in changes["changes"] if c["before"] != c["after"]]
        assert toggles == [["pcredit", "pcreditpayInstallment"], []]


async def test_silent_incident_stream_expires_the_off_and_replays_change_nothing(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    clock = ManualClock(START - timedelta(minutes=10))
    settings = settings_for(tmp_path, bus.topics.prefix, {"cashier": {"off_ttl": 600}})
    async with running(settings, broker, ["incidents", "cashier"], clock) as app:
        incidents, cashier = role(app, "incidents"), role(app, "cashier")
        ev = maintenance()
        await bus.publish(ev)
        await eventually(lambda: incidents.list(open_only=True), what="incident")
        clock.set(START)
        await incidents.tick()

        async def off() -> bool:
            return await policy(app, "m-auto", "tok-auto") != []

        await eventually(off, what="off")
        before = incidents.list(open_only=False)[0].revision

        async def cashier_heard_latest() -> bool:  # else a late revision would renew the "off" below
            heard = await cashier.store.heard_incidents(clock.now() - timedelta(seconds=600))
            return any(i.revision == before for i in heard)

        await eventually(cashier_heard_latest, what="the cashier heard the latest revision")
        await bus.publish(ev)  # replay of the same signal
        await bus.publish(ev)
        await eventually(lambda: app.consumers[0][0].handled >= 3, what="replays consumed")
        assert incidents.list(open_only=False)[0].revision == before
        # The incidents role goes silent (no tick, no republish): the "off" expires by itself.
        clock.advance(601)
        assert await policy(app, "m-auto", "tok-auto") == []  # fail open at read time
        await cashier.reconcile_all()
        _, changes, _ = await get_json(app, "/v1/pay-channels/changes?since=0")
        assert "expired" in changes["changes"][-1]["reason"]


async def test_restart_in_the_middle_of_a_window_resumes_in_the_right_state(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    clock = ManualClock(START - timedelta(hours=1))
    settings = settings_for(tmp_path, bus.topics.prefix)
    async with running(settings, broker, ["incidents", "cashier"], clock) as app:
        await bus.publish(maintenance())
        await eventually(lambda: role(app, "incidents").list(open_only=True), what="incident")
    # Down while the window starts; back up in the middle of it.
    clock.set(START + timedelta(minutes=30))
    async with running(settings, broker, ["incidents", "cashier"], clock) as app:
        inc = role(app, "incidents").list(open_only=True)[0]
        assert inc.phase.value == "active"  # the due change was applied at start-up

        async def off() -> bool:
            return await policy(app, "m-auto", "tok-auto") == ["pcredit", "pcreditpayInstallment"]

        await eventually(off, timeout=60, what="off after restart")


async def test_tokens_scope_merchants_and_etag_gives_304(broker: EmbeddedBroker, bus: Bus, tmp_path: Path) -> None:
    clock = ManualClock(T0)
    settings = settings_for(tmp_path, bus.topics.prefix)
    async with running(settings, broker, ["cashier"], clock) as app:
        status, body, headers = await get_json(app, "/v1/merchants/m-auto/pay-channels", token="tok-auto")
        assert status == 200 and body["disable_pay_channels"] == []
        assert (await get_json(app, "/v1/merchants/m-auto/pay-channels", token=None))[0] == 401
        assert (await get_json(app, "/v1/merchants/m-auto/pay-channels", token="tok-notify"))[0] == 403
        assert (await get_json(app, "/v1/merchants/nobody/pay-channels", token="tok-auto"))[0] == 403
        assert (await get_json(app, "/v1/merchants/m-notify/pay-channels", token=OPS))[0] == 200
        assert (await get_json(app, "/v1/merchants/nobody/pay-channels", token=OPS))[0] == 404
        status, _, _ = await get_json(
            app, "/v1/merchants/m-auto/pay-channels", token="tok-auto", headers={"If-None-Match": headers["etag"]}
        )
        assert status == 304
        assert (await get_json(app, "/v1/pay-channels/changes", token="tok-auto"))[0] == 403


async def test_ops_can_open_resolve_and_silence_incidents_and_force_huabei_on(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    settings = settings_for(tmp_path, bus.topics.prefix)
    async with running(settings, broker, ["incidents", "cashier"], clock) as app:
        status, inc = await post_json(app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用"})
        assert status == 201, inc

        async def off() -> bool:
            return await policy(app, "m-auto", "tok-auto") != []

        await eventually(off, what="manual incident switches off")
        status, _ = await post_json(app, "/v1/merchants/m-auto/force-on", {"incident_id": inc["incident_id"]})
        assert status == 200
        assert await policy(app, "m-auto", "tok-auto") == []
        status, silenced = await post_json(app, f"/v1/incidents/{inc['incident_id']}/silence", {"for": "2h"})
        assert status == 200 and silenced["silenced_until"]
        assert (await post_json(app, "/v1/incidents/nope/resolve", {}))[0] == 404
        assert (await post_json(app, "/v1/incidents", {"title": ""}))[0] == 400
        assert (await post_json(app, "/v1/incidents", {"title": "x"}, token="tok-auto"))[0] == 403
        status, resolved = await post_json(app, f"/v1/incidents/{inc['incident_id']}/resolve", {"by": "alice"})
        assert status == 200 and resolved["phase"] == "resolved"
        status, listing, _ = await get_json(app, "/v1/incidents?all=1")
        assert [i["phase"] for i in listing["incidents"]] == ["resolved"]


async def test_open_incidents_are_republished_at_start_into_an_empty_broker(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    """An embedded broker is empty after a daemon restart: the incidents role re-asserts what is
    open at start-up, not only at its first keep-alive minutes later."""
    import uuid

    from aiokafka import AIOKafkaConsumer

    from huabei_watch.events import decode

    clock = ManualClock(START - timedelta(hours=1))
    async with running(settings_for(tmp_path, bus.topics.prefix), broker, ["incidents"], clock) as app:
        await bus.publish(maintenance())
        await eventually(lambda: role(app, "incidents").list(open_only=True), what="incident")
    fresh = f"t{uuid.uuid4().hex[:10]}"  # same database, new (empty) topics: as after a restart
    async with running(settings_for(tmp_path, fresh), broker, ["incidents"], clock):
        consumer = AIOKafkaConsumer(f"{fresh}.incidents", bootstrap_servers=broker.bootstrap_servers,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        try:
            batch = await consumer.getmany(timeout_ms=15_000)
        finally:
            await consumer.stop()
        ids = {data_as(decode(m.key, m.value, m.headers), Incident).incident_id for msgs in batch.values() for m in msgs}
        assert ids == {"maint:n1"}


async def test_periodic_pass_from_reads_before_a_resolution_does_not_switch_the_merchant_off_again(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    """The race the cashier crash drill found: the periodic pass reads the switches and incidents,
    the outage is resolved and the merchant switched back on, then the pass decides from its reads."""
    clock = ManualClock(T0)
    settings = settings_for(tmp_path, bus.topics.prefix, {"cashier": {"min_hold": 0}})
    async with running(settings, broker, ["cashier"], clock) as app:
        cashier = role(app, "cashier")
        opened = outage_incident(T0 - timedelta(minutes=1), incident_id="outage:m-auto")
        opened = opened.model_copy(update={"scope": Scope.merchants("m-auto")})
        await bus.publish(Event.build(INCIDENT_OPENED, opened, time=opened.updated_at))

        async def switched(channels: list[str]) -> bool:
            return await policy(app, "m-auto", "tok-auto") == channels

        await eventually(lambda: switched(["pcredit", "pcreditpayInstallment"]), what="Huabei off at m-auto")
        seen = (await cashier.store.state("m-auto"), await cashier.current_incidents())  # what the pass read

        resolved = outage_incident(T0 - timedelta(minutes=1), incident_id="outage:m-auto", resolved_at=T0)
        resolved = resolved.model_copy(update={"scope": Scope.merchants("m-auto")})
        await bus.publish(Event.build(INCIDENT_RESOLVED, resolved, time=resolved.updated_at))
        await eventually(lambda: switched([]), what="Huabei back on at m-auto")

        await cashier.reconcile("m-auto", seen)
        assert await policy(app, "m-auto", "tok-auto") == []
        _status, body, _ = await get_json(app, "/v1/pay-channels/changes?since=0")
        assert [c["after"] for c in body["changes"] if c["merchant_id"] == "m-auto"] == [
            ["pcredit", "pcreditpayInstallment"], []]


async def test_fallbacks_leave_out_a_bank_channel_while_its_own_window_lasts(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    """A bank's debit-card window read from its notice (the watcher's understanding and plan), a
    Huabei window from the platform: while both last, the policy offers no debit card."""
    text = "因核心系统升级，本行将于2026年11月28日02:30至03:30暂停借记卡快捷支付服务，信用卡不受影响。"
    ref = NoticeRef(notice_id="bank-1", url="http://127.0.0.1/bank-1", title="系统升级公告", published=T0.date())
    understood = understand(text, published=T0.date(), title=ref.title)
    assert (understood.kind, understood.channels, understood.huabei_affected) == ("maintenance", ("debitCardExpress",), False)
    plan = plan_notice(source_id="bank", ref=ref, text=text, understanding=understood, prev=None, now=T0, first_poll=False)
    [bank_signal] = [e for e in plan.events if e.type == MAINTENANCE_SCHEDULED]

    clock = ManualClock(T0)
    settings = settings_for(tmp_path, bus.topics.prefix)
    async with running(settings, broker, ["incidents", "cashier"], clock) as app:
        incidents, cashier = role(app, "incidents"), role(app, "cashier")
        await bus.publish(maintenance())
        await bus.publish(bank_signal)
        await eventually(lambda: len(incidents.list(open_only=True)) == 2, what="both incidents opened")

        async def fallbacks_at(when: datetime) -> list[str]:
            clock.set(when)
            await incidents.tick()
            await incidents.republish()  # keep-alive of both incidents, as the incidents role does

            async def cashier_heard_it_all() -> bool:
                # Every incident at its latest revision, the open ones heard at this step's time (a
                # count of handled records would also count the tick's own revisions: a race).
                latest = await cashier.store.heard_incidents(when - timedelta(days=1))
                now = {i.incident_id for i in await cashier.store.heard_incidents(when)}
                revisions = {i.incident_id: i.revision for i in latest}
                return all(revisions.get(i.incident_id) == i.revision and (i.incident_id in now or not i.phase.is_open)
                           for i in incidents.list(open_only=False))

            await eventually(cashier_heard_it_all, what="the cashier heard every incident's latest revision")
            await cashier.reconcile_all()
            _status, body, _ = await get_json(app, "/v1/merchants/m-auto/pay-channels", token="tok-auto")
            assert body["disable_pay_channels"] == ["pcredit", "pcreditpayInstallment"], body
            return list(body["fallback_methods"])

        everything = ["balance", "debitCardExpress", "creditCard", "moneyFund"]
        assert await fallbacks_at(START) == everything  # Huabei off, the bank not yet down
        assert await fallbacks_at(START + timedelta(minutes=10)) == everything
        for minutes in (25, 35, 45, 55, 65, 75, 85, 94):  # 02:25 (its start minus the lead) to 03:34
            assert await fallbacks_at(START + timedelta(minutes=minutes)) == ["balance", "creditCard", "moneyFund"]
        assert await fallbacks_at(START + timedelta(minutes=95)) == everything  # 03:35: its end plus the grace


async def test_merchants_sharing_the_platform_policy_never_get_another_merchants_own_switch(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    extra = {"merchants": [
        {"id": "m-auto", "name": "自动店", "mode": "auto", "token": "tok-auto"},
        {"id": "m-auto2", "name": "自动二店", "mode": "auto", "token": "tok-auto2"},
        {"id": "m-auto3", "name": "自动三店", "mode": "auto", "token": "tok-auto3"},
    ]}
    settings = settings_for(tmp_path, bus.topics.prefix, extra)
    async with running(settings, broker, ["incidents", "cashier"], clock) as app:
        status, inc = await post_json(app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用"})
        assert status == 201, inc

        async def all_off() -> bool:
            return all([await policy(app, m, t) != [] for m, t in
                        (("m-auto", "tok-auto"), ("m-auto2", "tok-auto2"), ("m-auto3", "tok-auto3"))])

        await eventually(all_off, what="platform incident switches every auto merchant off")
        status, _ = await post_json(app, "/v1/merchants/m-auto2/force-on", {"incident_id": inc["incident_id"]})
        assert status == 200
        # m-auto renders the shared platform policy first; m-auto2 has its own override.
        assert await policy(app, "m-auto", "tok-auto") != []
        assert await policy(app, "m-auto2", "tok-auto2") == []
        assert await policy(app, "m-auto3", "tok-auto3") != []
        assert (await post_json(app, f"/v1/incidents/{inc['incident_id']}/resolve", {}))[0] == 200

        async def all_on() -> bool:
            return all([await policy(app, m, t) == [] for m, t in
                        (("m-auto", "tok-auto"), ("m-auto2", "tok-auto2"), ("m-auto3", "tok-auto3"))])

        await eventually(all_on, what="resolution switches every auto merchant back on")
        # A merchant's own outage: the others keep sharing the platform's (all on) policy.
        await bus.publish(Event.build(HEALTH_DOWN, HealthChange(
            probe_id="own", target="http://127.0.0.1:9/h", scope=Scope.merchants("m-auto3"), since=clock.now(),
            evidence=(ProbeObservation(at=clock.now(), ok=False, detail="HTTP 503"),)), time=clock.now()))

        async def only_m3_off() -> bool:
            return await policy(app, "m-auto3", "tok-auto3") != []

        await eventually(only_m3_off, what="the merchant's own outage switches it off")
        assert await policy(app, "m-auto", "tok-auto") == []
        assert await policy(app, "m-auto2", "tok-auto2") == []
