"""Test helpers: wait on a condition with a deadline (never sleep-and-hope)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]] | Callable[[], T], *, timeout: float = 30.0, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns a truthy value; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        last = result  # type: ignore[assignment]
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


async def notify_idle(notify: Any, *, timeout: float = 60.0) -> None:
    """Wait until a notify role's fan-out has no work left (no lane, no delivery in progress)."""
    fanout = notify.fanout
    await eventually(lambda: not (fanout.lanes or fanout.in_progress), timeout=timeout, what="notify fan-out idle")
