"""The two list readers agree: lxml with XPath translated from simple selectors, BeautifulSoup
with soupsieve for the rest."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sources.helpers import page
from watcher.sources.list_rows import css_to_xpath, read_list, read_with_lxml, read_with_soup

LIST = page("list.html").decode()
NEW_LAYOUT = page("list_new_layout.html").decode()
ODD = """<html><head><base href="/news/"></head><body>
<div id="main" class="box  notices wide"><ul>
 <li class="item"><a href="a.html" title=" 标题A ">  A  <b>一</b></a><em class="d">2026-11-01</em></li>
 <li class="item top"><span>无链接</span></li>
 <li class="item"><a name="x">no href</a><a href="b.html">B</a></li>
 <li class="itemx"><a href="c.html">C</a></li>
 <li class="item"><a data-kind="notice" href="d.html"></a></li>
</ul></div><p><a href="/elsewhere">not in the list</a></p></body></html>"""

CASES = [
    (LIST, "ul.notice-list li.notice-item", None, "a.notice-title", ".notice-date", None),
    (LIST, "ul.notice-list > li", None, None, "span", "ul.notice-list"),
    (LIST, "li", "a", None, None, None),
    (NEW_LAYOUT, "section.announcements article.card", "h3", "a", "time", None),
    (NEW_LAYOUT, "ul.notice-list li.notice-item", None, None, None, "ul.notice-list"),
    (ODD, "div#main ul > li.item", None, None, "em.d", None),
    (ODD, "#main li", None, "a[href]", None, None),
    (ODD, "div.notices li.item", "a[title]", None, None, None),
    (ODD, "li.item", None, "a[data-kind=notice]", None, None),
    (ODD, "li.item", None, "a[data-kind='notice']", None, None),
    (ODD, "DIV.box LI", None, None, None, None),
    (ODD, "*.item", None, None, None, None),
    (ODD, "table tr", None, None, None, "table"),
    ("", "ul li", None, None, None, "ul"),
    ("  \n ", "ul li", None, None, None, "ul"),
    ('<?xml version="1.0" encoding="gbk"?>\n' + ODD, "li.item", None, None, "em.d", "ul"),
    ("<ul><li><a href='x'>甲\x00乙</a></li></ul>", "ul li", None, None, None, None),
]


@pytest.mark.parametrize(("html", "item", "title", "link", "date", "container"), CASES)
def test_the_fast_reader_reads_what_the_soup_reader_reads(
    html: str, item: str, title: str | None, link: str | None, date: str | None, container: str | None
) -> None:
    fast = read_with_lxml(html, item_selector=item, title_selector=title, link_selector=link, date_selector=date,
                          container_selector=container)
    slow = read_with_soup(html, item_selector=item, title_selector=title, link_selector=link, date_selector=date,
                          container_selector=container)
    assert fast is not None, "simple selectors: the fast reader takes every page (empty, an XML declaration...)"
    assert fast == slow


@pytest.mark.parametrize(
    ("selector", "xpath"),
    [
        ("li", "descendant-or-self::li"),
        ("ul.notices > li", "descendant-or-self::ul[contains(concat(' ', normalize-space(@class), ' '), ' notices ')]"
                            "/child::li"),
        ("#main a[href]", "descendant-or-self::*[@id='main']/descendant::a[@href]"),
        ("a[rel=next]", "descendant-or-self::a[@rel='next']"),
        ("li:first-child", None),
        ("h2 + p", None),
        ("a, b", None),
        ("ul >", None),
        ("> li", None),
        ("a[title*=x]", None),
        ("", None),
    ],
)
def test_simple_selectors_become_xpath_and_the_rest_do_not(selector: str, xpath: str | None) -> None:
    assert css_to_xpath(selector, within=False) == xpath


def test_a_selector_the_fast_reader_cannot_take_still_reads_through_soupsieve() -> None:
    kwargs = {"title_selector": None, "link_selector": "a:not(.skip)", "date_selector": None, "container_selector": None}
    assert read_with_lxml(LIST, item_selector="li:nth-of-type(1)", **kwargs) is None
    got = read_list(LIST, item_selector="li:nth-of-type(1)", **kwargs)
    assert [r.href for r in got.rows] == ["/notice/detail_maint_gbk.html?spm=a1.b2"]


_TAG = st.sampled_from(["<ul class='l'>", "</ul>", "<li>", "<li class='i x'>", "</li>", "<a href='/n/1'>", "<a>",
                        "</a>", "<span class='d'>", "</span>", "2026-11-26", "公告", " ", "<div id='m'>", "</div>"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_TAG, max_size=40).map("".join),
       st.sampled_from(["li", "ul.l li", "ul.l > li", "div#m li.i", "li.x"]),
       st.sampled_from([None, "a", "span.d"]))
def test_the_two_readers_agree_on_any_markup(html: str, item: str, date: str | None) -> None:
    page = f"<html><body>{html}</body></html>"
    fast = read_with_lxml(page, item_selector=item, title_selector=None, link_selector=None, date_selector=date,
                          container_selector="ul.l")
    assert fast == read_with_soup(page, item_selector=item, title_selector=None, link_selector=None,
                                  date_selector=date, container_selector="ul.l")


def test_a_page_with_an_xml_prolog_is_read_as_html_without_a_warning() -> None:
    html = "<?xml version='1.0' encoding='utf-8'?>\n<ul><li><a href='/n/1'>系统维护公告</a></li></ul>"  # a fragment: bs4 takes it for XML
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page_read = read_with_soup(html, item_selector="li:first-child", title_selector="a", link_selector="a",
                                   date_selector=None, container_selector=None)
    assert [row.title for row in page_read.rows] == ["系统维护公告"]
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("body", ["https://platform.example/notices", "notices.html", "/var/www/list"])
def test_a_body_that_looks_like_a_url_or_a_file_name_is_read_as_markup_without_a_warning(body: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page_read = read_with_soup(body, item_selector="li:first-child", title_selector="a", link_selector="a",
                                   date_selector=None, container_selector=None)
    assert list(page_read.rows) == []
    assert [str(w.message) for w in caught] == []
