"""Turning fetched bytes into text: charset detection for Chinese web pages (pure).

Order: a configured override, the HTTP ``Content-Type`` charset, a ``<meta charset>`` /
``<meta http-equiv ... charset=>`` / XML declaration, a byte-order mark, then UTF-8 and GB18030
tried strictly. GBK and GB2312 labels are read as GB18030 (a superset: pages labelled GB2312
routinely contain GBK-only characters).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from huabei_watch.errors import InvalidInput

_GB_ALIASES = frozenset({"gbk", "gb2312", "gb_2312", "gb_2312-80", "x-gbk", "cp936", "ms936", "euc-cn", "csgb2312"})
_META_RE = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)
_XML_DECL_RE = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9_.:-]{1,40})[\"']", re.IGNORECASE)
_HEADER_RE = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: A declared charset whose strict decoding fails is still used if at most this share of the
#: characters had to be replaced (a truncated multi-byte character, one bad byte).
_MAX_REPLACED_SHARE = 0.005


@dataclass(frozen=True, slots=True)
class Decoded:
    """Decoded text (a leading BOM removed: JSON parsers reject it), the codec used, and why."""

    text: str
    encoding: str
    how: str  # override | header | meta | bom | guess | lenient

    def __post_init__(self) -> None:
        if self.text.startswith("\ufeff"):
            object.__setattr__(self, "text", self.text[1:])


def normalize_label(label: str) -> str | None:
    """A Python codec name for a charset label, or None if unknown. GBK/GB2312 -> gb18030."""
    name = label.strip().strip("\"'").lower()
    if name in _GB_ALIASES:
        return "gb18030"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    m = _HEADER_RE.search(content_type)
    return m.group(1) if m else None


def declared_charset(body: bytes) -> str | None:
    """The charset a page declares about itself (meta tag or XML declaration), from its first 4 KB."""
    head = body[:4096]
    m = _XML_DECL_RE.search(head) or _META_RE.search(head)
    return m.group(1).decode("ascii") if m else None


def _bom(body: bytes) -> str | None:
    for mark, name in _BOMS:
        if body.startswith(mark):
            return name
    return None


def decode_body(body: bytes, *, content_type: str | None = None, override: str | None = None) -> Decoded:
    """Decode a page. Raises :class:`InvalidInput` (naming what was tried) if nothing fits."""
    if override:
        name = normalize_label(override)
        if name is None:
            raise InvalidInput(f"unknown encoding {override!r} configured")
        text = body.decode(name, errors="replace")
        if _replaced_share(text) > _MAX_REPLACED_SHARE:
            raise InvalidInput(f"page does not decode as the configured encoding {override!r}")
        return Decoded(text, name, "override")

    candidates: list[tuple[str, str]] = []
    for how, label in (("header", header_charset(content_type)), ("meta", declared_charset(body))):
        if label and (name := normalize_label(label)):
            candidates.append((how, name))
    if bom := _bom(body):
        candidates.append(("bom", bom))
    candidates += [("guess", "utf-8"), ("guess", "gb18030")]

    tried: list[str] = []
    for how, name in candidates:
        if name in tried:
            continue
        tried.append(name)
        try:
            return Decoded(body.decode(name), name, how)
        except UnicodeDecodeError:
            continue
    for how, name in candidates[:2]:
        if how in ("header", "meta"):
            text = body.decode(name, errors="replace")
            if _replaced_share(text) <= _MAX_REPLACED_SHARE:
                return Decoded(text, name, "lenient")
    raise InvalidInput(f"undecodable page: not valid {', '.join(tried)} ({len(body)} bytes)")


def _replaced_share(text: str) -> float:
    return text.count("\ufffd") / max(len(text), 1)
