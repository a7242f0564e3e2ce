"""Issue 13's process rows: the embedded broker lives and dies with its daemon, /readyz tells the
truth after a broker restart, and the admin port survives abusive clients under ``ulimit -n 1024``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from huabei_watch.bus.broker import _cmdline, free_port, resolve_binary
from tests.security.daemon import Daemon, running, start, stop
from tests.support import eventually

pytestmark = pytest.mark.slow


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_a_sigkilled_daemon_takes_its_embedded_broker_along(tmp_path: Path, python_exe: str) -> None:
    d = await start(tmp_path, python_exe)
    try:
        pid = d.broker_pid()
        assert alive(pid)
        d.proc.send_signal(signal.SIGKILL)
        await d.proc.wait()
        await eventually(lambda: not alive(pid), timeout=10, what="the orphaned broker gone")
    finally:
        await stop(d)


async def test_a_start_stops_the_broker_a_crashed_run_left_behind(tmp_path: Path, python_exe: str) -> None:
    binary = resolve_binary()
    url = f"tcp://127.0.0.1:{free_port()}"
    stale = await asyncio.create_subprocess_exec(
        binary, "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
    )
    try:
        state = tmp_path / "state"
        state.mkdir()
        (state / "broker.pid").write_text(json.dumps({"pid": stale.pid, "binary": binary, "url": url}))
        await eventually(lambda: _cmdline(stale.pid)[:2] == [binary, "broker"], timeout=10, what="the stale broker up")
        async with running(tmp_path, python_exe) as d:
            assert await asyncio.wait_for(stale.wait(), 10) == -signal.SIGKILL
            assert d.broker_pid() != stale.pid
    finally:
        if stale.returncode is None:
            stale.kill()
            await stale.wait()


async def test_a_pid_file_naming_another_process_is_left_alone(tmp_path: Path, python_exe: str) -> None:
    bystander = await asyncio.create_subprocess_exec("sleep", "60")
    try:
        state = tmp_path / "state"
        state.mkdir()
        (state / "broker.pid").write_text(json.dumps({"pid": bystander.pid, "binary": resolve_binary(),
                                                      "url": "tcp://127.0.0.1:1"}))
        async with running(tmp_path, python_exe):
            assert bystander.returncode is None and alive(bystander.pid)
    finally:
        bystander.kill()
        await bystander.wait()


async def test_readyz_is_503_after_a_broker_restart_until_the_groups_have_rejoined(tmp_path: Path, python_exe: str) -> None:
    async with running(tmp_path, python_exe) as d:
        old = d.broker_pid()
        os.kill(old, signal.SIGKILL)
        seen: list[dict[str, bool]] = []

        async def unready() -> bool:
            status, body = await d.get("/readyz", token=None)
            assert isinstance(body, dict)
            seen.append(body["checks"])
            return status == 503

        await eventually(unready, timeout=10, what="/readyz 503 once the broker died")

        async def ready() -> bool:
            status, body = await d.get("/readyz", token=None)
            assert isinstance(body, dict)
            seen.append(body["checks"])
            return status == 200

        try:
            await eventually(ready, timeout=60, what="/readyz 200 after the restart")
        except AssertionError as exc:  # say which check stayed false
            log = (tmp_path / "daemon.log").read_text("utf-8", "replace")[-4000:]
            raise AssertionError(f"{exc}; the last checks: {seen[-1]}; broker pid {old} -> {d.broker_pid()}\n{log}") from None
        assert d.broker_pid() != old
        # While the broker was back but the groups not yet, /readyz said so.
        assert any(c["broker"] and not all(v for k, v in c.items() if k.startswith("consumer:")) for c in seen), seen
        # And 200 means consuming: a manual incident reaches the cashier at once.
        import aiohttp

        from tests.security.daemon import OPS
        async with aiohttp.ClientSession() as s, s.post(d.url + "/v1/incidents", json={"title": "重启后"},
                                                        headers={"Authorization": f"Bearer {OPS}"}) as r:
            assert r.status == 201

        async def off() -> bool:
            _, body = await d.get("/v1/merchants/m1/pay-channels", token="tok-m1")
            return isinstance(body, dict) and bool(body["disable_pay_channels"])

        await eventually(off, timeout=15, what="the cashier switching after the restart")


# -- abusive clients ---------------------------------------------------------------------------------------

def _raise_own_fd_limit(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def _open_partial(port: int, sources: list[str], count: int) -> list[socket.socket]:
    """``count`` connections spread over ``sources``, each with half a request header sent."""
    socks: list[socket.socket] = []
    for i in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.bind((sources[i % len(sources)], 0))
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        socks.append(s)
    for s in socks:
        with contextlib.suppress(OSError):
            s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    return socks


def _healthz(port: int, timeout: float) -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data, time.monotonic() - started


@pytest.fixture
async def limited(tmp_path: Path, python_exe: str) -> AsyncIterator[Daemon]:
    """The daemon under ``ulimit -n 1024``."""
    _raise_own_fd_limit(4096)
    d = await start(tmp_path, python_exe, prefix=["prlimit", "--nofile=1024:1024", "--"])
    yield d
    await stop(d)


@pytest.mark.parametrize("sources", [["127.0.0.2"], [f"127.0.0.{i}" for i in range(2, 42)]], ids=["one", "forty"])
async def test_healthz_answers_within_3s_beside_1200_idle_partial_connections_under_ulimit_1024(
    limited: Daemon, sources: list[str],
) -> None:
    socks = await asyncio.to_thread(_open_partial, limited.port, sources, 1200)
    try:
        data, took = await asyncio.to_thread(_healthz, limited.port, 3.0)
        assert data.startswith(b"HTTP/1.1 200") and took < 3.0, (data[:100], took)
        status, body = await limited.get("/readyz", token=None)
        assert status == 200, body
    finally:
        for s in socks:
            s.close()
    log = (limited.state.parent / "daemon.log").read_text()
    assert "Traceback" not in log and '"level": "error"' not in log, log[-2000:]


async def test_slow_clients_are_cut_off_at_the_header_timeout_without_an_error_in_the_log(tmp_path: Path, python_exe: str) -> None:
    d = await start(tmp_path, python_exe)
    try:
        socks = await asyncio.to_thread(_open_partial, d.port, ["127.0.0.3"], 40)
        sent_at = time.monotonic()

        def all_closed() -> bool:
            for s in socks:
                with contextlib.suppress(OSError):
                    s.send(b"X")  # one byte at a time, like a slowloris
            closed = 0
            for s in socks:
                try:
                    closed += s.recv(1) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
            return closed == len(socks)

        await eventually(lambda: asyncio.to_thread(all_closed), timeout=30, what="slow connections closed")
        assert time.monotonic() - sent_at < 10 + 5  # admin.header_timeout (10 s) and the sweep
        for s in socks:
            s.close()
        data, _ = await asyncio.to_thread(_healthz, d.port, 3.0)
        assert data.startswith(b"HTTP/1.1 200")
    finally:
        await stop(d)
    log = (tmp_path / "daemon.log").read_text()
    assert "Traceback" not in log and '"level": "error"' not in log, log[-2000:]
