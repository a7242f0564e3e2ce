"""Where the watcher daemon's event-loop time goes, by callback: ``python -m bench.loop_census``.

A diagnostic, not a benchmark (no baseline, no target): the daemon of ``bench_polling`` (its platform
child, its config, ``db upgrade`` then ``run --role watcher``) on the standard asyncio loop, since
uvloop's handles are C and cannot be timed from Python, with every event-loop callback timed on the
main thread's CPU clock and the cyclic garbage collector's collections counted. After the first
round and one more interval, a window of ``--window`` seconds is counted and printed: per callback
(a task's step is named by its coroutine and the innermost one it had waited on), calls a second,
ms of CPU a second and us a call; the process's CPU a second (every thread, from ``/proc``) beside
the callbacks' sum, and the checks the platform answered in the window. ``--sources 0`` gives the
idle daemon. The timing adds a few microseconds to every callback: compare lines with each other,
not with ``bench_polling``'s figures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from bench.bench_polling import (
    Site,
    cpu_of,
    db_upgrade,
    free_port,
    log_events,
    stop_daemon,
    wait_for,
    write_config,
)

#: A task's step is named by at most this many coroutines: the outermost and the innermost ones.
_CHAIN = 2


def callback_name(handle: asyncio.Handle) -> str:
    """What a handle runs: ``task:<outer coroutine>>...><innermost awaited>`` for a task's step,
    else the callback's qualified name."""
    callback: Any = handle._callback  # type: ignore[attr-defined]  # asyncio's own attribute, read only
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        names: list[str] = []
        link: Any = owner.get_coro()
        while link is not None:
            names.append(getattr(link, "__qualname__", type(link).__name__))
            link = getattr(link, "cr_await", None) or getattr(link, "gi_yieldfrom", None)
        return "task:" + ">".join(names[:1] + names[-_CHAIN:] if len(names) > _CHAIN + 1 else names)
    return str(getattr(callback, "__qualname__", repr(callback)))[:100]


class Census:
    """Calls and main-thread CPU per callback name, and the garbage collector's collections, since
    :meth:`reset`. :meth:`install` times every ``asyncio.Handle`` run in this process."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.cpu: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.collections: collections.Counter[int] = collections.Counter()
        self.gc_cpu = 0.0
        self._gc_started = 0.0
        self._since = time.monotonic()

    def reset(self) -> None:
        self.calls.clear()
        self.cpu.clear()
        self.collections.clear()
        self.gc_cpu = 0.0
        self._since = time.monotonic()

    def install(self) -> None:
        run = asyncio.events.Handle._run
        census = self

        def timed(handle: asyncio.Handle) -> None:
            started = time.thread_time()
            try:
                run(handle)
            finally:
                name = callback_name(handle)
                census.calls[name] += 1
                census.cpu[name] += time.thread_time() - started

        asyncio.events.Handle._run = timed  # type: ignore[method-assign,assignment]
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.thread_time()
        else:
            self.collections[info["generation"]] += 1
            self.gc_cpu += time.thread_time() - self._gc_started

    def table(self, top: int = 40) -> list[str]:
        """The counted window, busiest callbacks first."""
        window = max(1e-9, time.monotonic() - self._since)
        busiest = sorted(self.cpu.items(), key=lambda item: -item[1])[:top]
        lines = [f"window {window:.0f} s; callbacks {sum(self.cpu.values()) * 1000 / window:.2f} ms CPU a second; "
                 f"gc: {sum(self.collections.values())} collections "
                 f"({', '.join(f'gen {g}: {n}' for g, n in sorted(self.collections.items())) or 'none'}), "
                 f"{self.gc_cpu * 1000:.1f} ms"]
        lines.append(f"{'calls/s':>9} {'ms/s':>8} {'us/call':>9}  callback")
        for name, cpu in busiest:
            calls = self.calls[name]
            lines.append(f"{calls / window:9.2f} {cpu * 1000 / window:8.3f} {cpu / calls * 1e6:9.1f}  {name}")
        return lines

    def serve(self, commands: TextIO, out: Path) -> None:
        """Commands from the parent, one a line: ``reset`` (start counting), ``dump`` (write the table
        to ``out``, then a line ``done`` to it)."""
        for line in commands:
            if line.strip() == "reset":
                self.reset()
            elif line.strip() == "dump":
                out.write_text("\n".join([*self.table(), "done"]) + "\n", "utf-8")


def child(out: Path, argv: list[str]) -> int:
    """The daemon (``huabei-watch`` with ``argv``) with the census installed, driven on stdin."""
    census = Census()
    census.install()
    threading.Thread(target=census.serve, args=(sys.stdin, out), name="census", daemon=True).start()
    from huabei_watch.root.cli import main as daemon_main

    return daemon_main(argv)


async def run(sources: int, interval: float, window: float) -> None:
    exe = Path(sys.executable).with_name("huabei-watch")
    site = await Site.start(max(1, sources))
    tmp = Path(tempfile.mkdtemp(prefix="loop-census-"))
    config, log_path, out = tmp / "watcher.toml", tmp / "daemon.log", tmp / "census.txt"
    write_config(config, tmp / "state", free_port(), site.port, sources, interval, "asyncio")
    await db_upgrade(exe, config)
    with log_path.open("wb") as log_file:
        daemon = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.loop_census", "--child", str(out), "--config", str(config), "run",
            "--role", "watcher", stdin=asyncio.subprocess.PIPE, stdout=log_file, stderr=log_file,
        )
    assert daemon.stdin is not None
    try:
        if sources:
            await wait_for("announce.first_round_done", lambda: log_events(log_path, "announce.first_round_done"),
                           timeout=600, every=0.2)
            await asyncio.sleep(interval)
        else:
            await wait_for("the daemon's start", lambda: log_events(log_path, "daemon.ready"), timeout=120, every=0.2)
            await asyncio.sleep(5)
        s0, c0, w0 = await site.command("stats"), cpu_of(daemon.pid), time.monotonic()
        daemon.stdin.write(b"reset\n")
        await asyncio.sleep(window)
        daemon.stdin.write(b"dump\n")
        s1, c1, w1 = await site.command("stats"), cpu_of(daemon.pid), time.monotonic()
        await wait_for("the census", lambda: out.exists() and out.read_text("utf-8").endswith("done\n"),
                       timeout=30, every=0.1)
        checks = s1["list_requests"] - s0["list_requests"]
        print(f"loop_census: {sources:,} sources at {interval:g} s, the daemon on the asyncio loop, "
              f"{checks:,} checks in {w1 - w0:.0f} s; process CPU (every thread) {(c1 - c0) * 1000 / (w1 - w0):.2f} ms "
              f"a second" + (f", {(c1 - c0) * 1000 / checks:.3f} ms a check" if checks else ""))
        print("\n".join(out.read_text("utf-8").splitlines()[:-1]))
    finally:
        await stop_daemon(daemon)
        await site.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--child"]:
        return child(Path(args[1]), args[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=2_000, help="html sources on the platform (0: the idle daemon)")
    ap.add_argument("--interval", type=float, default=30.0)
    ap.add_argument("--window", type=float, default=45.0, help="seconds counted")
    parsed = ap.parse_args(args)
    asyncio.run(run(parsed.sources, parsed.interval, parsed.window))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
