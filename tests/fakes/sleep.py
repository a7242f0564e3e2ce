"""A ``sleep`` to inject into code under test, driven by the test instead of real time."""

from __future__ import annotations

import asyncio

from huabei_watch.clock import ManualClock


class DrivenSleep:
    """Each call parks until the test moves the clock past its due time (:meth:`advance`).

    With ``auto=True`` a call advances the clock itself and returns at once: time "passes" exactly
    as much as the code asked to wait, and nothing really waits.
    """

    def __init__(self, clock: ManualClock, *, auto: bool = False) -> None:
        self.clock = clock
        self.auto = auto
        self.calls: list[float] = []
        self._parked: list[tuple[float, asyncio.Future[None]]] = []
        self._changed = asyncio.Condition()

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.auto:
            self.clock.advance(max(seconds, 0.0))
            await asyncio.sleep(0)  # still a scheduling point, like the real sleep
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._parked.append((self.clock.monotonic() + seconds, future))
        async with self._changed:
            self._changed.notify_all()
        try:
            await future
        finally:
            self._parked = [(due, f) for due, f in self._parked if f is not future]

    @property
    def parked(self) -> int:
        return sum(1 for _, f in self._parked if not f.done())

    async def wait_parked(self, count: int, *, deadline: float = 5.0) -> None:
        """Wait (real-time deadline) until ``count`` callers are parked."""
        async with asyncio.timeout(deadline), self._changed:
            await self._changed.wait_for(lambda: self.parked >= count)

    def advance(self, seconds: float) -> None:
        """Move the clock and wake every sleeper whose time has come."""
        self.clock.advance(seconds)
        now = self.clock.monotonic()
        for due, future in self._parked:
            if due <= now and not future.done():
                future.set_result(None)
