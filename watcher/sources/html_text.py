"""HTML text with lxml (pure: text in, values out).

:func:`parse_html` is how the watcher parses every HTML page (list pages and notice pages): a str
in any form a fetch gives (an XML declaration naming another encoding, a ``<meta charset>`` that
disagrees, NUL characters, lone surrogates) always gives a tree; an empty page gives an empty ``<html>``; what follows ``</html>`` is inside it, after ``<body>``; a
``<template>`` is empty (its content is inert: no text, no selector matches in it).
:func:`fragment_text` is the visible text of an element, one line per block: what a notice's body
is to the notice parser. BeautifulSoup is not needed for either (it costs the watcher ~3 MB).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from lxml import html as lxml_html

#: Elements that start and end a line of text.
BLOCKS = frozenset(
    ("address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "footer", "h1", "h2",
     "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table",
     "tbody", "thead", "tfoot", "tr", "td", "th", "ul")
)
#: Elements whose content is not text a reader sees (their tail, the text after them, is kept).
#: ``rt`` / ``rp`` are ruby annotations (pinyin over characters), not the sentence.
HIDDEN = frozenset(("script", "style", "noscript", "template", "iframe", "svg", "rt", "rp"))
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_OPTIONS: dict[str, Any] = {"encoding": "utf-8", "remove_comments": True, "remove_pis": True, "default_doctype": False}
_PARSER = lxml_html.HTMLParser(**_OPTIONS)
_RESOURCE_LIMIT = etree.ErrorTypes.ERR_RESOURCE_LIMIT


def parse_html(text: str) -> Any:
    """The ``<html>`` element of a page. Never raises: a page that is not HTML gives what libxml2's
    recovering parser makes of it, an empty one an empty ``<html>``."""
    data = text.encode("utf-8", "replace")
    try:
        root = etree.fromstring(data, _PARSER) if data.strip() else None
        if any(error.type == _RESOURCE_LIMIT for error in _PARSER.error_log):
            root = _parse_unlimited(data)
    except etree.XMLSyntaxError:
        root = None
    if root is None:  # nothing libxml2 calls a document (blank, or only a comment)
        return lxml_html.Element("html")
    root = root.getroottree().getroot()
    for template in list(root.iter("template")):  # inert content, as a browser (and soupsieve) has it
        template[:] = []
        template.text = None
    while (after := root.getnext()) is not None:  # what follows </html> is a second <html> of libxml2's
        root.append(after)
    return root


def _parse_unlimited(data: bytes) -> Any:
    """libxml2 stops building its tree at 256 levels of nesting or a 10 MB text node and drops the
    rest of the page; fed event by event into lxml's tree builder it reads the whole page (slower,
    hence only then). A page this odd that also has content after ``</html>`` gives that content."""
    builder = etree.TreeBuilder(parser=_PARSER)
    return etree.fromstring(data, lxml_html.HTMLParser(target=builder, huge_tree=True, **_OPTIONS))


def fragment_text(root: Any) -> str:
    """Text of an element and its descendants with line breaks at ``<br>`` and around block
    elements; runs of spaces become one space, each line is stripped, empty lines dropped. Hidden
    elements (:data:`HIDDEN`) inside ``root`` add nothing but the text after them. Iterative:
    nesting depth costs no Python stack."""
    parts: list[str] = [root.text or ""]
    walker = etree.iterwalk(root, events=("start", "end"))
    next(walker)  # the root's own start
    for event, el in walker:
        if el is root:
            break
        tag = el.tag
        if event == "start":
            if not isinstance(tag, str) or tag in HIDDEN:
                walker.skip_subtree()
                parts.append(el.tail or "")
            elif tag == "br":
                parts.append("\n")
            elif tag in BLOCKS:
                parts += ("\n", el.text or "")
            else:
                parts.append(el.text or "")
        elif isinstance(tag, str) and tag not in HIDDEN:
            if tag in BLOCKS:
                parts.append("\n")
            parts.append(el.tail or "")
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)
