"""Fixtures for the Alipay probe tests: keys, a fake gateway on 127.0.0.1, an HTTP session, a clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.alipay_gateway import FakeAlipayGateway
from watcher.clock import ManualClock

START = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai


@dataclass(frozen=True)
class KeyPair:
    key: rsa.RSAPrivateKey

    @property
    def private_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def public_pem(self) -> str:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def _new_pair() -> KeyPair:
    return KeyPair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="session")
def merchant_keys() -> KeyPair:
    return _new_pair()


@pytest.fixture(scope="session")
def other_keys() -> KeyPair:
    return _new_pair()


@pytest.fixture(scope="session")
def platform_keys() -> KeyPair:
    return _new_pair()


@pytest.fixture
async def gateway(merchant_keys: KeyPair, platform_keys: KeyPair) -> AsyncIterator[FakeAlipayGateway]:
    gw = FakeAlipayGateway(platform_key=platform_keys.key)
    async with gw:
        yield gw


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
