"""Time columns store UTC and never take a naive time: one conversion (``utc_for_db``), used by the
``AwareDateTime`` column type and by the writers that hand rows to the driver themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import create_async_engine

from huabei_watch.db.types import AwareDateTime, utc_for_db

BEIJING = timezone(timedelta(hours=8))


def dialect(url: str) -> Dialect:
    """The dialect of the daemon's driver for ``url`` (no connection is made)."""
    return create_async_engine(url).dialect


def test_a_time_in_another_zone_is_the_same_instant_in_utc() -> None:
    at = datetime(2026, 12, 7, 23, 30, tzinfo=BEIJING)
    got = utc_for_db(at)
    assert got == at and got.tzinfo is UTC and got.hour == 15


def test_a_utc_time_is_given_back_as_it_is() -> None:
    at = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
    assert utc_for_db(at) is at


def test_a_naive_time_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError, match="attach a timezone"):
        utc_for_db(datetime(2026, 12, 7, 15, 30))


def test_the_column_type_binds_naive_utc_on_sqlite_and_aware_utc_on_postgresql() -> None:
    at = datetime(2026, 12, 7, 23, 30, tzinfo=BEIJING)
    column = AwareDateTime()
    assert column.process_bind_param(at, dialect("sqlite+aiosqlite://")) == datetime(2026, 12, 7, 15, 30)
    bound = column.process_bind_param(at, dialect("postgresql+asyncpg://huabei@127.0.0.1/huabei"))
    assert bound == at and bound.tzinfo is UTC
    with pytest.raises(ValueError, match="attach a timezone"):
        column.process_bind_param(datetime(2026, 12, 7, 15, 30), dialect("sqlite+aiosqlite://"))
