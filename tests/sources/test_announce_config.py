"""Announcement source configuration: kinds, bounds and messages a person can act on."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from watcher.sources.announce_config import (
    DEFAULT_MAX_BYTES,
    SOURCE_ADAPTER,
    HtmlSource,
    JsonSource,
    RssSource,
)

TOML = """
[[sources]]
kind = "html"
id = "alipay-notices"
list_url = "https://open.example.com/notice/"
item_selector = "ul.notice-list li"
date_selector = ".date"
body_selector = "div.notice-body"
interval = 120
jitter = 15
encoding = "gbk"
headers = { "Accept-Language" = "zh-CN" }

[[sources]]
kind = "rss"
id = "dev-feed"
feed_url = "https://open.example.com/rss.xml"

[[sources]]
kind = "json"
id = "api"
url = "https://open.example.com/api/notices"
items_path = "data.list"
id_field = "noticeId"
"""


def test_sources_table_picks_the_model_by_kind() -> None:
    tables = tomllib.loads(TOML)["sources"]
    html, rss, api = (SOURCE_ADAPTER.validate_python(t) for t in tables)
    assert isinstance(html, HtmlSource) and isinstance(rss, RssSource) and isinstance(api, JsonSource)
    assert (html.interval, html.jitter, html.encoding, html.headers) == (120, 15, "gbk", {"Accept-Language": "zh-CN"})
    assert (rss.max_bytes, rss.max_redirects, rss.degraded_after, rss.enabled) == (DEFAULT_MAX_BYTES, 5, 3, True)
    assert DEFAULT_MAX_BYTES == 2 * 1024 * 1024
    assert [s.list_target for s in (html, rss, api)] == [
        "https://open.example.com/notice/", "https://open.example.com/rss.xml", "https://open.example.com/api/notices"
    ]


def _errors(table: dict[str, object]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as info:
        SOURCE_ADAPTER.validate_python(table)
    return [(tuple(e["loc"]), e["msg"]) for e in info.value.errors()]


BASE = {"kind": "rss", "id": "feed", "feed_url": "https://open.example.com/rss.xml"}


@pytest.mark.parametrize(
    ("change", "loc", "message"),
    [
        ({"interval": 2}, ("rss", "interval"), "must be >= 5 s"),
        ({"encoding": "klingon"}, ("rss", "encoding"), "unknown encoding 'klingon'"),
        ({"feed_url": "ftp://x/rss"}, ("rss", "feed_url"), "must be an http:// or https:// URL, got 'ftp://x/rss'"),
        ({"selectors": "x"}, ("rss", "selectors"), "Extra inputs are not permitted"),
        ({"jitter": -1}, ("rss", "jitter"), "must be >= 0 s"),
        ({"timeout": 0}, ("rss", "timeout"), "must be > 0 s"),
        ({"id": "has space"}, ("rss", "id"), "String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'"),
    ],
)
def test_bad_values_are_named_with_a_readable_message(change: dict[str, object], loc: tuple[str, ...], message: str) -> None:
    assert (loc, message) in _errors({**BASE, **change})


def test_unknown_kind_is_rejected() -> None:
    errors = _errors({**BASE, "kind": "ftp"})
    assert errors[0][0] == ()
    assert "'html', 'rss', 'json'" in errors[0][1]


def test_config_is_frozen() -> None:
    cfg = RssSource.model_validate(BASE)
    with pytest.raises(ValidationError):
        cfg.interval = 10  # type: ignore[misc]


def test_sources_share_the_values_they_repeat_and_each_still_reads_its_own() -> None:
    """2,000 sources repeat their selectors, durations and the keys they give (issue 17, memory):
    one object each, shared; a source's own values, and a copy with changes, stay its own."""
    tables = [
        {"kind": "html", "id": f"s{i}", "list_url": f"https://example.com/list/{i}", "item_selector": "ul.n li",
         "date_format": "%Y-%m-%d", "interval": f"{15}s", "timeout": 15.5}
        for i in range(3)
    ]
    a, b, c = (SOURCE_ADAPTER.validate_python(t) for t in tables)
    assert isinstance(a, HtmlSource) and isinstance(b, HtmlSource) and isinstance(c, HtmlSource)
    assert a.item_selector is b.item_selector is c.item_selector
    assert a.date_format is b.date_format and a.timeout is b.timeout and a.interval is b.interval
    assert a.model_fields_set is b.model_fields_set
    assert (a.id, b.id, a.list_url, b.list_url) == ("s0", "s1", "https://example.com/list/0",
                                                    "https://example.com/list/1")
    d = b.model_copy(update={"item_selector": "div.x a"})
    assert (a.item_selector, b.item_selector, d.item_selector) == ("ul.n li", "ul.n li", "div.x a")
    e = SOURCE_ADAPTER.validate_python({**tables[0], "id": "other", "jitter": 5})
    assert "jitter" in e.model_fields_set and "jitter" not in a.model_fields_set
    assert a.model_dump(exclude_unset=True) == {**tables[0], "interval": 15.0}
