"""An in-memory delivery store: the contract of :class:`consumers.notify.store.SqlDeliveryStore` in a
dict, for in-process tests of delivery and fan-out (the shared contract tests run it against the
SQL store too). It only keeps rows: every decision (what a reserve answers, which rows a release,
claim or takeover may touch, what a mark writes) is the rule of :mod:`consumers.notify.reservations`
that the SQL store applies in its statements. One process only; times kept in UTC like the SQL
store; the message of a retry kept as it is (the SQL store encodes it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from consumers.notify import reservations as rules
from consumers.notify.ports import OutboundMessage
from consumers.notify.reservations import DeliveryRecord, RetryItem, Status


def _kept(payload: Any) -> OutboundMessage:
    return cast(OutboundMessage, payload)  # kept as it is, not encoded


def _utc(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in row.items()}


class MemoryDeliveryStore:
    """The SQL store's contract in a dict of rows by dedupe key."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[str, Any]] = {}

    def _select(self, window: rules.Window, bound: datetime | None = None) -> list[dict[str, Any]]:
        return [r for r in self._rows.values() if window.matches(r, bound)]

    def _update(self, row: dict[str, Any], change: rules.Change) -> None:
        self._rows[row["dedupe_key"]] = _utc(rules.apply(row, change))

    async def reserve(self, key: str, now: datetime) -> Status:
        inserted = []
        if key not in self._rows:
            self._rows[key] = _utc(rules.new_row(key, now))
            inserted.append(key)
        return rules.reserve_statuses([key], inserted, {key: self._rows[key]["state"]})[0]

    async def release(self, key: str) -> None:
        row = self._rows.get(key)
        if row is not None and rules.RELEASABLE.matches(row):
            del self._rows[key]

    def _mark(self, key: str, change: rules.Change, now: datetime) -> None:
        row = self._rows.get(key)
        if row is None:  # the reservation is gone: recorded anyway, as the SQL store does
            self._rows[key] = _utc(rules.recorded_anyway(key, change, now))
        else:
            self._update(row, change)

    async def mark_sent(self, key: str, receipt: str, now: datetime) -> None:
        self._mark(key, rules.sent(receipt, now), now)

    async def mark_failed(
        self,
        key: str,
        reason: str,
        permanent: bool,
        now: datetime,
        *,
        retry_at: datetime | None = None,
        message: OutboundMessage | None = None,
        channel: str | None = None,
    ) -> None:
        self._mark(key, rules.failed(reason, permanent, now, retry_at=retry_at, message=message, channel=channel), now)

    async def due_retries(self, now: datetime, limit: int) -> list[RetryItem]:
        groups = rules.due_groups(self._rows.values(), now, limit)
        members = [r for r in self._select(rules.DUE, now) if r["group_key"] in groups]
        return rules.retry_items(groups, members, _kept)

    async def claim(self, group_key: str, now: datetime) -> bool:
        due = [r for r in self._select(rules.DUE, now) if r["group_key"] == group_key]
        for row in due:
            self._update(row, rules.claimed(now))
        return bool(due)

    async def takeover(self, key: str, now: datetime, stale_before: datetime) -> bool:
        row = self._rows.get(key)
        if row is None or not rules.STALE.matches(row, stale_before):
            return False
        self._update(row, rules.taken_over(now))
        return True

    async def stale_in_flight(self, stale_before: datetime, limit: int) -> list[DeliveryRecord]:
        rows = sorted(self._select(rules.STALE, stale_before), key=lambda r: r["reserved_at"])
        return [rules.record_of(r) for r in rows[:limit]]

    async def dead_letters(self, limit: int) -> list[DeliveryRecord]:
        rows = sorted(self._select(rules.DEAD), key=lambda r: r["updated_at"], reverse=True)
        return [rules.record_of(r) for r in rows[:limit]]

    async def get(self, key: str) -> DeliveryRecord | None:
        row = self._rows.get(key)
        return rules.record_of(row) if row is not None else None
