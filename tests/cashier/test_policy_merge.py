"""The merge of the platform switch, the merchant's own switch and ops' force-on (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from consumers.cashier.model import CashierState, Mode
from consumers.cashier.policy import PINNED_OFF_MESSAGE, PLATFORM, merchant_policy_state
from consumers.cashier.reconcile import EXPIRED_REASON
from huabei_watch.clock import SHANGHAI
from huabei_watch.events import HUABEI_CHANNELS

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=SHANGHAI)
H = timedelta(hours=1)
PCREDIT, INSTALMENT = HUABEI_CHANNELS


def plat(*incidents: str, channels: tuple[str, ...] = HUABEI_CHANNELS, until: datetime | None = NOW + H,
         expected: datetime | None = None) -> CashierState:
    return CashierState(merchant_id=PLATFORM, channels=channels, until=until, expected_until=expected,
                        incident_ids=incidents, reason="maintenance " + ",".join(incidents), message_zh="花呗系统维护中")


def own(*incidents: str, channels: tuple[str, ...] = (PCREDIT,), until: datetime | None = NOW + 2 * H,
        expected: datetime | None = None) -> CashierState:
    return CashierState(merchant_id="m1", channels=channels, until=until, expected_until=expected,
                        incident_ids=incidents, reason="outage " + ",".join(incidents), message_zh="花呗暂时无法使用")


ON: tuple[tuple[str, ...], tuple[str, ...], datetime | None, str, str] = ((), (), None, "", "")


@pytest.mark.parametrize(
    ("mode", "platform", "mine", "forced", "expected"),
    [
        pytest.param(Mode.AUTO, None, None, set(), ON, id="auto, no switch set: on"),
        pytest.param(Mode.AUTO, plat("maint:1"), None, set(),
                     (HUABEI_CHANNELS, ("maint:1",), NOW + H, "maintenance maint:1", "花呗系统维护中"),
                     id="auto, platform off: its channels, incidents, expiry and message"),
        pytest.param(Mode.AUTO, plat("maint:1"), None, {"*"}, ON, id="platform off, forced on for everything: on"),
        pytest.param(Mode.AUTO, plat("maint:1", "out:2"), None, {"maint:1", "out:2"}, ON,
                     id="platform off, every incident behind it forced on: on"),
        pytest.param(Mode.AUTO, plat("maint:1", "out:2"), None, {"maint:1"},
                     (HUABEI_CHANNELS, ("maint:1", "out:2"), NOW + H, "maintenance maint:1,out:2", "花呗系统维护中"),
                     id="platform off, only one of its incidents forced on: still off"),
        pytest.param(Mode.AUTO, plat("maint:1", until=NOW), None, set(), ON, id="platform off past its expiry: on (fail open)"),
        pytest.param(Mode.AUTO, None, own("out:m1"), set(),
                     ((PCREDIT,), ("out:m1",), NOW + 2 * H, "outage out:m1", "花呗暂时无法使用"),
                     id="auto, own switch off only"),
        pytest.param(Mode.AUTO, plat("maint:1", expected=NOW + H), own("out:m1", channels=(INSTALMENT, PCREDIT),
                                                                        expected=NOW + 3 * H), set(),
                     (HUABEI_CHANNELS, ("maint:1", "out:m1"), NOW + 2 * H, "maintenance maint:1; outage out:m1",
                      "花呗系统维护中"),
                     id="both off: union of channels and incidents, later expiry, both reasons, platform message"),
        pytest.param(Mode.AUTO, plat("maint:1"), own("out:m1"), {"*"},
                     ((PCREDIT,), ("out:m1",), NOW + 2 * H, "outage out:m1", "花呗暂时无法使用"),
                     id="platform forced on, own switch still off"),
        pytest.param(Mode.AUTO, plat("maint:1"), own("out:m1", until=NOW - H), set(),
                     (HUABEI_CHANNELS, ("maint:1",), NOW + H, f"maintenance maint:1; {EXPIRED_REASON}", "花呗系统维护中"),
                     id="own switch expired, platform off: the expiry is named in the reason"),
        pytest.param(Mode.NOTIFY_ONLY, plat("maint:1"), own("out:m1"), set(), ((), (), None, "notify_only", ""),
                     id="notify_only: never switched"),
        pytest.param(Mode.PINNED_ON, plat("maint:1"), None, set(), ((), (), None, "pinned_on", ""),
                     id="pinned_on: always on"),
        pytest.param(Mode.PINNED_OFF, None, None, {"*"}, (HUABEI_CHANNELS, (), None, "pinned_off", PINNED_OFF_MESSAGE),
                     id="pinned_off: always off, no expiry, force-on does not apply"),
    ],
)
def test_merchant_policy_state(
    mode: Mode, platform: CashierState | None, mine: CashierState | None, forced: set[str],
    expected: tuple[tuple[str, ...], tuple[str, ...], datetime | None, str, str],
) -> None:
    state = merchant_policy_state("m1", mode, platform, mine, forced, NOW)
    assert state.merchant_id == "m1"
    assert (state.channels, state.incident_ids, state.until, state.reason, state.message_zh) == expected


def test_expected_end_is_the_later_of_the_switches_that_are_off() -> None:
    state = merchant_policy_state("m1", Mode.AUTO, plat("maint:1", expected=NOW + H), own("out:m1", expected=NOW + 3 * H),
                                  (), NOW)
    assert state.expected_until == NOW + 3 * H
    only_platform = merchant_policy_state("m1", Mode.AUTO, plat("maint:1", expected=NOW + H), None, (), NOW)
    assert only_platform.expected_until == NOW + H
