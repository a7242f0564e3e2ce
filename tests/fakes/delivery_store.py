"""An in-memory delivery store: the contract of :class:`consumers.notify.store.SqlDeliveryStore` in a
dict, for in-process tests of delivery and fan-out (the shared contract tests run it against the
SQL store too). One process only; times kept in UTC like the SQL store; ``claim`` scans every row."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from consumers.notify.delivery import DeliveryRecord, RetryItem, Status, split_key
from consumers.notify.ports import OutboundMessage


@dataclass(slots=True)
class _Mem:
    record: DeliveryRecord
    payload: OutboundMessage | None = None


class MemoryDeliveryStore:
    """The SQL store's contract in a dict."""

    def __init__(self) -> None:
        self._rows: dict[str, _Mem] = {}

    async def reserve(self, key: str, now: datetime) -> Status:
        now = now.astimezone(UTC)
        existing = self._rows.get(key)
        if existing is not None:
            return cast(Status, existing.record.state)
        recipient, _, _, channel = split_key(key)
        self._rows[key] = _Mem(DeliveryRecord(key, "in_flight", recipient, channel, key, 0, "", "", now, now, None, None))
        return "new"

    async def release(self, key: str) -> None:
        row = self._rows.get(key)
        if row is not None and row.record.state == "in_flight":
            del self._rows[key]

    def _row(self, key: str, now: datetime) -> _Mem:
        now = now.astimezone(UTC)
        if key not in self._rows:
            recipient, _, _, channel = split_key(key)
            self._rows[key] = _Mem(DeliveryRecord(key, "in_flight", recipient, channel, key, 0, "", "", now, now, None, None))
        return self._rows[key]

    async def mark_sent(self, key: str, receipt: str, now: datetime) -> None:
        now = now.astimezone(UTC)
        row = self._row(key, now)
        row.record = replace(row.record, state="sent", receipt=receipt, sent_at=now, updated_at=now, next_attempt_at=None,
                             attempts=row.record.attempts + 1)
        row.payload = None

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
        if not permanent and retry_at is None:
            raise ValueError("a transient failure needs retry_at")
        now = now.astimezone(UTC)
        retry_at = retry_at.astimezone(UTC) if retry_at is not None else None
        row = self._row(key, now)
        row.record = replace(
            row.record,
            state="failed" if permanent else "retry",
            last_error=reason,
            attempts=row.record.attempts + 1,
            updated_at=now,
            next_attempt_at=None if permanent else retry_at,
            group_key=message.dedupe_key if message is not None else row.record.group_key,
            channel=channel or row.record.channel,
        )
        if message is not None:
            row.payload = message

    async def due_retries(self, now: datetime, limit: int) -> list[RetryItem]:
        groups: dict[str, list[_Mem]] = {}
        for row in self._rows.values():
            r = row.record
            if r.state == "retry" and r.next_attempt_at is not None and r.next_attempt_at <= now:
                groups.setdefault(r.group_key, []).append(row)
        ordered = sorted(groups.items(), key=lambda g: min(m.record.next_attempt_at or now for m in g[1]))[:limit]
        items = []
        for group, members in ordered:
            payload = next((m.payload for m in members if m.payload is not None), None)
            if payload is not None:
                keys = tuple(sorted(m.record.key for m in members))
                attempts = max(m.record.attempts for m in members)
                items.append(RetryItem(group, members[0].record.channel, keys, payload, attempts))
        return items

    async def claim(self, group_key: str, now: datetime) -> bool:
        now = now.astimezone(UTC)
        claimed = False
        for row in self._rows.values():
            r = row.record
            if r.group_key == group_key and r.state == "retry" and r.next_attempt_at is not None and r.next_attempt_at <= now:
                row.record = replace(r, state="in_flight", reserved_at=now, updated_at=now)
                claimed = True
        return claimed

    async def takeover(self, key: str, now: datetime, stale_before: datetime) -> bool:
        now = now.astimezone(UTC)
        row = self._rows.get(key)
        if row is None or row.record.state != "in_flight" or row.record.reserved_at >= stale_before:
            return False
        row.record = replace(row.record, reserved_at=now, updated_at=now)
        return True

    async def stale_in_flight(self, stale_before: datetime, limit: int) -> list[DeliveryRecord]:
        rows = [m.record for m in self._rows.values() if m.record.state == "in_flight" and m.record.reserved_at < stale_before]
        return sorted(rows, key=lambda r: r.reserved_at)[:limit]

    async def dead_letters(self, limit: int) -> list[DeliveryRecord]:
        rows = [m.record for m in self._rows.values() if m.record.state == "failed"]
        return sorted(rows, key=lambda r: r.updated_at, reverse=True)[:limit]

    async def get(self, key: str) -> DeliveryRecord | None:
        row = self._rows.get(key)
        return row.record if row is not None else None
