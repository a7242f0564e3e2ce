"""Fallback methods that avoid pay channels under maintenance, pure.

While Huabei is off, the policy suggests other methods (``cashier.fallback_methods``). A bank or
clearing-house window can take one of those down at the same time (a debit-card quick-pay
window); such a channel is left out while its window lasts. The windows come in as maintenance
incidents, whose ``unavailable_channels`` the incidents role fills from the notice (Huabei's or
not); ``now`` is the caller's clock reading.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from consumers.cashier.alipay_params import CREDIT_GROUP, CREDIT_GROUP_MEMBERS
from huabei_watch.events.incidents import Incident, IncidentKind


def _down_span(incident: Incident) -> tuple[datetime, datetime | None] | None:
    """When a maintenance incident's ``unavailable_channels`` are down: from ``disable_from`` (the
    window start minus the lead) to ``disable_until`` (its end plus the grace); None when it takes
    nothing down (another kind, closed, no channels, no start)."""
    if (
        incident.kind is not IncidentKind.MAINTENANCE
        or not incident.phase.is_open
        or not incident.unavailable_channels
    ):
        return None
    start = incident.disable_from or incident.starts_at
    if start is None:
        return None
    return start, incident.disable_until or incident.ends_at


def channels_down(incidents: Iterable[Incident], now: datetime) -> frozenset[str]:
    """Pay channels that open maintenance incidents take down at ``now`` (bank, clearing and
    platform windows alike; start inclusive, end exclusive, no end: until the incident closes)."""
    out: set[str] = set()
    for incident in incidents:
        span = _down_span(incident)
        if span is not None and span[0] <= now and (span[1] is None or now < span[1]):
            out.update(incident.unavailable_channels)
    return frozenset(out)


def next_down_change(incidents: Iterable[Incident], now: datetime) -> datetime | None:
    """The next moment after ``now`` at which :func:`channels_down` may change, None if none is
    known: a policy rendered now is valid until then."""
    moments: list[datetime] = []
    for incident in incidents:
        span = _down_span(incident)
        if span is not None:
            moments.extend(m for m in span if m is not None and m > now)
    return min(moments, default=None)


def _blocked(channel: str, down: Collection[str]) -> bool:
    if channel in down:
        return True
    if channel == CREDIT_GROUP:
        return any(c in CREDIT_GROUP_MEMBERS for c in down)
    return CREDIT_GROUP in down and channel in CREDIT_GROUP_MEMBERS


def usable_fallbacks(fallbacks: Sequence[str], down: Collection[str]) -> tuple[str, ...]:
    """``fallbacks`` in their order without any channel that is under maintenance itself
    (``credit_group`` expanded both ways). May be empty: then no fallback is offered rather than
    one that fails too."""
    return tuple(c for c in fallbacks if not _blocked(c, down))
