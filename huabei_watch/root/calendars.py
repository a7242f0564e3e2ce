"""Maintenance windows as iCalendar, incidents as Atom (pure: builds documents, no I/O).

Calendar contract (what a subscribed calendar app relies on):

* one VEVENT per maintenance incident, ``UID`` = ``<incident id>@huabei-watch`` for its whole life;
* ``SEQUENCE`` = the incident's revision, which grows at every change, so an updated window (moved,
  shortened) replaces the copy a calendar app holds;
* a cancelled window stays in the calendar for :data:`KEEP_CLOSED` with ``STATUS:CANCELLED``, so
  apps that keep events remove it; a window the parser is unsure of is ``STATUS:TENTATIVE``;
* times are UTC (``Z``), which every app converts to the reader's zone.

The Atom feed has one entry per incident (id ``urn:huabei-watch:incident:<id>``, ``updated`` = the
incident's ``updated_at``), newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import quote

from huabei_watch.clock import to_shanghai
from huabei_watch.events import Incident, IncidentKind, Phase

PRODID = "-//huabei-watch//maintenance calendar//ZH"
#: How long a finished or cancelled window stays in a calendar after its end.
KEEP_CLOSED = timedelta(days=7)
#: Length shown for a window whose notice gives no end and no switch-back time.
ASSUMED_LENGTH = timedelta(hours=2)
KIND_ZH = {"maintenance": "维护", "outage": "故障", "merchant_account": "商户账户", "integration": "兼容性"}
PHASE_ZH = {"scheduled": "计划中", "active": "进行中", "resolved": "已恢复", "cancelled": "已取消"}


def uid(incident_id: str) -> str:
    return f"{incident_id}@huabei-watch"


def _hm(value: datetime | None) -> str:
    return to_shanghai(value).strftime("%m-%d %H:%M") if value is not None else "—"


def _end(inc: Incident) -> datetime | None:
    if inc.starts_at is None:
        return None
    return inc.ends_at or inc.disable_until or inc.starts_at + ASSUMED_LENGTH


def calendar_windows(incidents: Iterable[Incident], now: datetime, merchant_id: str | None = None) -> list[Incident]:
    """Maintenance incidents a calendar shows at ``now``: open ones, and closed ones until
    :data:`KEEP_CLOSED` after their end; only those covering ``merchant_id`` when given. Sorted
    by start."""
    out: list[Incident] = []
    for inc in incidents:
        if inc.kind is not IncidentKind.MAINTENANCE or inc.starts_at is None:
            continue
        if merchant_id is not None and not inc.scope.covers(merchant_id):
            continue
        end = _end(inc) or inc.starts_at
        if not inc.phase.is_open and max(end, inc.updated_at) + KEEP_CLOSED < now:
            continue
        out.append(inc)
    return sorted(out, key=lambda i: (i.starts_at or now, i.incident_id))


def _description(inc: Incident, switches: bool) -> str:
    lines = [inc.summary_zh or inc.title]
    if inc.phase is Phase.CANCELLED:
        lines.append("此次维护已取消。")
    elif switches and inc.toggle and inc.channels and inc.disable_from is not None:
        lines.append(f"收银台花呗将于 {_hm(inc.disable_from)} 暂停，{_hm(inc.disable_until)} 恢复（北京时间）。")
    if inc.needs_review:
        lines.append("公告时间待人工确认，可能调整。")
    return "\n".join(line for line in lines if line)


def maintenance_calendar(
    incidents: Sequence[Incident], *, name: str, now: datetime, page_url: str | None = None, switches: bool = True
) -> bytes:
    """The iCalendar document of ``incidents`` (already chosen by :func:`calendar_windows`).
    ``switches``: say when Huabei goes off at the cashier (false for a merchant we never switch)."""
    from icalendar import Calendar  # imported when a calendar is asked for (memory of every process)
    from icalendar import Event as VEvent

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    for inc in incidents:
        if inc.starts_at is None:
            continue
        ev = VEvent()
        ev.add("uid", uid(inc.incident_id))
        ev.add("sequence", inc.revision)
        ev.add("dtstamp", now)
        ev.add("last-modified", inc.updated_at)
        ev.add("created", inc.opened_at)
        ev.add("dtstart", inc.starts_at)
        end = _end(inc)
        if end is not None and end > inc.starts_at:
            ev.add("dtend", end)
        title = inc.title or "花呗维护"
        ev.add("summary", f"【已取消】{title}" if inc.phase is Phase.CANCELLED else f"花呗维护：{title}")
        ev.add("description", _description(inc, switches))
        if inc.phase is Phase.CANCELLED:
            status = "CANCELLED"
        elif inc.needs_review:
            status = "TENTATIVE"
        else:
            status = "CONFIRMED"
        ev.add("status", status)
        ev.add("transp", "TRANSPARENT")
        if page_url:
            ev.add("url", page_url)
        cal.add_component(ev)
    data: bytes = cal.to_ical()
    return data


def incidents_atom(incidents: Sequence[Incident], *, base_url: str, now: datetime) -> bytes:
    """The Atom document of ``incidents`` (newest change first), each entry linking to its page
    under ``base_url`` (``/status/incidents/{id}``)."""
    base = base_url.rstrip("/")
    from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]  # imported when a feed is asked for

    fg = FeedGenerator()
    fg.id(f"{base}/v1/incidents.atom")
    fg.title("huabei-watch 事件 Incidents")
    fg.subtitle("花呗维护、故障和商户问题 Huabei maintenance, outages and merchant problems")
    fg.author({"name": "huabei-watch"})
    fg.link(href=f"{base}/v1/incidents.atom", rel="self", type="application/atom+xml")
    fg.link(href=f"{base}/status", rel="alternate", type="text/html")
    fg.language("zh-CN")
    newest = max((i.updated_at for i in incidents), default=now)
    fg.updated(newest)
    for inc in sorted(incidents, key=lambda i: (i.updated_at, i.incident_id)):
        fe = fg.add_entry()  # prepends: the newest ends up first
        fe.id(f"urn:huabei-watch:incident:{inc.incident_id}")
        kind = KIND_ZH.get(inc.kind.value, inc.kind.value)
        phase = PHASE_ZH.get(inc.phase.value, inc.phase.value)
        fe.title(f"[{kind}·{phase}] {inc.title or inc.incident_id}")
        fe.updated(inc.updated_at)
        fe.published(inc.opened_at)
        fe.link(href=f"{base}/status/incidents/{quote(inc.incident_id, safe='')}", rel="alternate", type="text/html")
        scope = "全平台" if inc.scope.kind.value == "platform" else "商户 " + ", ".join(inc.scope.merchant_ids)
        lines = [
            inc.summary_zh,
            f"范围 Scope: {scope}",
            f"时段 Window: {_hm(inc.starts_at)} → {_hm(inc.ends_at)}（北京时间）",
            f"阶段 Phase: {phase} {inc.phase.value} · rev {inc.revision}",
        ]
        if inc.toggle and inc.channels and inc.disable_from is not None:
            lines.append(f"花呗关闭 Huabei off: {_hm(inc.disable_from)} → {_hm(inc.disable_until)}")
        if inc.needs_review:
            lines.append("待复核 Needs review")
        fe.content("\n".join(line for line in lines if line), type="text")
    data: bytes = fg.atom_str(pretty=True)
    return data
