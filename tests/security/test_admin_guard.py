"""The admin server's guard in process: deadlines for slow bodies, per-address cap, clients that
leave mid-body logged at debug only, errors as JSON."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from huabei_watch.clock import ManualClock
from huabei_watch.runtime.app import App
from tests.e2e.harness import OPS, get_json, running, settings_for
from tests.samples import NOW
from tests.support import eventually


@pytest.fixture
async def app(broker: Any, bus: Any, tmp_path: Path) -> AsyncIterator[App[Any]]:
    settings = settings_for(tmp_path, bus.topics.prefix, {"admin": {
        "header_timeout": 1, "body_timeout": 1, "max_connections_per_address": 5}})
    async with running(settings, broker, ["incidents"], ManualClock(NOW)) as a:
        yield a


async def connect(port: int, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def closed(reader: asyncio.StreamReader) -> bool:
    with contextlib.suppress(ConnectionResetError):
        return await asyncio.wait_for(reader.read(), 5) is not None
    return True


async def test_a_body_that_does_not_arrive_in_time_is_cut_off(app: App[Any]) -> None:
    reader, writer = await connect(app.admin_port or 0)
    writer.write(b"POST /v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + OPS.encode()
                 + b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
    await writer.drain()
    started = time.monotonic()
    assert await closed(reader)
    assert time.monotonic() - started < 4  # body_timeout 1 s plus a sweep
    writer.close()


async def test_a_client_leaving_mid_body_is_logged_at_debug_and_never_as_an_error(
    app: App[Any], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(5):
        _reader, writer = await connect(app.admin_port or 0)
        writer.write(b"POST /v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + OPS.encode()
                     + b"\r\nContent-Length: 100\r\n\r\n{\"title\"")
        await writer.drain()
        writer.transport.abort()
    status, _, _ = await get_json(app, "/healthz", token=None)
    assert status == 200
    await eventually(lambda: [r for r in caplog.records if r.getMessage() == "admin.client_gone"], timeout=10,
                     what="the departures logged at debug")
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.getMessage() == "admin.client_gone")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


async def test_connections_over_the_per_address_cap_are_closed_at_once_and_others_get_in(app: App[Any]) -> None:
    held = [await connect(app.admin_port or 0, "127.0.0.5") for _ in range(5)]
    reader, writer = await connect(app.admin_port or 0, "127.0.0.5")
    assert await closed(reader)
    writer.close()
    status, _, _ = await get_json(app, "/healthz", token=None)
    assert status == 200
    for _, w in held:
        w.close()


async def test_unknown_paths_and_methods_answer_json(app: App[Any]) -> None:
    status, body, _ = await get_json(app, "/nope", token=None)
    assert status == 404 and set(body) == {"error", "reason"}
    status, body, headers = await get_json(app, "/v1/incidents/x/resolve")
    assert status == 405 and set(body) == {"error", "reason"} and "allow" in headers


def test_the_cap_never_exceeds_half_the_file_descriptor_limit() -> None:
    import resource

    from huabei_watch.runtime.guard import Limits

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        assert Limits(max_connections=100_000).effective_max() == 512
        assert Limits(max_connections=100).effective_max() == 100
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_idle_partial_connections_from_one_client_leave_room_for_healthz(app: App[Any]) -> None:
    socks = []
    for _ in range(50):
        s = socket.socket()
        s.setblocking(False)
        s.bind(("127.0.0.6", 0))
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", app.admin_port or 0))
        socks.append(s)
    try:
        status, _, _ = await get_json(app, "/healthz", token=None)
        assert status == 200
        guard = app.listener.guard if app.listener else None
        assert guard is not None
        await eventually(lambda: guard.refused >= 40, timeout=10, what="connections over the cap refused")
    finally:
        for s in socks:
            s.close()


async def test_the_sweeper_sleeps_only_while_a_connection_is_open() -> None:
    """An admin port nobody talks to does not wake the event loop twice a second."""
    from huabei_watch.runtime.guard import Guard, Limits, _Guarded, _sweeper

    guard = Guard(Limits())
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:  # returns at once: the loop turns as fast as the test spins it
        sleeps.append(delay)
        await asyncio.sleep(0)

    async def spin() -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    task = asyncio.create_task(_sweeper(guard, sleep))
    try:
        await spin()
        assert sleeps == [], "no connection: the sweeper waits for one"
        conn = _Guarded(None, guard)
        conn.address = "127.0.0.1"
        assert guard.admit(conn)
        await spin()
        assert len(sleeps) >= 2 and set(sleeps) == {0.5}, "a connection is open: swept every half second"
        guard.release(conn)
        await spin()
        after = len(sleeps)
        await spin()
        assert len(sleeps) == after, "the last connection closed: back to waiting"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
