"""Replays count once; big batches split deterministically; a failed store leaves the engine as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consumers.incidents.engine import IncidentEngine
from consumers.incidents.settings import IncidentSettings
from huabei_watch.bus.kafka import MessageContext
from huabei_watch.clock import ManualClock
from huabei_watch.events import PAYMENT_RESULTS, Event, EventData, PaymentResult, PaymentResultBatch
from huabei_watch.events.payments import BATCH_JSON
from tests.fakes.bus import RecordingPublisher
from tests.incidents import factories
from watcher.payments.pipeline import PaymentPipeline, split_to_fit
from watcher.payments.settings import DetectionSettings
from watcher.payments.signing import VerifiedBatch

T = factories.T0


def batch(n: int, merchant: str = "m1") -> PaymentResultBatch:
    return PaymentResultBatch(merchant_id=merchant, results=tuple(
        PaymentResult(merchant_id=merchant, at=T - timedelta(seconds=i % 100), success=i % 4 != 0,
                      code="" if i % 4 else "20000", plugin="woo/1.0", trade_no=f"T{i:012d}") for i in range(n)))


async def test_a_batch_replayed_under_its_event_id_is_counted_once() -> None:
    seen: list[str] = []
    pipeline = PaymentPipeline(RecordingPublisher(), ManualClock(T), DetectionSettings(),
                               on_plugin=lambda merchant, plugin: seen.append(merchant))
    ev: Event[EventData] = Event.build(PAYMENT_RESULTS, batch(5), time=T)
    ctx = MessageContext("huabei.payments.results", 0, 0, 1, T)
    await pipeline.handle(ev, ctx)
    await pipeline.handle(ev, ctx)  # the same record again (a replay, a redelivery)
    assert len(seen) == 5 and pipeline.replays == 1


@pytest.mark.parametrize("n", [1, 3, 10_000])
def test_split_parts_fit_keep_every_result_in_order_and_are_the_same_every_time(n: int) -> None:
    whole = batch(n)
    verified = VerifiedBatch(whole.merchant_id, BATCH_JSON.validate_json(whole.model_dump_json())["results"])
    parts = split_to_fit(verified, max_bytes=100_000)
    assert all(len(data) <= 100_000 for _, data in parts)
    assert all(data == PaymentResultBatch.model_validate_json(data).model_dump_json().encode() for _, data in parts)
    assert tuple(r for _, data in parts for r in PaymentResultBatch.model_validate_json(data).results) == whole.results
    assert [data for _, data in parts] == [data for _, data in split_to_fit(verified, max_bytes=100_000)]
    assert (len(parts) > 1) is (len(whole.model_dump_json()) > 100_000)


def test_rollback_returns_the_engine_to_its_checkpoint_so_a_retried_signal_applies_again() -> None:
    engine = IncidentEngine(IncidentSettings())
    mark = engine.checkpoint()
    signal = factories.maintenance()
    assert engine.apply(signal, T)  # applied in memory; suppose the store failed
    engine.rollback(mark)
    assert engine.incidents() == ()
    assert engine.apply(signal, T), "the redelivered signal is not taken for a duplicate"
    manual = engine.open_manual(now=T, by="ops", title="t", summary_zh="")
    mark = engine.checkpoint()
    engine.silence(manual.incident_id, T + timedelta(hours=1), T)
    engine.rollback(mark)
    held = engine.get(manual.incident_id)
    assert held is not None and held.silenced_until is None
