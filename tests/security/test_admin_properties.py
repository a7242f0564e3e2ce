"""Property: no input makes an admin endpoint answer 5xx (hypothesis, against the running daemon).

Every route of the admin server gets arbitrary path values, query strings, headers and bodies
(random bytes, arbitrary JSON, deep nesting); the payment-results endpoint also gets them correctly
signed, so they reach the parser. The answer may be any 2xx/3xx/4xx, never a 5xx.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huabei_watch.signing import signed_headers
from tests.security.daemon import OPS, SECRET, Daemon, running

pytestmark = pytest.mark.slow

ROUTES = [
    ("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/status"), ("GET", "/v1/merchants/{id}/pay-channels"),
    ("GET", "/v1/pay-channels/changes"), ("POST", "/v1/merchants/{id}/force-on"), ("GET", "/v1/incidents"),
    ("POST", "/v1/incidents"), ("POST", "/v1/incidents/{id}/resolve"), ("POST", "/v1/incidents/{id}/silence"),
    ("POST", "/v1/payment-results"), ("GET", "/v1/diagnose"),
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
known_keys = st.sampled_from(["title", "summary_zh", "kind", "merchants", "channels", "starts_at", "ends_at", "until",
                              "for", "incident_id", "by", "merchant_id", "results", "toggle", "advice_zh"])
objects = st.dictionaries(known_keys | st.text(max_size=10), json_values, max_size=8)
bodies = st.one_of(
    st.binary(max_size=300),
    objects.map(lambda o: json.dumps(o).encode()),
    json_values.map(lambda o: json.dumps(o).encode()),
    st.integers(min_value=30, max_value=5000).map(lambda n: b"[" * n + b"]" * (n // 2)),
    st.integers(min_value=30, max_value=3000).map(lambda n: b'{"a":' * n),
)
path_values = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=40)
queries = st.dictionaries(
    st.sampled_from(["since", "limit", "all", "page", "q", "code", "sub_code", "merchant_id", "transport_error"])
    | st.text(max_size=8),
    st.text(max_size=40) | st.integers().map(str),
    max_size=4,
)


@pytest.fixture(scope="module")
async def daemon(tmp_path_factory: pytest.TempPathFactory, python_exe: str) -> AsyncIterator[Daemon]:
    async with running(tmp_path_factory.mktemp("properties"), python_exe) as d:
        yield d


def request(d: Daemon, method: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=20)
    try:
        conn.request(method, path, body=body if method == "POST" else None, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(route=st.sampled_from(ROUTES), value=path_values, query=queries, body=bodies,
       auth=st.sampled_from(["ops", "merchant", "none", "junk"]), sign=st.booleans(),
       content_type=st.sampled_from(["application/json", "text/plain", "", "application/json; charset=gbk"]))
def test_no_admin_endpoint_answers_5xx_to_bad_input(
    daemon: Daemon, route: tuple[str, str], value: str, query: dict[str, str], body: bytes, auth: str, sign: bool,
    content_type: str,
) -> None:
    method, template = route
    path = template.replace("{id}", quote(value, safe=""))
    if query:
        path += "?" + urlencode(query)
    headers: dict[str, Any] = {"Authorization": {"ops": f"Bearer {OPS}", "merchant": "Bearer tok-m1", "none": "",
                                                 "junk": "Bearer \u00ff"}[auth].encode("latin-1").decode("latin-1")}
    if content_type:
        headers["Content-Type"] = content_type
    if sign and template == "/v1/payment-results":
        headers.update(signed_headers("m1", SECRET, body, datetime.now(UTC)))
    status = request(daemon, method, path, body, {k: v for k, v in headers.items() if v})
    assert status < 500, (method, path, body[:200], status)
