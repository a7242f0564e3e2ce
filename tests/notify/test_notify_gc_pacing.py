"""The collector's young-generation threshold is raised while a fan-out delivers, and put back after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from consumers.notify.fanout import FanOut
from consumers.notify.gc_pacing import GcPacing
from consumers.notify.ports import OutboundMessage, SendReceipt
from consumers.notify.subsettings import FanOutSettings
from huabei_watch.events import IncidentKind, Phase, Scope
from tests.notify.test_notify_fanout import Recorder, Stream, deliverer, incident

MAINT = incident("maint-gc", IncidentKind.MAINTENANCE, Phase.ACTIVE, Scope.platform())
BEFORE = (701, 11, 12)  # not CPython's default, so a restore to "the default" would show


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(*BEFORE)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


class Watching(Recorder):
    """Records the collector's thresholds at each send."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.seen: set[tuple[int, int, int]] = set()

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        self.seen.add(gc.get_threshold())
        return await super().send(msg)


async def test_the_young_threshold_is_raised_while_delivering_and_put_back_after() -> None:
    wecom = Watching("wecom")
    fan = FanOut(deliverer(wecom), FanOutSettings(default_concurrency=4, gc_threshold=25_000))
    fan.submit("maint-gc", Stream(MAINT, 50, "wecom", wecom))
    await fan.run(burst=True)
    assert len(set(wecom.sent)) == 50
    assert wecom.seen == {(25_000, 11, 12)}
    assert gc.get_threshold() == BEFORE


async def test_zero_leaves_the_collector_alone() -> None:
    wecom = Watching("wecom")
    fan = FanOut(deliverer(wecom), FanOutSettings(default_concurrency=4, gc_threshold=0))
    fan.submit("maint-gc", Stream(MAINT, 20, "wecom", wecom))
    await fan.run(burst=True)
    assert wecom.seen == {BEFORE}
    assert gc.get_threshold() == BEFORE


def test_nested_holds_restore_once_the_last_lets_go() -> None:
    pacing = GcPacing(40_000)
    pacing.enter()
    pacing.enter()
    assert gc.get_threshold() == (40_000, 11, 12) and pacing.raised
    pacing.leave()
    assert gc.get_threshold() == (40_000, 11, 12)
    pacing.leave()
    assert gc.get_threshold() == BEFORE and not pacing.raised
    with pytest.raises(RuntimeError, match="without enter"):
        pacing.leave()


def test_a_higher_threshold_or_a_disabled_collector_is_kept() -> None:
    gc.set_threshold(90_000, 11, 12)
    pacing = GcPacing(40_000)
    pacing.enter()
    assert gc.get_threshold() == (90_000, 11, 12) and not pacing.raised
    pacing.leave()
    gc.set_threshold(0, 11, 12)
    pacing.enter()
    assert gc.get_threshold() == (0, 11, 12)
    pacing.leave()
    assert gc.get_threshold() == (0, 11, 12)
    with pytest.raises(ValueError, match="0"):
        GcPacing(-1)
