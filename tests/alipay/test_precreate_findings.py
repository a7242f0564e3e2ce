"""FindingTracker: hysteresis, causes, and 'never a false account frozen'. Pure, no network."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from huabei_watch.events import MERCHANT_FINDING, Cause, Event
from tests.alipay.support import START, classify
from watcher.sources.precreate_core import (
    OUR_CONFIGURATION,
    Assessment,
    FindingTracker,
    PrecreateOutcome,
    TrackerState,
    Verdict,
    step,
)

# Shorthands for outcomes in the tables below.
OK = "ok"
BLOCKED = "blocked"
NOT_NORMAL = "not_normal"
INVALID_SIG = "invalid_sig"
SYSTEM = "system"
TIMEOUT = "timeout"
KEY = "key_invalid"
PLATFORM_KEY = "signature_invalid"
UNSIGNED_BLOCKED = "unsigned_blocked"
UNKNOWN = "unknown_code"


def outcome(kind: str, i: int, merchant: str = "m1") -> PrecreateOutcome:
    at = START + timedelta(hours=i)
    mk = partial(PrecreateOutcome, merchant_id=merchant, at=at)
    if kind == OK:
        return mk(ok=True, finding="ok", code="10000", verified=True)
    if kind in (BLOCKED, NOT_NORMAL, SYSTEM, UNKNOWN):
        sub = {BLOCKED: "ACQ.SELLER_BEEN_BLOCKED", NOT_NORMAL: "ACQ.MERCHANT_STATUS_NOT_NORMAL",
               SYSTEM: "ACQ.SYSTEM_ERROR", UNKNOWN: "ACQ.SOMETHING_NEW"}[kind]
        return mk(ok=False, finding="error", code="40004", sub_code=sub, verified=True)
    if kind == INVALID_SIG:
        return mk(ok=False, finding="error", code="40002", sub_code="isv.invalid-signature")
    if kind == UNSIGNED_BLOCKED:
        return mk(ok=False, finding="error", code="40002", sub_code="ACQ.SELLER_BEEN_BLOCKED")
    if kind == TIMEOUT:
        return mk(ok=False, finding="timeout", transport_error="timeout")
    if kind == KEY:
        return mk(ok=False, finding="key_invalid", detail="merchant_private_key")
    if kind == PLATFORM_KEY:
        return mk(ok=False, finding="signature_invalid")
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        ([BLOCKED], []),
        ([BLOCKED, BLOCKED], [(1, "raised", Cause.MERCHANT_ACCOUNT)]),
        ([BLOCKED, BLOCKED, BLOCKED, BLOCKED], [(1, "raised", Cause.MERCHANT_ACCOUNT)]),  # once, not per probe
        ([BLOCKED, OK, BLOCKED, OK], []),  # flapping never reaches the threshold
        ([BLOCKED, TIMEOUT, BLOCKED], [(2, "raised", Cause.MERCHANT_ACCOUNT)]),  # a timeout is no evidence
        ([BLOCKED, SYSTEM, BLOCKED], [(2, "raised", Cause.MERCHANT_ACCOUNT)]),  # nor is a platform error
        ([BLOCKED, NOT_NORMAL], [(1, "raised", Cause.MERCHANT_ACCOUNT)]),  # same cause, other code
        ([BLOCKED, INVALID_SIG], []),  # different causes do not add up
        (
            [BLOCKED, BLOCKED, OK, BLOCKED, OK, OK],
            [(1, "raised", Cause.MERCHANT_ACCOUNT), (5, "cleared", Cause.MERCHANT_ACCOUNT)],
        ),
        (
            [BLOCKED, BLOCKED, INVALID_SIG, INVALID_SIG],
            [(1, "raised", Cause.MERCHANT_ACCOUNT), (3, "raised", Cause.INTEGRATION)],  # cause changed
        ),
        ([SYSTEM, SYSTEM, SYSTEM, TIMEOUT, TIMEOUT], []),
        ([UNKNOWN, UNKNOWN, UNKNOWN], []),
        ([OK, OK, OK], []),  # nothing to clear
        ([KEY, KEY], [(1, "raised", Cause.INTEGRATION)]),
        ([PLATFORM_KEY, PLATFORM_KEY], [(1, "raised", Cause.INTEGRATION)]),
        ([UNSIGNED_BLOCKED, UNSIGNED_BLOCKED], [(1, "raised", Cause.INTEGRATION)]),
    ],
)
def test_tracker_table(sequence: list[str], expected: list[tuple[int, str, Cause]]) -> None:
    tracker = FindingTracker(classify, raise_after=2, clear_after=2)
    got = []
    for i, kind in enumerate(sequence):
        finding = tracker.observe(outcome(kind, i))
        if finding is not None:
            got.append((i, finding.state, finding.cause))
    assert got == expected


@pytest.mark.parametrize("kind", [KEY, PLATFORM_KEY, UNSIGNED_BLOCKED, TIMEOUT, SYSTEM, INVALID_SIG])
def test_nothing_but_a_verified_answer_ever_raises_merchant_account(kind: str) -> None:
    tracker = FindingTracker(classify, raise_after=1, clear_after=1)
    findings = [tracker.observe(outcome(kind, i)) for i in range(5)]
    assert all(f is None or f.cause is not Cause.MERCHANT_ACCOUNT for f in findings)


@pytest.mark.parametrize("kind", [KEY, PLATFORM_KEY, UNSIGNED_BLOCKED])
def test_our_side_findings_are_explained_as_our_configuration_without_merchant_advice(kind: str) -> None:
    tracker = FindingTracker(classify, raise_after=1)
    finding = tracker.observe(outcome(kind, 0))
    assert finding is not None
    assert finding.explanation.startswith(OUR_CONFIGURATION)
    assert finding.advice_zh == ""


def test_raised_finding_is_a_publishable_merchant_finding_event() -> None:
    tracker = FindingTracker(classify, raise_after=1)
    finding = tracker.observe(outcome(BLOCKED, 0, merchant="shop-9"))
    assert finding is not None
    event = Event.build(MERCHANT_FINDING, finding, time=finding.observed_at)
    assert event.key == "merchant:shop-9"
    assert finding.finding_id == "precreate:shop-9"
    again = FindingTracker(classify, raise_after=1).observe(outcome(BLOCKED, 0, merchant="shop-9"))
    assert again is not None
    assert Event.build(MERCHANT_FINDING, again, time=again.observed_at).id == event.id  # replicas agree


def test_merchants_are_tracked_independently() -> None:
    tracker = FindingTracker(classify, raise_after=2)
    assert tracker.observe(outcome(BLOCKED, 0, "a")) is None
    assert tracker.observe(outcome(BLOCKED, 0, "b")) is None
    assert tracker.observe(outcome(OK, 1, "a")) is None
    finding = tracker.observe(outcome(BLOCKED, 1, "b"))
    assert finding is not None and finding.merchant_id == "b"
    assert tracker.state("a") == TrackerState(good_streak=1)


def test_restored_state_clears_without_reraising() -> None:
    tracker = FindingTracker(
        classify, clear_after=1, initial={"m1": TrackerState(raised=Cause.MERCHANT_ACCOUNT)}
    )
    assert tracker.observe(outcome(BLOCKED, 0)) is None  # already raised: no duplicate
    cleared = tracker.observe(outcome(OK, 1))
    assert cleared is not None and (cleared.state, cleared.cause) == ("cleared", Cause.MERCHANT_ACCOUNT)


def test_step_inconclusive_changes_nothing() -> None:
    state = TrackerState(raised=Cause.INTEGRATION, streak_cause=Cause.INTEGRATION, bad_streak=3, good_streak=0)
    assert step(state, Assessment(Verdict.INCONCLUSIVE), 2, 2) == (state, None)


def test_thresholds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FindingTracker(classify, raise_after=0)


def test_success_outcome_is_success_evidence_and_our_config_is_none() -> None:
    ok = outcome(OK, 0).as_payment_result()
    assert ok is not None and ok.success
    assert outcome(PLATFORM_KEY, 0).as_payment_result() is None
    assert outcome(KEY, 0).as_payment_result() is None
