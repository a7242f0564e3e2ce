"""The one upsert helper on SQLite and PostgreSQL: insert-if-absent wins once, upsert keeps what it
is told to keep, and an explicit update can use the existing row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, event, select

from huabei_watch.db.engine import Database
from huabei_watch.db.upsert import accumulate, insert_all_if_absent, insert_if_absent, upsert, upsert_rows

meta = MetaData()
things = Table(
    "upsert_things", meta,
    Column("id", String(10), primary_key=True),
    Column("first", String(10), nullable=False),
    Column("last", String(10), nullable=False),
    Column("n", Integer, nullable=False),
)


async def rows(db: Database) -> list[tuple[str, str, str, int]]:
    async with db.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(select(things).order_by(things.c.id))]


async def test_upsert_inserts_then_updates_all_but_the_kept_columns(db: Database) -> None:
    async with db.begin() as conn:
        await conn.run_sync(meta.create_all)
        await upsert(conn, things, {"id": "a", "first": "v1", "last": "v1", "n": 1}, ["id"], keep=["first"])
        await upsert(conn, things, {"id": "a", "first": "v2", "last": "v2", "n": 2}, ["id"], keep=["first"])
    assert await rows(db) == [("a", "v1", "v2", 2)]


async def test_upsert_with_an_explicit_update_reads_the_existing_row(db: Database) -> None:
    async with db.begin() as conn:
        await conn.run_sync(meta.create_all)
        for _ in range(3):
            await upsert(conn, things, {"id": "a", "first": "x", "last": "x", "n": 1}, ["id"],
                         update={"n": things.c.n + 1, "last": "y"})
    assert await rows(db) == [("a", "x", "y", 3)]


async def test_insert_if_absent_inserts_once_and_the_bulk_form_returns_only_new_keys(db: Database) -> None:
    async with db.begin() as conn:
        await conn.run_sync(meta.create_all)
        assert await insert_if_absent(conn, things, {"id": "a", "first": "1", "last": "1", "n": 1}, ["id"]) is True
        assert await insert_if_absent(conn, things, {"id": "a", "first": "2", "last": "2", "n": 2}, ["id"]) is False
        new = await insert_all_if_absent(
            conn, things, [{"id": i, "first": "3", "last": "3", "n": 3} for i in ("a", "b", "c")], ["id"], chunk=2)
    assert sorted(r.id for r in new) == ["b", "c"]
    assert [r[:2] for r in await rows(db)] == [("a", "1"), ("b", "3"), ("c", "3")]


class Compilations:
    """Counts compilations (cache misses) and distinct compiled forms behind the statements on
    ``upsert_things``."""

    def __init__(self, db: Database) -> None:
        self.compiled: set[int] = set()
        self.misses = 0
        self.executions = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if context.compiled is None or "upsert_things" not in statement:
            return
        self.executions += 1
        if id(context.compiled) not in self.compiled:
            self.compiled.add(id(context.compiled))
            # a statement without a cache key would show NO_CACHE_KEY here on every call
            if context.cache_hit == context.dialect.CACHE_MISS:
                self.misses += 1


async def test_repeated_upserts_compile_each_statement_once(db: Database) -> None:
    async with db.begin() as conn:
        await conn.run_sync(meta.create_all)
    seen = Compilations(db)
    for i in range(5):
        async with db.begin() as conn:
            await insert_if_absent(conn, things, {"id": f"i{i}", "first": "f", "last": "l", "n": i}, ["id"])
            await upsert(conn, things, {"id": "u", "first": f"f{i}", "last": f"l{i}", "n": i}, ["id"], keep=["first"])
            await upsert(conn, things, {"id": "s", "first": "f", "last": "l", "n": 0}, ["id"],
                         update={"n": things.c.n + (i + 1), "last": f"set{i}"})
            await accumulate(conn, things, {"id": "a", "first": "f", "last": f"l{i}", "n": i}, ["id"], sums=["n"])
            await upsert_rows(conn, things, [{"id": f"r{j}", "first": "f", "last": f"l{i}", "n": i} for j in range(3)],
                              ["id"])
            await insert_all_if_absent(
                conn, things, [{"id": f"b{i}{j}", "first": "f", "last": "l", "n": j} for j in range(3)], ["id"])
    # six statements, each compiled on its first call and served from the cache 4 times more
    assert seen.executions >= 30
    assert len(seen.compiled) == 6
    assert seen.misses == 6
    async with db.engine.connect() as conn:
        got = {r.id: tuple(r) for r in await conn.execute(select(things))}
    # the per-call literal (n + i + 1) is used on every cache hit, not the first call's
    assert got["s"] == ("s", "f", "set4", 1 + 2 + 3 + 4 + 5 - 1)
    assert got["u"] == ("u", "f0", "l4", 4)
    assert got["a"] == ("a", "f", "l4", 0 + 1 + 2 + 3 + 4)
    assert len([k for k in got if k.startswith("b")]) == 15
