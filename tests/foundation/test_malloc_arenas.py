"""glibc's malloc in the daemon (huabei_watch.root.memory): arenas capped at start unless the
operator chose, and freed heap memory handed back every ``daemon.malloc_trim_every`` seconds."""

from __future__ import annotations

import asyncio
import ctypes.util
import json
import platform
from pathlib import Path

import pytest

from huabei_watch.errors import ConfigError
from huabei_watch.root.memory import limit_malloc_arenas, malloc_trimmer, start_trimming, trim_every
from huabei_watch.root.settings import parse_settings
from tests.security.daemon import free_port

GLIBC = platform.libc_ver()[0] == "glibc" and ctypes.util.find_library("c") is not None
glibc_only = pytest.mark.skipif(not GLIBC, reason="glibc only")


@glibc_only
def test_the_arena_cap_is_applied_on_glibc() -> None:
    assert limit_malloc_arenas({}) is True


def test_an_operators_malloc_arena_max_is_left_to_glibc() -> None:
    assert limit_malloc_arenas({"MALLOC_ARENA_MAX": "4"}) is False


@glibc_only
def test_the_trimmer_hands_back_heap_freed_between_blocks_still_in_use() -> None:
    trim = malloc_trimmer()
    assert trim is not None
    trim()  # start from a trimmed heap
    # 40 MB of 1 KB blocks (malloc's, not pymalloc's), every 16th kept: the freed ones sit between
    # live blocks, where free() alone never gives pages back.
    blocks = [ctypes.create_string_buffer(1024) for _ in range(40_000)]
    kept = blocks[::16]
    del blocks
    assert trim() is True
    assert len(kept) == 2_500


async def test_trim_every_trims_once_a_period_until_cancelled() -> None:
    slept: list[float] = []
    trims: list[int] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) > 3:
            raise asyncio.CancelledError

    def trim() -> bool:
        trims.append(len(slept))
        return True

    with pytest.raises(asyncio.CancelledError):
        await trim_every(30.0, trim, sleep=sleep)
    assert slept == [30.0] * 4
    assert trims == [1, 2, 3]  # each after its period, none before the first


async def test_trim_every_refuses_a_period_of_zero() -> None:
    with pytest.raises(ValueError, match="> 0"):
        await trim_every(0, lambda: True)


async def test_trimming_is_off_at_zero() -> None:
    assert start_trimming(0) is None


def _daemon(extra: str) -> float:
    return parse_settings({"daemon": {"malloc_trim_every": extra}} if extra else {}).daemon.malloc_trim_every


def test_malloc_trim_every_defaults_to_30_s_takes_units_and_zero_and_refuses_negatives() -> None:
    assert _daemon("") == 30.0
    assert _daemon("5m") == 300.0
    assert _daemon("0s") == 0.0
    with pytest.raises(ConfigError, match="malloc_trim_every"):
        _daemon("-1s")


DRIVER = """
import asyncio, json, os, signal, sys

import huabei_watch.root.cli
from huabei_watch.root.daemon import run_daemon
from huabei_watch.root.settings import load_settings


async def main() -> None:
    ready = asyncio.Event()
    daemon = asyncio.create_task(run_daemon(load_settings(sys.argv[1]), ["watcher"], ready=ready))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([daemon, waiting], return_when=asyncio.FIRST_COMPLETED)
    if daemon.done():
        daemon.result()
        raise SystemExit("the daemon stopped before it was ready")
    tasks = sorted(t.get_name() for t in asyncio.all_tasks())
    os.kill(os.getpid(), signal.SIGTERM)
    code = await daemon
    left = sorted(t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task())
    print(json.dumps({"code": code, "tasks": tasks, "left": left}))


asyncio.run(main())
"""


@glibc_only
@pytest.mark.parametrize("every", ["30s", "0"])
async def test_the_daemon_trims_while_it_runs_unless_set_to_zero(
    every: str, tmp_path: Path, python_exe: str, embedded_kafka: dict[str, str]
) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text(
        f"""
[daemon]
state_dir = "{(tmp_path / 'state').as_posix()}"
log_format = "json"
shutdown_timeout = "5s"
malloc_trim_every = "{every}"
[admin]
listen = "127.0.0.1:{free_port()}"
[kafka]
bootstrap_servers = "{embedded_kafka['bootstrap_servers']}"
[sandbox]
enabled = false
""",
        "utf-8",
    )
    for args in (("-m", "huabei_watch.root.cli", "--config", str(config), "db", "upgrade"), ("-c", DRIVER, str(config))):
        proc = await asyncio.create_subprocess_exec(
            python_exe, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()[-2000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert report["code"] == 0
    assert ("malloc-trim" in report["tasks"]) is (every != "0")
    assert "malloc-trim" not in report["left"]  # cancelled at shutdown
