"""Bank and clearing products in notices, mapped to the Alipay pay channels they take down."""

from __future__ import annotations

from datetime import datetime

import pytest

from watcher.notices import understand


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
