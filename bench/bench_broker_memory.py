"""Embedded broker memory under a steady stream of signed payment results (issue 14, item 3).

A daemon on the default configuration (``config/default.toml``: every role, the embedded broker,
SQLite, the sandbox platform) runs as a child process in a temporary directory; this process
posts signed batches of payment results for the default config's ``demo-shop`` to
``/v1/payment-results`` at a fixed rate, resending a batch answered 503 (held back while the
broker is recycled) or not answered. Every second it samples the broker's resident memory
(``/proc`` of the daemon's child) and scrapes ``/metrics``. At the end it waits until the daemon
consumed as many results as it accepted.

Baseline (same run, same load, shorter): the same daemon with recycling off
(``kafka.embedded_recycle_above_mb`` at its maximum): the broker's growth per minute, and what it
would reach over the full duration. Target: broker RSS <= 300 MB throughout, every accepted result
consumed once (consumed == accepted, no replays).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench._common import header, verdict
from huabei_watch.bus.broker import free_port, process_rss
from huabei_watch.signing import signed_headers

ROOT = Path(__file__).resolve().parent.parent
MERCHANT, SECRET = "demo-shop", "demo-shop-secret"  # from config/default.toml
TARGET_MB = 300
MB = 1024 * 1024


@dataclass
class Run:
    label: str
    seconds: float
    rate: int
    batch: int
    accepted: int = 0
    held_back: int = 0
    max_accept_s: float = 0.0
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, broker RSS MB)
    consumed: float = 0.0
    recycles: float = 0.0
    replays: float = 0.0
    drained_after_s: float = -1.0

    @property
    def peak_mb(self) -> float:
        return max((mb for _, mb in self.samples), default=0.0)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            out += [int(c) for c in task.read_text().split()]
        except OSError:
            continue
    return out


def broker_rss_mb(daemon_pid: int) -> float | None:
    """RSS of the daemon's broker child (the embedded broker is its only long-lived child)."""
    sizes = [rss for c in _children(daemon_pid) if (rss := process_rss(c)) is not None]
    return max(sizes) / MB if sizes else None


async def scrape(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    wanted = ("huabei_payments_results_consumed_total", "huabei_embedded_broker_recycles_total",
              "huabei_payments_replays_total")
    out: dict[str, float] = {}
    async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
        for line in (await r.text()).splitlines():
            name, _, value = line.partition(" ")
            if name in wanted:
                out[name] = float(value)
    return out


def batch_body(seq: int, size: int) -> bytes:
    at = datetime.now(UTC).isoformat()
    results = [{"merchant_id": MERCHANT, "at": at, "channel": "pcredit", "success": i % 20 != 0,
                "code": "10000" if i % 20 else "40004", "sub_code": "" if i % 20 else "ACQ.BUYER_BALANCE_NOT_ENOUGH",
                "plugin": "woo-alipay/3.2.1", "trade_no": f"T{seq:09d}{i:04d}"} for i in range(size)]
    return json.dumps({"merchant_id": MERCHANT, "results": results}).encode()


async def post_until_accepted(http: aiohttp.ClientSession, url: str, run: Run, seq: int) -> None:
    body = batch_body(seq, run.batch)
    started = time.monotonic()
    for _ in range(600):
        headers = {**signed_headers(MERCHANT, SECRET, body, datetime.now(UTC)), "Content-Type": "application/json"}
        try:
            async with http.post(url, data=body, headers=headers) as resp:
                if resp.status == 202:
                    reply = await resp.json()
                    if not reply.get("duplicate"):
                        run.accepted += int(reply["accepted"])
                    run.max_accept_s = max(run.max_accept_s, time.monotonic() - started)
                    return
                if resp.status != 503:
                    raise RuntimeError(f"batch {seq}: HTTP {resp.status}: {(await resp.text())[:300]}")
                run.held_back += 1
        except (aiohttp.ClientError, TimeoutError):
            run.held_back += 1
        await asyncio.sleep(0.2)  # the sender's retry pace
    raise RuntimeError(f"batch {seq} refused 600 times in a row")


async def start_daemon(workdir: Path, port: int, env_extra: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "HUABEI_WATCH_ADMIN__LISTEN": f"127.0.0.1:{port}", **env_extra}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "huabei_watch.root.cli", "--config", str(workdir / "default.toml"), "run",
        stdout=log.open("wb"), stderr=asyncio.subprocess.STDOUT, env=env, cwd=str(workdir),
    )


async def wait_ready(http: aiohttp.ClientSession, port: int, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"daemon exited with {proc.returncode} before it was ready")
        try:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError("daemon not ready within 180 s")


async def measure(run: Run, env_extra: dict[str, str], keep: Path | None) -> Run:
    workdir = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    shutil.copy(ROOT / "config" / "default.toml", workdir / "default.toml")
    port = free_port()
    proc = await start_daemon(workdir, port, env_extra, workdir / "daemon.log")
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=64)) as http:
            await wait_ready(http, port, proc)
            url = f"http://127.0.0.1:{port}/v1/payment-results"
            t0 = time.monotonic()
            interval = run.batch / run.rate
            posts: set[asyncio.Task[None]] = set()

            async def sample() -> None:
                while True:
                    mb = broker_rss_mb(proc.pid)
                    if mb is not None:
                        run.samples.append((time.monotonic() - t0, mb))
                    await asyncio.sleep(1.0)

            sampler = asyncio.create_task(sample())
            seq = 0
            while (now := time.monotonic() - t0) < run.seconds:
                due = seq * interval
                if due > now:
                    await asyncio.sleep(due - now)
                task = asyncio.create_task(post_until_accepted(http, url, run, seq))
                posts.add(task)
                task.add_done_callback(posts.discard)
                seq += 1
            await asyncio.gather(*posts)
            sent_s = time.monotonic() - t0
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                m = await scrape(http, port)
                run.consumed = m.get("huabei_payments_results_consumed_total", 0.0)
                run.recycles = m.get("huabei_embedded_broker_recycles_total", 0.0)
                run.replays = m.get("huabei_payments_replays_total", 0.0)
                if run.consumed >= run.accepted:
                    run.drained_after_s = time.monotonic() - t0 - sent_s
                    break
                await asyncio.sleep(1.0)
            sampler.cancel()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 40)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if keep is not None:
            shutil.copy(workdir / "daemon.log", keep / f"daemon-{run.label.split()[0]}.log")
        shutil.rmtree(workdir, ignore_errors=True)
    return run


def report(run: Run) -> None:
    print(f"-- {run.label}: {run.seconds / 60:g} min at {run.rate} results/s in batches of {run.batch}")
    step = max(1, len(run.samples) // 20)
    print("   broker RSS over time (s: MB): " + ", ".join(f"{t:.0f}: {mb:.0f}" for t, mb in run.samples[::step]))
    print(f"   broker RSS peak {run.peak_mb:.0f} MB; recycles {run.recycles:.0f}")
    print(f"   results accepted {run.accepted}, consumed {run.consumed:.0f} (replays dropped {run.replays:.0f}),"
          f" all consumed {run.drained_after_s:.1f} s after the last send" if run.drained_after_s >= 0 else
          f"   results accepted {run.accepted}, consumed {run.consumed:.0f}: NOT all consumed within 180 s")
    print(f"   503/no answer (held back, resent): {run.held_back}; longest time to acceptance {run.max_accept_s:.2f} s")


async def main_async(args: argparse.Namespace) -> int:
    header("embedded broker memory", args.quick)
    keep = Path(args.keep_logs) if args.keep_logs else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    base = await measure(Run("baseline (recycling off)", args.baseline_minutes * 60, args.rate, args.batch),
                         {"HUABEI_WATCH_KAFKA__EMBEDDED_RECYCLE_ABOVE_MB": "1000000"}, keep)
    report(base)
    run = await measure(Run("default config", args.minutes * 60, args.rate, args.batch), {}, keep)
    report(run)
    first, last = base.samples[0], base.samples[-1]
    growth = (last[1] - first[1]) / max(1e-9, (last[0] - first[0]) / 60)
    projected = first[1] + growth * args.minutes
    print(f"baseline growth {growth:.1f} MB/min: without recycling the broker would reach ~{projected:.0f} MB "
          f"after {args.minutes:g} min; with it the peak was {run.peak_mb:.0f} MB "
          f"(ratio {run.peak_mb / max(projected, 1e-9):.2f})")
    ok = run.peak_mb <= TARGET_MB and run.drained_after_s >= 0 and run.consumed == run.accepted and run.replays == 0
    print(f"target: broker RSS <= {TARGET_MB} MB, every accepted result consumed once: {verdict(ok)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 minutes (baseline 1 minute)")
    ap.add_argument("--minutes", type=float, default=30.0, help="duration of the measured run (issue: 30)")
    ap.add_argument("--baseline-minutes", type=float, default=3.0)
    ap.add_argument("--rate", type=int, default=2000, help="payment results per second")
    ap.add_argument("--batch", type=int, default=100, help="results per signed request")
    ap.add_argument("--keep-logs", metavar="DIR", help="copy the daemons' logs into DIR")
    args = ap.parse_args(argv)
    if args.quick:
        args.minutes, args.baseline_minutes = 2.0, 1.0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
