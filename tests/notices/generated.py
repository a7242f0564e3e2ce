"""What the tests of generated notices share: the forms their failures were built from, counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Protocol


class Built(Protocol):
    """A generated notice: the forms (dimension, form name) it was built from."""

    @property
    def forms(self) -> tuple[tuple[str, str], ...]: ...


def forms_of(failed: Iterable[Built]) -> str:
    """The twelve forms most failed cases share, with their counts: an assertion's message that says
    where a generator's failures gather without printing every case."""
    counts: Counter[str] = Counter(f"{dim}={form}" for case in failed for dim, form in case.forms)
    return ", ".join(f"{k} {v}" for k, v in counts.most_common(12))
