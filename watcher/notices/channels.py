"""Which Alipay pay channels are under maintenance now, and fallback methods that avoid them.

Pure helpers for the cashier policy: windows come from maintenance notices (bank, clearing or
platform), ``at`` is the caller's clock reading. ``credit_group`` is Alipay's group code for every
credit channel (Huabei, Huabei installments, credit cards), so a window on it also removes those
channels from the fallbacks, and a window on any of them removes ``credit_group``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from huabei_watch.events.common import Window

CREDIT_GROUP = "credit_group"
CREDIT_CHANNELS = frozenset({"pcredit", "pcreditpayInstallment", "creditCard", "creditCardExpress", "creditCardCartoon"})


def channels_under_maintenance(windows: Iterable[Window], at: datetime) -> frozenset[str]:
    """Channels of the scheduled windows that cover ``at`` (start <= at < end; a window with no end
    covers everything after its start). Cancelled and postponed windows cover nothing.
    ``at`` must be timezone-aware, like the windows."""
    out: set[str] = set()
    for w in windows:
        if w.status != "scheduled" or at < w.start or (w.end is not None and at >= w.end):
            continue
        out.update(w.channels)
    return frozenset(out)


def _blocked(channel: str, down: Collection[str]) -> bool:
    if channel in down:
        return True
    if channel == CREDIT_GROUP:
        return any(c in CREDIT_CHANNELS for c in down)
    return CREDIT_GROUP in down and channel in CREDIT_CHANNELS


def usable_fallbacks(fallbacks: Sequence[str], down: Collection[str]) -> tuple[str, ...]:
    """``fallbacks`` in their order, without any channel that is itself under maintenance (group
    codes expanded both ways). May be empty: the caller then offers no fallback rather than one
    that fails too."""
    return tuple(c for c in fallbacks if not _blocked(c, down))
