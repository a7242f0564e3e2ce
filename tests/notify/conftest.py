"""Fixtures for the notify tests: a manual clock and one aiohttp session per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp
import pytest

from huabei_watch.clock import SHANGHAI, ManualClock

#: A Tuesday morning in Shanghai, far from midnight so day windows are easy to reason about.
START = datetime(2026, 11, 24, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
