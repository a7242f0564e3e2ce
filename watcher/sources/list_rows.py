"""The rows of a notice list page, read with CSS selectors (pure: text in, values out).

Two readers give the same :class:`ListRow` s. The fast one parses with lxml and runs XPath
translated from the selectors (:func:`css_to_xpath`), about 10x faster than BeautifulSoup with
soupsieve on a 28-entry list; it takes the simple selectors real list pages use (type, ``.class``,
``#id``, ``[attr]``, ``[attr=value]``, descendant and child combinators). Any other selector
(pseudo-classes, sibling combinators, selector lists...) goes to the BeautifulSoup reader, which
takes everything soupsieve does; with simple selectors BeautifulSoup is never imported.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lxml import etree

from watcher.sources.html_text import parse_html

if TYPE_CHECKING:
    from bs4 import Tag

_SPACE_RUNS = re.compile(r"\s+")
_IDENT = r"-?[A-Za-z_][A-Za-z0-9_-]*"
_STEP = re.compile(
    rf"(?P<tag>{_IDENT}|\*)?(?P<rest>(?:\.{_IDENT}|#{_IDENT}|\[{_IDENT}(?:=(?:{_IDENT}|\"[^\"\\]*\"|'[^'\\]*'))?\])*)$"
)
_PART = re.compile(rf"\.(?P<cls>{_IDENT})|#(?P<id>{_IDENT})|\[(?P<attr>{_IDENT})(?:=(?P<value>{_IDENT}|\"[^\"\\]*\"|'[^'\\]*'))?\]")


class SelectorError(ValueError):
    """A selector the BeautifulSoup reader refused (malformed)."""


@dataclass(frozen=True, slots=True)
class ListRow:
    """One item of a list page: its link's ``href`` (None when it has none), the title text (the
    title element's, else the link's), the link's ``title`` attribute, the date element's text."""

    href: str | None
    title: str
    link_title: str
    date: str | None


@dataclass(frozen=True, slots=True)
class ListPage:
    """What a list page holds: its ``<base href>`` (if any), its rows (empty when the item selector
    matched nothing) and whether the list's container is there."""

    base_href: str | None
    rows: tuple[ListRow, ...]
    container_found: bool


def css_to_xpath(selector: str, *, within: bool) -> str | None:
    """XPath for a simple CSS selector, or None when it is not simple. ``within``: relative to an
    item (descendants of the item only, as soupsieve's ``item.select_one``)."""
    tokens = re.split(r"\s*(>)\s*|\s+", selector.strip())
    steps: list[str] = []
    axis = "descendant::" if within else "descendant-or-self::"
    for token in tokens:
        if token is None or token == "":
            continue
        if token == ">":
            if not steps or axis == "child::":
                return None
            axis = "child::"
            continue
        m = _STEP.match(token)
        if m is None or not token:
            return None
        name = (m.group("tag") or "*").lower()
        conditions = []
        for part in _PART.finditer(m.group("rest") or ""):
            if part.group("cls"):
                conditions.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {part.group('cls')} ')")
            elif part.group("id"):
                conditions.append(f"@id='{part.group('id')}'")
            else:
                value = part.group("value")
                attr = part.group("attr").lower()
                if value is None:
                    conditions.append(f"@{attr}")
                else:
                    conditions.append(f"@{attr}={_quoted(value.strip(chr(34) + chr(39)))}")
        steps.append(axis + name + "".join(f"[{c}]" for c in conditions))
        axis = "descendant::"
    if not steps or axis == "child::":
        return None
    return "/".join(steps)


def _quoted(value: str) -> str:
    return f'"{value}"' if "'" in value else f"'{value}'"


@lru_cache(maxsize=256)
def compile_simple(selector: str | None, within: bool) -> Any:
    """A compiled XPath (``False`` when the selector is not simple, None when there is none)."""
    if selector is None:
        return None
    path = css_to_xpath(selector, within=within)
    if path is None:
        return False
    try:
        return etree.XPath(path)
    except etree.XPathSyntaxError:  # a name XPath refuses ('-a'): BeautifulSoup judges the selector
        return False


def _text(el: Any) -> str:
    return _SPACE_RUNS.sub(" ", el.text_content()).strip()


def read_list(
    html: str,
    *,
    item_selector: str,
    title_selector: str | None,
    link_selector: str | None,
    date_selector: str | None,
    container_selector: str | None,
) -> ListPage:
    """Read the list page (with lxml when it can, else with BeautifulSoup). Raises
    :class:`SelectorError` for a selector that is malformed."""
    page = read_with_lxml(html, item_selector=item_selector, title_selector=title_selector,
                          link_selector=link_selector, date_selector=date_selector,
                          container_selector=container_selector)
    if page is not None:
        return page
    return read_with_soup(html, item_selector=item_selector, title_selector=title_selector,
                          link_selector=link_selector, date_selector=date_selector,
                          container_selector=container_selector)


def read_with_lxml(
    html: str,
    *,
    item_selector: str,
    title_selector: str | None,
    link_selector: str | None,
    date_selector: str | None,
    container_selector: str | None,
) -> ListPage | None:
    """The fast reader: None when a selector is not simple."""
    paths = [compile_simple(item_selector, False), compile_simple(title_selector, True), compile_simple(link_selector, True),
             compile_simple(date_selector, True), compile_simple(container_selector, False)]
    if any(p is False for p in paths):
        return None
    root = parse_html(html)
    items, title, link, date, container = paths
    base = root.find(".//base[@href]")
    rows = []
    for item in items(root):
        link_el = _first(link, item) if link is not None else _default_link(item)
        title_el = _first(title, item) if title is not None else link_el
        date_el = _first(date, item) if date is not None else None
        rows.append(ListRow(
            href=link_el.get("href") if link_el is not None else None,
            title=_text(title_el) if title_el is not None else "",
            link_title=(link_el.get("title") or "") if link_el is not None else "",
            date=_text(date_el) if date_el is not None else None,
        ))
    found = bool(rows) or (container is not None and bool(container(root)))
    return ListPage(base.get("href") if base is not None else None, tuple(rows), found)


def _first(path: Any, item: Any) -> Any:
    hits = path(item)
    return hits[0] if hits else None


def _default_link(item: Any) -> Any:
    if item.tag == "a" and item.get("href") is not None:
        return item
    hits = item.xpath("descendant::a[@href]")
    return hits[0] if hits else None


def read_with_soup(
    html: str,
    *,
    item_selector: str,
    title_selector: str | None,
    link_selector: str | None,
    date_selector: str | None,
    container_selector: str | None,
) -> ListPage:
    """The reader for any selector soupsieve takes. Raises :class:`SelectorError` for a malformed one."""
    from bs4 import (  # only for selectors the lxml reader does not take (memory)
        BeautifulSoup,
        MarkupResemblesLocatorWarning,
        Tag,
        XMLParsedAsHTMLWarning,
    )

    # A list page with an XML prolog (XHTML) is still read as HTML, like the lxml reader reads it:
    # bs4's warning about that would only fill the daemon's log once per such page.
    warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)
    # A fetched body that looks like a file name or a URL is still a body (we never pass a locator).
    warnings.filterwarnings("ignore", category=MarkupResemblesLocatorWarning)
    soup = BeautifulSoup(html, "lxml")
    base = soup.find("base", href=True)
    items = _select(soup, item_selector, "item", one=False)
    if items:
        for name, sel in (("link", link_selector), ("title", title_selector), ("date", date_selector)):
            if sel:
                _select(items[0], sel, name, one=True)  # soupsieve finds a malformed selector on first use
    rows = []
    for item in items:
        link_el = _select(item, link_selector, "link", one=True) if link_selector else _soup_default_link(item)
        title_el = _select(item, title_selector, "title", one=True) if title_selector else link_el
        date_el = _select(item, date_selector, "date", one=True) if date_selector else None
        rows.append(ListRow(
            href=str(link_el.get("href", "")) if link_el is not None and link_el.has_attr("href") else None,
            title=_SPACE_RUNS.sub(" ", title_el.get_text()).strip() if title_el is not None else "",
            link_title=str(link_el.get("title", "")) if link_el is not None else "",
            date=_SPACE_RUNS.sub(" ", date_el.get_text()).strip() if date_el is not None else None,
        ))
    found = bool(rows) or (container_selector is not None and bool(_select(soup, container_selector, "container", one=True)))
    return ListPage(str(base["href"]) if isinstance(base, Tag) else None, tuple(rows), found)


def _select(root: Any, selector: str, name: str, *, one: bool) -> Any:
    try:
        return root.select_one(selector) if one else root.select(selector)
    except Exception as exc:  # soupsieve rejects a malformed selector
        raise SelectorError(f"bad {name} selector {selector!r}: {exc}") from None


def _soup_default_link(item: Tag) -> Tag | None:
    from bs4 import Tag

    if item.name == "a" and item.has_attr("href"):
        return item
    found = item.select_one("a[href]")
    return found if isinstance(found, Tag) else None
