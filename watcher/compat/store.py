"""What the compatibility checker keeps in the database (adapter).

* ``compat_advisories``: every plugin finding and its state; a finding is published when this
  table says its state changed, so a restart or a second process never republishes it. The
  published payload is stored, so a publish that failed is retried with the same event.
* ``compat_notices``: interface-change notices received, so the daily check (and a merchant whose
  plugin is first seen later) still meets them.
* ``merchant_plugins``: the plugin last reported on a merchant's payment results; it overrides the
  registry's ``plugin`` column, because it is what actually runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from huabei_watch.db.engine import Database
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import insert_all_if_absent, upsert
from huabei_watch.events.signals import MerchantFinding
from watcher.compat.advice import InterfaceNotice

compat_advisories = Table(
    "compat_advisories",
    metadata,
    Column("finding_id", String(300), primary_key=True),
    Column("merchant_id", String(64), nullable=False, index=True),
    Column("state", String(10), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("updated_at", AwareDateTime(), nullable=False),
    Column("published_at", AwareDateTime(), index=True),
)

compat_notices = Table(
    "compat_notices",
    metadata,
    Column("notice_id", String(200), primary_key=True),
    Column("payload", JSON, nullable=False),
    Column("received_at", AwareDateTime(), nullable=False),
)

merchant_plugins = Table(
    "merchant_plugins",
    metadata,
    Column("merchant_id", String(64), primary_key=True),
    Column("plugin", String(128), nullable=False),
    Column("seen_at", AwareDateTime(), nullable=False),
)

_TICK = timedelta(microseconds=1)
#: Rows per multi-row statement (SQLite allows 32766 bound parameters).
_IN_CHUNK = 500


def notice_to_json(n: InterfaceNotice) -> dict[str, Any]:
    return {
        "notice_id": n.notice_id, "plugins": list(n.plugins), "min_version": n.min_version,
        "deadline": n.deadline.isoformat() if n.deadline else None, "published_at": n.published_at.isoformat(),
        "title": n.title, "url": n.url,
    }


def notice_from_json(d: dict[str, Any]) -> InterfaceNotice:
    return InterfaceNotice(
        notice_id=d["notice_id"], plugins=tuple(d["plugins"]), min_version=d["min_version"],
        deadline=date.fromisoformat(d["deadline"]) if d["deadline"] else None,
        published_at=datetime.fromisoformat(d["published_at"]), title=d["title"], url=d["url"],
    )


def _payload(f: MerchantFinding) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(f.model_dump_json())
    return result


class CompatStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- advisories ------------------------------------------------------------------------------
    async def claim(self, finding: MerchantFinding, now: datetime) -> MerchantFinding | None:
        """Record ``finding`` as the finding's new state if that is a change; return what to
        publish, or None when the state is already so (here or by another process).

        A clearance is stored only over a raised finding. A finding raised again after a
        clearance gets ``observed_at = now`` (a new event, not a replay of the first raise); a
        clearance is always observed after the raise it ends."""
        [result] = await self.claim_many([finding], now)
        return result

    async def claim_many(self, findings: Sequence[MerchantFinding], now: datetime) -> list[MerchantFinding | None]:
        """:meth:`claim` for several findings in one transaction (one answer per finding, in order).

        New raises go in as one multi-row insert that returns the rows it inserted; the rest (a
        raise over a clearance, clearances) one by one."""

        async def work() -> list[MerchantFinding | None]:
            async with self.db.begin() as conn:
                fresh = [f for f in findings if f.state == "raised"]
                inserted = await _insert_new(conn, fresh, now) if fresh else set()
                return [f if f.state == "raised" and f.finding_id in inserted else await _claim_change(conn, f, now)
                        for f in findings]

        return await self.db.run(work) if findings else []

    async def mark_published(self, findings: Sequence[MerchantFinding], now: datetime) -> None:
        """Note that these states were published (a newer state of the same finding stays unpublished)."""

        async def work() -> None:
            async with self.db.begin() as conn:
                for state in ("raised", "cleared"):
                    ids = [f.finding_id for f in findings if f.state == state]
                    for i in range(0, len(ids), _IN_CHUNK):
                        await conn.execute(
                            update(compat_advisories)
                            .where(compat_advisories.c.finding_id.in_(ids[i : i + _IN_CHUNK]),
                                   compat_advisories.c.state == state, compat_advisories.c.published_at.is_(None))
                            .values(published_at=now)
                        )

        if findings:
            await self.db.run(work)

    async def unpublished(self, claimed_before: datetime, limit: int = 1000) -> list[MerchantFinding]:
        """Findings whose latest state was stored before ``claimed_before`` but never published."""
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(
                select(compat_advisories.c.payload)
                .where(compat_advisories.c.published_at.is_(None), compat_advisories.c.updated_at < claimed_before)
                .order_by(compat_advisories.c.updated_at).limit(limit)
            )).all()
        return [MerchantFinding.model_validate(r.payload) for r in rows]

    async def raised_ids(self, merchant_ids: Sequence[str]) -> dict[str, set[str]]:
        """Raised finding ids per merchant (merchants without any are absent)."""
        out: dict[str, set[str]] = {}
        if not merchant_ids:
            return out
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(
                select(compat_advisories.c.merchant_id, compat_advisories.c.finding_id)
                .where(compat_advisories.c.merchant_id.in_(list(merchant_ids)), compat_advisories.c.state == "raised")
            )).all()
        for r in rows:
            out.setdefault(r.merchant_id, set()).add(r.finding_id)
        return out

    async def state(self, finding_id: str) -> str | None:
        async with self.db.engine.connect() as conn:
            return (await conn.execute(
                select(compat_advisories.c.state).where(compat_advisories.c.finding_id == finding_id)
            )).scalar_one_or_none()

    # -- notices ---------------------------------------------------------------------------------
    async def save_notice(self, notice: InterfaceNotice, now: datetime) -> None:
        """Insert or replace (an edited notice replaces its earlier version)."""

        async def work() -> None:
            async with self.db.begin() as conn:
                await upsert(conn, compat_notices,
                             {"notice_id": notice.notice_id, "payload": notice_to_json(notice), "received_at": now},
                             ["notice_id"])

        await self.db.run(work)

    async def notices(self) -> list[InterfaceNotice]:
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(select(compat_notices.c.payload).order_by(compat_notices.c.notice_id))).all()
        return [notice_from_json(r.payload) for r in rows]

    # -- observed plugins ------------------------------------------------------------------------
    async def set_plugin(self, merchant_id: str, plugin: str, now: datetime) -> bool:
        """Remember the plugin seen on a merchant's payment results. True if it changed."""

        async def work() -> bool:
            async with self.db.begin() as conn:
                current = (await conn.execute(
                    select(merchant_plugins.c.plugin).where(merchant_plugins.c.merchant_id == merchant_id)
                )).scalar_one_or_none()
                if current == plugin:
                    return False
                await upsert(conn, merchant_plugins, {"merchant_id": merchant_id, "plugin": plugin, "seen_at": now},
                             ["merchant_id"])
                return True

        return await self.db.run(work)

    async def plugins(self, merchant_ids: Sequence[str]) -> dict[str, str]:
        if not merchant_ids:
            return {}
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(
                select(merchant_plugins.c.merchant_id, merchant_plugins.c.plugin)
                .where(merchant_plugins.c.merchant_id.in_(list(merchant_ids)))
            )).all()
        return {r.merchant_id: r.plugin for r in rows}


async def _insert_new(conn: AsyncConnection, findings: Sequence[MerchantFinding], now: datetime) -> set[str]:
    """Insert raised findings that have no row yet (atomically); return the ids inserted."""
    rows = [{"finding_id": f.finding_id, "merchant_id": f.merchant_id, "state": "raised", "payload": _payload(f),
             "updated_at": now, "published_at": None} for f in findings]
    inserted = await insert_all_if_absent(conn, compat_advisories, rows, ["finding_id"], chunk=_IN_CHUNK)
    return {r.finding_id for r in inserted}


async def _claim_change(conn: AsyncConnection, finding: MerchantFinding, now: datetime) -> MerchantFinding | None:
    """A state change of an existing row (compare-and-set), or None."""
    row = (await conn.execute(
        select(compat_advisories.c.state, compat_advisories.c.payload)
        .where(compat_advisories.c.finding_id == finding.finding_id)
    )).first()
    if row is None or row.state == finding.state:
        return None  # a clearance of nothing, or already in this state
    previous = MerchantFinding.model_validate(row.payload)
    observed = max(finding.observed_at, now) if finding.state == "raised" else finding.observed_at
    observed = max(observed, previous.observed_at + _TICK)
    stored = finding.model_copy(update={"observed_at": observed})
    # compare-and-set on the state read above: of two processes, one updates
    result = await conn.execute(
        update(compat_advisories)
        .where(compat_advisories.c.finding_id == finding.finding_id, compat_advisories.c.state == row.state)
        .values(state=finding.state, payload=_payload(stored), updated_at=now, published_at=None)
    )
    return stored if result.rowcount else None
