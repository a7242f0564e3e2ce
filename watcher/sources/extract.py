"""Pulling notices out of fetched pages (pure: text in, values out).

List pages by CSS selectors, detail-page body text, RSS 2.0 / RSS 1.0 / Atom feeds, JSON APIs by
dotted paths. Notice ids are stable: a short hash of the canonical URL, or of the feed's guid /
the API's id field. Each entry also carries its ``detail_url`` when it has one (the list link, the
feed item's link or permalink guid, the API's URL field): the notice's identity across sources
(:func:`canonical_url`), so a notice on a list page and in a feed is recognised as one.

Errors: :class:`LayoutChanged` when the page no longer has the shape the selectors or paths
expect (the source is degraded until fixed), :class:`~huabei_watch.errors.InvalidInput` when the
document cannot be parsed at all. Nothing else is raised on bad input.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree

from huabei_watch.clock import SHANGHAI
from huabei_watch.errors import InvalidInput, PermanentError
from watcher.sources.html_text import fragment_text, parse_html
from watcher.sources.list_rows import SelectorError, compile_simple, read_list


class LayoutChanged(PermanentError):
    """The page no longer matches the configured selectors or paths (the site changed)."""


@dataclass(frozen=True, slots=True)
class NoticeRef:
    """One entry of a notice list. ``body`` is set when the list itself carries the text (feeds, APIs)."""

    notice_id: str
    url: str
    title: str
    published: date | None
    body: str | None = None
    #: The notice's own page, when the entry names one (None: a guid or API id without a URL).
    detail_url: str | None = None
    #: :func:`notice_id_for_url` of ``detail_url`` ("" without one): the notice's identity across sources.
    url_key: str = ""


_TRACKING = re.compile(r"^(utm_.*|spm|scm|from|source|_t|timestamp|t|fbclid|gclid|share_.*)$", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DEFAULT_PORT_TEXT = {scheme: str(port) for scheme, port in _DEFAULT_PORTS.items()}
#: http(s), a lower-case host without user, a port written plainly (taken when not the scheme's
#: default), a path not ending in "/", no query, no fragment.
_ALREADY_CANONICAL = re.compile(r"^(https?)://[a-z0-9.-]+(?::([1-9][0-9]{0,4}))?/[^?#\s]*(?<!/)$")
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")


def stable_id(key: str) -> str:
    """16 hex digits of sha1: short, stable across processes and versions."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def canonical_url(url: str) -> str:
    """The form of a URL that names one page however it was written: lower-case scheme and host,
    no default port, no trailing slash (but ``/`` for the root), no fragment, tracking parameters
    (``utm_*``, ``spm``, ``from``...) dropped and the rest sorted. Never raises."""
    plain = _ALREADY_CANONICAL.match(url)
    if plain and plain[2] != _DEFAULT_PORT_TEXT[plain[1]]:
        return url  # the common case, a plain lower-case URL with a path: nothing to change
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: keep the text as written
        port, host = None, parts.netloc.rpartition("@")[2].lower()
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if parts.username is not None:
        host = f"{parts.netloc.rpartition('@')[0]}@{host}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def _is_http(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")


def notice_id_for_url(url: str) -> str:
    return stable_id(canonical_url(url))


# ---------------------------------------------------------------- dates

_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


def parse_published(value: object, fmt: str | None = None) -> date | None:
    """A publication date from list/feed/API text; None when it cannot be read (never raises).

    Accepts ``fmt`` (strptime), ISO 8601, RFC 822 (RSS), ``2026-11-26``, ``2026/11/26``,
    ``2026年11月26日``, and epoch seconds or milliseconds. Times are taken in Asia/Shanghai.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, SHANGHAI).date()
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if not text:
        return None
    if fmt:
        try:
            return _local_date(datetime.strptime(text, fmt))
        except ValueError:
            pass
    try:
        return _local_date(datetime.fromisoformat(text))
    except ValueError:
        pass
    if re.match(r"^[A-Za-z]{3},|^\d{1,2} [A-Za-z]{3} \d{4}", text):
        try:
            return _local_date(parsedate_to_datetime(text))
        except (TypeError, ValueError, IndexError):
            pass
    if text.isdigit() and len(text) in (10, 13):
        return parse_published(int(text))
    m = _YMD.search(text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return None


def _local_date(dt: datetime) -> date:
    return dt.astimezone(SHANGHAI).date() if dt.tzinfo else dt.date()


# ---------------------------------------------------------------- HTML


def extract_html_list(
    html: str,
    base_url: str,
    *,
    item_selector: str,
    title_selector: str | None = None,
    link_selector: str | None = None,
    date_selector: str | None = None,
    date_format: str | None = None,
    container_selector: str | None = None,
) -> list[NoticeRef]:
    """Notices on a list page, in page order, de-duplicated by id, with absolute URLs.

    When ``item_selector`` matches nothing the list is empty if the page has the list's container
    (``container_selector``, else :func:`container_of` the item selector), and the layout changed
    otherwise: raises :class:`LayoutChanged` then, and when the items matched have no link at all.
    """
    container = container_selector or container_of(item_selector)
    try:
        page = read_list(html, item_selector=item_selector, title_selector=title_selector,
                         link_selector=link_selector, date_selector=date_selector, container_selector=container)
    except SelectorError as exc:
        raise LayoutChanged(str(exc)) from None
    if page.base_href:
        base_url = urljoin(base_url, page.base_href)
    if not page.rows:
        if page.container_found:
            return []
        where = f" and neither does its container {container!r}" if container else ""
        raise LayoutChanged(f"item selector {item_selector!r} matches nothing{where} on {base_url}")
    refs: list[NoticeRef] = []
    origin = _origin(base_url)
    for row in page.rows:
        href = (row.href or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        url = origin + href if origin and _ROOTED.match(href) else urljoin(base_url, href)
        title = row.title or row.link_title.strip()
        published = _published_text(row.date, date_format) if row.date is not None else None
        key = notice_id_for_url(url)
        refs.append(NoticeRef(key, url, title, published, detail_url=url, url_key=key))
    if not refs:
        raise LayoutChanged(f"{len(page.rows)} items match {item_selector!r} on {base_url} but none has a link")
    return _dedupe(refs)


#: A path from the host's root with no dot segment ("/a/../b") to resolve: joined by concatenation.
_ROOTED = re.compile(r"^(?!.*/\.\.?(?:/|$|[?#]))/(?!/)")


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL ("" for anything else)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


@lru_cache(maxsize=1024)
def _published_text(text: str, fmt: str | None) -> date | None:
    """:func:`parse_published` of a list's date text (a list repeats a few dates: cached)."""
    return parse_published(text, fmt)


def container_of(item_selector: str) -> str | None:
    """The item selector without its last step, when that step is a descendant or child of the
    rest (``ul.notices > li`` -> ``ul.notices``); None for a one-step selector, a selector list
    (``a, b``) or a last step that is a sibling (``+``, ``~``)."""
    depth, quote, cut, combinator = 0, "", -1, ""
    i, text = 0, item_selector.strip()
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and ch == ",":
            return None
        elif depth == 0 and (ch.isspace() or ch in ">+~"):
            j = i
            while j < len(text) and (text[j].isspace() or text[j] in ">+~"):
                j += 1
            combinator = text[i:j].strip() or " "
            cut = i
            i = j
            continue
        i += 1
    if cut < 0 or combinator not in (" ", ">"):
        return None
    return text[:cut].strip() or None


def _dedupe(refs: Iterable[NoticeRef]) -> list[NoticeRef]:
    seen: set[str] = set()
    out: list[NoticeRef] = []
    for ref in refs:
        if ref.notice_id not in seen:
            seen.add(ref.notice_id)
            out.append(ref)
    return out


def extract_body(html: str, selector: str | None = None) -> str:
    """The visible text of a detail page (or of the element ``selector`` picks, the first in page
    order), one line per block (:func:`~watcher.sources.html_text.fragment_text`).

    Scripts, styles and templates are dropped. Raises :class:`LayoutChanged` if ``selector``
    matches nothing or is malformed.
    """
    root = parse_html(html)
    if not selector:
        body = root.find("body")
        return fragment_text(root if body is None else body)
    path = compile_simple(selector, within=False)
    if path is False:  # a selector XPath does not take: soupsieve picks the element
        return _text_by_soup(html, selector)
    hits = path(root)
    if not hits:
        raise LayoutChanged(f"body selector {selector!r} matches nothing")
    return fragment_text(hits[0])


def _text_by_soup(html: str, selector: str) -> str:
    from bs4 import BeautifulSoup  # only for selectors the lxml reader does not take (memory)

    try:
        found = BeautifulSoup(html, "lxml").select_one(selector)
    except Exception as exc:  # soupsieve rejects a malformed selector
        raise LayoutChanged(f"bad body selector {selector!r}: {exc}") from None
    if found is None:
        raise LayoutChanged(f"body selector {selector!r} matches nothing")
    return html_fragment_text(str(found))


def html_fragment_text(html: str) -> str:
    """Text of an HTML fragment (a feed item's or an API's body) with line breaks at ``<br>`` and
    block elements."""
    return fragment_text(parse_html(html))


# ---------------------------------------------------------------- feeds

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


def _local(el: Any) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return str(etree.QName(tag).localname)


def _children(el: Any, name: str) -> Iterator[Any]:
    for child in el:
        if _local(child) == name:
            yield child


def _child_text(el: Any, *names: str) -> str:
    for name in names:
        for child in _children(el, name):
            text = "".join(child.itertext()).strip()
            if text:
                return text
    return ""


def extract_feed(xml_text: str, base_url: str) -> list[NoticeRef]:
    """Items of an RSS 2.0, RSS 1.0 (RDF) or Atom feed, with bodies as plain text.

    An empty feed gives an empty list. Raises :class:`InvalidInput` if the text is not XML and
    :class:`LayoutChanged` if it is XML but not a feed.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(_XML_DECL.sub("", xml_text, count=1).encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"feed is not XML: {exc}") from None
    if root is None:
        raise InvalidInput("feed is not XML (empty document)")
    kind = _local(root).lower()
    if kind == "feed":
        entries = list(_children(root, "entry"))
    elif kind in ("rss", "rdf"):
        channels = list(_children(root, "channel"))
        entries = list(_children(root, "item"))
        for channel in channels:
            entries += list(_children(channel, "item"))
    else:
        raise LayoutChanged(f"not an RSS or Atom feed (root element <{_local(root)}>) at {base_url}")
    refs = [ref for entry in entries if (ref := _feed_entry(entry, base_url, atom=kind == "feed"))]
    return _dedupe(refs)


def _feed_entry(entry: Any, base_url: str, *, atom: bool) -> NoticeRef | None:
    if atom:
        href = ""
        for link in _children(entry, "link"):
            if link.get("rel") in (None, "alternate") and link.get("href"):
                href = link.get("href")
                break
        guid = _child_text(entry, "id")
        permalink = _is_http(guid)  # an Atom id may be the entry's URL, or a tag: URI
        date_text = _child_text(entry, "published", "updated")
        body_html = _child_text(entry, "content", "summary")
    else:
        href = _child_text(entry, "link")
        guid = _child_text(entry, "guid")
        # RSS 2.0: a guid is the item's permanent URL unless isPermaLink="false".
        guid_el = next(_children(entry, "guid"), None)
        permalink = (guid_el is None or str(guid_el.get("isPermaLink", "true")).lower() != "false") and _is_http(guid)
        date_text = _child_text(entry, "pubDate", "date", "published", "updated")
        body_html = _child_text(entry, "encoded", "description")
    url = urljoin(base_url, href) if href else ""
    if not url and not guid:
        return None
    notice_id = stable_id("guid:" + guid) if guid else notice_id_for_url(url)
    detail = url if _is_http(url) else (guid if permalink else None)
    title = _SPACES.sub(" ", _child_text(entry, "title")).strip()
    body = html_fragment_text(body_html) if body_html else None
    return NoticeRef(notice_id, url or detail or guid, title, parse_published(date_text), body, detail_url=detail,
                     url_key=notice_id_for_url(detail) if detail else "")


# ---------------------------------------------------------------- JSON


def json_path(doc: Any, path: str) -> Any:
    """Follow a dotted path (``data.list``, ``items.0.title``); ``''`` is the document.

    Raises ``KeyError`` naming the first missing segment.
    """
    node = doc
    if not path:
        return node
    for seg in path.split("."):
        if isinstance(node, dict) and seg in node:
            node = node[seg]
        elif isinstance(node, list) and seg.lstrip("-").isdigit() and -len(node) <= int(seg) < len(node):
            node = node[int(seg)]
        else:
            raise KeyError(seg)
    return node


def _opt_path(doc: Any, path: str | None) -> Any:
    if not path:
        return None
    try:
        return json_path(doc, path)
    except KeyError:
        return None


def extract_json(
    text: str,
    base_url: str,
    *,
    items_path: str,
    id_field: str | None,
    title_field: str,
    url_field: str,
    date_field: str | None,
    date_format: str | None = None,
    body_field: str | None = None,
) -> list[NoticeRef]:
    """Notices from a JSON API. Raises :class:`InvalidInput` if the text is not JSON and
    :class:`LayoutChanged` if ``items_path`` is missing or not a list."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"not JSON: {exc}") from None
    try:
        items = json_path(doc, items_path)
    except KeyError as exc:
        raise LayoutChanged(f"items path {items_path!r} not found (missing {exc.args[0]!r}) at {base_url}") from None
    if not isinstance(items, list):
        raise LayoutChanged(f"items path {items_path!r} is a {type(items).__name__}, not a list, at {base_url}")
    host = urlsplit(base_url).netloc.lower()
    refs: list[NoticeRef] = []
    for item in items:
        raw_url = _opt_path(item, url_field)
        raw_id = _opt_path(item, id_field)
        url = urljoin(base_url, str(raw_url)) if isinstance(raw_url, str) and raw_url.strip() else ""
        if raw_id is not None and not isinstance(raw_id, dict | list):
            notice_id = stable_id(f"json:{host}:{raw_id}")
        elif url:
            notice_id = notice_id_for_url(url)
        else:
            continue
        title = _opt_path(item, title_field)
        body = _opt_path(item, body_field)
        refs.append(
            NoticeRef(
                notice_id=notice_id,
                url=url or base_url,
                title=_SPACES.sub(" ", str(title)).strip() if title is not None else "",
                published=parse_published(_opt_path(item, date_field), date_format),
                body=html_fragment_text(body) if isinstance(body, str) and body.strip() else None,
                detail_url=url if _is_http(url) else None,
                url_key=notice_id_for_url(url) if _is_http(url) else "",
            )
        )
    if items and not refs:
        raise LayoutChanged(f"{len(items)} items at {items_path!r} but none has an id or url at {base_url}")
    return _dedupe(refs)
