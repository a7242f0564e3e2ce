"""Calendars and the Atom feed: parsed back with icalendar and feedparser, over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import feedparser
import pytest
from icalendar import Calendar, Component

from consumers.incidents.ledger import IncidentRecord, Ledger
from consumers.incidents.store import IncidentStore
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.events import HUABEI_CHANNELS, Incident, IncidentKind, Phase, Scope
from huabei_watch.root.calendars import calendar_windows, maintenance_calendar, uid
from huabei_watch.root.settings import Settings
from huabei_watch.runtime.app import App
from tests.ops.state import ACTIVE_TITLE, END, NOW, OWN_TOKEN, START, serving

OPS = "calendar-ops-token"


def maint(incident_id: str, *, revision: int = 1, phase: Phase = Phase.SCHEDULED, scope: Scope | None = None,
          shift: timedelta = timedelta(0), title: str = "花呗升级") -> Incident:
    starts, ends = START + timedelta(days=2) + shift, END + timedelta(days=2) + shift
    return Incident(
        incident_id=incident_id, kind=IncidentKind.MAINTENANCE, scope=scope or Scope.platform(), channels=HUABEI_CHANNELS,
        phase=phase, title=title, summary_zh="花呗将暂停服务", starts_at=starts, ends_at=ends,
        disable_from=starts - timedelta(minutes=5), disable_until=ends + timedelta(minutes=5),
        opened_at=NOW - timedelta(days=1), updated_at=NOW + timedelta(minutes=revision), revision=revision,
    )


def events(body: bytes) -> dict[str, Component]:
    cal = Calendar.from_ical(body)
    return {str(ev["uid"]): ev for ev in cal.walk("VEVENT")}


def sequence(ev: Component) -> int:
    """The event's SEQUENCE (a revision number)."""
    return int(ev.decoded("sequence"))


def test_an_updated_window_keeps_its_uid_and_gets_a_higher_sequence() -> None:
    first = maintenance_calendar([maint("maint:a:0")], name="t", now=NOW)
    moved = maintenance_calendar([maint("maint:a:0", revision=2, shift=timedelta(hours=1))], name="t", now=NOW)
    before, after = events(first)[uid("maint:a:0")], events(moved)[uid("maint:a:0")]
    assert sequence(after) > sequence(before)
    assert after.decoded("dtstart") == before.decoded("dtstart") + timedelta(hours=1)
    assert str(after["status"]) == "CONFIRMED"


def test_a_cancelled_window_is_cancelled_not_dropped() -> None:
    cancelled = maint("maint:a:0", revision=3, phase=Phase.CANCELLED)
    body = maintenance_calendar(calendar_windows([cancelled], NOW), name="t", now=NOW)
    ev = events(body)[uid("maint:a:0")]
    assert str(ev["status"]) == "CANCELLED"
    assert sequence(ev) == 3


def test_calendar_windows_keep_a_merchants_own_and_the_platforms_and_drop_old_closed_ones() -> None:
    own = maint("maint:own:0", scope=Scope.merchants("m-own"))
    other = maint("maint:other:0", scope=Scope.merchants("m-auto"))
    platform = maint("maint:p:0")
    old = maint("maint:old:0", phase=Phase.RESOLVED, shift=-timedelta(days=30))
    old = old.model_copy(update={"updated_at": NOW - timedelta(days=20)})
    outage = maint("outage:x", title="故障").model_copy(update={"kind": IncidentKind.OUTAGE})
    got = [i.incident_id for i in calendar_windows([own, other, platform, old, outage], NOW, "m-own")]
    assert sorted(got) == ["maint:own:0", "maint:p:0"]


@pytest.fixture(scope="module")
async def app(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App[Settings]]:
    async with serving(tmp_path_factory.mktemp("cal"), broker, f"c{uuid.uuid4().hex[:10]}", ops_token=OPS) as a:
        yield a


async def get(app: App[Settings], path: str, token: str | None = None) -> tuple[int, bytes, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{app.admin_port}{path}", headers=headers) as r:
        return r.status, await r.read(), r.headers.get("Content-Type", "")


@pytest.mark.parametrize(
    ("path", "token", "status"),
    [
        ("/v1/merchants/m-own/calendar.ics", None, 401),
        ("/v1/merchants/m-own/calendar.ics", "wrong", 403),
        ("/v1/merchants/m-auto/calendar.ics", OWN_TOKEN, 403),  # another merchant's token
        ("/v1/merchants/m-own/calendar.ics?token=wrong", None, 403),
        ("/v1/merchants/m-own/calendar.ics", OWN_TOKEN, 200),
        ("/v1/merchants/m-own/calendar.ics?token=" + OWN_TOKEN, None, 200),
        ("/v1/merchants/m-own/calendar.ics", OPS, 200),
        ("/v1/merchants/nobody/calendar.ics", OWN_TOKEN, 403),  # never says whether it exists
        ("/v1/merchants/nobody/calendar.ics", OPS, 404),
        ("/v1/maintenance.ics", None, 401),
        ("/v1/maintenance.ics", OWN_TOKEN, 403),
        ("/v1/maintenance.ics", OPS, 200),
        ("/v1/maintenance.ics?token=" + OPS, None, 200),  # calendar apps cannot send headers
        ("/v1/maintenance.ics?token=" + OWN_TOKEN, None, 401),
        ("/v1/incidents.atom?token=" + OPS, None, 200),
        ("/v1/incidents.atom", OWN_TOKEN, 403),
        ("/v1/incidents.atom", OPS, 200),
    ],
)
async def test_who_may_read_calendars_and_feeds(app: App[Settings], path: str, token: str | None, status: int) -> None:
    got, _, _ = await get(app, path, token)
    assert got == status


async def test_merchant_calendar_over_http_follows_updates_and_cancellations(app: App[Settings]) -> None:
    store = IncidentStore(app.db)
    await store.save([IncidentRecord(maint("maint:cal:0"), Ledger()),
                      IncidentRecord(maint("maint:cal-other:0", scope=Scope.merchants("m-auto")), Ledger())])
    status, body, ctype = await get(app, "/v1/merchants/m-own/calendar.ics?token=" + OWN_TOKEN)
    assert status == 200 and ctype.startswith("text/calendar")
    first = events(body)
    assert uid("maint:n1:0") in first and uid("maint:cal:0") in first  # the seeded window and the new one
    assert uid("maint:cal-other:0") not in first  # another merchant's window
    assert "收银台花呗将于" in str(first[uid("maint:n1:0")]["description"])

    await store.save([IncidentRecord(maint("maint:cal:0", revision=2, shift=timedelta(hours=2)), Ledger())])
    second = events((await get(app, "/v1/merchants/m-own/calendar.ics", OWN_TOKEN))[1])
    assert sequence(second[uid("maint:cal:0")]) > sequence(first[uid("maint:cal:0")])

    await store.save([IncidentRecord(maint("maint:cal:0", revision=3, phase=Phase.CANCELLED, shift=timedelta(hours=2)), Ledger())])
    third = events((await get(app, "/v1/merchants/m-own/calendar.ics", OWN_TOKEN))[1])
    assert str(third[uid("maint:cal:0")]["status"]) == "CANCELLED"
    assert sequence(third[uid("maint:cal:0")]) == 3

    ops = events((await get(app, "/v1/maintenance.ics", OPS))[1])
    assert {uid("maint:cal:0"), uid("maint:cal-other:0"), uid("maint:n1:0")} <= set(ops)


async def test_incidents_atom_parses_and_links_each_incident_page(app: App[Settings]) -> None:
    status, body, ctype = await get(app, "/v1/incidents.atom", OPS)
    assert status == 200 and ctype.startswith("application/atom+xml")
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    by_id = {e.id: e for e in feed.entries}
    entry = by_id["urn:huabei-watch:incident:maint:n1:0"]
    assert ACTIVE_TITLE in entry.title
    assert entry.link.endswith("/status/incidents/maint%3An1%3A0")
    updated = [e.updated_parsed for e in feed.entries]
    assert updated == sorted(updated, reverse=True)
