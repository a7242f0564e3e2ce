"""Column types. ``AwareDateTime`` stores UTC and always returns aware datetimes (SQLite has no
time zones; PostgreSQL's timestamptz does), so code never meets a naive datetime from the DB."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utc_for_db(value: datetime) -> datetime:
    """``value`` in UTC, as every time column stores it; a naive ``value`` is refused (its zone is
    unknown). Shared by :class:`AwareDateTime` and the writers that hand rows to the driver
    themselves (``watcher/sources/seen.py``'s flush)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database; attach a timezone")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


class AwareDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = utc_for_db(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
