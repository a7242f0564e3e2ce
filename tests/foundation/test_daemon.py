"""The daemon as ops run it: a real process on defaults, admin endpoints, SIGTERM, tail, schema."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from consumers.incidents.signal_log import signal_log
from huabei_watch.bus.broker import EmbeddedBroker, free_port
from huabei_watch.bus.kafka import Bus
from huabei_watch.events import PAYMENT_RESULTS, Event, HealthChange, PaymentResult, PaymentResultBatch
from huabei_watch.root.daemon import start_app
from huabei_watch.root.settings import parse_settings
from tests.samples import NOW
from tests.support import eventually, security_section

ROOT = Path(__file__).parent.parent.parent


def write_config(tmp_path: Path, port: int, extra: str = "") -> Path:
    p = tmp_path / "config.toml"
    p.write_text(
        f"""
[daemon]
state_dir = "{(tmp_path / 'state').as_posix()}"
log_format = "json"
shutdown_timeout = "15s"
[admin]
listen = "127.0.0.1:{port}"
[kafka]
partitions = 1
session_timeout = "6s"
[sandbox]
enabled = false
{extra}
""",
        "utf-8",
    )
    return p


@pytest.fixture
async def daemon(tmp_path: Path, python_exe: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, int, Path]]:
    port = free_port()
    cfg = write_config(tmp_path, port)
    proc = await asyncio.create_subprocess_exec(
        python_exe, "-m", "huabei_watch.root.cli", "--config", str(cfg), "run",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=str(tmp_path),
    )
    yield proc, port, cfg
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
        return r.status, await r.text()


async def test_run_on_defaults_answers_health_ready_metrics_and_exits_zero_on_sigterm(
    daemon: tuple[asyncio.subprocess.Process, int, Path],
) -> None:
    proc, port, _ = daemon
    base = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        try:
            return (await _get(base + "/healthz"))[0] == 200
        except aiohttp.ClientError:
            return False

    await eventually(up, timeout=60, what="/healthz")

    async def ready() -> bool:
        status, body = await _get(base + "/readyz")
        return status == 200 and json.loads(body)["ready"] is True

    await eventually(ready, timeout=60, what="/readyz 200")
    status, body = await _get(base + "/metrics")
    assert status == 200
    assert "huabei_events_consumed_total" in body or "huabei_events_published_total" in body
    proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()[-3000:]
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert "daemon.ready" in events and "daemon.stopped" in events
    # On defaults (daemon.event_loop = "auto") every role ran on uvloop, a dependency.
    assert [line["loop"] for line in lines if line["event"] == "daemon.event_loop"] == ["uvloop"]


async def test_tail_prints_events_as_json_lines(broker: EmbeddedBroker, bus: Bus, tmp_path: Path, python_exe: str) -> None:
    ev = Event.build("huabei.health.down", HealthChange(probe_id="p-tail", target="x", since=NOW), time=NOW)
    await bus.publish(ev)
    cfg = write_config(tmp_path, free_port(), extra="")
    text = cfg.read_text("utf-8").replace("[kafka]", f'[kafka]\ntopic_prefix = "{bus.topics.prefix}"')
    cfg.write_text(text, "utf-8")
    proc = await asyncio.create_subprocess_exec(
        python_exe, "-m", "huabei_watch.root.cli", "--config", str(cfg), "tail", "signals", "--from-beginning",
        "--bootstrap", broker.bootstrap_servers, "--limit", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    line = json.loads(out.decode().splitlines()[0])
    assert line["id"] == ev.id
    assert line["type"] == "huabei.health.down"
    assert line["data"]["probe_id"] == "p-tail"
    assert line["kafka"]["topic"] == bus.topics.signals


async def test_tail_until_end_prints_what_the_topic_holds_and_exits(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path, python_exe: str
) -> None:
    sent = [Event.build("huabei.health.down", HealthChange(probe_id=f"p-end-{i}", target="x", since=NOW), time=NOW)
            for i in range(3)]
    for ev in sent:
        await bus.publish(ev)
    cfg = write_config(tmp_path, free_port(), extra="")
    cfg.write_text(cfg.read_text("utf-8").replace("[kafka]", f'[kafka]\ntopic_prefix = "{bus.topics.prefix}"'), "utf-8")

    async def tail(*extra: str) -> list[str]:
        proc = await asyncio.create_subprocess_exec(
            python_exe, "-m", "huabei_watch.root.cli", "--config", str(cfg), "tail", "signals", "--bootstrap",
            broker.bootstrap_servers, "--until-end", "--limit", "10", *extra,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        return [json.loads(line)["id"] for line in out.decode().splitlines()]

    # fewer than --limit: stops at the end (the records sit in several partitions: order per partition only)
    assert sorted(await tail("--from-beginning")) == sorted(ev.id for ev in sent)
    assert await tail() == []  # from the end: nothing to wait for


async def test_tail_on_embedded_without_a_running_daemon_says_what_to_do(tmp_path: Path, python_exe: str) -> None:
    cfg = write_config(tmp_path, free_port())
    proc = await asyncio.create_subprocess_exec(
        python_exe, "-m", "huabei_watch.root.cli", "--config", str(cfg), "tail", "signals",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert "start `huabei-watch run` first or pass --bootstrap" in err.decode()


async def test_schema_command_writes_one_file_per_event_type(tmp_path: Path, python_exe: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        python_exe, "-m", "huabei_watch.root.cli", "schema", str(tmp_path / "schemas"), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    files = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert "huabei.maintenance.scheduled.schema.json" in files
    assert len(out.decode().splitlines()) == len(files)


async def test_walking_skeleton_signal_is_consumed_and_recorded_once(broker: EmbeddedBroker, bus: Bus, tmp_path: Path) -> None:
    settings = parse_settings(
        {
            "daemon": {"state_dir": str(tmp_path / "state")},
            "admin": {"listen": "127.0.0.1:0"},
            "kafka": {"topic_prefix": bus.topics.prefix, "group_prefix": bus.topics.prefix, "partitions": 3, "session_timeout": 6},
            "sandbox": {"enabled": False},
            "security": security_section(),
        }
    )
    app = await start_app(settings, ["incidents"], bootstrap=broker.bootstrap_servers)
    try:
        ev = Event.build("huabei.health.down", HealthChange(probe_id="p-skel", target="x", since=NOW), time=NOW)
        await bus.publish(ev)
        await bus.publish(ev)  # a replica publishing the same observation: same id

        async def rows() -> list[str]:
            async with app.db.engine.connect() as conn:
                return [r[0] for r in await conn.execute(select(signal_log.c.event_id))]

        await eventually(rows, timeout=60, what="signal recorded")
        await eventually(lambda: app.consumers[0][0].handled >= 2, timeout=30, what="duplicate consumed")
        assert await rows() == [ev.id]
    finally:
        await app.stop()


async def test_the_payment_results_consumer_holds_fetches_for_its_own_wait(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    """``payments.fetch_max_wait`` is the watcher's results consumer's fetch hold; every other
    consumer keeps ``kafka.fetch_max_wait``. Results still arrive and are handled."""
    settings = parse_settings(
        {
            "daemon": {"state_dir": str(tmp_path / "state")},
            "admin": {"listen": "127.0.0.1:0"},
            "kafka": {"topic_prefix": bus.topics.prefix, "group_prefix": bus.topics.prefix, "partitions": 1,
                      "session_timeout": 6, "fetch_max_wait": "50ms"},
            "sandbox": {"enabled": False},
            "payments": {"fetch_max_wait": "700ms"},
            "security": security_section(),
        }
    )
    app = await start_app(settings, ["watcher", "incidents"], bootstrap=broker.bootstrap_servers)
    try:
        waits = {runner.group_id.rsplit(".", 1)[-1]: runner.fetch_max_wait for runner, _ in app.consumers}
        assert waits == pytest.approx({"watcher-payments": 0.7, "incidents": 0.05})
        results = (PaymentResult(merchant_id="m-hold", at=NOW, channel="pcredit", success=True),)
        await bus.publish(Event.build(PAYMENT_RESULTS, PaymentResultBatch(merchant_id="m-hold", results=results), time=NOW))
        payments = next(r for r, _ in app.consumers if r.group_id.endswith("watcher-payments"))
        await eventually(lambda: payments.handled >= 1, timeout=30, what="payment results consumed")
    finally:
        await app.stop()
