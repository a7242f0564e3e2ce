"""The one upsert helper on SQLite and PostgreSQL: insert-if-absent wins once, upsert keeps what it
is told to keep, and an explicit update can use the existing row."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, select

from huabei_watch.db.engine import Database
from huabei_watch.db.upsert import insert_all_if_absent, insert_if_absent, upsert

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
        return [tuple(r) for r in await conn.execute(select(things).order_by(things.c.id))]  # type: ignore[misc]


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
