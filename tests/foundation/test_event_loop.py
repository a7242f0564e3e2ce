"""``daemon.event_loop``: uvloop when installed (a dependency), asyncio on request or as a logged
fallback, a clear error when uvloop is demanded and missing."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import pytest

from huabei_watch.errors import ConfigError
from huabei_watch.root.settings import load_settings
from huabei_watch.runtime import loop as event_loop


def _running_loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_auto_runs_on_uvloop_when_it_is_installed(caplog: pytest.LogCaptureFixture) -> None:
    choice = event_loop.choose("auto")
    assert choice.name == "uvloop" and choice.fallback_reason is None
    with caplog.at_level(logging.INFO, logger="huabei_watch.runtime.loop"):
        module = event_loop.run(_async(_running_loop_module), choice)
    assert module.startswith("uvloop")
    assert [(r.getMessage(), r.__dict__["loop"]) for r in caplog.records] == [("daemon.event_loop", "uvloop")]


def test_auto_falls_back_to_asyncio_with_the_reason_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop raises ImportError
    choice = event_loop.choose("auto")
    assert choice.name == "asyncio" and choice.factory is None
    with caplog.at_level(logging.INFO, logger="huabei_watch.runtime.loop"):
        module = event_loop.run(_async(_running_loop_module), choice)
    assert module.startswith("asyncio")
    (record,) = caplog.records
    assert record.__dict__["loop"] == "asyncio" and "uvloop not importable" in record.__dict__["reason"]


def test_asking_for_uvloop_without_it_installed_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)
    with pytest.raises(ConfigError) as info:
        event_loop.choose("uvloop")
    (problem,) = info.value.problems
    assert problem.startswith("daemon.event_loop:") and "pip install uvloop" in problem


def test_asyncio_is_used_when_asked_even_with_uvloop_installed() -> None:
    choice = event_loop.choose("asyncio")
    assert choice.name == "asyncio"
    assert event_loop.run(_async(_running_loop_module), choice).startswith("asyncio")


def test_an_unknown_event_loop_is_refused_with_its_key_path(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[daemon]\nevent_loop = "trio"\n', "utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(p, environ={})
    assert [q for q in info.value.problems if q.startswith("daemon.event_loop:")], info.value.problems


async def _async(fn: object) -> str:
    assert callable(fn)
    return str(fn())
