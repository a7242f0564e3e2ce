"""Extraction from saved pages: list pages, detail bodies, RSS/Atom, JSON APIs, dates, ids."""

from __future__ import annotations

from datetime import date
from urllib.parse import urljoin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huabei_watch.errors import InvalidInput
from tests.sources.helpers import page
from watcher.sources.extract import (
    LayoutChanged,
    canonical_url,
    container_of,
    extract_body,
    extract_feed,
    extract_html_list,
    extract_json,
    json_path,
    notice_id_for_url,
    parse_published,
)

BASE = "https://open.example.com/notice/"


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("2026-11-26", None, date(2026, 11, 26)),
        ("2026/11/26", None, date(2026, 11, 26)),
        ("2026.11.26", None, date(2026, 11, 26)),
        ("2026年11月26日", None, date(2026, 11, 26)),
        ("发布时间：2026年1月5日 10:00", None, date(2026, 1, 5)),
        ("26/11/2026", "%d/%m/%Y", date(2026, 11, 26)),
        ("2026-11-26T23:30:00Z", None, date(2026, 11, 27)),  # 07:30 next day in Shanghai
        ("2026-11-26T09:30:00+08:00", None, date(2026, 11, 26)),
        ("Thu, 26 Nov 2026 09:30:00 +0800", None, date(2026, 11, 26)),
        ("Thu, 26 Nov 2026 20:00:00 GMT", None, date(2026, 11, 27)),
        (1795658400000, None, date(2026, 11, 26)),
        (1795658400, None, date(2026, 11, 26)),
        ("1795658400", None, date(2026, 11, 26)),
        ("2026-11-18 16:20:00", None, date(2026, 11, 18)),
        ("昨天", None, None),
        ("", None, None),
        (None, None, None),
        ("2026-13-45", None, None),
        (True, None, None),
    ],
)
def test_publication_dates_are_read_in_shanghai(value: object, fmt: str | None, expected: date | None) -> None:
    assert parse_published(value, fmt) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://Open.Example.com/notice/1.html#top", "https://open.example.com/notice/1.html"),
        ("https://open.example.com/notice/1.html?spm=a.b&utm_source=x", "https://open.example.com/notice/1.html"),
        ("https://open.example.com/n?id=2&lang=zh", "https://open.example.com/n?lang=zh&id=2"),
        ("https://open.example.com:443/notice/1.html", "https://open.example.com/notice/1.html"),
        ("HTTP://open.example.com:80/notice/1/", "http://open.example.com/notice/1"),
        ("https://open.example.com/notice/1.html/?from=list", "https://open.example.com/notice/1.html"),
    ],
)
def test_notice_ids_ignore_fragments_tracking_and_query_order(a: str, b: str) -> None:
    assert notice_id_for_url(a) == notice_id_for_url(b)
    assert len(notice_id_for_url(a)) == 16


def test_notice_ids_differ_for_different_notices() -> None:
    assert notice_id_for_url(BASE + "1.html") != notice_id_for_url(BASE + "2.html")
    assert canonical_url("https://open.example.com") == "https://open.example.com/"
    assert notice_id_for_url("https://open.example.com:8443/n/1") != notice_id_for_url("https://open.example.com/n/1")
    assert notice_id_for_url("http://open.example.com/n/1") != notice_id_for_url("https://open.example.com/n/1")


@pytest.mark.parametrize(
    ("guid", "link", "detail"),
    [
        ('<guid isPermaLink="false">notice-1</guid>', "<link>/n/1.html</link>", "https://open.example.com/n/1.html"),
        ("<guid>https://open.example.com/n/1.html</guid>", "", "https://open.example.com/n/1.html"),
        ('<guid isPermaLink="true">https://open.example.com/n/1.html</guid>', "", "https://open.example.com/n/1.html"),
        ('<guid isPermaLink="false">https://open.example.com/n/1.html</guid>', "", None),
        ("<guid>notice-1</guid>", "", None),
    ],
)
def test_feed_items_name_their_page_by_link_or_permalink_guid(guid: str, link: str, detail: str | None) -> None:
    xml = f"<rss version='2.0'><channel><item><title>t</title>{guid}{link}</item></channel></rss>"
    [ref] = extract_feed(xml, "https://open.example.com/feed.xml")
    assert ref.detail_url == detail


def test_atom_entry_names_its_page_by_its_alternate_link_or_an_http_id() -> None:
    atom = ("<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>tag:example.com,2026:1</id><title>a</title>"
            "<link rel='alternate' href='https://open.example.com/n/1'/></entry>"
            "<entry><id>https://open.example.com/n/2</id><title>b</title></entry>"
            "<entry><id>tag:example.com,2026:3</id><title>c</title></entry></feed>")
    refs = extract_feed(atom, "https://open.example.com/atom")
    assert [r.detail_url for r in refs] == ["https://open.example.com/n/1", "https://open.example.com/n/2", None]


def test_a_list_with_its_container_but_no_items_is_empty_not_a_changed_layout() -> None:
    html = "<html><body><ul class='notice-list'></ul></body></html>"
    assert extract_html_list(html, BASE, item_selector="ul.notice-list li.notice-item") == []
    assert extract_html_list(html, BASE, item_selector="li", container_selector="ul.notice-list") == []
    with pytest.raises(LayoutChanged, match=r"neither does its container 'div\.list'"):
        extract_html_list(html, BASE, item_selector="div.list > li")
    with pytest.raises(LayoutChanged, match="matches nothing on"):
        extract_html_list(html, BASE, item_selector="li")


@pytest.mark.parametrize(
    ("selector", "container"),
    [
        ("ul.notices li", "ul.notices"),
        ("ul.notices > li.item", "ul.notices"),
        ("div#main  ul li", "div#main  ul"),
        ("li", None),
        ("ul li, ol li", None),
        ("h2 + p", None),
        ("h2 ~ p", None),
        ('a[title="x y"]', None),
        ('div a[title="x y"]', "div"),
        ("ul li:not(.a .b)", "ul"),
    ],
)
def test_the_container_of_an_item_selector_is_its_selector_without_the_last_step(
    selector: str, container: str | None
) -> None:
    assert container_of(selector) == container


def test_list_page_items_have_absolute_urls_titles_and_dates() -> None:
    refs = extract_html_list(
        page("list.html").decode(), BASE, item_selector="ul.notice-list li.notice-item",
        link_selector="a.notice-title", date_selector=".notice-date", date_format="%Y-%m-%d",
    )
    assert [(r.url, r.title, r.published) for r in refs] == [
        ("https://open.example.com/notice/detail_maint_gbk.html?spm=a1.b2", "关于花呗服务系统维护的公告", date(2026, 11, 26)),
        ("https://open.example.com/notice/detail_old_maint.html", "关于系统升级维护的公告", date(2026, 11, 20)),
        ("https://open.example.com/notice/detail_fee.html#top", "关于调整花呗分期商家服务费率的通知", date(2026, 11, 18)),
    ]
    assert refs[0].notice_id == notice_id_for_url("https://open.example.com/notice/detail_maint_gbk.html")


def test_list_page_honours_base_href_skips_script_links_and_dedupes() -> None:
    html = """<html><head><base href="https://cdn.example.com/n/"></head><body>
    <div class="i"><a href="a.html">A</a></div>
    <div class="i"><a href="javascript:void(0)">js</a></div>
    <div class="i"><a href="a.html#x">A again</a></div>
    <div class="i"><a href="b.html" title="B 标题"></a></div>
    <div class="i"><a href="c.html">关于<b>花呗</b>服务
        维护的公告</a></div>
    </body></html>"""
    refs = extract_html_list(html, BASE, item_selector="div.i")
    assert [(r.url, r.title) for r in refs] == [
        ("https://cdn.example.com/n/a.html", "A"),
        ("https://cdn.example.com/n/b.html", "B 标题"),
        ("https://cdn.example.com/n/c.html", "关于花呗服务 维护的公告"),
    ]


@pytest.mark.parametrize(
    ("html", "selector", "message"),
    [
        (page("list_new_layout.html").decode(), "ul.notice-list li", "matches nothing"),
        ("<ul class='l'><li>no link</li><li>none</li></ul>", "ul.l li", "2 items match 'ul.l li' .* but none has a link"),
        ("", "ul li", "matches nothing"),
        ("<p>x</p>", "ul[[", "bad item selector"),
    ],
)
def test_list_page_that_no_longer_matches_is_a_layout_change(html: str, selector: str, message: str) -> None:
    with pytest.raises(LayoutChanged, match=message):
        extract_html_list(html, BASE, item_selector=selector)


def test_detail_body_keeps_line_breaks_and_drops_scripts_and_styles() -> None:
    text = extract_body(page("detail_fee.html").decode(), "div.notice-body")
    assert text == (
        "尊敬的商户：\n"
        "自 2027年1月1日 起，花呗分期 3 期商家贴息服务费率调整为 2.3%，其他期数不变。\n"
        "如有疑问，请联系您的客户经理。"
    )


def test_detail_body_without_selector_is_the_whole_body() -> None:
    text = extract_body(page("detail_old_maint.html").decode())
    assert text.splitlines()[0] == "关于系统升级维护的公告"
    assert "margin" not in text


def test_detail_body_selector_matching_nothing_is_a_layout_change() -> None:
    with pytest.raises(LayoutChanged, match=r"body selector 'div\.content' matches nothing"):
        extract_body(page("detail_fee.html").decode(), "div.content")


def test_rss_items_with_guids_dates_and_html_bodies() -> None:
    refs = extract_feed(page("feed_rss.xml").decode(), "https://open.example.com/feed.xml")
    assert [(r.url, r.title, r.published) for r in refs] == [
        ("https://open.example.com/notices/2026112601.html", "关于花呗服务系统维护的公告", date(2026, 11, 26)),
        ("https://open.example.com/notices/2026112401.html", "关于 alipay.trade.pay 旧版接口下线的通知", date(2026, 11, 24)),
    ]
    assert refs[0].body == "尊敬的开发者：\n花呗服务将于 2026年11月26日 18:10 至 18:30 暂停，请提前做好安排。"
    assert refs[1].body == "旧版 alipay.trade.pay 接口将于 2026年12月31日 下线。\n请尽快将 SDK 升级至 4.x 版本。"
    assert refs[0].notice_id != refs[1].notice_id


def test_atom_entries_use_the_alternate_link_and_id() -> None:
    refs = extract_feed(page("feed_atom.xml").decode(), "https://open.example.com/atom")
    assert [(r.url, r.published) for r in refs] == [
        ("https://open.example.com/notices/maint-1126", date(2026, 11, 26)),
        ("https://open.example.com/notices/fee-1118", date(2026, 11, 19)),
    ]
    assert refs[0].body == "花呗服务将于 2026年11月26日 18:10 至 18:30 暂停。\n敬请谅解。"
    assert refs[1].body == "自 2027年1月1日 起，花呗分期 3 期商家贴息服务费率调整为 2.3%。"


def test_feed_with_a_gbk_declaration_parses_once_decoded() -> None:
    xml = '<?xml version="1.0" encoding="GBK"?><rss version="2.0"><channel><item><title>花呗维护</title><link>/n/1</link></item></channel></rss>'
    refs = extract_feed(xml, "https://open.example.com/rss")
    assert [(r.title, r.url) for r in refs] == [("花呗维护", "https://open.example.com/n/1")]


def test_rss_1_rdf_items_are_read() -> None:
    xml = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>x</title></channel>'
        "<item><title>通知</title><link>https://open.example.com/n/9</link><dc:date>2026-11-20</dc:date></item>"
        "</rdf:RDF>"
    )
    refs = extract_feed(xml, "https://open.example.com/rdf")
    assert [(r.title, r.published) for r in refs] == [("通知", date(2026, 11, 20))]


def test_empty_feed_has_no_items() -> None:
    assert extract_feed('<rss version="2.0"><channel><title>空</title></channel></rss>', BASE) == []


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("<html><body><p>维护中</p></body></html>", LayoutChanged, "not an RSS or Atom feed"),
        ("", InvalidInput, "not XML"),
        ("{\"json\": true}", InvalidInput, "not XML"),
    ],
)
def test_non_feeds_are_reported(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        extract_feed(text, BASE)


def test_json_api_items_by_dotted_paths() -> None:
    refs = extract_json(
        page("api.json").decode(), "https://open.example.com/api/notices?page=1", items_path="data.list",
        id_field="noticeId", title_field="title", url_field="link", date_field="publishTime", body_field="content",
    )
    assert [(r.url, r.title, r.published) for r in refs] == [
        ("https://open.example.com/notice/90017", "关于花呗服务系统维护的公告", date(2026, 11, 26)),
        ("https://open.example.com/notice/90012", "关于调整花呗分期商家服务费率的通知", date(2026, 11, 18)),
    ]
    assert refs[0].body == "花呗服务将于 2026年11月26日 18:10 至 18:30 暂停。\n敬请谅解。"
    assert refs[1].body == "自 2027年1月1日 起，花呗分期 3 期商家贴息服务费率调整为 2.3%。"


@pytest.mark.parametrize(
    ("doc", "path", "expected"),
    [
        ({"data": {"list": [1, 2]}}, "data.list", [1, 2]),
        ({"items": [{"t": "a"}, {"t": "b"}]}, "items.1.t", "b"),
        ({"items": [{"t": "a"}, {"t": "b"}]}, "items.-1.t", "b"),
        ([{"t": "a"}], "", [{"t": "a"}]),
    ],
)
def test_json_paths(doc: object, path: str, expected: object) -> None:
    assert json_path(doc, path) == expected


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ('{"data": {"rows": []}}', LayoutChanged, "items path 'data.list' not found .*missing 'list'"),
        ('{"data": {"list": {"a": 1}}}', LayoutChanged, "is a dict, not a list"),
        ('{"data": {"list": [{"x": 1}]}}', LayoutChanged, "1 items at 'data.list' but none has an id or url"),
        ("<html>维护</html>", InvalidInput, "not JSON"),
    ],
)
def test_json_api_shape_problems_are_reported(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        extract_json(
            text, BASE, items_path="data.list", id_field=None, title_field="title", url_field="url", date_field=None
        )


def test_json_item_without_id_field_gets_its_id_from_the_url() -> None:
    text = '{"data": {"list": [{"title": "a", "url": "/n/1"}]}}'
    refs = extract_json(
        text, BASE, items_path="data.list", id_field=None, title_field="title", url_field="url", date_field=None
    )
    assert refs[0].notice_id == notice_id_for_url("https://open.example.com/n/1")
    assert refs[0].body is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["/", "a", ".", "..", "b.html", "?x=../", "#f", "//", "%2e", "x y"]), min_size=1,
                max_size=8).map("".join))
def test_list_links_join_their_base_as_the_standard_library_does(href: str) -> None:
    html = f"<html><body><ul class='l'><li><a href=\"{href}\">公告</a></li></ul></body></html>"
    try:
        refs = extract_html_list(html, BASE + "list/1", item_selector="ul.l li")
    except LayoutChanged:
        return  # an href that is only a fragment, or empty: no link
    assert [r.url for r in refs] == [urljoin(BASE + "list/1", href.strip())]
    assert canonical_url(refs[0].url) == canonical_url(canonical_url(refs[0].url))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["http", "https"]),
    st.sampled_from(["open.example.com", "127.0.0.1", "a-b.example"]),
    st.sampled_from(["", ":80", ":443", ":8080", ":08080", ":1", ":65536"]),
    st.lists(st.sampled_from(["/", "a", ".", "..", "b.html", "%2e", "//", "Z"]), min_size=1, max_size=6).map("".join),
)
def test_a_plain_url_is_canonical_as_written_exactly_when_the_full_rules_say_so(
    scheme: str, host: str, port: str, path: str
) -> None:
    url = f"{scheme}://{host}{port}/{path}"
    # An upper-case scheme takes the full rules (urlsplit, default port dropped, trailing "/" cut);
    # a plain URL may skip them only where they would change nothing.
    assert canonical_url(url) == canonical_url(scheme.upper() + url[len(scheme):])
