"""The checkers against real loopback servers: every failure is an observation, never an exception."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from huabei_watch.clock import ManualClock
from watcher.sources.probe_config import DnsProbe, HttpProbe, TcpProbe, load_probes
from watcher.sources.probes import MAX_BODY_BYTES, check_dns, check_http, check_tcp

Serve = Callable[..., Awaitable[tuple[Any, str]]]


def http_probe(url: str, **keys: Any) -> HttpProbe:
    (probe,) = load_probes([{"kind": "http", "id": "p", "url": url, "interval": 10, "timeout": 2, **keys}])
    assert isinstance(probe, HttpProbe)
    return probe


async def test_healthy_endpoint_is_ok(serve: Serve, session: aiohttp.ClientSession, clock: ManualClock) -> None:
    _endpoint, url = await serve()
    obs = await check_http(http_probe(url), session, clock)
    assert (obs.ok, obs.detail, obs.at) == (True, "status 200", clock.now())


async def test_server_error_is_a_failure_with_the_status(serve: Serve, session: aiohttp.ClientSession, clock: ManualClock) -> None:
    endpoint, url = await serve()
    endpoint.status = 500
    obs = await check_http(http_probe(url), session, clock)
    assert (obs.ok, obs.detail) == (False, "status 500, expected 200-299")


async def test_hanging_endpoint_times_out(serve: Serve, session: aiohttp.ClientSession, clock: ManualClock) -> None:
    endpoint, url = await serve()
    endpoint.hang = True
    obs = await check_http(http_probe(url, timeout=0.2), session, clock)
    assert (obs.ok, obs.detail) == (False, "timeout after 0.2 s")
    assert len(endpoint.requests) == 1


async def test_slow_answer_fails_the_latency_condition(serve: Serve, session: aiohttp.ClientSession, clock: ManualClock) -> None:
    endpoint, url = await serve()
    endpoint.serve_seconds = 0.5
    obs = await check_http(http_probe(url, max_latency_ms=200), session, clock)
    assert (obs.ok, obs.detail, obs.latency_ms) == (False, "latency 500 ms over 200 ms", 500.0)


async def test_json_body_condition(serve: Serve, session: aiohttp.ClientSession, clock: ManualClock) -> None:
    endpoint, url = await serve()
    probe = http_probe(url, json_path="$.status", json_expected="ok")
    assert (await check_http(probe, session, clock)).ok
    endpoint.body = b'{"status": "degraded"}'
    obs = await check_http(probe, session, clock)
    assert (obs.ok, obs.detail) == (False, 'JSON $.status is "degraded", expected "ok"')


async def test_regex_body_condition_decodes_the_declared_charset(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    endpoint, url = await serve()
    endpoint.content_type = "text/plain"
    endpoint.body = "花呗服务正常".encode("gb18030")
    probe = http_probe(url, body_regex="服务正常")
    obs = await check_http(probe, session, clock)
    assert (obs.ok, obs.detail) == (False, "body does not match /服务正常/")  # undeclared: read as utf-8
    endpoint.charset = "gb18030"
    assert (await check_http(probe, session, clock)).ok


async def test_oversized_body_is_not_parsed(serve: Serve, session: aiohttp.ClientSession, clock: ManualClock) -> None:
    endpoint, url = await serve()
    endpoint.body = b'{"status": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    obs = await check_http(http_probe(url, json_path="status"), session, clock)
    assert (obs.ok, obs.detail) == (False, f"body too large to parse as JSON ({MAX_BODY_BYTES} bytes read)")


async def test_method_headers_secret_headers_and_body_are_sent(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    endpoint, url = await serve()
    probe = http_probe(
        url, method="post", headers={"X-Probe": "huabei-watch"}, secret_headers={"Authorization": "Bearer t0k"},
        body='{"ping": 1}', expected_status=[200],
    )
    assert (await check_http(probe, session, clock)).ok
    (seen,) = endpoint.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/health", b'{"ping": 1}')
    assert seen.headers["X-Probe"] == "huabei-watch" and seen.headers["Authorization"] == "Bearer t0k"


async def test_redirect_is_judged_by_its_own_status(serve: Serve, session: aiohttp.ClientSession, clock: ManualClock) -> None:
    endpoint, url = await serve()
    endpoint.status = 302
    obs = await check_http(http_probe(url), session, clock)
    assert (obs.ok, obs.detail) == (False, "status 302, expected 200-299")
    assert (await check_http(http_probe(url, expected_status="3xx"), session, clock)).ok


async def test_refused_connection_is_a_failure(closed_port: int, session: aiohttp.ClientSession, clock: ManualClock) -> None:
    obs = await check_http(http_probe(f"http://127.0.0.1:{closed_port}/health"), session, clock)
    assert not obs.ok and obs.detail.startswith("connection failed: ")


async def test_connection_dropped_without_answer_is_a_failure(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    endpoint, url = await serve()
    endpoint.drop = True
    obs = await check_http(http_probe(url), session, clock)
    assert (obs.ok, obs.detail) == (False, "server closed the connection without a response")


async def test_certificate_about_to_expire_fails(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock, cert_valid_for: Callable[[float], ssl.SSLContext]
) -> None:
    _endpoint, url = await serve(cert_valid_for(3))
    assert url.startswith("https://127.0.0.1:")
    clock.advance(60)  # checked a minute after the certificate was issued
    obs = await check_http(http_probe(url, verify_tls=False, min_cert_days=7), session, clock)
    assert (obs.ok, obs.detail) == (False, "certificate expires in 2 days")


async def test_certificate_with_enough_days_left_passes(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock, cert_valid_for: Callable[[float], ssl.SSLContext]
) -> None:
    _endpoint, url = await serve(cert_valid_for(30))
    obs = await check_http(http_probe(url, verify_tls=False, min_cert_days=7), session, clock)
    assert (obs.ok, obs.detail) == (True, "status 200")


async def test_untrusted_certificate_fails_when_verifying(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock, cert_valid_for: Callable[[float], ssl.SSLContext]
) -> None:
    _endpoint, url = await serve(cert_valid_for(30))
    obs = await check_http(http_probe(url, min_cert_days=7), session, clock)
    assert not obs.ok and obs.detail.startswith("TLS certificate rejected: ")
    assert "self-signed" in obs.detail or "self signed" in obs.detail


async def test_https_url_against_plain_http_server_is_a_failure(
    serve: Serve, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    _endpoint, url = await serve()
    obs = await check_http(http_probe(url.replace("http://", "https://"), verify_tls=False), session, clock)
    assert not obs.ok and obs.detail.startswith(("TLS error: ", "connection failed: ", "request failed: "))


@pytest.fixture
async def open_port() -> AsyncIterator[int]:
    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def tcp_probe(port: int, **keys: Any) -> TcpProbe:
    (probe,) = load_probes([{"kind": "tcp", "id": "t", "host": "127.0.0.1", "port": port, "interval": 10, **keys}])
    assert isinstance(probe, TcpProbe)
    return probe


async def test_tcp_probe_connects_to_open_port(open_port: int, clock: ManualClock) -> None:
    obs = await check_tcp(tcp_probe(open_port), clock)
    assert (obs.ok, obs.detail) == (True, "connected")


async def test_tcp_probe_fails_on_closed_port(closed_port: int, clock: ManualClock) -> None:
    obs = await check_tcp(tcp_probe(closed_port), clock)
    assert (obs.ok, obs.detail) == (False, "connection refused")


def dns_probe(name: str, **keys: Any) -> DnsProbe:
    (probe,) = load_probes([{"kind": "dns", "id": "d", "name": name, "interval": 10, "timeout": 3, **keys}])
    assert isinstance(probe, DnsProbe)
    return probe


async def test_dns_probe_resolves_localhost(clock: ManualClock) -> None:
    obs = await check_dns(dns_probe("localhost", expected_addresses=["127.0.0.1"]), clock)
    assert (obs.ok, obs.detail) == (True, "resolved to 127.0.0.1")


async def test_dns_probe_fails_when_an_expected_address_is_missing(clock: ManualClock) -> None:
    obs = await check_dns(dns_probe("localhost", expected_addresses=["127.0.0.2"]), clock)
    assert (obs.ok, obs.detail) == (False, "resolved to 127.0.0.1; missing 127.0.0.2")


async def test_dns_probe_fails_for_an_invalid_name(clock: ManualClock) -> None:
    obs = await check_dns(dns_probe("huabei-watch-probe.invalid"), clock)
    assert not obs.ok
    assert obs.detail.startswith(("name not resolved: ", "timeout after"))
