"""Pure HTTP conditions: JSON paths, JSON equality, certificate days, the combined verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from watcher.sources.probe_conditions import (
    MISSING,
    HttpFacts,
    certificate_problem,
    days_left,
    http_problems,
    json_equals,
    json_lookup,
    parse_json_path,
)
from watcher.sources.probe_config import HttpProbe, load_probes

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("status", ("status",)),
        ("$.status", ("status",)),
        ("$status", ("status",)),
        ("data.items[0].state", ("data", "items", 0, "state")),
        ("[1]", (1,)),
        ("matrix[0][2]", ("matrix", 0, 2)),
        ("a.b.c", ("a", "b", "c")),
        ("服务.状态", ("服务", "状态")),
    ],
)
def test_json_path_parses(path: str, parts: tuple[Any, ...]) -> None:
    assert parse_json_path(path) == parts


@pytest.mark.parametrize("path", ["", "$", "$.", "a..b", "a.", "a[x]", "a[0", "a]b", "a[-1]"])
def test_malformed_json_path_is_refused(path: str) -> None:
    with pytest.raises(ValueError):
        parse_json_path(path)


DOC = {"status": "ok", "data": {"items": [{"state": "up"}, {"state": None}], "n": 3}, "flag": True}


@pytest.mark.parametrize(
    ("path", "found", "value"),
    [
        ("status", True, "ok"),
        ("data.items[0].state", True, "up"),
        ("data.items[1].state", True, None),
        ("data.items[2].state", False, None),
        ("data.n", True, 3),
        ("data.n.x", False, None),
        ("status[0]", False, None),
        ("missing", False, None),
        ("flag", True, True),
    ],
)
def test_json_lookup_finds_values_and_reports_missing(path: str, found: bool, value: object) -> None:
    result = json_lookup(DOC, parse_json_path(path))
    assert (result is not MISSING) is found
    if found:
        assert result == value


@pytest.mark.parametrize(
    ("value", "expected", "equal"),
    [
        ("ok", "ok", True),
        ("OK", "ok", False),
        (1, 1, True),
        (1, 1.0, True),
        (True, 1, False),
        (1, True, False),
        (True, True, True),
        (False, False, True),
        ("1", 1, False),
        (None, "null", False),
        ([1], 1, False),
    ],
)
def test_json_equality_does_not_confuse_types(value: object, expected: object, equal: bool) -> None:
    assert json_equals(value, expected) is equal


@pytest.mark.parametrize(
    ("left", "days"),
    [
        (timedelta(days=3), 3),
        (timedelta(days=3) - timedelta(seconds=1), 2),
        (timedelta(days=2, hours=23), 2),
        (timedelta(hours=23), 0),
        (timedelta(days=30), 30),
    ],
)
def test_days_left_floors(left: timedelta, days: int) -> None:
    assert days_left(NOW + left, NOW) == days


@pytest.mark.parametrize(
    ("left", "min_days", "problem"),
    [
        (timedelta(days=2, hours=23), 7, "certificate expires in 2 days"),
        (timedelta(days=1, hours=1), 7, "certificate expires in 1 day"),
        (timedelta(hours=5), 1, "certificate expires in less than a day"),
        (timedelta(days=7), 7, None),
        (timedelta(days=90), 14, None),
        (timedelta(hours=5), 0, None),
        (-timedelta(days=1), 0, "certificate expired on 2026-11-25"),
    ],
)
def test_certificate_problem(left: timedelta, min_days: int, problem: str | None) -> None:
    assert certificate_problem(NOW + left, NOW, min_days) == problem


def _probe(**keys: Any) -> HttpProbe:
    (probe,) = load_probes([{"kind": "http", "id": "p", "url": "https://127.0.0.1/health", **keys}])
    assert isinstance(probe, HttpProbe)
    return probe


@pytest.mark.parametrize(
    ("keys", "facts", "problems"),
    [
        ({}, HttpFacts(status=200, latency_ms=5), []),
        ({}, HttpFacts(status=503, latency_ms=5), ["status 503, expected 200-299"]),
        ({"expected_status": [200, "3xx"]}, HttpFacts(status=302, latency_ms=5), []),
        ({"expected_status": [200, "3xx"]}, HttpFacts(status=404, latency_ms=5), ["status 404, expected 200, 300-399"]),
        ({"max_latency_ms": 100}, HttpFacts(status=200, latency_ms=100), []),
        ({"max_latency_ms": 100}, HttpFacts(status=200, latency_ms=250.4), ["latency 250 ms over 100 ms"]),
        ({"json_path": "status", "json_expected": "ok"}, HttpFacts(status=200, latency_ms=1, body=b'{"status":"ok"}'), []),
        (
            {"json_path": "status", "json_expected": "ok"},
            HttpFacts(status=200, latency_ms=1, body='{"status":"维护中"}'.encode()),
            ['JSON status is "维护中", expected "ok"'],
        ),
        ({"json_path": "status"}, HttpFacts(status=200, latency_ms=1, body=b'{"state":"ok"}'), ["JSON path status not found"]),
        ({"json_path": "status"}, HttpFacts(status=200, latency_ms=1, body=b"<html>"), ["body is not JSON"]),
        (
            {"json_path": "status"},
            HttpFacts(status=200, latency_ms=1, body=b"{}", body_truncated=True),
            ["body too large to parse as JSON (2 bytes read)"],
        ),
        ({"body_regex": "健康|ok"}, HttpFacts(status=200, latency_ms=1, body="系统健康".encode()), []),
        ({"body_regex": "^ok$"}, HttpFacts(status=200, latency_ms=1, body=b"not ok"), ["body does not match /^ok$/"]),
        ({"body_regex": "ok"}, HttpFacts(status=200, latency_ms=1, body=b"ok", charset="no-such-charset"), []),
        ({"min_cert_days": 7}, HttpFacts(status=200, latency_ms=1), ["no TLS certificate to check"]),
        (
            {"min_cert_days": 7, "max_latency_ms": 10},
            HttpFacts(status=500, latency_ms=20, cert_not_after=NOW + timedelta(days=2, hours=1)),
            ["status 500, expected 200-299", "latency 20 ms over 10 ms", "certificate expires in 2 days"],
        ),
    ],
)
def test_http_problems_lists_every_failed_condition(keys: dict[str, Any], facts: HttpFacts, problems: list[str]) -> None:
    assert http_problems(_probe(**keys), facts, NOW) == problems
