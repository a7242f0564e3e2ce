"""The window span found in normalised text, shared by the modules that build and check windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Span:
    """A window found in normalised text: ``pos``/``end_pos`` delimit the points it came from."""

    start: datetime
    end: datetime | None
    pos: int
    end_pos: int
    how: str  # "range" | "days" (no clock times) | "duration" | "open" | "dayopen" | "daily"
    dated: bool = True  # False: no date of its own (the day was inherited or assumed)
    period: str | None = None  # the start's 凌晨/下午/晚上, shared by an end written without one
