"""Hysteresis and fail-open expiry: from the desired state and the current one to a change.

Level-triggered: the shell calls :meth:`Reconciler.reconcile` whenever it learns something (an
incident event, including the incident engine's periodic re-publication of open incidents) and at
:meth:`Reconciler.recheck_at`. Renewals only come from ``desired``, so if the incident stream goes
silent the "off" expires and Huabei is back on by itself (:func:`effective`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from consumers.cashier.model import CashierState, Change, Desired
from consumers.cashier.settings import CashierSettings

log = logging.getLogger(__name__)

EXPIRED_REASON = "expired: no renewal (fail open)"


def effective(state: CashierState, now: datetime) -> CashierState:
    """The state as it holds at ``now``: an "off" past its ``until`` is "on" (changed at its expiry)."""
    if state.channels and state.until is not None and now >= state.until:
        return replace(state, channels=(), until=None, expected_until=None, incident_ids=(),
                       reason=EXPIRED_REASON, message_zh="", changed_at=state.until, exact=False)
    return state


class Reconciler:
    """Decides when the switch at one merchant actually moves (pure; the state is passed in)."""

    def __init__(self, settings: CashierSettings) -> None:
        self._settings = settings

    def reconcile(self, merchant_id: str, desired: Desired, current: CashierState, now: datetime) -> Change | None:
        """The change to make now, or None (nothing to do, or held by hysteresis).

        * Switching off waits until the "on" has lasted ``min_hold``, unless ``desired.exact``
          (scheduled maintenance, manual incidents, ops overrides).
        * Switching back on waits until the "off" has lasted ``min_hold``, unless that off or
          ``desired`` is exact.
        * An "off" gets ``until = min(desired.until, now + off_ttl)``, renewed once less than half
          of ``off_ttl`` is left (or sooner when the expected end moves earlier).
        * An expired "off" is recorded as a change back to on (reason: expired).
        """
        cur = effective(current, now)
        hold = self._settings.hold
        held_for = timedelta.max if cur.changed_at is None else now - cur.changed_at
        if desired.channels != cur.channels:
            switching_off = not set(desired.channels) <= set(cur.channels)
            if switching_off:
                blocked = not desired.exact and held_for < hold and cur.changed_at is not None
            else:
                blocked = not desired.exact and not cur.exact and held_for < hold
            if blocked:
                log.debug("cashier.held", extra={"merchant_id": merchant_id, "held_for": held_for.total_seconds()})
                return None
            return self._change(current, self._next(merchant_id, desired, current, now, changed=True), now)
        if cur is not current:  # expired while nothing else is desired: record the fail-open
            return self._change(current, replace(cur, version=current.version + 1), now)
        target = self._next(merchant_id, desired, current, now, changed=False)
        if self._needs_update(cur, target, now):
            return self._change(current, target, now)
        return None

    def recheck_at(self, current: CashierState, now: datetime) -> datetime | None:
        """When to reconcile again even without news: the end of a hold, or the expiry of an off."""
        times = []
        if current.changed_at is not None and current.changed_at + self._settings.hold > now:
            times.append(current.changed_at + self._settings.hold)
        if current.channels and current.until is not None:
            times.append(current.until)
        return min(times, default=None)

    def _next(self, merchant_id: str, desired: Desired, current: CashierState, now: datetime,
              *, changed: bool) -> CashierState:
        until: datetime | None = None
        if desired.channels and desired.expires:
            ttl_end = now + self._settings.ttl
            until = ttl_end if desired.until is None else min(desired.until, ttl_end)
        return CashierState(
            merchant_id=merchant_id,
            channels=desired.channels,
            until=until,
            expected_until=desired.until,
            incident_ids=desired.incident_ids,
            reason=desired.reason,
            message_zh=desired.message_zh,
            changed_at=now if changed else current.changed_at,
            exact=desired.exact if changed else current.exact,
            version=current.version + 1,
        )

    def _needs_update(self, cur: CashierState, target: CashierState, now: datetime) -> bool:
        if (cur.incident_ids, cur.message_zh, cur.expected_until) != (
            target.incident_ids, target.message_zh, target.expected_until,
        ):
            return True
        if cur.until == target.until or target.until is None or cur.until is None:
            return cur.until != target.until
        if target.until < cur.until:
            return True  # the expected end moved earlier
        return cur.until - now < self._settings.ttl / 2

    def _change(self, before: CashierState, after: CashierState, now: datetime) -> Change:
        change = Change(before=before, after=after, at=now)
        log.info("cashier.change", extra={
            "merchant_id": after.merchant_id, "before": ",".join(before.channels), "after": ",".join(after.channels),
            "reason": after.reason, "until": after.until.isoformat() if after.until else None,
            "renewal": change.renewal,
        })
        return change
