"""The policy API's read cache asks the registry in batches: many requests for merchants it has not
seen cost one query, not one each. Run on SQLite, and on PostgreSQL when HUABEI_TEST_PG_URL is set."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import event

from consumers.cashier.role import ReadCache
from consumers.cashier.store import CashierStore
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.config.settings import MerchantConfig
from huabei_watch.db.engine import Database
from huabei_watch.merchants.registry import MerchantRegistry

AT = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)


async def test_concurrent_misses_are_read_in_one_query_and_then_served_from_memory(db: Database) -> None:
    registry = MerchantRegistry(db)
    await registry.upsert_many(
        [MerchantConfig(id=f"m{i}", mode="auto", token=SecretStr(f"tok-{i}")) for i in range(300)], origin="import")
    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "FROM merchants" in statement:
            reads.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    cache = ReadCache(CashierStore(db), registry, ManualClock(AT))
    asked = [f"m{i}" for i in range(0, 300, 2)] + ["nobody", "m0"]
    got = await asyncio.gather(*(cache.merchant(m) for m in asked))
    assert [m.id if m else None for m in got] == [m if m != "nobody" else None for m in asked]
    assert len(reads) == 1
    again = await asyncio.gather(*(cache.merchant(m) for m in asked))
    assert again == got and len(reads) == 1
