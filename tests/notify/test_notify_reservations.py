"""The reservation rules (:mod:`consumers.notify.reservations`) on plain rows: what both delivery
stores apply (the SQL store in its statements, the memory store on dicts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consumers.notify import reservations as rules
from consumers.notify.ports import OutboundMessage

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
KEY = "m1|inc-1|active|sms"
MSG = OutboundMessage(dedupe_key="group-1", recipient="m1", address="", title="花呗提醒", text="【花呗提醒】花呗暂停")


def test_a_new_reservation_is_in_flight_with_recipient_and_channel_from_the_key() -> None:
    row = rules.new_row(KEY, T0)
    assert (row["state"], row["recipient"], row["channel"], row["group_key"], row["attempts"]) == (
        "in_flight", "m1", "sms", KEY, 0)
    assert row["reserved_at"] == row["updated_at"] == T0


def test_reserve_answers_new_once_per_inserted_key_else_the_stored_state() -> None:
    assert rules.reserve_statuses(["a", "b", "a", "c"], {"a"}, {"b": "sent"}) == ["new", "sent", "in_flight", "in_flight"]


def test_windows_select_by_state_and_bound() -> None:
    row = rules.new_row(KEY, T0)
    assert rules.RELEASABLE.matches(row) and not rules.DEAD.matches(row)
    assert rules.STALE.matches(row, T0 + timedelta(seconds=1)) and not rules.STALE.matches(row, T0)
    retry = rules.apply(row, rules.failed("503", False, T0, retry_at=T0 + timedelta(minutes=5), message=MSG))
    assert not rules.RELEASABLE.matches(retry) and not rules.STALE.matches(retry, T0 + timedelta(days=1))
    assert not rules.DUE.matches(retry, T0) and rules.DUE.matches(retry, T0 + timedelta(minutes=5))
    dead = rules.apply(row, rules.failed("gone", True, T0))
    assert rules.DEAD.matches(dead) and not rules.DUE.matches(dead, T0 + timedelta(days=1))


def test_marks_count_tries_keep_or_drop_the_message_and_cut_long_values() -> None:
    retry = rules.apply(rules.new_row(KEY, T0), rules.failed("e" * 3000, False, T0, retry_at=T0, message=MSG,
                                                             channel="wecom"))
    assert (retry["attempts"], retry["payload"], retry["group_key"], retry["channel"]) == (1, MSG, "group-1", "wecom")
    assert len(retry["last_error"]) == rules.ERROR_MAX
    sent = rules.apply(retry, rules.sent("r" * 300, T0 + timedelta(minutes=1)))
    assert (sent["state"], sent["attempts"], sent["payload"], sent["next_attempt_at"]) == ("sent", 2, None, None)
    assert len(sent["receipt"]) == rules.RECEIPT_MAX and sent["sent_at"] == T0 + timedelta(minutes=1)
    with pytest.raises(ValueError, match="retry_at"):
        rules.failed("503", False, T0)


def test_claim_and_takeover_reserve_again_now() -> None:
    later = T0 + timedelta(minutes=20)
    claimed = rules.apply(rules.apply(rules.new_row(KEY, T0), rules.failed("503", False, T0, retry_at=T0)),
                          rules.claimed(later))
    assert (claimed["state"], claimed["reserved_at"], claimed["attempts"]) == ("in_flight", later, 1)
    taken = rules.apply(rules.new_row(KEY, T0), rules.taken_over(later))
    assert (taken["state"], taken["reserved_at"], taken["updated_at"]) == ("in_flight", later, later)


def test_a_mark_without_a_row_is_recorded_as_if_reserved_then_marked() -> None:
    row = rules.recorded_anyway(KEY, rules.sent("msg-9", T0), T0)
    assert (row["state"], row["attempts"], row["receipt"], row["reserved_at"]) == ("sent", 1, "msg-9", T0)


def test_due_groups_earliest_first_and_their_items() -> None:
    def retry(key: str, group: str, at: datetime, attempts: int) -> dict[str, object]:
        message = OutboundMessage(dedupe_key=group, recipient="m", address="", title="t", text="t")
        row = rules.new_row(key, T0)
        for _ in range(attempts):
            row = rules.apply(row, rules.failed("503", False, T0, retry_at=at, message=message))
        return row

    rows = [retry("b|i|p|sms", "g2", T0 + timedelta(minutes=2), 1), retry("a|i|p|sms", "g2", T0, 3),
            retry("c|i|p|sms", "g1", T0 + timedelta(minutes=1), 1), retry("d|i|p|sms", "g3", T0 + timedelta(hours=1), 1)]
    groups = rules.due_groups(rows, T0 + timedelta(minutes=5), 10)
    assert groups == ["g2", "g1"]
    items = rules.retry_items(groups, [r for r in rows if r["group_key"] in groups], lambda p: p)
    assert [(i.group_key, i.keys, i.attempts) for i in items] == [("g2", ("a|i|p|sms", "b|i|p|sms"), 3),
                                                                   ("g1", ("c|i|p|sms",), 1)]
    assert rules.due_groups(rows, T0 + timedelta(minutes=5), 1) == ["g2"]
