"""A Beijing wall-clock time written as in the corpora, for the notice tests."""

from __future__ import annotations

from datetime import datetime

from huabei_watch.clock import SHANGHAI


def beijing(s: str) -> datetime:
    """``"2026-03-05 20:00"`` as an aware datetime in Beijing time."""
    return datetime.strptime(s, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
