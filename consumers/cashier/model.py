"""Values of the cashier switch: merchant modes, desired and current Huabei state, changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Mode(StrEnum):
    """How a merchant wants Huabei handled."""

    AUTO = "auto"  # switch off and on with incidents
    NOTIFY_ONLY = "notify_only"  # tell, never switch
    PINNED_ON = "pinned_on"  # ops override: always on
    PINNED_OFF = "pinned_off"  # ops override: always off, no expiry


@dataclass(frozen=True, slots=True)
class Desired:
    """What Huabei should look like at one merchant now.

    ``until``: when Huabei is expected back (the latest ``disable_until`` of the incidents), None
    when unknown. ``exact``: switch without hysteresis (timed incidents, ops overrides, modes).
    ``expected_end``: the announced end, for the shopper's message.
    """

    channels: tuple[str, ...]
    incident_ids: tuple[str, ...]
    until: datetime | None
    reason: str
    message_zh: str = ""
    exact: bool = False
    expires: bool = True  # False only for pinned_off: an ops pin never fails open


@dataclass(frozen=True, slots=True)
class CashierState:
    """The switch at one merchant as last decided (what the shell stores per merchant).

    ``channels`` are the disabled channels; ``until`` is when that "off" expires (fail open), None
    only for a pin. ``changed_at`` is when ``channels`` last changed (hysteresis starts there);
    ``exact`` remembers whether the last change bypassed hysteresis.
    """

    merchant_id: str
    channels: tuple[str, ...] = ()
    until: datetime | None = None
    expected_until: datetime | None = None
    incident_ids: tuple[str, ...] = ()
    reason: str = ""
    message_zh: str = ""
    changed_at: datetime | None = None
    exact: bool = False
    version: int = 0


@dataclass(frozen=True, slots=True)
class Change:
    """One decided change of a merchant's switch. ``renewal``: same channels, new expiry or reasons."""

    before: CashierState
    after: CashierState
    at: datetime

    @property
    def merchant_id(self) -> str:
        return self.after.merchant_id

    @property
    def renewal(self) -> bool:
        return self.before.channels == self.after.channels
