"""Loopback fakes for probe tests: a controllable health endpoint (HTTP or HTTPS), certificates."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from huabei_watch.clock import ManualClock

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeHealthEndpoint:
    """A health endpoint whose behaviour the test sets between probe runs.

    ``hang`` makes the handler wait on ``release`` (set only at teardown); ``serve_seconds`` moves
    the test's ManualClock while serving, which is how a slow answer looks to the probe; ``drop``
    closes the connection without answering.
    """

    clock: ManualClock
    status: int = 200
    body: bytes = b'{"status": "ok"}'
    content_type: str = "application/json"
    charset: str | None = None
    hang: bool = False
    drop: bool = False
    serve_seconds: float = 0.0
    requests: list[SeenRequest] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            SeenRequest(request.method, request.path, dict(request.headers), await request.read())
        )
        if self.hang:
            await self.release.wait()
        if self.drop:
            assert request.transport is not None
            request.transport.close()
        if self.serve_seconds:
            self.clock.advance(self.serve_seconds)
        return web.Response(status=self.status, body=self.body, content_type=self.content_type, charset=self.charset)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def serve(clock: ManualClock) -> AsyncIterator[Callable[..., Awaitable[tuple[FakeHealthEndpoint, str]]]]:
    """``await serve(ssl_context=None)`` -> (endpoint, base URL) of a started loopback server."""
    started: list[tuple[FakeHealthEndpoint, TestServer]] = []

    async def start(ssl_context: ssl.SSLContext | None = None) -> tuple[FakeHealthEndpoint, str]:
        endpoint = FakeHealthEndpoint(clock=clock)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", endpoint.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server(ssl=ssl_context)
        started.append((endpoint, server))
        return endpoint, str(server.make_url("/health"))

    yield start
    for endpoint, server in started:
        endpoint.release.set()
        await server.close()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def server_tls_context(tmp_path: Path, *, not_before: datetime, not_after: datetime) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


@pytest.fixture
def cert_valid_for(tmp_path: Path, clock: ManualClock) -> Callable[[float], ssl.SSLContext]:
    """``cert_valid_for(days)`` -> server context whose certificate expires ``days`` after clock.now()."""

    def make(days: float) -> ssl.SSLContext:
        now = clock.now()
        return server_tls_context(tmp_path, not_before=now - timedelta(days=1), not_after=now + timedelta(days=days))

    return make
