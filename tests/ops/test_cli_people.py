"""The commands people type: a table on a terminal (a real pseudo-terminal here), JSON when piped,
import progress on a terminal, exit codes 0/1/2 with messages saying what was done."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
from pathlib import Path

import pytest

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import ManualClock
from huabei_watch.root.cli_ops import table, width
from tests.e2e.harness import OPS, running, settings_for
from tests.foundation.test_cli_commands import settings_now


def test_table_aligns_chinese_titles_by_terminal_columns() -> None:
    out = table(["ID", "TITLE"], [["a", "花呗维护"], ["bb", "x"]]).splitlines()
    assert out[0] == "ID  TITLE"
    assert out[2] == "a   花呗维护" and width(out[2]) == 4 + 8
    assert out[3] == "bb  x"
    assert table(["T"], [["长" * 30]], max_col=10).splitlines()[2] == "长" * 4 + "…"


async def run_in_terminal(python_exe: str, *args: str, tty_stdout: bool = True, tty_stderr: bool = True, env: dict[str, str] | None = None,
                          ) -> tuple[int, str, str]:
    """Run the CLI with stdout and/or stderr on a pseudo-terminal (like a person's shell)."""
    master, slave = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        python_exe, "-m", "huabei_watch.root.cli", *args, stdin=asyncio.subprocess.DEVNULL,
        stdout=slave if tty_stdout else asyncio.subprocess.PIPE,
        stderr=slave if tty_stderr else asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    os.close(slave)
    loop = asyncio.get_running_loop()

    def drain() -> bytes:
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    terminal_task = loop.run_in_executor(None, drain)
    out = err = b""
    if not tty_stdout:
        assert proc.stdout is not None  # a pipe when not on the terminal
        out = await proc.stdout.read()
    if not tty_stderr:
        assert proc.stderr is not None
        err = await proc.stderr.read()
    code = await asyncio.wait_for(proc.wait(), 120)
    terminal = await asyncio.wait_for(terminal_task, 30)
    with contextlib.suppress(OSError):
        os.close(master)
    text = terminal.decode("utf-8", "replace").replace("\r\n", "\n")
    return code, (text if tty_stdout else out.decode()), (text if tty_stderr and not tty_stdout else err.decode())


async def test_incident_list_is_a_table_on_a_terminal_and_json_lines_when_piped_or_asked(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path, python_exe: str
) -> None:
    settings = settings_for(tmp_path, bus.topics.prefix)
    cfg = tmp_path / "cli.toml"
    cfg.write_text(f'[admin]\nops_token = "{OPS}"\n[daemon]\nstate_dir = "{(tmp_path / "s").as_posix()}"\n', "utf-8")
    async with running(settings, broker, ["incidents"], ManualClock(settings_now())) as app:
        base = ["--config", str(cfg), "incident", "--url", f"http://127.0.0.1:{app.admin_port}"]
        code, out, _ = await run_in_terminal(python_exe, *base, "open", "--title", "花呗异常排查", tty_stderr=False)
        assert code == 0 and out.startswith("opened incident manual") and "(outage, active)" in out, out
        code, out, _ = await run_in_terminal(python_exe, *base, "list", tty_stderr=False)
        lines = out.strip().splitlines()
        assert code == 0 and lines[0].split() == ["ID", "KIND", "PHASE", "TITLE", "WINDOW", "(Asia/Shanghai)", "SILENCED", "UNTIL"]
        assert set(lines[1]) <= {"-", " "} and "花呗异常排查" in lines[2] and lines[-1] == "1 incident(s)"
        code, out, _ = await run_in_terminal(python_exe, *base, "list", "--json", tty_stderr=False)
        assert code == 0 and json.loads(out.strip())["title"] == "花呗异常排查"
        code, out, _ = await run_in_terminal(python_exe, *base, "list", tty_stdout=False, tty_stderr=False)
        assert code == 0 and json.loads(out.strip())["title"] == "花呗异常排查"
        code, _, err = await run_in_terminal(python_exe, *base, "silence", "no-such", "--for", "1h", tty_stdout=False, tty_stderr=False)
        assert code == 2 and "HTTP 404" in err
    code, _, err = await run_in_terminal(python_exe, *base, "list", tty_stdout=False, tty_stderr=False)
    assert code == 1 and "cannot reach the daemon" in err


def merchants_csv(path: Path, rows: int, bad: int = 0) -> None:
    lines = ["id,name,mode"] + [f"shop-{i:06d},小店{i},auto" for i in range(rows)]
    lines += [f"bad-{i},坏行,sometimes" for i in range(bad)]
    path.write_text("\n".join(lines) + "\n", "utf-8")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    cfg = tmp_path / "m.toml"
    cfg.write_text(f'[daemon]\nstate_dir = "{(tmp_path / "state").as_posix()}"\n[sandbox]\nenabled = false\n'
                   '[pages]\nlink_secret = "a-secret-for-signing-links"\npublic_url = "https://hb.example"\n', "utf-8")
    return cfg


async def test_merchants_import_shows_progress_on_a_terminal_and_says_what_it_did(tmp_path: Path, config: Path, python_exe: str) -> None:
    csv = tmp_path / "m.csv"
    merchants_csv(csv, 5000)
    code, out, err = await run_in_terminal(python_exe, "--config", str(config), "merchants", "import", str(csv), tty_stdout=False)
    assert code == 0, err
    assert err.count("importing:") >= 5 and "(100%)" in err and "5,000 saved" in err
    assert out.strip() == f"imported 5000 merchants, 0 problems from {csv}"
    code, out, err = await run_in_terminal(python_exe, "--config", str(config), "merchants", "import", str(csv), tty_stdout=False,
                                           tty_stderr=False)
    assert code == 0 and "importing:" not in err  # no progress when stderr is not a terminal


async def test_merchants_import_exit_codes(tmp_path: Path, config: Path, python_exe: str) -> None:
    csv = tmp_path / "m.csv"
    merchants_csv(csv, 3, bad=2)
    code, out, err = await run_in_terminal(python_exe, "--config", str(config), "merchants", "import", str(csv),
                                           tty_stdout=False, tty_stderr=False)
    assert code == 1 and out.startswith(f"imported 3 merchants, 2 problems from {csv}")
    assert f"{csv}: line 5: mode" in err
    code, _, err = await run_in_terminal(python_exe, "--config", str(config), "merchants", "import", str(tmp_path / "none.csv"),
                                         tty_stdout=False, tty_stderr=False)
    assert code == 2 and "cannot read" in err
    bad_cfg = tmp_path / "bad.toml"
    bad_cfg.write_text("[daemon]\nno_such_key = 1\n", "utf-8")
    code, _, err = await run_in_terminal(python_exe, "--config", str(bad_cfg), "merchants", "list", tty_stdout=False, tty_stderr=False)
    assert code == 2 and "no_such_key" in err


async def test_merchants_link_prints_a_signed_link_or_says_what_is_missing(tmp_path: Path, config: Path, python_exe: str) -> None:
    code, out, _ = await run_in_terminal(python_exe, "--config", str(config), "merchants", "link", "shop-1", tty_stdout=False,
                                         tty_stderr=False)
    assert code == 0 and out.startswith("https://hb.example/m/shop-1?exp=") and "&sig=" in out
    plain = tmp_path / "plain.toml"
    plain.write_text(f'[daemon]\nstate_dir = "{(tmp_path / "s2").as_posix()}"\n', "utf-8")
    code, _, err = await run_in_terminal(python_exe, "--config", str(plain), "merchants", "link", "shop-1", tty_stdout=False,
                                         tty_stderr=False)
    assert code == 2 and "pages.link_secret" in err
