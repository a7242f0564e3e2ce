"""The rules of a delivery reservation (one row per dedupe key), apart from how rows are kept.

Pure: no I/O. The SQL store (:mod:`consumers.notify.store`, SQLite and PostgreSQL) turns each rule
into its statement (a WHERE clause, the values of an UPDATE: compare-and-set across processes);
the in-memory store of the fast tests evaluates the same rule on a dict and only keeps rows.

A row is a mapping of column name to value (the columns of ``notification_deliveries``). Its
``payload`` is the message kept for a retry: the SQL store encodes it as JSON, a store in memory
may keep the :class:`~consumers.notify.ports.OutboundMessage` itself.

* **reserve**: an absent key is inserted ``in_flight`` (:func:`new_row`) and is "new"; a present
  key answers its state; of a key given twice in one batch only the first is "new"
  (:func:`reserve_statuses`).
* **release** drops a row only while it matches :data:`RELEASABLE` (``in_flight``).
* **mark sent / failed**: the :class:`Change` of :func:`sent` / :func:`failed`, each counting one
  provider try. A key whose row is gone (a wiped table) is recorded anyway (:func:`recorded_anyway`).
* **claim** a retry group: its rows matching :data:`DUE` at ``now`` go back to ``in_flight``,
  reserved now (:func:`claimed`); :func:`due_groups` orders due groups by their earliest due time.
* **takeover**: a row matching :data:`STALE` (``in_flight``, reserved before ``stale_before``: the
  lease ran out) is reserved again now (:func:`taken_over`).
* Ops lists: :data:`STALE` rows (oldest reservation first; the deliverer's ``unconfirmed_after``
  picks the bound) and :data:`DEAD` rows (latest update first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from consumers.notify.plan import channel_of

if TYPE_CHECKING:
    from consumers.notify.channels.base import OutboundMessage

Status = Literal["new", "in_flight", "retry", "sent", "failed"]
IN_FLIGHT, RETRY, SENT, FAILED = "in_flight", "retry", "sent", "failed"
#: Longest values kept (the column sizes of the SQL table; the memory store keeps the same).
RECIPIENT_MAX, CHANNEL_MAX, RECEIPT_MAX, ERROR_MAX = 200, 64, 200, 2000


def split_key(key: str) -> tuple[str, str, str, str]:
    """(recipient, incident_id, phase, channel) of a dedupe key; incident and phase "" if not one."""
    parts = key.split("|")
    if len(parts) == 4:
        return parts[0], parts[1], parts[2], channel_of(parts[3])
    return (parts[0], "", "", parts[-1]) if parts else ("", "", "", "")


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One dedupe key as stored. ``attempts``: provider tries made for it, failed ones and the one
    that succeeded (a message sent at the first try has 1)."""

    key: str
    state: str
    recipient: str
    channel: str
    group_key: str
    attempts: int
    last_error: str
    receipt: str
    reserved_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class RetryItem:
    """A stored message due for another attempt; ``keys`` are the part keys it covers."""

    group_key: str
    channel: str
    keys: tuple[str, ...]
    message: OutboundMessage
    attempts: int


@dataclass(frozen=True, slots=True)
class Window:
    """Rows in ``state`` whose ``column`` (when named) is before a bound: ``<`` it, or ``<=`` when
    ``inclusive``. A row whose column is empty (SQL NULL) never matches a bound."""

    state: str
    column: str | None = None
    inclusive: bool = False

    def matches(self, row: Mapping[str, Any], bound: datetime | None = None) -> bool:
        if row["state"] != self.state:
            return False
        if self.column is None:
            return True
        value = row[self.column]
        if value is None or bound is None:
            return False
        return bool(value <= bound if self.inclusive else value < bound)


#: A reservation that may be released (dropped): not yet confirmed either way.
RELEASABLE = Window(IN_FLIGHT)
#: A retry due at the bound (``now``): claimable, listed by ``due_retries``.
DUE = Window(RETRY, "next_attempt_at", inclusive=True)
#: A reservation made before the bound (``stale_before``): its lease ran out, or it is unconfirmed.
STALE = Window(IN_FLIGHT, "reserved_at")
#: A dead letter: failed for good.
DEAD = Window(FAILED)


@dataclass(frozen=True, slots=True)
class Change:
    """What a transition writes. ``values``: columns set as given (never ``attempts`` nor
    ``payload``); ``attempt``: one more provider try counted; ``payload``: the message to keep
    for a retry (None: as it was), or dropped when ``clear_payload``."""

    values: Mapping[str, Any]
    attempt: bool = False
    payload: OutboundMessage | None = None
    clear_payload: bool = False


def new_row(key: str, now: datetime) -> dict[str, Any]:
    """Every column of a fresh reservation of ``key`` (``in_flight``, reserved now)."""
    recipient, _, _, channel = split_key(key)
    return {
        "dedupe_key": key, "state": IN_FLIGHT, "recipient": recipient[:RECIPIENT_MAX], "channel": channel[:CHANNEL_MAX],
        "group_key": key, "payload": None, "attempts": 0, "last_error": "", "receipt": "", "reserved_at": now,
        "updated_at": now, "next_attempt_at": None, "sent_at": None,
    }


def reserve_statuses(keys: Sequence[str], inserted: Iterable[str], states: Mapping[str, str]) -> list[Status]:
    """The answer of a reserve per key, in ``keys`` order: "new" for a key this reserve inserted
    (once, for a key given twice), else its stored state (``in_flight`` for a row that went
    between the insert and the read: taken as somebody else's)."""
    new = set(inserted)
    out: list[Status] = []
    for k in keys:
        if k in new:
            new.discard(k)
            out.append("new")
        else:
            out.append(cast(Status, states.get(k, IN_FLIGHT)))
    return out


def sent(receipt: str, now: datetime) -> Change:
    """Confirmed: the provider's receipt kept, the message dropped, the try counted."""
    return Change(
        {"state": SENT, "receipt": receipt[:RECEIPT_MAX], "sent_at": now, "updated_at": now, "next_attempt_at": None},
        attempt=True, clear_payload=True,
    )


def failed(
    reason: str, permanent: bool, now: datetime, *, retry_at: datetime | None = None,
    message: OutboundMessage | None = None, channel: str | None = None,
) -> Change:
    """A failed try: ``failed`` for good (a dead letter) or ``retry`` at ``retry_at`` (required)
    with ``message`` kept for it (its dedupe key becomes the row's group); ``channel`` when the
    message went out on another channel than the key names."""
    if not permanent and retry_at is None:
        raise ValueError("a transient failure needs retry_at")
    values: dict[str, Any] = {
        "state": FAILED if permanent else RETRY, "last_error": reason[:ERROR_MAX], "updated_at": now,
        "next_attempt_at": None if permanent else retry_at,
    }
    if message is not None:
        values["group_key"] = message.dedupe_key
    if channel is not None:
        values["channel"] = channel[:CHANNEL_MAX]
    return Change(values, attempt=True, payload=message)


def claimed(now: datetime) -> Change:
    """A due retry claimed for sending: ``in_flight`` again, reserved now."""
    return Change({"state": IN_FLIGHT, "reserved_at": now, "updated_at": now})


def taken_over(now: datetime) -> Change:
    """A stale reservation taken over: reserved again now, still ``in_flight``."""
    return Change({"reserved_at": now, "updated_at": now})


def apply(row: Mapping[str, Any], change: Change) -> dict[str, Any]:
    """``row`` after ``change`` (a store keeping rows in memory; a row recorded anyway)."""
    out = dict(row) | dict(change.values)
    if change.attempt:
        out["attempts"] = row["attempts"] + 1
    if change.clear_payload:
        out["payload"] = None
    elif change.payload is not None:
        out["payload"] = change.payload
    return out


def recorded_anyway(key: str, change: Change, now: datetime) -> dict[str, Any]:
    """The row of a key marked while it has no row (the reservation is gone): as reserved now, then changed."""
    return apply(new_row(key, now), change)


def record_of(row: Mapping[str, Any]) -> DeliveryRecord:
    """The :class:`DeliveryRecord` of a stored row."""
    return DeliveryRecord(
        key=row["dedupe_key"], state=row["state"], recipient=row["recipient"], channel=row["channel"],
        group_key=row["group_key"], attempts=row["attempts"], last_error=row["last_error"], receipt=row["receipt"],
        reserved_at=row["reserved_at"], updated_at=row["updated_at"], next_attempt_at=row["next_attempt_at"],
        sent_at=row["sent_at"],
    )


def due_groups(rows: Iterable[Mapping[str, Any]], now: datetime, limit: int) -> list[str]:
    """The groups with a row :data:`DUE` at ``now``, earliest due first, at most ``limit`` (what
    the SQL store asks its database: GROUP BY group_key ORDER BY min(next_attempt_at))."""
    first: dict[str, datetime] = {}
    for r in rows:
        if DUE.matches(r, now):
            g, at = r["group_key"], r["next_attempt_at"]
            if g not in first or at < first[g]:
                first[g] = at
    return sorted(first, key=lambda g: first[g])[:limit]


def retry_items(
    groups: Sequence[str], rows: Iterable[Mapping[str, Any]], message_of: Callable[[Any], OutboundMessage],
) -> list[RetryItem]:
    """One :class:`RetryItem` per group in ``groups`` order, from its due ``rows`` (keys sorted;
    the channel of its first key; the most tries any key had). A group without a kept message is
    left out. ``message_of`` turns a stored ``payload`` into the message."""
    by_group: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_group.setdefault(r["group_key"], []).append(r)
    items: list[RetryItem] = []
    for group in groups:
        members = sorted(by_group.get(group, []), key=lambda r: str(r["dedupe_key"]))
        payload = next((r["payload"] for r in members if r["payload"]), None)
        if payload is None:
            continue
        items.append(RetryItem(
            group_key=group, channel=members[0]["channel"], keys=tuple(r["dedupe_key"] for r in members),
            message=message_of(payload), attempts=max(r["attempts"] for r in members),
        ))
    return items
