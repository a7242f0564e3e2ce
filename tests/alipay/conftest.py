"""Fixtures for the Alipay probe tests: keys, a fake gateway on 127.0.0.1, an HTTP session, a clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from huabei_watch.clock import ManualClock
from tests.alipay.support import START, KeyPair, new_pair
from tests.fakes.alipay_gateway import FakeAlipayGateway


@pytest.fixture(scope="session")
def merchant_keys() -> KeyPair:
    return new_pair()


@pytest.fixture(scope="session")
def other_keys() -> KeyPair:
    return new_pair()


@pytest.fixture(scope="session")
def platform_keys() -> KeyPair:
    return new_pair()


@pytest.fixture
async def gateway(platform_keys: KeyPair) -> AsyncIterator[FakeAlipayGateway]:
    async with FakeAlipayGateway(platform_key=platform_keys.key) as gw:
        yield gw


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
