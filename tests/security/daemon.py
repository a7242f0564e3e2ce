"""A real daemon in a subprocess on its embedded broker (the default configuration, loopback)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from tests.support import eventually

if TYPE_CHECKING:
    from huabei_watch.events.auth import Signer

OPS = "ops-hostile-token"
SECRET = "m1-payments-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    proc: asyncio.subprocess.Process
    port: int
    state: Path
    config: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bootstrap(self) -> str:
        return (self.state / "broker.addr").read_text("utf-8").strip()

    def broker_pid(self) -> int:
        return int(json.loads((self.state / "broker.pid").read_text("utf-8"))["pid"])

    async def get(self, path: str, *, token: str | None = OPS) -> tuple[int, object]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with aiohttp.ClientSession() as s, s.get(self.url + path, headers=headers) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, text


def write_config(tmp: Path, port: int, extra: str = "") -> Path:
    cfg = tmp / "daemon.toml"
    cfg.write_text(
        f"""
[daemon]
state_dir = "{(tmp / 'state').as_posix()}"
log_format = "json"
shutdown_timeout = "5s"
[admin]
listen = "127.0.0.1:{port}"
ops_token = "{OPS}"
[kafka]
session_timeout = "6s"
[sandbox]
enabled = false
[cashier]
min_hold = 0
[[merchants]]
id = "m1"
mode = "auto"
token = "tok-m1"
payments_secret = "{SECRET}"
{extra}
""",
        "utf-8",
    )
    return cfg


async def start(tmp: Path, python_exe: str, *, extra: str = "", prefix: list[str] | None = None) -> Daemon:
    port = free_port()
    cfg = write_config(tmp, port, extra)
    log = (tmp / "daemon.log").open("ab")
    proc = await asyncio.create_subprocess_exec(
        *(prefix or []), python_exe, "-m", "huabei_watch.root.cli", "--config", str(cfg), "run",
        stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL,
    )
    log.close()
    d = Daemon(proc, port, tmp / "state", cfg)

    async def ready() -> bool:
        if proc.returncode is not None:
            raise AssertionError(f"daemon exited {proc.returncode}: {(tmp / 'daemon.log').read_text()[-3000:]}")
        with contextlib.suppress(aiohttp.ClientError, OSError):
            status, _ = await d.get("/readyz", token=None)
            return status == 200
        return False

    await eventually(ready, timeout=90, what="the daemon ready")
    return d


async def stop(d: Daemon) -> None:
    if d.proc.returncode is None:
        d.proc.terminate()
        try:
            await asyncio.wait_for(d.proc.wait(), 30)
        except TimeoutError:
            d.proc.kill()
            await d.proc.wait()


@contextlib.asynccontextmanager
async def running(tmp: Path, python_exe: str, *, extra: str = "") -> AsyncIterator[Daemon]:
    d = await start(tmp, python_exe, extra=extra)
    try:
        yield d
    finally:
        await stop(d)


# -- Kafka from outside, as an attacker or ops would ------------------------------------------------
async def produce(d: Daemon, topic: str, value: bytes, headers: list[tuple[str, bytes]], key: bytes | None = None) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=d.bootstrap(), acks="all", max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


@dataclass(frozen=True, slots=True)
class Consumed:
    """A record read back from a topic. Nothing these tests read is a tombstone: it has a value."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def _consumed(m: Any) -> Consumed:
    """``m``: an aiokafka ``ConsumerRecord`` (aiokafka ships no types)."""
    assert m.value is not None, f"a tombstone at offset {m.offset} of {m.topic}"
    return Consumed(m.key, m.value, list(m.headers))


async def read(d: Daemon, topic: str, *, at_least: int, timeout: float = 30.0) -> list[Consumed]:
    """Every record of ``topic`` so far, once there are at least ``at_least``."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=d.bootstrap(), auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    out: list[Consumed] = []
    try:
        async def enough() -> bool:
            batch = await consumer.getmany(timeout_ms=300)
            for msgs in batch.values():
                out.extend(_consumed(m) for m in msgs)
            return len(out) >= at_least

        await eventually(enough, timeout=timeout, what=f"{at_least} records on {topic}")
        batch = await consumer.getmany(timeout_ms=500)
        for msgs in batch.values():
            out.extend(_consumed(m) for m in msgs)
    finally:
        await consumer.stop()
    return out


def stolen_signer(d: Daemon, principal: str) -> Signer:
    """A signer with a key read from the daemon's state dir (an attacker who got that one key)."""
    from huabei_watch.events.auth import Signer, SigningKey, private_key_from_text

    key = private_key_from_text((d.state / "keys" / f"{principal}.key").read_text("ascii"))
    return Signer([SigningKey(principal, key)])
