"""The policy API's JSON for one merchant, and its ETag."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from consumers.cashier.fallbacks import usable_fallbacks
from consumers.cashier.model import CashierState
from consumers.cashier.reconcile import effective
from consumers.cashier.settings import CashierSettings
from huabei_watch.clock import to_shanghai


class PolicyView:
    """Builds ``GET /v1/merchants/{id}/pay-channels`` bodies from a merchant's state."""

    def __init__(self, settings: CashierSettings) -> None:
        self._settings = settings

    def policy_json(self, state: CashierState, now: datetime, down: Collection[str] = ()) -> dict[str, Any]:
        """The policy as JSON-ready values. All well: ``disable_pay_channels`` [] and null/empty
        fields. ``until`` is when Huabei is expected back (Asia/Shanghai offset), or the expiry of
        the "off" when that is unknown; cashiers revalidate with the ETag rather than trust it.
        ``down``: pay channels under maintenance now (a bank's, a clearing house's): the
        ``fallback_methods`` offered to shoppers leave them out."""
        state = effective(state, now)
        if not state.channels:
            return {
                "disable_pay_channels": [],
                "alipay_param": None,
                "reason": None,
                "incident_ids": [],
                "until": None,
                "message_zh": None,
                "fallback_methods": [],
            }
        until = state.expected_until or state.until
        return {
            "disable_pay_channels": list(state.channels),
            "alipay_param": ",".join(state.channels),
            "reason": state.reason,
            "incident_ids": list(state.incident_ids),
            "until": to_shanghai(until).isoformat() if until is not None else None,
            "message_zh": state.message_zh or None,
            "fallback_methods": list(usable_fallbacks(
                [m for m in self._settings.fallback_methods if m not in state.channels], down)),
        }


def etag(policy: dict[str, Any]) -> str:
    """A strong ETag (quoted) that changes exactly when the policy JSON changes."""
    canonical = json.dumps(policy, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'
