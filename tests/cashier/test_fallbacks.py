"""Fallback methods leave out pay channels that a maintenance window (a bank's, a clearing
house's, the platform's) takes down while it lasts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from consumers.cashier.fallbacks import channels_down, next_down_change, usable_fallbacks
from huabei_watch.clock import SHANGHAI
from huabei_watch.events import Incident, IncidentKind, Phase


def _t(h: int, m: int = 0) -> datetime:
    return datetime(2026, 12, 5, h, m, tzinfo=SHANGHAI)


def _window(incident_id: str, start: datetime, end: datetime | None, channels: tuple[str, ...], *,
            phase: Phase = Phase.SCHEDULED, kind: IncidentKind = IncidentKind.MAINTENANCE) -> Incident:
    return Incident(
        incident_id=incident_id, kind=kind, phase=phase, unavailable_channels=channels,
        starts_at=start, ends_at=end, disable_from=start, disable_until=end,
        opened_at=start - timedelta(days=1), updated_at=start - timedelta(days=1), revision=1, toggle=False,
    )


INCIDENTS = (
    _window("maint:bank", _t(1), _t(3), ("debitCardExpress",)),
    _window("maint:gone", _t(2), _t(4), ("bankPay",), phase=Phase.CANCELLED),
    _window("maint:open", _t(5), None, ("creditCard",)),
    _window("outage:x", _t(0), None, ("moneyFund",), kind=IncidentKind.OUTAGE),
)


@pytest.mark.parametrize(
    ("at", "want"),
    [
        (_t(0, 59), set()),
        (_t(1), {"debitCardExpress"}),
        (_t(2, 30), {"debitCardExpress"}),  # the cancelled window takes nothing down
        (_t(3), set()),  # the end is exclusive
        (_t(23), {"creditCard"}),  # no end: down until its incident closes
    ],
    ids=["before", "at_start", "cancelled_ignored", "at_end", "open_end"],
)
def test_channels_down_at_a_time(at: datetime, want: set[str]) -> None:
    assert channels_down(INCIDENTS, at) == want


def test_next_change_is_the_next_start_or_end() -> None:
    assert next_down_change(INCIDENTS, _t(0)) == _t(1)
    assert next_down_change(INCIDENTS, _t(1)) == _t(3)
    assert next_down_change(INCIDENTS, _t(6)) is None


@pytest.mark.parametrize(
    ("fallbacks", "down", "want"),
    [
        (("balance", "debitCardExpress", "creditCard"), {"debitCardExpress"}, ("balance", "creditCard")),
        (("balance", "credit_group"), {"creditCardExpress"}, ("balance",)),
        (("creditCardExpress", "pcredit", "balance"), {"credit_group"}, ("balance",)),
        (("debitCardExpress",), {"debitCardExpress"}, ()),
        (("balance", "moneyFund"), set(), ("balance", "moneyFund")),
    ],
    ids=["plain", "group_blocked_by_member", "members_blocked_by_group", "nothing_left", "nothing_down"],
)
def test_fallbacks_avoid_channels_under_maintenance(fallbacks: tuple[str, ...], down: set[str],
                                                    want: tuple[str, ...]) -> None:
    assert usable_fallbacks(fallbacks, down) == want
