"""Notice text read with lxml against the BeautifulSoup reading it replaced (issue 17 item 6, round rss6).

``python -m bench.compare_html_text`` runs both readers over every HTML page in the repository (the
test fixtures, the notice corpus under bench/corpus, the sandbox platform's pages, every HTML
string literal in tests/), plus hostile pages made here (malformed, odd encodings, deep nesting,
huge), and prints each input whose text differs, then a count. The reference below is the
BeautifulSoup code of ``watcher/sources/extract.py`` as it was at main c2e0e0f (kept here only to
compare; the watcher no longer imports bs4).
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

from huabei_watch.clock import SHANGHAI
from watcher import sandbox
from watcher.sources.charset import decode_body
from watcher.sources.extract import LayoutChanged, extract_body, html_fragment_text
from watcher.sources.list_rows import read_with_lxml, read_with_soup

ROOT = Path(__file__).resolve().parent.parent
warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)

# ---------------------------------------------------------------- the reference (BeautifulSoup)

_BLOCKS = ("address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "footer", "h1", "h2",
           "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table",
           "tbody", "thead", "tfoot", "tr", "td", "th", "ul")
_DROP = ("script", "style", "noscript", "template", "iframe", "svg")
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")


def old_fragment_text(root: object) -> str:
    if isinstance(root, str):
        root = BeautifulSoup(root, "lxml")
    for bad in root.find_all(_DROP):  # type: ignore[attr-defined]
        bad.decompose()
    for br in root.find_all("br"):  # type: ignore[attr-defined]
        br.replace_with("\n")
    for block in root.find_all(_BLOCKS):  # type: ignore[attr-defined]
        block.insert_before("\n")
        block.insert_after("\n")
    raw = root.get_text("")  # type: ignore[attr-defined]
    lines = (_SPACES.sub(" ", line).strip() for line in raw.split("\n"))
    return "\n".join(line for line in lines if line)


def old_extract_body(html: str, selector: str | None) -> str:
    soup = BeautifulSoup(html, "lxml")
    if selector:
        root = soup.select_one(selector)
        if root is None:
            raise LayoutChanged(f"body selector {selector!r} matches nothing")
    else:
        root = soup.body or soup
    return old_fragment_text(root)


# ---------------------------------------------------------------- the inputs


def repository_pages() -> Iterator[tuple[str, str]]:
    for path in sorted([*ROOT.glob("tests/**/*.htm*"), *ROOT.glob("bench/corpus/**/*.htm*"),
                        *ROOT.glob("docs/**/*.htm*")]):
        yield str(path.relative_to(ROOT)), decode_body(path.read_bytes(), content_type="text/html").text
    for path in sorted(ROOT.glob("tests/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"<[a-zA-Z]", node.value):
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node.value


def sandbox_pages() -> Iterator[tuple[str, str]]:
    start = datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)
    for flags in ({}, {"postponed": True}, {"cancelled": True}):
        state = sandbox._State(start=start, maintenance_start=start, **flags)
        notices = sandbox._notices(state)
        yield f"sandbox list {flags}", sandbox._list_page(notices).decode()
        for n in notices:
            page = sandbox._detail_page(n)
            yield f"sandbox {n.notice_id} {flags}", decode_body(page, content_type="text/html").text


def hostile_pages() -> Iterator[tuple[str, str]]:
    body = '<div class="notice-body"><p>维护时间：12月8日 02:00 至 04:00</p><p>花呗暂停</p></div>'
    yield "empty", ""
    yield "blank", " \n\t "
    yield "only a comment", "<!-- nothing -->"
    yield "text, no tags", "尊敬的商户：\n花呗将于 12月8日 暂停。"
    yield "unclosed tags", "<div class=notice-body><p>甲<p>乙<li>丙<b>丁<i>戊</div>己"
    yield "misnested", "<div class='notice-body'><b><p>一</b>二</p><table><p>三<tr><td>四</table>五</div>"
    yield "stray end tags", "</p></div><div class=notice-body>a</span></td>b</body>c</html>d"
    yield "comments, CDATA, PI", ("<div class=notice-body>a<!-- hidden -->b<![CDATA[c]]>d<?php echo 1 ?>e"
                                  "<!-- unclosed comment")
    yield "xml declaration gbk", '<?xml version="1.0" encoding="gbk"?>' + body
    yield "meta charset disagrees", '<html><head><meta charset="gbk"></head><body>' + body + "</body></html>"
    yield "BOM", "\ufeff" + body
    yield "NUL and controls", "<div class=notice-body>a\x00b\x01c\x0bd\x0ce\rf\r\ng</div>"
    yield "lone surrogate", "<div class=notice-body>a\udc80b</div>"
    yield "entities", "<div class=notice-body>&lt;&amp;&nbsp;&#x4e2d;&#25991;&copy;&bogus;&#0;&#xD800;</div>"
    yield "nbsp and ideographic space", "<div class=notice-body>a\xa0\xa0b\u3000\u3000c \t d</div>"
    yield "hidden elements", ("<div class=notice-body>a<script>x()</script>b<style>p{}</style>c<noscript>n</noscript>"
                              "d<template><p>t</p></template>e<iframe>i</iframe>f<svg><text>s</text></svg>g</div>")
    yield "ruby", "<div class=notice-body><ruby>花<rt>huā</rt>呗<rp>(</rp><rt>bei</rt><rp>)</rp></ruby>维护</div>"
    yield "br and blocks", "<div class=notice-body>a<br>b<br/><br>c<p>d</p>e<span>f</span><h2>g</h2><hr>h</div>"
    yield "pre and textarea", "<div class=notice-body><pre> a\n  b </pre><textarea>t\nu</textarea></div>"
    yield "no body element", "<html><head><title>标题</title></head></html>"
    yield "frameset", "<html><frameset><frame src=a></frameset><noframes>无框架</noframes></html>"
    yield "two bodies", "<body><div class=notice-body>a</div></body><body>b</body>"
    yield "attributes only", "<div class=notice-body title='x' data-a=\"<p>\"></div>"
    yield "uppercase tags", "<DIV CLASS=notice-body><P>A<BR>B</P></DIV>"
    yield "deep nesting 300", "<div class=notice-body>" + "<div><span>" * 300 + "深" + "</span></div>" * 300 + "</div>"
    yield "deep nesting 5000", "<div class=notice-body>" + "<b>" * 5000 + "深" + "</b>" * 5000 + "</div>"
    # (The BeautifulSoup code is quadratic in the number of blocks: 200,000 paragraphs take it minutes.)
    yield "big page 0.5 MB", "<div class=notice-body>" + "<p>花呗维护通知，敬请谅解。</p>" * 20_000 + "</div>"
    yield "huge text node 12 MB", "<div class=notice-body><p>" + "字" * 4_000_000 + "</p></div>"
    yield "binary garbage", (ROOT / "tests/fixtures/pages/garbage.bin").read_bytes().decode("latin-1")
    yield "XML feed as HTML", (ROOT / "tests/fixtures/pages/feed_rss.xml").read_text("utf-8")


# ---------------------------------------------------------------- the comparison


def _run(fn: object, *args: object, **kwargs: object) -> str:
    try:
        return repr(fn(*args, **kwargs))  # type: ignore[operator]
    except LayoutChanged as exc:
        return f"LayoutChanged({exc})"
    except Exception as exc:  # what each reader raises is part of the comparison
        return f"raises {type(exc).__name__}"


def main() -> int:
    differ = total = 0
    sys.setrecursionlimit(10_000)
    for name, html in [*repository_pages(), *sandbox_pages(), *hostile_pages()]:
        checks = [("body", lambda h: old_extract_body(h, None), lambda h: extract_body(h, None)),
                  ("div.notice-body", lambda h: old_extract_body(h, "div.notice-body"),
                   lambda h: extract_body(h, "div.notice-body")),
                  ("p", lambda h: old_extract_body(h, "p"), lambda h: extract_body(h, "p")),
                  ("fragment", old_fragment_text, html_fragment_text)]
        kwargs = {"item_selector": "li", "title_selector": None, "link_selector": None, "date_selector": None,
                  "container_selector": "ul"}
        for what, old, new in checks:
            total += 1
            before, after = _run(old, html), _run(new, html)
            if before != after:
                differ += 1
                print(f"DIFF {name} [{what}]\n  old: {before[:300]}\n  new: {after[:300]}")
        total += 1
        if _run(read_with_lxml, html, **kwargs) != _run(read_with_soup, html, **kwargs):
            differ += 1
            print(f"DIFF {name} [list rows]")
    print(f"{total} comparisons, {differ} differ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
