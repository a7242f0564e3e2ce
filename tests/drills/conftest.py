"""Drill fixtures: a broker of the drill's own (drills stop and kill it; the session broker stays up)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from watcher.broker import EmbeddedBroker


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    b = EmbeddedBroker(log_path=tmp_path / "own-broker.log")
    await b.start()
    yield b
    await b.stop()
