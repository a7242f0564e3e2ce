"""Multi-source incidents: outages (probes + payment anomalies) and merchant problems (findings).

Each source (``probe:<id>``, ``anomaly:<id>``, ``finding:<id>``) leaves a mark in the incident's
ledger with its latest state, and its ref in the incident's public ``refs``. Sources of one kind and scope merge into one open incident (outages
also need overlapping channels); the incident resolves only when every source that joined it has
recovered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from consumers.incidents.ledger import IncidentRecord, Ledger, Mark, add_evidence, links_of, public_refs
from consumers.incidents.settings import IncidentSettings
from consumers.incidents.text_zh import DEFAULT_ADVICE, correlated_text
from consumers.incidents.timing import with_phase
from huabei_watch.clock import to_shanghai
from huabei_watch.events.base import Event, EventData
from huabei_watch.events.common import HUABEI_CHANNELS, Cause, Scope
from huabei_watch.events.incidents import Incident, IncidentKind, Phase
from huabei_watch.events.signals import HEALTH_DOWN, HealthChange, MerchantFinding, PaymentAnomaly

SOURCE_PREFIXES = ("probe:", "anomaly:", "finding:")
OPENING_STATES = frozenset({"down", "raised"})

_MERCHANT_KINDS: dict[Cause, IncidentKind] = {
    Cause.MERCHANT_ACCOUNT: IncidentKind.MERCHANT_ACCOUNT,
    Cause.INTEGRATION: IncidentKind.INTEGRATION,
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One signal, normalised: which source says what about which kind of incident."""

    kind: IncidentKind
    scope: Scope
    channels: tuple[str, ...]
    ref: str
    state: str
    as_of: datetime
    line: str
    advice_zh: str = ""
    #: only ops hear of it (our own configuration is at fault, not the merchant)
    ops_only: bool = False
    #: the source may resend the same event id with newer evidence (a still-down probe)
    refreshable: bool = False

    @property
    def opening(self) -> bool:
        return self.state in OPENING_STATES


def evidence_of(event: Event[EventData]) -> Evidence | None:
    """The evidence an event carries, or None when it cannot open or close a correlated incident
    (buyer-side, maintenance-time or unknown-cause anomalies never do)."""
    data = event.data
    if isinstance(data, HealthChange):
        down = event.type == HEALTH_DOWN
        as_of = max([data.since, *(o.at for o in data.evidence)])
        last = data.evidence[-1].detail if data.evidence else ""
        return Evidence(
            kind=IncidentKind.OUTAGE, scope=data.scope, channels=data.channels or HUABEI_CHANNELS,
            ref=f"probe:{data.probe_id}", state="down" if down else "up", as_of=as_of,
            line=f"{to_shanghai(as_of).isoformat()} probe {data.probe_id} ({data.target}) "
                 f"{'down' if down else 'up'} since {data.since.isoformat()}" + (f": {last}" if last else ""),
            refreshable=True,
        )
    if isinstance(data, PaymentAnomaly):
        if data.cause is Cause.PLATFORM:
            kind = IncidentKind.OUTAGE
        elif data.cause in _MERCHANT_KINDS:
            kind = _MERCHANT_KINDS[data.cause]
        else:
            return None
        codes = ", ".join(f"{c} {n}" for c, n in sorted(data.counts_by_code.items(), key=lambda kv: -kv[1])[:5])
        return Evidence(
            kind=kind, scope=data.scope, channels=(data.channel,), ref=f"anomaly:{data.anomaly_id}",
            state=data.state, as_of=data.window_end,
            line=f"{to_shanghai(data.window_end).isoformat()} anomaly {data.anomaly_id} {data.state}: "
                 f"{data.failures}/{data.total} failed at {data.merchants} merchants" + (f" ({codes})" if codes else ""),
            advice_zh=data.advice_zh,
        )
    if isinstance(data, MerchantFinding):
        finding_kind = _MERCHANT_KINDS.get(data.cause)
        if finding_kind is None:
            return None
        code = " ".join(c for c in (data.code, data.sub_code) if c)
        return Evidence(
            kind=finding_kind, scope=Scope.merchants(data.merchant_id), channels=(),
            ref=f"finding:{data.finding_id}", state=data.state, as_of=data.observed_at,
            line=f"{to_shanghai(data.observed_at).isoformat()} {data.origin} finding {data.finding_id} "
                 f"{data.state}" + (f": {code}" if code else ""),
            advice_zh=data.advice_zh,
            ops_only=data.audience == "ops",
        )
    return None


def latest_mark(ref: str, held: Mapping[str, IncidentRecord]) -> Mark | None:
    """The newest mark of ``ref`` across all incidents, open or closed."""
    best: Mark | None = None
    for record in held.values():
        mark = record.ledger.mark(ref)
        if mark is not None and (best is None or mark.as_of > best.as_of):
            best = mark
    return best


def _mergeable(incident: Incident, ev: Evidence) -> bool:
    if not incident.phase.is_open or incident.manual or incident.kind is not ev.kind or incident.scope != ev.scope:
        return False
    return ev.kind is not IncidentKind.OUTAGE or bool(set(incident.channels) & set(ev.channels))


def _new_id(ev: Evidence, held: Mapping[str, IncidentRecord]) -> str:
    base = f"{ev.kind.value}:{ev.scope.label()}:{to_shanghai(ev.as_of).strftime('%Y%m%dT%H%M')}"
    candidate, n = base, 1
    while candidate in held:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def apply_evidence(
    ev: Evidence, held: Mapping[str, IncidentRecord], settings: IncidentSettings, now: datetime
) -> IncidentRecord | None:
    """The draft of the incident this evidence opens, joins, renews or closes; None if no change.

    Evidence not newer than what a ledger already holds for its source is a replay: None.
    Opening evidence already older than ``outage_stale_after`` opens nothing.
    """
    previous = latest_mark(ev.ref, held)
    if previous is not None and (ev.as_of < previous.as_of or (ev.as_of == previous.as_of and ev.state == previous.state)):
        return None
    holding = [r for r in held.values() if r.incident.phase.is_open and r.ledger.mark(ev.ref) is not None]
    if ev.opening:
        target = holding[0] if holding else next((r for r in held.values() if _mergeable(r.incident, ev)), None)
        if target is None:
            if ev.kind is IncidentKind.OUTAGE and now - ev.as_of >= settings.stale_after:
                return None
            return _opened(ev, held, now)
        return _joined(target, ev, now)
    if not holding:
        return None  # recovery of a source that opened nothing open: nothing to do
    return _recovered(holding[0], ev, now)


def _opened(ev: Evidence, held: Mapping[str, IncidentRecord], now: datetime) -> IncidentRecord:
    start = min(ev.as_of, now)
    title, summary = correlated_text(kind=ev.kind, scope=ev.scope, start=start, end=None, resolved=False)
    outage = ev.kind is IncidentKind.OUTAGE
    ledger = Ledger(marks=(Mark(ev.ref, ev.state, ev.as_of),))
    return IncidentRecord(Incident(
        incident_id=_new_id(ev, held), kind=ev.kind, scope=ev.scope,
        channels=tuple(c for c in HUABEI_CHANNELS if c in ev.channels) + tuple(
            c for c in ev.channels if c not in HUABEI_CHANNELS),
        phase=Phase.ACTIVE, title=title, summary_zh=summary,
        advice_zh="" if outage else (ev.advice_zh or DEFAULT_ADVICE.get(ev.kind, "")),
        starts_at=start, disable_from=start if outage else None,
        opened_at=now, updated_at=now, revision=1,
        refs=public_refs((), ledger),
        evidence=(ev.line,), toggle=outage, needs_review=ev.ops_only,
    ), ledger)


def _joined(target: IncidentRecord, ev: Evidence, now: datetime) -> IncidentRecord:
    incident = target.incident
    ledger = target.ledger.with_mark(Mark(ev.ref, ev.state, ev.as_of))
    channels = incident.channels + tuple(c for c in ev.channels if c not in incident.channels)
    update: dict[str, object] = {"refs": public_refs(links_of(incident), ledger), "channels": channels,
                                 "evidence": add_evidence(incident.evidence, ev.line)}
    if ev.advice_zh and incident.kind is not IncidentKind.OUTAGE:
        update["advice_zh"] = ev.advice_zh
    return IncidentRecord(incident.model_copy(update=update), ledger)


def _recovered(target: IncidentRecord, ev: Evidence, now: datetime) -> IncidentRecord:
    incident = target.incident
    ledger = target.ledger.with_mark(Mark(ev.ref, ev.state, ev.as_of))
    draft = incident.model_copy(update={"refs": public_refs(links_of(incident), ledger),
                                        "evidence": add_evidence(incident.evidence, ev.line)})
    if any(m.state in OPENING_STATES for m in ledger.source_marks(*SOURCE_PREFIXES)):
        return IncidentRecord(draft, ledger)  # another source still sees the problem
    return IncidentRecord(close(draft, now, reason="all sources recovered"), ledger)


def close(incident: Incident, now: datetime, *, reason: str) -> Incident:
    """Resolve a correlated incident at ``now`` (Huabei comes back at once: disable_until = now)."""
    start = incident.starts_at or incident.opened_at
    title, summary = correlated_text(kind=incident.kind, scope=incident.scope, start=start, end=now, resolved=True)
    resolved = incident.model_copy(update={
        "title": title, "summary_zh": summary, "ends_at": now,
        "disable_until": now if incident.disable_from is not None else None,
        "evidence": add_evidence(incident.evidence, f"{to_shanghai(now).isoformat()} resolved: {reason}"),
    })
    return with_phase(resolved, Phase.RESOLVED, now)


def last_evidence_at(ledger: Ledger) -> datetime | None:
    marks = ledger.source_marks(*SOURCE_PREFIXES)
    return max((m.as_of for m in marks), default=None)
