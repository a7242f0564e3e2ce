"""Stopping the embedded broker: SIGTERM, then SIGKILL after ``stop_timeout``; never raises.

A stand-in broker binary (a Python script listening where it is told, speaking no Kafka) lets the
test choose how the process answers SIGTERM. It never answers as a broker, so ``start`` gives up
after ``start_timeout`` and stops the process through the same path as ``stop``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.errors import BrokerUnavailable

STAND_IN = '''#!{python}
import signal, socket, sys, time
url = sys.argv[sys.argv.index("--listener-url") + 1]
host, port = url.removeprefix("tcp://").rsplit(":", 1)
open(sys.argv[0] + ".pid", "w").write(str(__import__("os").getpid()))
if {ignore_term}:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
server = socket.create_server((host, int(port)))
while True:
    conn, _ = server.accept()
    conn.close()
'''


def stand_in(tmp_path: Path, python_exe: str, *, ignore_term: bool) -> Path:
    path = tmp_path / "broker"
    path.write_text(STAND_IN.format(python=python_exe, ignore_term=ignore_term), "utf-8")
    path.chmod(0o755)
    return path


def gone(pid_file: Path) -> bool:
    """True once the stand-in that wrote ``pid_file`` no longer exists."""
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("ignore_term", [True, False], ids=["ignores-sigterm", "exits-on-sigterm"])
async def test_a_broker_process_is_stopped_whatever_it_does_with_sigterm(
    tmp_path: Path, python_exe: str, ignore_term: bool
) -> None:
    binary = stand_in(tmp_path, python_exe, ignore_term=ignore_term)
    # Long enough for the stand-in to start and write its pid even on a loaded machine.
    broker = EmbeddedBroker(binary=binary, start_timeout=4.0, stop_timeout=0.5)
    with pytest.raises(BrokerUnavailable, match="did not answer"):
        await broker.start()
    assert gone(Path(f"{binary}.pid")) and not broker.running
    await broker.stop()  # stopping again is harmless
