"""Pay channels under maintenance and fallback methods that avoid them."""

from __future__ import annotations

from datetime import datetime

import pytest

from huabei_watch.clock import SHANGHAI
from huabei_watch.events.common import Window
from watcher.notices import understand
from watcher.notices.channels import channels_under_maintenance, usable_fallbacks


def _t(h: int, m: int = 0) -> datetime:
    return datetime(2026, 12, 5, h, m, tzinfo=SHANGHAI)


WINDOWS = (
    Window(start=_t(1), end=_t(3), channels=("debitCardExpress",)),
    Window(start=_t(2), end=_t(4), channels=("bankPay",), status="cancelled"),
    Window(start=_t(5), end=None, channels=("creditCard",)),
)


@pytest.mark.parametrize(
    ("at", "want"),
    [
        (_t(0, 59), set()),
        (_t(1), {"debitCardExpress"}),
        (_t(2, 30), {"debitCardExpress"}),  # the cancelled window covers nothing
        (_t(3), set()),  # the end is exclusive
        (_t(23), {"creditCard"}),  # no end: covers everything after its start
    ],
    ids=["before", "at_start", "cancelled_ignored", "at_end", "open_end"],
)
def test_channels_under_maintenance_at_a_time(at: datetime, want: set[str]) -> None:
    assert channels_under_maintenance(WINDOWS, at) == want


@pytest.mark.parametrize(
    ("fallbacks", "down", "want"),
    [
        (("balance", "debitCardExpress", "creditCard"), {"debitCardExpress"}, ("balance", "creditCard")),
        (("balance", "credit_group"), {"creditCard"}, ("balance",)),
        (("creditCard", "pcredit", "balance"), {"credit_group"}, ("balance",)),
        (("debitCardExpress",), {"debitCardExpress"}, ()),
        (("balance", "moneyFund"), set(), ("balance", "moneyFund")),
    ],
    ids=["plain", "group_blocked_by_member", "members_blocked_by_group", "nothing_left", "nothing_down"],
)
def test_fallbacks_avoid_channels_under_maintenance(fallbacks: tuple[str, ...], down: set[str],
                                                    want: tuple[str, ...]) -> None:
    assert usable_fallbacks(fallbacks, down) == want


@pytest.mark.parametrize(
    ("text", "channels", "huabei"),
    [
        ("12月5日1:00至3:00，本行网银支付及B2C网关暂停。", {"bankPay"}, False),
        ("12月5日1:00至3:00，第三方支付机构网络支付业务秒级瞬断。", {"debitCardExpress", "creditCardExpress"}, False),
        ("12月5日1:00至3:00，小额支付系统暂停受理业务。", set(), False),
        ("12月5日1:00至3:00，本行贷记卡交易暂停。", {"creditCard"}, False),
        ("12月5日1:00至3:00，蚂蚁信用支付暂停服务。", {"credit_group"}, True),
    ],
    ids=["online_banking", "payment_institutions", "cnaps_no_pay_channel", "credit_card", "ant_credit"],
)
def test_bank_and_clearing_products_map_to_pay_channels(text: str, channels: set[str], huabei: bool) -> None:
    u = understand(text, published=datetime(2026, 12, 1).date())
    assert u.kind == "maintenance"
    assert set(u.channels) == channels
    assert u.huabei_affected is huabei
