"""Notice text read with lxml (issue 17 item 6): what a notice's body is, on ordinary and hostile
pages, and that reading pages with simple selectors never imports BeautifulSoup.

bench/compare_html_text.py compares this reader with the BeautifulSoup one it replaced over every
HTML page of the repository and the hostile pages below; these tests pin the behaviour itself."""

from __future__ import annotations

import asyncio

import pytest

from tests.sources.helpers import page
from watcher.sources.charset import decode_body
from watcher.sources.extract import LayoutChanged, extract_body, html_fragment_text
from watcher.sources.html_text import fragment_text, parse_html
from watcher.sources.list_rows import read_list

BODY = '<div class="notice-body">{}</div>'


@pytest.mark.parametrize(
    ("inner", "text"),
    [
        ("a<br>b<br/><br>c<p>d</p>e<span>f</span><h2>g</h2><hr>h", "a\nb\nc\nd\nef\ng\nh"),
        ("<table><tr><td>时间</td><td>02:00</td></tr></table>", "时间\n02:00"),
        ("甲<b>乙</b><i>丙</i>", "甲乙丙"),  # inline tags join without a space (Chinese has none)
        ("a<!-- hidden -->b<?php echo 1 ?>c", "abc"),
        ("a<script>x()</script>b<style>p{}</style>c<noscript>n</noscript>d<template><p>t</p></template>e"
         "<iframe>i</iframe>f<svg><text>s</text></svg>g", "abcdefg"),
        ("<ruby>花<rt>huā</rt>呗<rp>(</rp><rt>bei</rt><rp>)</rp></ruby>维护", "花呗维护"),
        ("&lt;&amp;&nbsp;&#x4e2d;&#25991;&copy;", "<& 中文©"),
        ("a\xa0\xa0b \t c\r\nd", "a b c\nd"),
        ("a\x00b", "a\ufffdb"),
        ("<div><p>  </p><p>\n</p></div>x", "x"),
    ],
)
def test_the_text_of_a_notice_body(inner: str, text: str) -> None:
    assert extract_body(BODY.format(inner), "div.notice-body") == text


def test_the_first_element_the_selector_matches_is_the_body_and_a_page_without_one_has_changed_layout() -> None:
    html = "<p>first</p><div class='notice-body'>一</div><div class='notice-body'>二</div>"
    assert extract_body(html, "div.notice-body") == "一"
    assert extract_body(html, "p") == "first"
    assert extract_body(html, None) == "first\n一\n二"
    with pytest.raises(LayoutChanged, match="matches nothing"):
        extract_body(html, "div.missing")
    with pytest.raises(LayoutChanged, match="matches nothing"):  # template content is inert
        extract_body("<template><div class='notice-body'>x</div></template>", "div.notice-body")


def test_selectors_xpath_does_not_take_still_work_and_malformed_ones_are_a_layout_change() -> None:
    html = "<div class='notice-body'>一</div><div class='notice-body'>二<br>三</div>"
    assert extract_body(html, "div.notice-body:nth-of-type(2)") == "二\n三"
    with pytest.raises(LayoutChanged, match="bad body selector"):
        extract_body(html, "div[")


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("", ""),
        (" \n\t ", ""),
        ("<!-- nothing -->", ""),
        ("尊敬的商户：\n花呗将于 12月8日 暂停。", "尊敬的商户：\n花呗将于 12月8日 暂停。"),
        ('<?xml version="1.0" encoding="gbk"?><p>中文</p>', "中文"),  # a str is text already, whatever it declares
        ('<html><head><meta charset="gbk"></head><body><p>中文</p></body></html>', "中文"),
        ("\ufeff<p>中文</p>", "中文"),
        ("<p>a\udc80b</p>", "a?b"),  # a lone surrogate (never from a fetch, which decodes with replacement)
        ("<div><p>甲<p>乙<li>丙<b>丁</div>戊", "甲\n乙\n丙丁\n戊"),
        ("<html><head><title>标题</title></head></html>", "标题"),
    ],
)
def test_any_page_gives_text_and_never_raises(html: str, text: str) -> None:
    assert extract_body(html) == text
    assert html_fragment_text(html).endswith(text)


def test_what_follows_the_end_of_html_is_still_read() -> None:
    html = "<html><body><p>x</p></body></html>尾<div class='notice-body'>补充</div>"
    assert extract_body(html, "div.notice-body") == "补充"
    assert html_fragment_text(html) == "x\n尾\n补充"
    assert extract_body(html) == "x"  # the body element is the first one's


@pytest.mark.parametrize("depth", [300, 5000])
def test_deep_nesting_loses_no_text(depth: int) -> None:
    """libxml2 stops its tree at 256 levels and drops the rest of the page; every word is kept."""
    html = BODY.format("<div><span>" * depth + "深" + "</span></div>" * depth + "<p>后文</p>") + "<p>页尾</p>"
    assert extract_body(html, "div.notice-body") == "深\n后文"
    assert extract_body(html) == "深\n后文\n页尾"


def test_a_huge_text_node_is_read_whole() -> None:
    """libxml2's 10 MB limit on one text node drops the rest of the page; the text is kept."""
    words = "字" * 4_000_000  # 12 MB in UTF-8
    assert extract_body(BODY.format(f"<p>{words}</p><p>完</p>"), "div.notice-body") == f"{words}\n完"


def test_the_fixture_pages_read_as_before() -> None:
    gbk = decode_body(page("detail_maint_gbk.html"), content_type="text/html").text
    text = extract_body(gbk, "div.notice-body")
    assert "花呗" in text and "<" not in text and "\n" in text
    assert fragment_text(parse_html(gbk).find("body")) == extract_body(gbk)


def test_pages_read_with_simple_selectors_never_import_beautifulsoup(python_exe: str) -> None:
    """What the watcher does with a list page, a notice page, a feed and an API body loads no
    bs4 (~3 MB); a selector XPath does not take still loads it, when it is used."""
    script = (
        "import sys\n"
        "from watcher.sources.extract import extract_body, extract_feed, extract_html_list, extract_json\n"
        "from tests.sources.helpers import page\n"
        "refs = extract_html_list(page('list.html').decode(), 'http://x/', item_selector='ul.notice-list li',"
        " date_selector='.notice-date')\n"
        "assert refs\n"
        "assert extract_body('<div class=notice-body><p>a</p></div>', 'div.notice-body') == 'a'\n"
        "assert extract_feed(page('feed_rss.xml').decode(), 'http://x/')\n"
        "extract_json('{\"l\": [{\"u\": \"http://x/1\", \"b\": \"<p>b</p>\"}]}', 'http://x/', items_path='l',"
        " id_field=None, title_field='t', url_field='u', date_field=None, body_field='b')\n"
        "assert 'bs4' not in sys.modules and 'soupsieve' not in sys.modules, 'bs4 loaded'\n"
        "assert extract_body('<div>a</div><div>b</div>', 'div:nth-of-type(2)') == 'b'\n"
        "assert 'bs4' in sys.modules\n"
        "print('ok')\n"
    )

    async def run() -> tuple[int | None, bytes, bytes]:
        proc = await asyncio.create_subprocess_exec(python_exe, "-c", script, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out, err

    code, out, err = asyncio.run(run())
    assert code == 0, err.decode()[-2000:]
    assert out.decode().strip() == "ok"


def test_list_rows_on_a_page_with_an_xml_declaration_and_content_after_html() -> None:
    html = ('<?xml version="1.0" encoding="gbk"?><html><body><ul><li><a href="/1">一</a></li></ul></body></html>'
            '<ul><li><a href="/2">二</a></li></ul>')
    rows = read_list(html, item_selector="ul li", title_selector=None, link_selector=None, date_selector=None,
                     container_selector="ul").rows
    assert [(r.href, r.title) for r in rows] == [("/1", "一"), ("/2", "二")]
