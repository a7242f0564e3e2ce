"""Annotated notice corpora (``tests/notices/corpus/*.jsonl``): reading and validating them.

The format is shared by the development and the blind set: one JSON object per line with ``id``,
``category``, ``published`` (YYYY-MM-DD), ``title``, ``text``, ``kind`` and ``windows`` (``start``,
``end`` as "YYYY-MM-DD HH:MM" Beijing time, ``end`` may be null, ``status``). Other fields
(``script``, ``products``, ``huabei_affected``, ``pay_channels``, ``source``, ``notes``) are kept
when present. Pure: the caller reads the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from watcher.notices.model import KINDS, Kind

STATUSES = ("scheduled", "cancelled", "postponed")


class CorpusError(ValueError):
    """A corpus line is not in the documented format; the message names the line and the field."""


@dataclass(frozen=True, slots=True)
class GoldWindow:
    """An annotated window: naive Beijing-time minutes (``end`` None when the notice gives none)."""

    start: datetime
    end: datetime | None
    status: str = "scheduled"
    products: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GoldNotice:
    """One annotated notice."""

    id: str
    category: str
    published: date
    title: str
    text: str
    kind: Kind
    windows: tuple[GoldWindow, ...] = ()
    huabei_affected: bool = False
    pay_channels: tuple[str, ...] = ()
    script: str = "simplified"


def _when(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise CorpusError(f"{where}: expected 'YYYY-MM-DD HH:MM', got {value!r}")
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M")
    except ValueError:
        raise CorpusError(f"{where}: expected 'YYYY-MM-DD HH:MM', got {value!r}") from None


def _window(raw: Any, where: str) -> GoldWindow:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: a window must be an object")
    end = raw.get("end")
    status = raw.get("status", "scheduled")
    if status not in STATUSES:
        raise CorpusError(f"{where}: status must be one of {', '.join(STATUSES)}, got {status!r}")
    products = raw.get("products", [])
    if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
        raise CorpusError(f"{where}: products must be a list of strings")
    return GoldWindow(
        start=_when(raw.get("start"), f"{where}.start"),
        end=None if end is None else _when(end, f"{where}.end"),
        status=status,
        products=tuple(products),
    )


def parse_line(line: str, lineno: int) -> GoldNotice:
    """One corpus line as a :class:`GoldNotice`; raises :class:`CorpusError` naming the problem."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"line {lineno}: not JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise CorpusError(f"line {lineno}: expected a JSON object")
    where = f"line {lineno} ({raw.get('id', '?')})"
    for key in ("id", "category", "published", "text", "kind"):
        if not isinstance(raw.get(key), str):
            raise CorpusError(f"{where}: field {key!r} missing or not a string")
    if raw["kind"] not in KINDS:
        raise CorpusError(f"{where}: kind must be one of {', '.join(KINDS)}, got {raw['kind']!r}")
    try:
        published = date.fromisoformat(raw["published"])
    except ValueError:
        raise CorpusError(f"{where}: published must be YYYY-MM-DD, got {raw['published']!r}") from None
    windows = raw.get("windows", [])
    if not isinstance(windows, list):
        raise CorpusError(f"{where}: windows must be a list")
    channels = raw.get("pay_channels", [])
    return GoldNotice(
        id=raw["id"],
        category=raw["category"],
        published=published,
        title=str(raw.get("title") or ""),
        text=raw["text"],
        kind=raw["kind"],
        windows=tuple(_window(w, f"{where} window {i + 1}") for i, w in enumerate(windows)),
        huabei_affected=bool(raw.get("huabei_affected", False)),
        pay_channels=tuple(c for c in channels if isinstance(c, str)) if isinstance(channels, list) else (),
        script=str(raw.get("script") or "simplified"),
    )


def parse_corpus(lines: Iterable[str]) -> list[GoldNotice]:
    """Every notice in a JSONL corpus (blank lines skipped). Raises :class:`CorpusError` on the first
    bad line or a repeated id."""
    out: list[GoldNotice] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        notice = parse_line(line, lineno)
        if notice.id in seen:
            raise CorpusError(f"line {lineno}: id {notice.id!r} repeated")
        seen.add(notice.id)
        out.append(notice)
    return out
