"""Which plugin advisories a merchant gets: the version table, interface notices, the texts."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from huabei_watch.clock import SHANGHAI
from huabei_watch.events.common import Cause
from watcher.compat.advice import InterfaceNotice, advisories, cleared_finding
from watcher.compat.table import CompatTable

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
PUBLISHED = datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)


def table(**rule: Any) -> CompatTable:
    base: dict[str, Any] = {"name": "woo-alipay", "min_version": "3.5.0", "deadline": "2026-12-31"}
    return CompatTable.model_validate({"plugins": [{**base, **rule}]})


def notice(**kw: Any) -> InterfaceNotice:
    base: dict[str, Any] = {
        "notice_id": "n-1", "plugins": ("woo-alipay",), "min_version": "3.6.0", "deadline": date(2027, 1, 15),
        "published_at": PUBLISHED, "title": "关于升级收银插件的通知", "url": "https://example.invalid/n-1",
    }
    return InterfaceNotice(**{**base, **kw})


def test_plugin_below_table_minimum_gets_one_integration_advisory_with_deadline() -> None:
    [f] = advisories("m1", "woo-alipay/3.2.1", table(), [], NOW)
    assert f.finding_id == "plugin:m1:table:woo-alipay@3.5.0"
    assert (f.state, f.origin, f.cause, f.merchant_id) == ("raised", "plugin", Cause.INTEGRATION, "m1")
    assert f.advice_zh == "您的收银插件 woo-alipay 3.2.1 低于平台要求的 3.5.0，请在12月31日前升级，否则花呗支付可能失败。"
    assert f.deadline == datetime(2026, 12, 31, tzinfo=SHANGHAI)
    assert "3.2.1" in f.explanation and "3.5.0" in f.explanation


@pytest.mark.parametrize("plugin", ["woo-alipay/3.5.0", "woo-alipay 3.5", "woo-alipay-v3.10.0", "other-plugin/1.0"])
def test_plugin_at_or_above_minimum_or_not_in_table_gets_nothing(plugin: str) -> None:
    assert advisories("m1", plugin, table(), [], NOW) == []


@pytest.mark.parametrize("plugin", [None, "", "woo-alipay", "woo-alipay/latest"])
def test_unknown_plugin_or_version_gets_nothing_from_the_table(plugin: str | None) -> None:
    assert advisories("m1", plugin, table(), [], NOW) == []


def test_prerelease_of_the_minimum_is_below_it() -> None:
    assert len(advisories("m1", "woo-alipay/3.5.0-beta", table(), [], NOW)) == 1


def test_table_advice_appends_configured_advice_and_names_year_when_not_this_year() -> None:
    [f] = advisories("m1", "woo-alipay/3.2.1", table(deadline="2027-03-01", advice_zh="请在后台插件页面点击更新。"), [], NOW)
    assert f.advice_zh.endswith("请在2027年3月1日前升级，否则花呗支付可能失败。请在后台插件页面点击更新。")


def test_past_deadline_says_the_requirement_is_in_force() -> None:
    [f] = advisories("m1", "woo-alipay/3.2.1", table(deadline="2026-11-01"), [], NOW)
    assert "该要求已于11月1日生效，请尽快升级" in f.advice_zh


def test_no_deadline_asks_to_upgrade_soon() -> None:
    [f] = advisories("m1", "woo-alipay/3.2.1", table(deadline=None), [], NOW)
    assert "请尽快升级" in f.advice_zh and f.deadline is None


def test_notice_with_minimum_advises_merchants_below_it_once_per_notice() -> None:
    found = advisories("m1", "woo-alipay/3.5.2", table(), [notice()], NOW)
    [f] = found  # at/above the table minimum, below the notice's
    assert f.finding_id == "plugin:m1:notice:n-1" and f.origin == "notice"
    assert f.advice_zh.startswith("您的收银插件 woo-alipay 3.5.2 低于平台要求的 3.6.0，请在2027年1月15日前升级")
    assert "《关于升级收银插件的通知》" in f.advice_zh and "https://example.invalid/n-1" in f.advice_zh
    assert f.observed_at == PUBLISHED and f.deadline == datetime(2027, 1, 15, tzinfo=SHANGHAI)


def test_table_and_notice_both_apply_as_two_findings_in_id_order() -> None:
    found = advisories("m1", "woo-alipay/3.2.1", table(), [notice()], NOW)
    assert [f.finding_id for f in found] == ["plugin:m1:notice:n-1", "plugin:m1:table:woo-alipay@3.5.0"]


def test_notice_without_version_advises_every_merchant_on_the_plugin() -> None:
    n = notice(min_version=None)
    for plugin in ("woo-alipay/9.9.9", "woo-alipay"):
        [f] = advisories("m1", plugin, CompatTable(), [n], NOW)
        assert f.advice_zh.startswith("平台公告《关于升级收银插件的通知》涉及您使用的收银插件 woo-alipay")
        assert "请在2027年1月15日前按公告要求升级或调整，否则花呗支付可能失败。" in f.advice_zh


def test_notice_with_minimum_leaves_merchants_at_or_above_it_and_unknown_versions_alone() -> None:
    assert advisories("m1", "woo-alipay/3.6.0", CompatTable(), [notice()], NOW) == []
    assert advisories("m1", "woo-alipay", CompatTable(), [notice()], NOW) == []


def test_notice_naming_another_plugin_advises_nobody() -> None:
    assert advisories("m1", "woo-alipay/1.0", CompatTable(), [notice(plugins=("Java SDK",))], NOW) == []


@pytest.mark.parametrize("written", ["WooAlipay插件", "woo_alipay 3.x", "WOO-ALIPAY"])
def test_notice_names_match_however_written(written: str) -> None:
    assert len(advisories("m1", "woo-alipay/1.0", CompatTable(), [notice(plugins=(written,))], NOW)) == 1


def test_notice_matches_a_table_alias_of_the_merchants_plugin() -> None:
    t = table(aliases=["WooCommerce 支付宝插件"])
    n = notice(plugins=("WooCommerce支付宝插件",))
    assert [f.origin for f in advisories("m1", "woo-alipay/3.5.2", t, [n], NOW)] == ["notice"]


def test_notice_published_in_the_future_is_observed_now() -> None:
    [f] = advisories("m1", "woo-alipay/1.0", CompatTable(), [notice(published_at=NOW + timedelta(hours=1))], NOW)
    assert f.observed_at == NOW


def test_same_inputs_give_the_same_findings() -> None:
    a = advisories("m1", "woo-alipay/3.2.1", table(), [notice()], NOW)
    b = advisories("m1", "woo-alipay/3.2.1", table(), [notice()], NOW)
    assert a == b


def test_clearance_names_the_new_plugin() -> None:
    f = cleared_finding("plugin:m1:notice:n-1", "m1", "woo-alipay/3.6.0", NOW)
    assert (f.state, f.origin, f.cause) == ("cleared", "notice", Cause.INTEGRATION)
    assert "woo-alipay 3.6.0" in f.advice_zh and "解除" in f.advice_zh
    assert cleared_finding("plugin:m1:table:woo-alipay@3.5.0", "m1", "woo-alipay/3.6", NOW).origin == "plugin"


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        advisories("m1", "woo-alipay/1.0", table(), [], NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"name": "woo-alipay", "min_version": "latest"}], "must be a version like '3.5.0'"),
        ([{"name": "woo-alipay", "min_version": "3.0", "colour": "red"}], "Extra inputs are not permitted"),
        ([{"name": "woo-alipay", "min_version": "3.0"}, {"name": "WOO_ALIPAY", "min_version": "3.1"}], "used by both 'woo-alipay' and 'WOO_ALIPAY'"),
        ([{"name": "a", "min_version": "1", "aliases": ["x"]}, {"name": "b", "min_version": "1", "aliases": ["X"]}],
         "used by both 'a' and 'b'"),
        ([{"name": "woo-alipay", "min_version": "3.0", "deadline": "soon"}], "deadline"),
        ([{"name": " - ", "min_version": "3.0"}], "must contain letters or digits"),
    ],
)
def test_bad_plugin_tables_are_refused_with_readable_errors(rules: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CompatTable.model_validate({"plugins": rules})


def test_check_interval_is_seconds_with_bounds() -> None:
    assert CompatTable.model_validate({"check_interval": 43200}).check_interval == 43200
    with pytest.raises(ValidationError, match="must be >= 600 s"):
        CompatTable.model_validate({"check_interval": 60})


def test_compat_section_reads_from_toml_with_dates_and_durations() -> None:
    doc = tomllib.loads(
        '[compat]\ncheck_interval = 86400\nnotice_ttl = 15552000\n'
        '[[compat.plugins]]\nname = "woo-alipay"\nmin_version = "3.0.0"\ndeadline = 2026-12-31\n'
        'advice_zh = "在后台更新插件。"\naliases = ["WooCommerce 支付宝插件"]\n'
    )
    t = CompatTable.model_validate(doc["compat"])
    assert t.check_interval == 86400 and t.notice_ttl == 180 * 86400
    rule = t.rule_for("WooCommerce支付宝插件")
    assert rule is not None and rule.deadline == date(2026, 12, 31) and str(rule.minimum) == "3.0.0"
