"""The cashier policy, pure: which Huabei channels a merchant's cashier should disable now.

``desired_channels`` turns the open incidents into a :class:`Desired`; ``merchant_policy_state``
merges the platform switch, the merchant's own switch and ops' force-on into what one merchant's
cashier applies. The :class:`Reconciler` (hysteresis, expiry) and :class:`PolicyView` (the policy
API's JSON) are re-exported from here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from consumers.cashier.fallbacks import channels_down, next_down_change, usable_fallbacks
from consumers.cashier.model import CashierState, Change, Desired, Mode
from consumers.cashier.reconcile import Reconciler, effective
from consumers.cashier.view import PolicyView, etag
from huabei_watch.clock import to_shanghai
from huabei_watch.events.common import HUABEI_CHANNELS
from huabei_watch.events.incidents import Incident, IncidentKind, Phase

__all__ = [
    "CashierState", "Change", "Desired", "Mode", "PolicyView", "Reconciler", "channels_down", "desired_channels",
    "disables_now", "effective", "etag", "merchant_policy_state", "next_down_change", "usable_fallbacks",
]

#: The subject of the platform-wide switch (it applies to every ``auto`` merchant).
PLATFORM = "*"

PINNED_OFF_MESSAGE = "花呗暂不可用，请使用其他支付方式"


def disables_now(incident: Incident, merchant_id: str, now: datetime) -> bool:
    """True when ``incident`` switches Huabei off at ``merchant_id`` at ``now``: it toggles, is open,
    covers the merchant and ``now`` lies in [disable_from, disable_until).

    A scheduled incident whose disable_from has passed counts, so the cashier is on time even if
    the engine's "active" revision arrives late.
    """
    return (
        incident.toggle
        and bool(incident.channels)
        and incident.phase in (Phase.SCHEDULED, Phase.ACTIVE)
        and incident.scope.covers(merchant_id)
        and (incident.disable_from is None or incident.disable_from <= now)
        and (incident.disable_until is None or now < incident.disable_until)
    )


def desired_channels(
    merchant_id: str,
    mode: Mode,
    incidents: Iterable[Incident],
    now: datetime,
    *,
    forced_on: Collection[str] = (),
) -> Desired:
    """The channels to disable at ``merchant_id`` now.

    ``auto``: the union of the channels of incidents that :func:`disables_now`, minus incidents ops
    forced on for this merchant (``forced_on``: incident ids). ``notify_only`` and ``pinned_on``:
    none. ``pinned_off``: every Huabei channel, with no expiry.
    """
    if mode is Mode.PINNED_OFF:
        return Desired(HUABEI_CHANNELS, (), None, "pinned_off", PINNED_OFF_MESSAGE, exact=True, expires=False)
    if mode is not Mode.AUTO:
        return Desired((), (), None, mode.value, exact=True)
    in_force = [i for i in incidents if disables_now(i, merchant_id, now)]
    active = sorted((i for i in in_force if i.incident_id not in forced_on), key=lambda i: i.incident_id)
    if not active:
        forced = len(in_force) > 0
        return Desired((), (), None, "forced_on" if forced else "no active incident", exact=forced)
    named = {c for i in active for c in i.channels}
    channels = tuple(c for c in HUABEI_CHANNELS if c in named) + tuple(sorted(named - set(HUABEI_CHANNELS)))
    untils = [i.disable_until for i in active]
    until = None if any(u is None for u in untils) else max(u for u in untils if u is not None)
    return Desired(
        channels=channels,
        incident_ids=tuple(i.incident_id for i in active),
        until=until,
        reason="; ".join(f"{i.kind.value} {i.incident_id}" for i in active),
        message_zh=_message(active, now),
        exact=any(i.kind is IncidentKind.MAINTENANCE or i.manual for i in active),
    )


def _message(active: list[Incident], now: datetime) -> str:
    """What the shopper reads: why, when Huabei is expected back (if announced), what to do."""
    maintenance = [i for i in active if i.kind is IncidentKind.MAINTENANCE]
    why = "花呗系统维护中" if maintenance and len(maintenance) == len(active) else "花呗暂时无法使用"
    ends = [i.ends_at for i in active if i.kind is IncidentKind.MAINTENANCE and not i.needs_review]
    if maintenance and len(ends) == len(active) and all(e is not None for e in ends):
        end = to_shanghai(max(e for e in ends if e is not None))
        local_now = to_shanghai(now)
        when = end.strftime("%H:%M") if end.date() == local_now.date() else f"{end.month}月{end.day}日 {end:%H:%M}"
        return f"{why}，预计{when}恢复，请使用其他支付方式"
    return f"{why}，请使用其他支付方式"


def merchant_policy_state(
    merchant_id: str,
    mode: Mode,
    platform: CashierState | None,
    own: CashierState | None,
    forced_on: Collection[str],
    now: datetime,
) -> CashierState:
    """What ``merchant_id``'s cashier applies at ``now``.

    ``notify_only`` / ``pinned_on``: Huabei on; ``pinned_off``: every Huabei channel off (the
    switches are not consulted). ``auto``: the platform switch (``platform``, unless ops forced on
    every incident behind it: ``forced_on`` holds ``"*"`` or all its incident ids) combined with the
    merchant's own switch (``own``): the union of their channels and incidents, the later expiry
    and expected end, both reasons, the platform's shopper message first. A switch past its
    ``until`` counts as on (fail open); None stands for a switch never set (on)."""
    if mode is not Mode.AUTO:
        d = desired_channels(merchant_id, mode, (), now)
        return CashierState(merchant_id=merchant_id, channels=d.channels, incident_ids=d.incident_ids,
                            reason=d.reason, message_zh=d.message_zh)
    plat = effective(platform or CashierState(merchant_id=PLATFORM), now)
    mine = effective(own or CashierState(merchant_id=merchant_id), now)
    if plat.channels and ("*" in forced_on or set(plat.incident_ids) <= set(forced_on)):
        plat = CashierState(merchant_id=PLATFORM)
    channels = tuple(dict.fromkeys(plat.channels + mine.channels))
    if not channels:
        return CashierState(merchant_id=merchant_id)
    untils = [s.until for s in (plat, mine) if s.channels and s.until is not None]
    expected = [s.expected_until for s in (plat, mine) if s.channels and s.expected_until is not None]
    return CashierState(
        merchant_id=merchant_id,
        channels=channels,
        until=max(untils) if untils else None,
        expected_until=max(expected) if expected else None,
        incident_ids=tuple(dict.fromkeys(plat.incident_ids + mine.incident_ids)),
        reason="; ".join(r for r in (plat.reason, mine.reason) if r),
        message_zh=plat.message_zh or mine.message_zh,
    )
