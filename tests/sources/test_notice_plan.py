"""Planning what to publish about one notice (pure): a table of previous state x understanding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from huabei_watch.events import (
    ANNOUNCEMENT_PUBLISHED,
    MAINTENANCE_CANCELLED,
    MAINTENANCE_SCHEDULED,
    MAINTENANCE_UPDATED,
    MaintenanceSignal,
)
from huabei_watch.events.common import Window
from tests.sources.helpers import START
from watcher.sources.extract import NoticeRef
from watcher.sources.notice_plan import plan_notice

REF = NoticeRef("n1", "https://open.example.com/n/1", "关于花呗服务系统维护的公告", date(2026, 11, 26))
AHEAD = Window(start=START + timedelta(minutes=10), end=START + timedelta(minutes=30))
LATER = Window(start=START + timedelta(hours=1), end=START + timedelta(hours=2))
PAST = Window(start=START - timedelta(days=3), end=START - timedelta(days=3, hours=-2))
CANCELLED = AHEAD.model_copy(update={"status": "cancelled"})


@dataclass(frozen=True)
class U:
    kind: str = "maintenance"
    windows: tuple[Window, ...] = ()
    channels: tuple[str, ...] = ("pcredit",)
    products: tuple[str, ...] = ("花呗",)
    huabei_affected: bool = True
    confidence: float = 0.9
    needs_review: bool = False

    def metric_labels(self) -> tuple[str, str]:
        return self.kind, "true" if self.needs_review else "false"


def _plan(u: U, *, prev_windows: tuple[Window, ...] | None = None, first: bool = False, text: str = "正文"):  # type: ignore[no-untyped-def]
    prev = None
    if prev_windows is not None:
        earlier = plan_notice(source_id="s", ref=REF, text="旧正文", understanding=U(windows=prev_windows),
                              prev=None, now=START, first_poll=False)
        prev = earlier.record
    return plan_notice(source_id="s", ref=REF, text=text, understanding=u, prev=prev, now=START, first_poll=first)


@pytest.mark.parametrize(
    ("name", "u", "prev_windows", "first", "expected", "windows_out"),
    [
        ("new maintenance", U(windows=(AHEAD,)), None, False, [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_SCHEDULED], (AHEAD,)),
        ("new, only past window", U(windows=(PAST,)), None, False, [ANNOUNCEMENT_PUBLISHED], None),
        ("new, past and future", U(windows=(PAST, AHEAD)), None, False, [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_SCHEDULED], (AHEAD,)),
        ("first poll, future", U(windows=(AHEAD,)), None, True, [MAINTENANCE_SCHEDULED], (AHEAD,)),
        ("first poll, past", U(windows=(PAST,)), None, True, [], None),
        ("first poll, fee notice", U(kind="fee_policy"), None, True, [], None),
        ("new fee notice", U(kind="fee_policy"), None, False, [ANNOUNCEMENT_PUBLISHED], None),
        ("edit moves window", U(windows=(LATER,)), (AHEAD,), False, [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_UPDATED], (LATER,)),
        ("edit keeps window", U(windows=(AHEAD,)), (AHEAD,), False, [ANNOUNCEMENT_PUBLISHED], None),
        ("edit cancels", U(windows=(CANCELLED,)), (AHEAD,), False, [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_CANCELLED], (CANCELLED,)),
        ("edit loses windows", U(kind="other"), (AHEAD,), False, [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_UPDATED], ()),
        ("edit of a notice without maintenance", U(windows=(AHEAD,)), (), False, [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_SCHEDULED], (AHEAD,)),
        ("upgrade kind counts", U(kind="upgrade", windows=(AHEAD,)), None, False, [ANNOUNCEMENT_PUBLISHED, MAINTENANCE_SCHEDULED], (AHEAD,)),
    ],
)
def test_plan_table(
    name: str, u: U, prev_windows: tuple[Window, ...] | None, first: bool, expected: list[str],
    windows_out: tuple[Window, ...] | None,
) -> None:
    plan = _plan(u, prev_windows=prev_windows, first=first)
    assert [e.type for e in plan.events] == expected, name
    signals = [e.data for e in plan.events if isinstance(e.data, MaintenanceSignal)]
    if windows_out is not None:
        assert signals[0].windows == windows_out
    assert plan.record.maintenance == (bool(signals) or (prev_windows is not None and bool(prev_windows))) or not signals


def test_record_remembers_whether_maintenance_was_published() -> None:
    assert _plan(U(windows=(AHEAD,))).record.maintenance
    assert not _plan(U(windows=(PAST,))).record.maintenance
    assert _plan(U(windows=(AHEAD,)), prev_windows=(AHEAD,)).record.maintenance


def test_notice_that_no_longer_reads_as_maintenance_asks_for_review() -> None:
    plan = _plan(U(kind="other"), prev_windows=(AHEAD,))
    signal = plan.events[1].data
    assert isinstance(signal, MaintenanceSignal) and signal.needs_review and signal.windows == ()


def test_same_notice_and_content_gives_the_same_event_ids() -> None:
    a = _plan(U(windows=(AHEAD,)))
    b = plan_notice(source_id="s", ref=REF, text="正文", understanding=U(windows=(AHEAD,)), prev=None,
                    now=START + timedelta(minutes=3), first_poll=False)
    assert [e.id for e in a.events] == [e.id for e in b.events]
    c = _plan(U(windows=(AHEAD,)), text="改过的正文")
    assert not {e.id for e in a.events} & {e.id for e in c.events}


def test_text_is_capped_and_confidence_clamped() -> None:
    plan = _plan(U(windows=(AHEAD,), confidence=1.7), text="维" * 30_000)
    ann, signal = (e.data for e in plan.events)
    assert len(getattr(ann, "text", "")) == 20_000
    assert isinstance(signal, MaintenanceSignal) and signal.confidence == 1.0
