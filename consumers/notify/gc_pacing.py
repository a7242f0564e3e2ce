"""Fewer cyclic-garbage collections while a fan-out runs.

A fan-out keeps thousands of deliveries alive at once (2,000 WeCom application sends and 500 SMS
sends in flight, each a task with its futures and frames). CPython's default young-generation
threshold (700 new container objects) then starts a collection every few messages, and each one
walks those live deliveries again and pushes them into the older generations, which are walked
again in turn: py-spy and ``gc.callbacks`` put 25-30 % of the notify process's CPU in the
collector during a 40,000-message fan-out (bench/README.md, issue 17). Nearly everything a delivery
allocates is freed by reference counting as soon as it finishes, so a threshold above that working
set (``notify.fanout.gc_threshold``, default 30,000) lets almost no collection happen mid fan-out.

:class:`GcPacing` raises the young threshold while at least one user holds it and puts back what
was set before once the last one lets go; the older generations' thresholds are left alone. The
threshold is the process's (a process running other roles shares it during a fan-out); the
memory it may hold back is at most that many objects of cyclic garbage until the next collection.
Each :class:`~consumers.notify.fanout.FanOut` has its own pacing (a notify process has one fan-out);
a second pacing entered while the first holds the threshold leaves it as it is.
"""

from __future__ import annotations

import gc


class GcPacing:
    """``enter()`` / ``leave()`` pairs, counted: the first ``enter`` sets the young-generation
    threshold to at least ``threshold`` (0: leave the collector alone), the last ``leave`` restores
    the thresholds seen at that first ``enter``. ``leave`` without ``enter`` raises RuntimeError."""

    def __init__(self, threshold: int) -> None:
        if threshold < 0:
            raise ValueError("threshold must be 0 (leave the collector alone) or more")
        self._threshold = threshold
        self._users = 0
        self._saved: tuple[int, int, int] | None = None

    @property
    def raised(self) -> bool:
        """Whether this pacing holds the threshold raised now."""
        return self._saved is not None

    def enter(self) -> None:
        self._users += 1
        if self._users > 1 or self._threshold == 0:
            return
        saved = gc.get_threshold()
        if saved[0] == 0 or saved[0] >= self._threshold:  # collection disabled, or already as high
            return
        self._saved = saved
        gc.set_threshold(self._threshold, saved[1], saved[2])

    def leave(self) -> None:
        if self._users == 0:
            raise RuntimeError("GcPacing.leave() without enter()")
        self._users -= 1
        if self._users == 0 and self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
