"""Value types returned by notice understanding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from huabei_watch.events.common import Window

Kind = Literal["maintenance", "outage", "recovery", "interface", "fee_policy", "other"]
KINDS: tuple[Kind, ...] = ("maintenance", "outage", "recovery", "interface", "fee_policy", "other")


@dataclass(frozen=True, slots=True)
class InterfaceChange:
    """What an interface/plugin/SDK notice asks of integrators.

    ``names`` are interface, SDK or plugin names as written ("alipay.trade.pay", "Java SDK");
    ``versions`` every version number seen ("3.2.0"); ``minimum_version`` the version integrators
    must reach, when the notice says so; ``deadline`` the date after which the old one stops working.
    """

    names: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    minimum_version: str | None = None
    deadline: date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "versions": list(self.versions),
            "minimum_version": self.minimum_version,
            "deadline": self.deadline.isoformat() if self.deadline else None,
        }


@dataclass(frozen=True, slots=True)
class NoticeUnderstanding:
    """What a notice says, as far as the watcher can tell.

    Windows carry aware Asia/Shanghai datetimes; a window's ``end`` is None when the notice gives
    none. ``huabei_affected`` is true only for maintenance, outage, recovery and interface notices
    that name Huabei or a broader service containing it. ``needs_review`` is set whenever anything
    was guessed; ``reasons`` says why, for ops.
    """

    kind: Kind
    windows: tuple[Window, ...] = ()
    channels: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    huabei_affected: bool = False
    confidence: float = 0.0
    needs_review: bool = False
    reasons: tuple[str, ...] = ()
    interface_change: InterfaceChange | None = None

    def metric_labels(self) -> tuple[Kind, str]:
        """Label values for a counter of understood notices: (kind, "true"/"false" for
        needs_review). Pure, so the daemon's /metrics can count ``notices_understood_total{kind,
        needs_review}`` without knowing this class."""
        return self.kind, "true" if self.needs_review else "false"

    def to_json(self) -> dict[str, Any]:
        """The shape printed by ``huabei-watch parse-notice`` (interface_change is not included)."""
        return {
            "kind": self.kind,
            "windows": [
                {
                    "start": w.start.isoformat(),
                    "end": w.end.isoformat() if w.end is not None else None,
                    "products": list(w.products),
                    "channels": list(w.channels),
                    "status": w.status,
                }
                for w in self.windows
            ],
            "channels": list(self.channels),
            "products": list(self.products),
            "huabei_affected": self.huabei_affected,
            "confidence": self.confidence,
            "needs_review": self.needs_review,
            "reasons": list(self.reasons),
        }
