"""Several processes per role against one Kafka and one PostgreSQL (issue 7).

Two watcher, two cashier and two notify processes and one incidents process, as real
subprocesses, share the session's embedded broker and a fresh PostgreSQL database. One cashier
and one notify process are SIGKILLed; their partitions move to the survivors. Every merchant gets
each message once, Huabei is switched off once, and both watcher replicas polling the same notice
never cause a duplicate message.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from huabei_watch.bus.broker import EmbeddedBroker, free_port
from huabei_watch.clock import SHANGHAI, SystemClock
from tests.fakes.wecom import FakeWeCom
from tests.support import eventually, fresh_pg_database, readyz, start_role, write_daemon_config

PG = os.environ.get("HUABEI_TEST_PG_URL")
pytestmark = [pytest.mark.postgres, pytest.mark.slow]
MERCHANTS = 12


def notice_feed(start: datetime, end: datetime) -> str:
    s, e = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    text = (f"尊敬的商户：因系统升级，花呗服务将于{s.month}月{s.day}日{s:%H:%M}至{e:%H:%M}暂停，"
            "期间花呗及花呗分期无法使用，请提前做好安排。")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>平台公告</title>
<item><title>关于花呗系统升级维护的公告</title><link>http://127.0.0.1/n/1</link><guid>n-mp-1</guid>
<pubDate>{datetime.now(UTC):%a, %d %b %Y %H:%M:%S +0000}</pubDate><description>{text}</description></item>
</channel></rss>"""


@pytest.fixture
async def feed_server() -> AsyncIterator[tuple[str, dict[str, str]]]:
    state = {"body": ""}

    async def feed(request: web.Request) -> web.Response:
        return web.Response(text=state["body"], content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/rss.xml", feed)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/rss.xml")), state
    await server.close()


def write_config(tmp_path: Path, broker: EmbeddedBroker, db_url: str, feed_url: str, wecom_url: str) -> Path:
    merchants = "\n".join(
        f'[[merchants]]\nid = "mp{i}"\nmode = "auto"\ntoken = "tok{i}"\nchannels = ["wecom"]\n'
        f'[merchants.contacts]\nwecom_robot_key = "robot-{i}"\n'
        for i in range(MERCHANTS)
    )
    prefix = tmp_path.name[-20:].replace("_", "-")
    return write_daemon_config(
        tmp_path / "config.toml", state_dir=tmp_path / "state", bootstrap=broker.bootstrap_servers, prefix=prefix,
        db_url=db_url, partitions=4, shutdown_timeout="10s",
        body=f"""
[incidents]
maintenance_lead = "30m"
[notify]
replan_every = 5
[notify.wecom]
base_url = "{wecom_url}"
[[sources]]
kind = "rss"
id = "mp-feed"
feed_url = "{feed_url}"
interval = 5
politeness_delay = 0
{merchants}
""",
    )


async def start(cfg: Path, role: str, port: int, log: Path) -> asyncio.subprocess.Process:
    """One process of ``role`` from the shared configuration, its admin server on ``port``."""
    return await start_role(cfg, role, log=log, env={"HUABEI_WATCH_ADMIN__LISTEN": f"127.0.0.1:{port}"})


async def upgrade_database(cfg: Path) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "huabei_watch.root.cli", "--config", str(cfg), "db", "upgrade", cwd=str(cfg.parent),
    )
    return await proc.wait()


@pytest.mark.skipif(PG is None, reason="needs PostgreSQL: set HUABEI_TEST_PG_URL (.ci/run does)")
async def test_two_processes_per_role_share_work_without_duplicates_even_when_one_is_killed(
    broker: EmbeddedBroker, tmp_path: Path, feed_server: tuple[str, dict[str, str]]
) -> None:
    assert PG is not None
    feed_url, feed_state = feed_server
    db_url = await fresh_pg_database(PG)
    async with FakeWeCom(SystemClock(), keys={f"robot-{i}" for i in range(MERCHANTS)}, per_minute=1000) as wecom:
        cfg = write_config(tmp_path, broker, db_url, feed_url, wecom.base_url)
        roles = ["incidents", "watcher", "watcher", "cashier", "cashier", "notify", "notify"]
        procs: list[tuple[str, int, asyncio.subprocess.Process]] = []
        try:
            # The deployment's step before the roles: `huabei-watch db upgrade` (PostgreSQL never
            # upgrades itself at start); then the incidents process first, the others after it.
            assert await upgrade_database(cfg) == 0
            for i, role in enumerate(roles):
                port = free_port()
                procs.append((role, port, await start(cfg, role, port, tmp_path / f"{role}-{i}.log")))
                if i == 0:
                    await eventually(partial(readyz, port), timeout=90, what="incidents process ready")
            for role, port, _ in procs:
                await eventually(partial(readyz, port), timeout=120, what=f"{role} on {port} ready")

            # Kill one cashier and one notify process; their partitions move to the survivors.
            for victim in ("cashier", "notify"):
                _, _, proc = next(p for p in procs if p[0] == victim)
                proc.send_signal(signal.SIGKILL)
                await proc.wait()

            start_at = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=20)
            feed_state["body"] = notice_feed(start_at, start_at + timedelta(hours=1))

            await eventually(lambda: len(wecom.count_by_recipient()) == MERCHANTS, timeout=120,
                             what="every merchant told")
            cashier_port = next(p for r, p, pr in procs if r == "cashier" and pr.returncode is None)

            async def off() -> bool:
                async with aiohttp.ClientSession() as s, s.get(
                    f"http://127.0.0.1:{cashier_port}/v1/merchants/mp3/pay-channels",
                    headers={"Authorization": "Bearer tok3"},
                ) as r:
                    body = await r.json()
                    return bool(body.get("disable_pay_channels"))

            await eventually(off, timeout=90, what="Huabei off (maintenance lead reached)")
            async with aiohttp.ClientSession() as s, s.get(
                f"http://127.0.0.1:{cashier_port}/v1/pay-channels/changes?since=0"
            ) as r:
                changes = (await r.json())["changes"]
            toggles = [c for c in changes if c["before"] != c["after"]]
            assert [(c["merchant_id"], c["after"]) for c in toggles] == [("*", ["pcredit", "pcreditpayInstallment"])]
            assert wecom.duplicates() == {} or not wecom.duplicates()
            per_merchant = wecom.count_by_recipient()
            assert all(n >= 1 for n in per_merchant.values())
            refs = wecom.count_by_ref()
            assert all(n == 1 for n in refs.values()), refs
        finally:
            for _, _, proc in procs:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
            for _, _, proc in procs:
                if proc.returncode is None:
                    try:
                        await asyncio.wait_for(proc.wait(), 30)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()
            logs = {p.name: p.read_text("utf-8", "replace")[-2000:] for p in tmp_path.glob("*.log")}  # noqa: ASYNC240
            crashed = {n: t for n, t in logs.items() if '"level": "error"' in t and "crashed" in t}
            assert not crashed, json.dumps(crashed, ensure_ascii=False)[:4000]
