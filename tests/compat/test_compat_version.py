"""Plugin strings and version numbers: tables of cases."""

from __future__ import annotations

import pytest

from watcher.compat.version import normalize_name, parse_plugin, parse_version


@pytest.mark.parametrize(
    ("text", "name", "version"),
    [
        ("woo-alipay/3.2.1", "woo-alipay", "3.2.1"),
        ("woo-alipay 3.2", "woo-alipay", "3.2"),
        ("woo-alipay-v3.2.1", "woo-alipay", "3.2.1"),
        ("woo-alipay v3.2.1", "woo-alipay", "3.2.1"),
        ("woo-alipay@3.2.1", "woo-alipay", "3.2.1"),
        ("woo-alipay_3.2.1", "woo-alipay", "3.2.1"),
        ("  woo-alipay/3.2.1  ", "woo-alipay", "3.2.1"),
        ("alipay-sdk-java-4.38.0.ALL", "alipay-sdk-java", "4.38.0.ALL"),
        ("alipay-sdk-java/4.38.0.ALL", "alipay-sdk-java", "4.38.0.ALL"),
        ("shop2-alipay/1.0", "shop2-alipay", "1.0"),
        ("plugin-2024-edition-1.0", "plugin-2024-edition", "1.0"),
        ("woo alipay v3.5.0-beta.2", "woo alipay", "3.5.0-beta.2"),
        ("有赞收银 2.1.0", "有赞收银", "2.1.0"),
        ("wp/woo-alipay/3.2.1", "wp/woo-alipay", "3.2.1"),
        ("woo-alipay", "woo-alipay", None),
        ("woo-alipay/latest", "woo-alipay/latest", None),
        ("3.2.1", "3.2.1", None),
    ],
)
def test_plugin_strings_split_into_name_and_version(text: str, name: str, version: str | None) -> None:
    ref = parse_plugin(text)
    assert ref is not None
    assert ref.name == name
    assert (str(ref.version) if ref.version is not None else None) == version


@pytest.mark.parametrize("text", [None, "", "   ", "x" * 129])
def test_empty_or_overlong_plugin_strings_give_none(text: str | None) -> None:
    assert parse_plugin(text) is None


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("3.2.1", "3.5.0"),
        ("3.9", "3.10"),
        ("3.2", "3.2.1"),
        ("2.99.99", "3"),
        ("3.5.0-beta", "3.5.0"),
        ("3.5.0-alpha", "3.5.0-beta"),
        ("3.5.0b2", "3.5.0rc1"),
        ("3.5.0-rc.1", "3.5.0-rc.2"),
        ("1.0-dev", "1.0a1"),
        ("3.5.0-SNAPSHOT", "3.5.0"),
        ("3.4.9", "3.5.0-beta"),
        ("v1.2.3", "V1.2.4"),
    ],
)
def test_versions_compare_numerically_with_prereleases_first(lower: str, higher: str) -> None:
    lo, hi = parse_version(lower), parse_version(higher)
    assert lo is not None and hi is not None
    assert lo < hi and hi > lo and lo != hi


@pytest.mark.parametrize(
    ("a", "b"),
    [("3.2", "3.2.0"), ("v3.2.1", "3.2.1"), ("4.38.0.ALL", "4.38.0"), ("3.5.0+build7", "3.5.0"), ("3.5.0-final", "3.5")],
)
def test_equal_versions_ignore_trailing_zeros_prefix_and_build_suffixes(a: str, b: str) -> None:
    va, vb = parse_version(a), parse_version(b)
    assert va is not None and vb is not None
    assert va == vb and hash(va) == hash(vb) and not va < vb


@pytest.mark.parametrize("text", ["", "abc", "latest", "3.2 4", "v", "-1.0", None])
def test_unreadable_versions_give_none(text: str | None) -> None:
    assert parse_version(text) is None


def test_version_keeps_its_written_form_for_messages() -> None:
    v = parse_version("v3.5.0-beta.2")
    assert v is not None and str(v) == "3.5.0-beta.2"


@pytest.mark.parametrize(
    ("a", "b"),
    [("woo-alipay", "WOO_ALIPAY"), ("woo-alipay", "Woo Alipay 插件"), ("woo-alipay", "ｗｏｏ－ａｌｉｐａｙ"),
     ("woo-alipay", "woo-alipay plugin")],
)
def test_plugin_names_match_regardless_of_case_width_spacing_and_suffix(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)


def test_different_plugins_do_not_match() -> None:
    assert normalize_name("woo-alipay") != normalize_name("woo-alipay-pro")
