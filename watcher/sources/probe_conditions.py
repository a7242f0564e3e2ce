"""Pure checks of one HTTP probe result against its conditions.

The I/O shell (:mod:`watcher.sources.probes`) gathers the facts (status, latency, body, the peer
certificate's expiry); this module says which conditions failed, as short details for a person.
Nothing here raises on bad input from the probed server: a malformed body is a failed condition.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watcher.sources.probe_config import HttpProbe, StatusRange

PathPart = str | int
_SEGMENT_RE = re.compile(r"^([^.\[\]]*)((?:\[\d+\])*)$")
_INDEX_RE = re.compile(r"\[(\d+)\]")
_SHOW = 80


def parse_json_path(path: str) -> tuple[PathPart, ...]:
    """``"data.items[0].state"`` -> ``("data", "items", 0, "state")``. A leading ``$`` or ``$.`` is allowed.

    Raises ValueError (with the reason) on an empty path or an empty / malformed segment.
    """
    text = path.strip()
    if text.startswith("$"):
        text = text[1:].removeprefix(".")
    if not text:
        raise ValueError("the JSON path is empty")
    parts: list[PathPart] = []
    for segment in text.split("."):
        m = _SEGMENT_RE.match(segment)
        if m is None or (not m.group(1) and not m.group(2)):
            raise ValueError(f"bad JSON path segment {segment!r} in {path!r}: use names and [n], e.g. data.items[0].state")
        if m.group(1):
            parts.append(m.group(1))
        parts.extend(int(i) for i in _INDEX_RE.findall(m.group(2)))
    return tuple(parts)


MISSING = object()


def json_lookup(doc: object, path: Sequence[PathPart]) -> object:
    """The value at ``path`` in a decoded JSON document, or :data:`MISSING`."""
    node = doc
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return MISSING
            node = node[part]
        else:
            if not isinstance(node, dict) or part not in node:
                return MISSING
            node = node[part]
    return node


def json_equals(value: object, expected: object) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` equals ``1.0``, strings compare exactly."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value is expected
    if isinstance(value, int | float) and isinstance(expected, int | float):
        return value == expected
    return type(value) is type(expected) and value == expected


def status_matches(status: int, ranges: Sequence[StatusRange]) -> bool:
    return any(status in r for r in ranges)


def days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until ``not_after`` (floored): 2 days 23 hours left is 2."""
    return math.floor((not_after - now).total_seconds() / 86_400)


def certificate_problem(not_after: datetime, now: datetime, min_days: int) -> str | None:
    """None if the certificate stays valid for at least ``min_days`` days, else why not."""
    if not_after <= now:
        return f"certificate expired on {not_after.date().isoformat()}"
    left = days_left(not_after, now)
    if left >= min_days:
        return None
    if left == 0:
        return "certificate expires in less than a day"
    return f"certificate expires in {left} day{'s' if left != 1 else ''}"


@dataclass(frozen=True, slots=True)
class HttpFacts:
    """What one HTTP exchange produced. ``body`` is None when no condition needed it."""

    status: int
    latency_ms: float
    body: bytes | None = None
    body_truncated: bool = False
    charset: str | None = None
    cert_not_after: datetime | None = None
    cert_error: str | None = None


def http_problems(probe: HttpProbe, facts: HttpFacts, now: datetime) -> list[str]:
    """Every failed condition of ``probe``, in a fixed order; an empty list means success."""
    problems: list[str] = []
    if not status_matches(facts.status, probe.expected_status):
        wanted = ", ".join(r.label() for r in probe.expected_status)
        problems.append(f"status {facts.status}, expected {wanted}")
    if probe.max_latency_ms is not None and facts.latency_ms > probe.max_latency_ms:
        problems.append(f"latency {facts.latency_ms:.0f} ms over {probe.max_latency_ms:g} ms")
    if probe.json_path is not None:
        problem = _json_problem(probe, facts)
        if problem:
            problems.append(problem)
    if probe.body_regex is not None:
        text = _text(facts)
        if text is None or re.search(probe.body_regex, text) is None:
            problems.append(f"body does not match /{_short(probe.body_regex)}/")
    if probe.min_cert_days is not None:
        if facts.cert_not_after is None:
            problems.append(facts.cert_error or "no TLS certificate to check")
        else:
            problem = certificate_problem(facts.cert_not_after, now, probe.min_cert_days)
            if problem:
                problems.append(problem)
    return problems


def _json_problem(probe: HttpProbe, facts: HttpFacts) -> str | None:
    assert probe.json_path is not None
    if facts.body is None:
        return "no body"
    if facts.body_truncated:
        return f"body too large to parse as JSON ({len(facts.body)} bytes read)"
    try:
        doc = json.loads(facts.body)
    except (ValueError, UnicodeDecodeError):
        return "body is not JSON"
    value = json_lookup(doc, parse_json_path(probe.json_path))
    if value is MISSING:
        return f"JSON path {probe.json_path} not found"
    if probe.json_expected is not None and not json_equals(value, probe.json_expected):
        return f"JSON {probe.json_path} is {_short(json.dumps(value, ensure_ascii=False))}, expected {_short(json.dumps(probe.json_expected, ensure_ascii=False))}"
    return None


def _text(facts: HttpFacts) -> str | None:
    if facts.body is None:
        return None
    try:
        return facts.body.decode(facts.charset or "utf-8", errors="replace")
    except LookupError:  # unknown charset label from the server
        return facts.body.decode("utf-8", errors="replace")


def _short(text: str) -> str:
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"
