"""Shared fixtures: one embedded broker per test session; each test gets its own topics.

Two tiers: a test that uses a fixture of :data:`INTEGRATION_FIXTURES` (directly or through another
fixture) starts a broker, a daemon, a subprocess or a browser, and is marked ``integration`` here;
``make test-fast`` runs the rest (``-m "not integration"``). A test that starts a child process
takes the interpreter from the ``python_exe`` fixture, which is what marks it.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.db.engine import Database
from huabei_watch.events import Topics
from tests.support import fixed_keyring, fresh_pg_database, migrated_database

#: Fixtures that start a broker, a daemon, a subprocess or a browser: a test using any is ``integration``.
INTEGRATION_FIXTURES = frozenset({"broker", "bus", "own_broker", "embedded_kafka", "python_exe"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        if "drills" in item.path.parts:
            # Drills run on real time with processes and brokers of their own: under pytest-xdist
            # (--dist loadgroup) they share one worker instead of competing for the two cores.
            item.add_marker(pytest.mark.drill)
            item.add_marker(pytest.mark.xdist_group("drills"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the PostgreSQL databases this process's tests created (each worker drops its own)."""
    import asyncio

    from tests.support import CREATED_PG_DATABASES, drop_created_pg_databases

    if CREATED_PG_DATABASES:
        failed = asyncio.run(drop_created_pg_databases())
        for line in failed:
            sys.stderr.write(f"could not drop test database {line}\n")


@pytest.fixture(scope="session")
def python_exe() -> str:
    """The interpreter for a child process of the test (the CLI, a daemon): requesting it marks the
    test ``integration``."""
    return sys.executable


@pytest.fixture
def embedded_kafka() -> dict[str, str]:
    """The ``[kafka]`` keys of a daemon under test that starts its own embedded broker: requesting
    it marks the test ``integration``."""
    return {"bootstrap_servers": "embedded"}


@pytest.fixture(scope="session")
async def broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedBroker]:
    b = EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "broker.log")
    await b.start()
    yield b
    await b.stop()


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kafka_settings(topic_prefix: str) -> KafkaSettings:
    return KafkaSettings(
        topic_prefix=topic_prefix,
        group_prefix=topic_prefix,
        partitions=3,
        session_timeout=6,
        retry_initial=0.01,
        retry_max=0.05,
        max_attempts=3,
    )


@pytest.fixture
async def bus(broker: EmbeddedBroker, kafka_settings: KafkaSettings) -> AsyncIterator[Bus]:
    b = Bus(kafka_settings, broker.bootstrap_servers, Topics(kafka_settings.topic_prefix), signer=fixed_keyring().signer)
    await b.start()
    await b.ensure_topics()
    yield b
    await b.stop()


def _pg_url() -> str | None:
    return os.environ.get("HUABEI_TEST_PG_URL") or None


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database: SQLite always, PostgreSQL when HUABEI_TEST_PG_URL is set."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    else:
        base = _pg_url()
        if base is None:
            pytest.skip("PostgreSQL not configured (HUABEI_TEST_PG_URL)")
        url = await fresh_pg_database(base)
    database = await migrated_database(url, retry_for=5)
    yield database
    await database.close()

