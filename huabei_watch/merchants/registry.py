"""The merchant registry in the database: from config at start-up, or imported from CSV (100,000+)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import JSON, Column, ColumnElement, Index, String, Table, and_, func, select

from huabei_watch.config.loader import format_errors
from huabei_watch.config.settings import MerchantConfig
from huabei_watch.db.engine import Database, dialect
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import upsert_rows
from huabei_watch.merchants.model import Contacts, Merchant, MerchantAccess, token_hash

merchants_table = Table(
    "merchants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, default=""),
    Column("mode", String(20), nullable=False, default="auto"),
    Column("token_hash", String(64), index=True),
    Column("payments_secret", String(200)),
    Column("cashier_webhook", String(500)),
    Column("webhook_secret", String(200)),
    Column("plugin", String(128)),
    Column("channels", JSON, nullable=False),
    Column("contacts", JSON, nullable=False),
    Column("origin", String(20), nullable=False, default="config"),
    Column("updated_at", AwareDateTime(), nullable=False, index=True),
)
#: On PostgreSQL the ids in code-point order (``COLLATE "C"``), the order key ranges and the registry
#: stream use (:meth:`MerchantRegistry._binary_id`): without it a database whose default collation is
#: not C (e.g. en_US.utf8) scans and sorts the whole table for every page. SQLite compares bytes
#: already, so its primary key serves.
Index("ix_merchants_id_c", merchants_table.c.id.collate("C")).ddl_if(dialect="postgresql")

CSV_COLUMNS = (
    "id", "name", "mode", "token", "payments_secret", "cashier_webhook", "webhook_secret", "plugin", "channels",
    "wecom_robot_key", "wechat_openid", "phone", "dingtalk_access_token", "feishu_hook", "webhook_url", "email",
    "wecom_userid",
)
_CONTACT_KEYS = ("wecom_robot_key", "wechat_openid", "phone", "dingtalk_access_token", "feishu_hook", "webhook_url", "email",
                 "wecom_userid")


def _secret(v: Any) -> str | None:
    return v.get_secret_value() if v is not None else None


def row_from_config(m: MerchantConfig, *, origin: str, now: datetime) -> dict[str, Any]:
    contacts = {k: _secret(getattr(m.contacts, k)) if k in ("wecom_robot_key", "dingtalk_access_token", "feishu_hook") else getattr(m.contacts, k) for k in _CONTACT_KEYS}
    return {
        "id": m.id,
        "name": m.name,
        "mode": m.mode,
        "token_hash": token_hash(m.token.get_secret_value()) if m.token else None,
        "payments_secret": _secret(m.payments_secret),
        "cashier_webhook": m.cashier_webhook,
        "webhook_secret": _secret(m.webhook_secret),
        "plugin": m.plugin,
        "channels": list(m.channels),
        "contacts": {k: v for k, v in contacts.items() if v},
        "origin": origin,
        "updated_at": now,
    }


def merchant_from_row(row: Any) -> Merchant:
    contacts = row.contacts or {}
    return Merchant(
        id=row.id,
        name=row.name or "",
        mode=row.mode,
        token_hash=row.token_hash,
        payments_secret=row.payments_secret,
        cashier_webhook=row.cashier_webhook,
        webhook_secret=row.webhook_secret,
        plugin=row.plugin,
        channels=tuple(row.channels or ()),
        contacts=Contacts(**{k: contacts.get(k) for k in _CONTACT_KEYS}),
    )


@dataclass(frozen=True, slots=True)
class ImportReport:
    imported: int
    problems: tuple[str, ...]


def parse_csv(text: str) -> Iterator[tuple[int, MerchantConfig | list[str]]]:
    """Yield (line number, config) or (line number, problems) per data row. Never raises on bad rows."""
    reader = csv.DictReader(io.StringIO(text))
    unknown = [c for c in (reader.fieldnames or []) if c not in CSV_COLUMNS]
    if unknown or "id" not in (reader.fieldnames or []):
        problem = f"header must have 'id' and only these columns: {', '.join(CSV_COLUMNS)}"
        if unknown:
            problem += f" (unknown: {', '.join(unknown)})"
        yield 1, [problem]
        return
    for row in reader:
        line = reader.line_num
        data: dict[str, Any] = {k: v.strip() for k, v in row.items() if k and v is not None and v.strip()}
        contacts = {k: data.pop(k) for k in _CONTACT_KEYS if k in data}
        if contacts:
            data["contacts"] = contacts
        if "channels" in data:
            data["channels"] = [c.strip() for c in data["channels"].replace(";", ",").split(",") if c.strip()]
        try:
            yield line, MerchantConfig.model_validate(data)
        except ValidationError as exc:
            yield line, format_errors(exc)


class MerchantRegistry:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert_many(self, merchants: Iterable[MerchantConfig], *, origin: str, now: datetime | None = None) -> int:
        when = now or datetime.now(UTC)
        rows = [row_from_config(m, origin=origin, now=when) for m in merchants]

        async def work() -> int:
            async with self.db.begin() as conn:
                await upsert_rows(conn, merchants_table, rows, ["id"])
            return len(rows)

        return await self.db.run(work)

    async def import_csv(
        self, text: str, *, batch: int = 1000, progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        """Upsert every valid row, ``batch`` rows per transaction; bad rows are reported by line.
        ``progress(line, imported)`` is called after each batch is written."""
        problems: list[str] = []
        pending: list[MerchantConfig] = []
        imported = 0
        line = 0
        for line, parsed in parse_csv(text):
            if isinstance(parsed, list):
                problems += [f"line {line}: {p}" for p in parsed]
                continue
            pending.append(parsed)
            if len(pending) >= batch:
                imported += await self.upsert_many(pending, origin="import")
                pending = []
                if progress is not None:
                    progress(line, imported)
        if pending:
            imported += await self.upsert_many(pending, origin="import")
        if progress is not None:
            progress(line, imported)
        return ImportReport(imported, tuple(problems))

    async def get(self, merchant_id: str) -> Merchant | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(merchants_table).where(merchants_table.c.id == merchant_id))).first()
        return merchant_from_row(row) if row is not None else None

    async def by_token(self, token: str) -> Merchant | None:
        """The merchant whose bearer token this is (tokens are stored hashed: the lookup is by the
        hash), or None. Two merchants configured with one token: neither (ambiguous)."""
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(
                select(merchants_table).where(merchants_table.c.token_hash == token_hash(token)).limit(2))).all()
        return merchant_from_row(rows[0]) if len(rows) == 1 else None

    async def get_many(self, ids: Sequence[str]) -> list[Merchant]:
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(select(merchants_table).where(merchants_table.c.id.in_(list(ids))))).all()
        return [merchant_from_row(r) for r in rows]

    async def access_pages(
        self, *, chunk: int = 10_000, changed_since: datetime | None = None,
    ) -> AsyncIterator[list[MerchantAccess]]:
        """Every merchant's id, mode and token hash, in id order, ``chunk`` at a time (three columns,
        no JSON to decode: held as :class:`MerchantAccess`, 100,000 of them take about 26 MB).
        ``changed_since``: only merchants written (``updated_at``) at or after it. Every write path
        (:meth:`upsert_many`, which :meth:`import_csv` uses) sets ``updated_at``; a removed merchant
        leaves no row, so a reader of changes also compares :meth:`count` with what it holds."""
        t = merchants_table
        last = ""
        while True:
            where = t.c.id > last
            if changed_since is not None:
                where = and_(where, t.c.updated_at >= changed_since)
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(
                    select(t.c.id, t.c.mode, t.c.token_hash).where(where).order_by(t.c.id).limit(chunk))).all()
            if not rows:
                return
            yield [MerchantAccess(r.id, r.mode, r.token_hash) for r in rows]
            if len(rows) < chunk:
                return
            last = rows[-1].id

    async def count(self) -> int:
        async with self.db.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(merchants_table))).scalar_one())

    async def iter_all(self, *, chunk: int = 2000, start: str = "", stop: str | None = None) -> AsyncIterator[Merchant]:
        """Every merchant with ``start <= id < stop`` (``stop`` None: no upper bound), streamed in id
        order (bounded memory for 100,000+). Ids compare and sort bytewise (:meth:`_binary_id`), as
        Python compares them, so ranges cut by :meth:`ids_at` hold each id exactly once."""
        t, key = merchants_table, self._binary_id()
        where = key >= start
        while True:
            if stop is not None:
                where = and_(where, key < stop)
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(select(t).where(where).order_by(key).limit(chunk))).all()
            if not rows:
                return
            for r in rows:
                yield merchant_from_row(r)
            where = key > rows[-1].id

    def _binary_id(self) -> ColumnElement[str]:
        """The id column in code-point order: merchant ids are case-sensitive, and a PostgreSQL
        database's default collation (e.g. en_US.utf8) sorts ``shop-a`` before ``Shop-B``. SQLite
        compares bytes already."""
        t = merchants_table
        return t.c.id.collate("C") if dialect(self.db.engine) == "postgresql" else t.c.id

    async def ids_at(self, offsets: Sequence[int]) -> list[str]:
        """The ids at ``offsets`` (0-based, in code-point id order, as :meth:`iter_all` streams) that
        exist: cut points for key ranges."""
        t, key = merchants_table, self._binary_id()
        out: list[str] = []
        async with self.db.engine.connect() as conn:
            for offset in offsets:
                found = (await conn.execute(select(t.c.id).order_by(key).offset(offset).limit(1))).scalar()
                if found is not None:
                    out.append(str(found))
        return out


def dump_json(m: Merchant) -> str:
    return json.dumps({"id": m.id, "name": m.name, "mode": m.mode, "plugin": m.plugin, "channels": list(m.channels)}, ensure_ascii=False)
