"""Probe configuration: what TOML is accepted, and how mistakes are reported."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from huabei_watch.errors import ConfigError
from huabei_watch.events.common import HUABEI_CHANNELS, Scope
from watcher.sources.probe_config import DnsProbe, HttpProbe, StatusRange, TcpProbe, load_probes

FULL_TOML = """
[[probes]]
kind = "http"
id = "alipay-gateway"
url = "https://openapi.example.com/gateway.do?x=1"
method = "post"
headers = { Accept = "application/json" }
secret_headers = { Authorization = "Bearer s3cret" }
body = '{"ping": true}'
interval = 30
timeout = 5
failure_threshold = 3
success_threshold = 2
expected_status = ["200-299", 304, "4xx"]
max_latency_ms = 2000
json_path = "data.items[0].state"
json_expected = "ok"
body_regex = "ok|fine"
min_cert_days = 14
verify_tls = false
jitter = 3

[[probes]]
kind = "tcp"
id = "merchant-m1-cashier"
host = "10.0.0.8"
port = 443
scope = ["m2", "m1", "m1"]
channels = ["pcredit"]

[[probes]]
kind = "dns"
id = "gateway-dns"
name = "openapi.example.com"
record_type = "AAAA"
expected_addresses = ["2001:db8::1"]
"""


def test_full_toml_loads_into_typed_probes() -> None:
    http, tcp, dns = load_probes(tomllib.loads(FULL_TOML)["probes"])
    assert isinstance(http, HttpProbe) and isinstance(tcp, TcpProbe) and isinstance(dns, DnsProbe)
    assert http.method == "POST"
    assert http.expected_status == (
        StatusRange(low=200, high=299), StatusRange(low=304, high=304), StatusRange(low=400, high=499)
    )
    assert http.secret_headers["Authorization"].get_secret_value() == "Bearer s3cret"
    assert "s3cret" not in repr(http)
    assert http.scope_value() == Scope.platform()
    assert http.channels == HUABEI_CHANNELS
    assert tcp.scope_value() == Scope.merchants("m1", "m2")
    assert tcp.target() == "10.0.0.8:443"
    assert tcp.channels == ("pcredit",)
    assert dns.expected_addresses == ("2001:db8::1",)
    assert dns.target() == "openapi.example.com"


def test_defaults_are_sane_for_a_minimal_probe() -> None:
    (probe,) = load_probes([{"kind": "http", "id": "p", "url": "http://127.0.0.1/health"}])
    assert isinstance(probe, HttpProbe)
    assert (probe.interval, probe.timeout, probe.failure_threshold, probe.success_threshold) == (30.0, 5.0, 3, 2)
    assert probe.expected_status == (StatusRange(low=200, high=299),)
    assert probe.verify_tls is True and probe.jitter == 0.0


def test_target_never_shows_credentials_from_the_url() -> None:
    (probe,) = load_probes([{"kind": "http", "id": "p", "url": "https://user:pw@example.com:8443/h?q=1"}])
    assert probe.target() == "https://example.com:8443/h?q=1"


HTTP = {"kind": "http", "id": "p", "url": "https://127.0.0.1/health"}


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({**HTTP, "interval": 0}, "probes[0].interval: must be >= 1 s"),
        ({**HTTP, "timeout": 0}, "probes[0].timeout: must be > 0 s"),
        ({**HTTP, "interval": 10, "timeout": 10}, "probes[0].timeout: must be below interval (10 s)"),
        ({**HTTP, "interval": 10, "timeout": 1, "jitter": 12}, "probes[0].jitter: must be below interval (10 s)"),
        ({**HTTP, "jitter": -1}, "probes[0].jitter: must be >= 0 s"),
        ({**HTTP, "failure_threshold": 0}, "probes[0].failure_threshold: must be >= 1"),
        ({**HTTP, "success_threshold": 0}, "probes[0].success_threshold: must be >= 1"),
        ({**HTTP, "max_latency_ms": 0}, "probes[0].max_latency_ms: must be > 0 ms"),
        ({**HTTP, "min_cert_days": -1}, "probes[0].min_cert_days: must be >= 0 days"),
        ({**HTTP, "intervall": 5}, "probes[0].intervall: unknown key (check the spelling)"),
        ({**HTTP, "id": "Bad Id"}, "probes[0].id: must be 1-64 of letters, digits, '.', '_', ':' or '-', starting with a letter or digit"),
        ({**HTTP, "id": "-gw"}, "probes[0].id: must be 1-64 of letters, digits, '.', '_', ':' or '-', starting with a letter or digit"),
        ({**HTTP, "scope": "m1"}, 'probes[0].scope: must be "platform" or a list of merchant ids'),
        ({**HTTP, "scope": 3}, 'probes[0].scope: must be "platform" or a list of merchant ids'),
        ({**HTTP, "scope": []}, 'probes[0].scope: an empty merchant list probes for nobody: use "platform" or list merchant ids'),
        ({**HTTP, "channels": []}, 'probes[0].channels: needs at least one channel, e.g. "pcredit"'),
        ({**HTTP, "channels": ["pcredit", "花呗"]}, "probes[0].channels: '花呗' is not a pay channel code like \"pcredit\""),
        ({**HTTP, "url": "ftp://example.com/"}, "probes[0].url: must be an absolute http:// or https:// URL"),
        ({**HTTP, "url": "/health"}, "probes[0].url: must be an absolute http:// or https:// URL"),
        ({**HTTP, "method": "FETCH"}, "probes[0].method: must be one of 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE' or 'OPTIONS'"),
        ({**HTTP, "expected_status": "abc"}, "probes[0].expected_status: 'abc' is not a status: use 200, \"200-299\" or \"2xx\""),
        ({**HTTP, "expected_status": []}, "probes[0].expected_status: needs at least one status"),
        ({**HTTP, "expected_status": ["299-200"]}, "probes[0].expected_status[0]: status range 299-200 is empty"),
        ({**HTTP, "expected_status": [700]}, "probes[0].expected_status: 700 is not an HTTP status (100-599)"),
        ({**HTTP, "json_path": "data..state"}, "probes[0].json_path: bad JSON path segment '' in 'data..state': use names and [n], e.g. data.items[0].state"),
        ({**HTTP, "json_expected": "ok"}, "probes[0].json_expected: needs json_path"),
        ({**HTTP, "body_regex": "(unclosed"}, "probes[0].body_regex: not a valid regular expression: missing ), unterminated subpattern at position 0"),
        ({**HTTP, "url": "http://127.0.0.1/", "min_cert_days": 7}, "probes[0].min_cert_days: needs an https:// url"),
        ({**HTTP, "headers": {"Bad Name": "x"}}, "probes[0].headers: 'Bad Name' is not a valid header name"),
        ({"kind": "icmp", "id": "p"}, "probes[0]: unknown kind 'icmp': use one of http, tcp, dns"),
        ({"id": "p"}, "probes[0]: needs a kind: one of http, tcp, dns"),
        ({"kind": "http", "id": "p"}, "probes[0].url: is required"),
        ({"kind": "tcp", "id": "p", "host": "127.0.0.1", "port": 70000}, "probes[0].port: must be <= 65535"),
        ({"kind": "tcp", "id": "p", "host": "", "port": 80}, "probes[0].host: must not be empty"),
        ({"kind": "dns", "id": "p", "name": "x", "record_type": "MX"}, "probes[0].record_type: must be one of 'A' or 'AAAA'"),
        ({"kind": "dns", "id": "p", "name": "x", "expected_addresses": ["::1"]}, "probes[0].expected_addresses: ::1 is not an IPv4 address (record_type is A)"),
        ({"kind": "dns", "id": "p", "name": "x", "expected_addresses": ["nope"]}, "probes[0].expected_addresses: 'nope' is not an IP address"),
        ({"kind": "dns", "id": "p", "name": "x", "resolver": "8.8.8.8"}, "probes[0].resolver: must be one of 'system'"),
    ],
)
def test_invalid_entry_reports_key_path_and_reason(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_probes([entry])
    assert info.value.problems == [problem]


def test_problem_index_points_at_the_offending_entry_and_lists_all_problems() -> None:
    entries: list[dict[str, Any]] = [
        {"kind": "tcp", "id": "a", "host": "127.0.0.1", "port": 1},
        {"kind": "dns", "id": "b", "name": "localhost"},
        {"kind": "http", "id": "c", "url": "http://127.0.0.1/", "interval": 0.5, "failure_threshold": 0},
    ]
    with pytest.raises(ConfigError) as info:
        load_probes(entries, path="/etc/huabei-watch.toml")
    assert info.value.problems == ["probes[2].interval: must be >= 1 s", "probes[2].failure_threshold: must be >= 1"]
    assert "/etc/huabei-watch.toml" in str(info.value)


def test_probe_ids_take_upper_case_like_source_and_merchant_ids() -> None:
    from watcher.sources.announce_config import HtmlSource

    ids = ["Alipay-GW", "alipay-gw", "GW.v2:primary"]
    probes = load_probes([{"kind": "tcp", "id": i, "host": "127.0.0.1", "port": 1} for i in ids])
    assert [p.id for p in probes] == ids, "case-sensitive: two ids differing in case are two probes"
    for i in ids:
        assert HtmlSource(id=i, list_url="https://example.com/", item_selector="li").id == i


def test_duplicate_probe_ids_are_rejected() -> None:
    entries = [{"kind": "tcp", "id": "a", "host": "127.0.0.1", "port": 1}] * 2
    with pytest.raises(ConfigError) as info:
        load_probes(entries)
    assert info.value.problems == ["probes: probe id 'a' is used twice"]


def test_probe_models_are_frozen() -> None:
    (probe,) = load_probes([{"kind": "tcp", "id": "a", "host": "127.0.0.1", "port": 1}])
    assert isinstance(probe, TcpProbe)
    with pytest.raises(ValueError, match="frozen"):
        probe.port = 2  # type: ignore[misc]  # assigning a frozen field, on purpose
