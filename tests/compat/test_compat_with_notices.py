"""An interface-change notice read by ``watcher.notices.understand`` advises the merchants it names.

The integrator builds :class:`InterfaceNotice` from ``NoticeUnderstanding.interface_change`` as
below; this pins that the two agree on names, versions and deadlines.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from huabei_watch.clock import SHANGHAI
from watcher.compat.advice import InterfaceNotice, advisories
from watcher.compat.table import CompatTable
from watcher.notices import understand

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TEXT = (
    "为保障交易安全，支付宝将于2026年12月31日起停止支持旧版接口。"
    "使用WooAlipay插件的商家请在此之前升级至3.6.0及以上版本，否则花呗支付可能失败。"
)


def notice_from_text(text: str, notice_id: str) -> InterfaceNotice:
    u = understand(text, published=date(2026, 11, 20), title="接口升级通知")
    change = u.interface_change
    assert u.kind == "interface" and change is not None
    return InterfaceNotice(
        notice_id=notice_id, plugins=change.names, min_version=change.minimum_version, deadline=change.deadline,
        published_at=datetime(2026, 11, 20, tzinfo=SHANGHAI), title="接口升级通知", url="",
    )


def test_understood_interface_notice_advises_merchants_below_its_minimum() -> None:
    n = notice_from_text(TEXT, "n-woo")
    [f] = advisories("m1", "woo-alipay/3.2.1", CompatTable(), [n], NOW)
    assert f.finding_id == "plugin:m1:notice:n-woo"
    assert f.advice_zh.startswith("您的收银插件 woo-alipay 3.2.1 低于平台要求的 3.6.0，请在12月31日前升级")
    assert f.deadline == datetime(2026, 12, 31, tzinfo=SHANGHAI)
    assert advisories("m2", "woo-alipay/3.6.0", CompatTable(), [n], NOW) == []
    assert advisories("m3", "other-pay/1.0", CompatTable(), [n], NOW) == []


def test_sdk_named_only_by_alias_needs_the_alias_in_the_table() -> None:
    n = notice_from_text("关于Java SDK升级的通知：请于2027年1月15日前将SDK升级到4.38.0版本以上。", "n-sdk")
    assert advisories("m1", "alipay-sdk-java/4.30.0", CompatTable(), [n], NOW) == []
    table = CompatTable.model_validate(
        {"plugins": [{"name": "alipay-sdk-java", "min_version": "4.0.0", "aliases": ["Java SDK"]}]}
    )
    [f] = advisories("m1", "alipay-sdk-java/4.30.0", table, [n], NOW)
    assert "低于平台要求的 4.38.0，请在2027年1月15日前升级" in f.advice_zh


def test_hyphenated_plugin_name_in_a_notice_matches_the_merchants_plugin() -> None:
    text = "woo-alipay插件3.5.0以下版本将于2026年12月31日停止支持，请尽快升级至3.5.0及以上版本。"
    n = notice_from_text(text, "n-hyphen")
    [f] = advisories("m1", "woo-alipay/3.2.1", CompatTable(), [n], NOW)
    assert f.finding_id == "plugin:m1:notice:n-hyphen"
    assert advisories("m2", "woo-alipay/3.5.0", CompatTable(), [n], NOW) == []
