"""Polling scale, measured on the real daemon: ``python -m bench.bench_polling [--quick]``.

A child process (``bench._list_servers``, its CPU not counted) is one loopback platform serving a
list page per source (28 notices each, ``ETag`` + ``Last-Modified``, 304 to ``If-None-Match``).
The daemon is ``huabei-watch run --role watcher`` as shipped (embedded broker, admin server, log
level info, JSON logs to a file), configured with one ``html`` source per list page (interval 30 s,
``politeness_delay`` 0 because every source is on the same loopback host, ``first_poll_details`` 0:
a first poll records the list and reads no notice page).

Measured from outside, on the daemon's process (``/proc``); the embedded broker is a process of its
own, so its CPU is printed apart (it is part of the role as shipped, but not with a Kafka cluster):
* RSS when the platform got its first request (everything built, nothing polled yet);
* the first poll of every source: CPU and wall, from the daemon's ``announce.first_round_done``
  log line; RSS after it;
* steady state, every answer 304: CPU per check over ``--steady-intervals`` intervals (2 unless
  asked) and the share of a core, and the same for each interval of that window (how far it moves
  within one run);
* steady state with 5 % of the sources getting a new notice each interval (read, understood,
  published): CPU per check, and that every new notice was published exactly once
  (``huabei.announcement.published`` read back from the broker, one per notice, no id twice);
* peak RSS (``VmHWM``);
* the embedded broker's CPU over the same all-304 window (its fetches held for the role's consumer
  and the records published), per check and as a share of a core, and daemon + broker per check.
Baselines in the same session: the same daemon with no source, idle for one interval (what the role
costs with nothing to poll: Kafka consumer, scheduler, admin server); a bare aiohttp client asking
the same pages the same conditional GET (the floor of a check made with aiohttp), back to back and
paced evenly (each second the next ``sources / interval`` checks: fewer requests per
event-loop wake-up cost more each) and paced as the daemon's checks come (its first round spread over
:func:`~watcher.sources.poll_wheel.first_spread` seconds, 200 sources a second, and every source due
again an interval after its poll started, so each interval's checks come in that many seconds, the
rest of the interval none: the like-for-like floor of the daemon's figure); and
changedetection.io on the same pages when it is installed (not a dependency of the project; skipped
with a note when it is not). The database is made ready with ``huabei-watch db upgrade`` first, as a
deployment does, so the daemon itself loads no migration code. ``--loop`` sets the daemons'
``daemon.event_loop`` (default ``auto``, the product's default: uvloop when installed) and the bare
client runs on the loop that setting gives, so the comparison stays fair; the run prints which loop
each one used (the daemon's from its ``daemon.event_loop`` log line).
Targets (issue 17): <= 0.3 ms CPU per unchanged check, <= 100 MB RSS, first poll <= 10 s CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench._common import header, verdict
from huabei_watch.runtime import loop as event_loop
from watcher.sources.poll_wheel import first_spread

TARGET_MS_PER_CHECK = 0.3
TARGET_RSS_MB = 100.0
TARGET_FIRST_CPU_S = 10.0
ITEMS = 28
CHANGE_SHARE = 0.05
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------- the daemon from outside


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of one process (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_of(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of one process, MiB."""
    now = peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            now = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return now, peak


def broker_pid(state: Path) -> int:
    """The embedded broker's pid, from the ``broker.pid`` file the daemon writes in its state dir."""
    return int(json.loads((state / "broker.pid").read_text("utf-8"))["pid"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, state: Path, admin_port: int, site_port: int, sources: int, interval: float,
                 loop: str) -> None:
    lines = [
        "[daemon]", f'state_dir = "{state}"', 'log_level = "info"', 'log_format = "json"', f'event_loop = "{loop}"', "",
        "[admin]", f'listen = "127.0.0.1:{admin_port}"', "",
        "[kafka]", 'bootstrap_servers = "embedded"', "",
        "[sandbox]", "enabled = false", "",
    ]
    for i in range(sources):
        lines += [
            "[[sources]]", 'kind = "html"', f'id = "s{i}"', f'list_url = "http://127.0.0.1:{site_port}/list/{i}"',
            'item_selector = "ul.notices li"', 'date_selector = "span.date"', 'date_format = "%Y-%m-%d"',
            'body_selector = "div.notice-body"', f"interval = {interval:g}", "politeness_delay = 0",
            "first_poll_details = 0", "",
        ]
    path.write_text("\n".join(lines), "utf-8")


class Site:
    """The platform child process and its stdin/stdout command line."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc, self.port = proc, port

    @classmethod
    async def start(cls, sources: int) -> Site:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench._list_servers", "--sources", str(sources), "--items", str(ITEMS),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        return cls(proc, int(json.loads(line)["port"]))

    async def command(self, text: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((text + "\n").encode())
        await self.proc.stdin.drain()
        return dict(json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 30)))

    async def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        await asyncio.wait_for(self.proc.wait(), 30)


def log_events(path: Path, name: str) -> list[dict[str, Any]]:
    out = []
    if path.exists():
        for line in path.read_text("utf-8", errors="replace").splitlines():
            if f'"{name}"' in line:
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
    return out


async def wait_for(what: str, check: Any, timeout: float, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        await asyncio.sleep(every)
    raise SystemExit(f"timed out after {timeout:g} s waiting for {what}")


async def published_announcements(bootstrap: str) -> Counter[str]:
    """``huabei.announcement.published`` events on the signals topic, by event id."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    ids: Counter[str] = Counter()
    try:
        await consumer.topics()  # metadata
        parts = [TopicPartition("huabei.signals", p) for p in sorted(consumer.partitions_for_topic("huabei.signals") or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for r in records:
                    h = {k: v.decode() for k, v in r.headers}
                    if h.get("ce_type") == "huabei.announcement.published":
                        ids[h.get("ce_id", "")] += 1
    finally:
        await consumer.stop()
    return ids


# ---------------------------------------------------------------- the run


async def db_upgrade(exe: Path, config: Path) -> None:
    """``huabei-watch db upgrade``: a deployment's step before the roles start."""
    upgrade = await asyncio.create_subprocess_exec(str(exe), "--config", str(config), "db", "upgrade",
                                                   stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await upgrade.communicate()
    if upgrade.returncode != 0:
        raise SystemExit(f"db upgrade failed: {err.decode()[-2000:]}")


async def start_daemon(exe: Path, config: Path, log_path: Path) -> asyncio.subprocess.Process:
    """``db upgrade`` (a deployment's step before the roles start), then ``run --role watcher``."""
    await db_upgrade(exe, config)
    with log_path.open("wb") as log_file:
        return await asyncio.create_subprocess_exec(
            str(exe), "--config", str(config), "run", "--role", "watcher", stdout=log_file, stderr=log_file,
        )


async def stop_daemon(daemon: asyncio.subprocess.Process) -> None:
    if daemon.returncode is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(daemon.wait(), 60)
        except TimeoutError:
            daemon.kill()


async def idle_baseline(exe: Path, site_port: int, window: float, loop: str) -> tuple[float, float, float]:
    """(CPU share of a core, RSS MB, its embedded broker's CPU share of a core) of the same daemon
    with no source, over ``window`` seconds."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-polling-idle-"))
    admin = free_port()
    write_config(tmp / "watcher.toml", tmp / "state", admin, site_port, 0, 30, loop)
    daemon = await start_daemon(exe, tmp / "watcher.toml", tmp / "daemon.log")
    try:
        async def ready() -> bool:
            try:
                async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{admin}/healthz") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        await wait_for("the idle daemon", ready, timeout=120, every=0.5)
        await asyncio.sleep(5)
        broker = broker_pid(tmp / "state")
        c0, b0, w0 = cpu_of(daemon.pid), cpu_of(broker), time.monotonic()
        await asyncio.sleep(window)
        wall = time.monotonic() - w0
        share, broker_share = (cpu_of(daemon.pid) - c0) / wall, (cpu_of(broker) - b0) / wall
        rss = rss_of(daemon.pid)[0]
    finally:
        await stop_daemon(daemon)
        shutil.rmtree(tmp, ignore_errors=True)
    return share, rss, broker_share


async def raw_client_baseline(site_port: int, sources: int, interval: float,
                              loop: str) -> tuple[float, float, float, str]:
    """CPU ms per conditional GET answered 304, made by a bare aiohttp client in a child process
    (2 at a time, like the daemon's per-host limit) on the event loop the daemon's ``event_loop``
    setting ``loop`` gives: (back to back, paced evenly, paced as the daemon's checks come, the
    loop's name)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_polling", "--raw-client", str(site_port), "--sources", str(sources),
        "--interval", f"{interval:g}", "--loop", loop, stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    back_to_back, paced, clumped, loop_name = out.decode().strip().splitlines()[-1].split()
    return float(back_to_back), float(paced), float(clumped), loop_name


def daemon_pace(sources: int, interval: float) -> list[int]:
    """How many checks the daemon starts in each second of an interval once its first round is
    done: the first round's spread (:func:`~watcher.sources.poll_wheel.first_spread`) repeats, as
    every source is due again an interval after its poll started. Sums to ``sources``."""
    seconds = max(1, round(interval))
    busy = max(1, min(seconds, round(first_spread(sources, interval))))
    return [sources * (k + 1) // busy - sources * k // busy if k < busy else 0 for k in range(seconds)]


async def raw_client(port: int, sources: int, interval: float) -> None:
    """Prints the CPU ms per check back to back (every source, twice), then paced evenly: for two
    intervals, each second the next ``sources / interval`` checks start; then paced as the daemon's
    checks come (:func:`daemon_pace`), for two intervals."""
    urls = [f"http://127.0.0.1:{port}/list/{i}" for i in range(sources)]
    async with aiohttp.ClientSession() as http:
        tags = {}
        for u in urls:
            async with http.get(u) as r:
                await r.read()
                tags[u] = r.headers["ETag"]
        sem = asyncio.Semaphore(2)

        async def check(u: str) -> None:
            async with sem, http.get(u, headers={"If-None-Match": tags[u], "Accept-Encoding": "gzip, deflate"}) as r:
                await r.read()

        await asyncio.gather(*(check(u) for u in urls))  # warm
        c0 = time.process_time()
        for _ in range(2):
            await asyncio.gather(*(check(u) for u in urls))
        back_to_back = (time.process_time() - c0) / (2 * len(urls)) * 1000

        per_second = max(1, round(sources / interval))
        started: list[asyncio.Task[None]] = []
        c0, t0 = time.process_time(), time.monotonic()
        for second in range(round(2 * interval)):
            started += [asyncio.ensure_future(check(urls[(second * per_second + k) % sources]))
                        for k in range(per_second)]
            await asyncio.sleep(max(0.0, t0 + second + 1 - time.monotonic()))
        await asyncio.gather(*started)
        paced = (time.process_time() - c0) / len(started) * 1000

        pace, at = daemon_pace(sources, interval), 0
        started = []
        c0, t0 = time.process_time(), time.monotonic()
        for second in range(2 * len(pace)):
            count = pace[second % len(pace)]
            started += [asyncio.ensure_future(check(urls[(at + k) % sources])) for k in range(count)]
            at += count
            await asyncio.sleep(max(0.0, t0 + second + 1 - time.monotonic()))
        await asyncio.gather(*started)
        clumped = (time.process_time() - c0) / len(started) * 1000
        print(f"{back_to_back} {paced} {clumped} {_loop_name()}")


def _loop_name() -> str:
    """``uvloop`` or ``asyncio``: the loop running this coroutine (named as ``daemon.event_loop`` logs it)."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"


async def run(sources: int, interval: float, quick: bool, changedetection: str | None, loop: str,
              steady_intervals: int = 2) -> None:
    header("bench_polling: the watcher daemon, announcement sources mostly answering 304", quick)
    exe = Path(sys.executable).with_name("huabei-watch")
    site = await Site.start(sources)
    tmp = Path(tempfile.mkdtemp(prefix="bench-polling-"))
    admin = free_port()
    config, log_path = tmp / "watcher.toml", tmp / "daemon.log"
    write_config(config, tmp / "state", admin, site.port, sources, interval, loop)
    idle_share, idle_rss, idle_broker_share = await idle_baseline(exe, site.port, interval, loop)
    raw_ms, raw_paced_ms, raw_clumped_ms, raw_loop = await raw_client_baseline(site.port, sources, interval, loop)
    asked_before = (await site.command("stats"))["list_requests"]  # the bare client's requests
    daemon = await start_daemon(exe, config, log_path)
    pid = daemon.pid
    figures: dict[str, Any] = {}
    try:
        started = time.monotonic()
        # RSS just before the platform's first request: everything built, nothing polled.
        rss_ready = 0.0
        while True:
            if daemon.returncode is not None:
                raise SystemExit(f"the daemon exited with {daemon.returncode}; see {log_path}")
            rss_sample = rss_of(pid)[0]
            if (await site.command("stats"))["list_requests"] > asked_before:
                break
            rss_ready = rss_sample
            if time.monotonic() - started > 120:
                raise SystemExit(f"no request from the daemon in 120 s; see {log_path}")
            await asyncio.sleep(0.02)
        cpu0, wall0 = cpu_of(pid), time.monotonic()
        done = await wait_for("announce.first_round_done", lambda: log_events(log_path, "announce.first_round_done"),
                              timeout=600, every=0.2)
        first_cpu, first_wall = cpu_of(pid) - cpu0, time.monotonic() - wall0
        figures["first"] = done[0]
        rss_after_first = rss_of(pid)[0]

        # Steady state, all 304: from the next interval on (the first round's states flushed).
        await asyncio.sleep(interval)
        broker = broker_pid(tmp / "state")
        s0, c0, b0, w0 = await site.command("stats"), cpu_of(pid), cpu_of(broker), time.monotonic()
        per_interval: list[tuple[int, float]] = []  # (checks, CPU s) of each interval of the window
        s1, c1 = s0, c0
        for k in range(steady_intervals):
            await asyncio.sleep(max(0.0, w0 + (k + 1) * interval - time.monotonic()))
            before, cpu_before = s1, c1
            s1, c1 = await site.command("stats"), cpu_of(pid)
            per_interval.append((s1["list_requests"] - before["list_requests"], c1 - cpu_before))
        b1, w1 = cpu_of(broker), time.monotonic()
        checks = s1["list_requests"] - s0["list_requests"]
        not_modified = s1["not_modified"] - s0["not_modified"]
        idle_cpu, idle_wall, broker_cpu = c1 - c0, w1 - w0, b1 - b0
        rss_steady = rss_of(pid)[0]

        # Steady state with 5 % new notices per interval.
        await site.command(f"change {CHANGE_SHARE} {interval}")
        s2, c2, w2 = await site.command("stats"), cpu_of(pid), time.monotonic()
        await asyncio.sleep(2 * interval + 1)
        s3, c3, w3 = await site.command("stats"), cpu_of(pid), time.monotonic()
        await site.command("change 0 1")
        busy_checks = s3["list_requests"] - s2["list_requests"]
        busy_cpu, busy_wall = c3 - c2, w3 - w2
        await asyncio.sleep(interval + 5)  # every source has polled since the last change
        added = (await site.command("stats"))["added"]
        bootstrap = (tmp / "state" / "broker.addr").read_text().strip()
        announced = await published_announcements(bootstrap)
        _, peak = rss_of(pid)
    finally:
        await stop_daemon(daemon)
        await site.stop()
    warnings = sum(1 for line in log_path.read_text("utf-8", errors="replace").splitlines()
                   if '"level": "warning"' in line)
    instances = log_path.read_text("utf-8", errors="replace").count("maximum number of running instances")
    daemon_loop = next((e.get("loop", "?") for e in log_events(log_path, "daemon.event_loop")), "not logged")

    ms_idle = idle_cpu / max(1, checks) * 1000
    ms_busy = busy_cpu / max(1, busy_checks) * 1000
    ms_net = max(0.0, idle_cpu - idle_share * idle_wall) / max(1, checks) * 1000
    print(f"sources: {sources:,} html lists of {ITEMS} notices on one loopback host, interval {interval:g} s; "
          f"daemon: huabei-watch run --role watcher (embedded broker, admin server, log level info)")
    print(f"event loop (daemon.event_loop = {loop!r}): the daemon ran on {daemon_loop}, the bare aiohttp client "
          f"on {raw_loop}")
    print(f"RSS before the first request: {rss_ready:.0f} MB; after the first poll: {rss_after_first:.0f} MB; "
          f"steady: {rss_steady:.0f} MB; peak: {peak:.0f} MB")
    print(f"first poll of every source: {first_cpu:.1f} s CPU, {first_wall:.1f} s wall "
          f"(daemon: {figures['first']['seconds']} s from its start of polling, {figures['first']['failed']} failed)")
    print(f"baseline, the same daemon with no source: {idle_share:.1%} of a core (its embedded broker "
          f"{idle_broker_share:.1%}), RSS {idle_rss:.0f} MB; "
          f"a bare aiohttp client, same conditional GET: {raw_ms:.3f} ms CPU per check back to back, "
          f"{raw_paced_ms:.3f} ms paced evenly ({sources / interval:.0f} a second), "
          f"{raw_clumped_ms:.3f} ms paced as the daemon's checks come ({sources} in "
          f"{sum(1 for n in daemon_pace(sources, interval) if n)} s of each {interval:g} s)")
    print(f"steady, all 304: {checks:,} checks ({not_modified:,} answered 304) in {idle_wall:.0f} s: "
          f"{idle_cpu:.2f} s CPU, {ms_idle:.3f} ms per check ({ms_net:.3f} ms above the idle daemon; "
          f"{ms_net / raw_ms:.1f}x the bare client back to back, {ms_net / raw_paced_ms:.1f}x paced evenly, "
          f"{ms_net / raw_clumped_ms:.1f}x paced as the daemon), {idle_cpu / idle_wall:.1%} of a core; "
          f"the whole figure over the bare client paced as the daemon: {ms_idle / raw_clumped_ms:.2f}x")
    print("steady, all 304, each interval of that window: " + ", ".join(
        f"{cpu / max(1, n) * 1000:.3f} ms ({n:,} checks)" for n, cpu in per_interval))
    ms_broker = broker_cpu / max(1, checks) * 1000
    print(f"steady, all 304, the embedded broker (a process of its own, not in the figure above): "
          f"{broker_cpu:.2f} s CPU, {ms_broker:.3f} ms per check, {broker_cpu / idle_wall:.1%} of a core; "
          f"daemon + broker {ms_idle + ms_broker:.3f} ms per check")
    print(f"steady, {CHANGE_SHARE:.0%} new notices per interval: {busy_checks:,} checks in {busy_wall:.0f} s: "
          f"{busy_cpu:.2f} s CPU, {ms_busy:.3f} ms per check, {busy_cpu / busy_wall:.1%} of a core")
    twice = sum(1 for n in announced.values() if n > 1)
    print(f"notices added by the platform: {added}; announcement.published on the topic: {sum(announced.values())} "
          f"({len(announced)} distinct, {twice} twice); warnings logged: {warnings}; "
          f"'maximum number of running instances': {instances}")
    print(f"target <= {TARGET_MS_PER_CHECK} ms CPU per unchanged check: {verdict(ms_idle <= TARGET_MS_PER_CHECK)}; "
          f"target <= {TARGET_RSS_MB:.0f} MB RSS (peak): {verdict(peak <= TARGET_RSS_MB)}; "
          f"target first poll <= {TARGET_FIRST_CPU_S:.0f} s CPU: {verdict(first_cpu <= TARGET_FIRST_CPU_S)}; "
          f"every notice published once: {verdict(len(announced) == added and twice == 0)}")
    shutil.rmtree(tmp, ignore_errors=True)
    await changedetection_baseline(changedetection, sources, interval)


async def changedetection_baseline(exe: str | None, sources: int, interval: float) -> None:
    """changedetection.io on the same pages, when it is installed (never a dependency here)."""
    if exe is None:
        print("baseline changedetection.io: not installed, skipped (pip install changedetection.io in a "
              "separate environment and pass --changedetection PATH to compare; it is not a dependency of "
              "this project)")
        return
    site = await Site.start(sources)
    tmp = Path(tempfile.mkdtemp(prefix="bench-cdio-"))
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        exe, "-d", str(tmp), "-p", str(port), "-h", "127.0.0.1",
        stdout=asyncio.subprocess.DEVNULL, stderr=(tmp / "cdio.log").open("wb"),
        env={**os.environ, "ALLOW_IANA_RESTRICTED_ADDRESSES": "true"},  # our pages are on 127.0.0.1
    )
    try:
        token = await wait_for("changedetection.io's API token", lambda: _cdio_token(tmp), timeout=60, every=0.5)
        base = f"http://127.0.0.1:{port}/api/v1"
        async with aiohttp.ClientSession(headers={"x-api-key": token}) as http:
            async def listing() -> tuple[list[str]] | None:
                try:
                    async with http.get(f"{base}/watch") as resp:
                        return (list(dict(await resp.json())),) if resp.status == 200 else None
                except aiohttp.ClientError:
                    return None  # not listening yet (the datastore is written first)

            (examples,) = await wait_for("changedetection.io's API", listing, timeout=120, every=0.5)
            for uuid in examples:  # a fresh install adds example watches
                async with http.delete(f"{base}/watch/{uuid}"):
                    pass
            for i in range(sources):
                body = {"url": f"http://127.0.0.1:{site.port}/list/{i}", "time_between_check": {"seconds": int(interval)},
                        "time_between_check_use_default": False}
                async with http.post(f"{base}/watch", json=body) as resp:
                    if resp.status >= 300:
                        raise SystemExit(f"changedetection.io refused a watch: {resp.status} {await resp.text()}")
        async def all_checked() -> bool:
            return int((await site.command("stats"))["list_requests"]) >= sources

        await wait_for("changedetection.io's first check of every page", all_checked,
                       timeout=max(180.0, 4 * interval), every=1.0)
        await asyncio.sleep(interval)  # its first round over
        s0, c0, w0 = await site.command("stats"), cpu_of(proc.pid), time.monotonic()
        await asyncio.sleep(2 * interval)
        s1, c1, w1 = await site.command("stats"), cpu_of(proc.pid), time.monotonic()
        checks = s1["list_requests"] - s0["list_requests"]
        rss, peak = rss_of(proc.pid)
        print(f"baseline changedetection.io: {checks:,} checks in {w1 - w0:.0f} s: {c1 - c0:.2f} s CPU, "
              f"{(c1 - c0) / max(1, checks) * 1000:.3f} ms per check, RSS {rss:.0f} MB (peak {peak:.0f} MB)")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
        await site.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _cdio_token(datastore: Path) -> str | None:
    for name in ("changedetection.json", "url-watches.json"):  # 0.50+, older
        try:
            data = json.loads((datastore / name).read_text("utf-8"))
        except (OSError, ValueError):
            continue
        token = data.get("settings", {}).get("application", {}).get("api_access_token")
        if token:
            return str(token)
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200 sources at a 10 s interval instead of 2,000 at 30 s")
    ap.add_argument("--sources", type=int, default=None)
    ap.add_argument("--interval", type=float, default=None)
    ap.add_argument("--changedetection", metavar="PATH", default=shutil.which("changedetection.io"),
                    help="changedetection.io's executable for the baseline (default: the one on PATH)")
    ap.add_argument("--no-changedetection", action="store_true", help="skip the changedetection.io baseline")
    ap.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto",
                    help="the daemons' daemon.event_loop; the bare client runs on the loop it gives (default auto)")
    ap.add_argument("--steady-intervals", type=int, default=2, metavar="N",
                    help="intervals of the all-304 window (default 2; more average more of the machine's noise)")
    ap.add_argument("--raw-client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.raw_client:
        with asyncio.Runner(loop_factory=event_loop.choose(args.loop).factory) as runner:
            runner.run(raw_client(args.raw_client, args.sources or 2_000, args.interval or 30.0))
        return 0
    sources = args.sources or (200 if args.quick else 2_000)
    interval = args.interval or (10.0 if args.quick else 30.0)
    if args.steady_intervals < 1:
        ap.error("--steady-intervals must be at least 1")
    asyncio.run(run(sources, interval, args.quick, None if args.no_changedetection else args.changedetection, args.loop,
                    args.steady_intervals))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
