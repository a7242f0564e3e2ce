"""What the tests of generated notices share: the forms their failures were built from, counted, and the
windows of a notice that must be read as maintenance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Protocol

from watcher.notices import understand


class Built(Protocol):
    """A generated notice: the forms (dimension, form name) it was built from."""

    @property
    def forms(self) -> tuple[tuple[str, str], ...]: ...


def forms_of(failed: Iterable[Built]) -> str:
    """The twelve forms most failed cases share, with their counts: an assertion's message that says
    where a generator's failures gather without printing every case."""
    counts: Counter[str] = Counter(f"{dim}={form}" for case in failed for dim, form in case.forms)
    return ", ".join(f"{k} {v}" for k, v in counts.most_common(12))


def maintenance_ranges(text: str, *, published: date, title: str = "系统维护公告") -> list[tuple[datetime, datetime | None]]:
    """The windows of a generated notice that must be read as maintenance, as (start, end), in order."""
    u = understand(text, published=published, title=title)
    assert u.kind == "maintenance", u.reasons
    return sorted(((w.start, w.end) for w in u.windows), key=lambda r: (r[0], r[1] or r[0]))
