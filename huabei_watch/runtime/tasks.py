"""Background tasks of one daemon process: started by roles, cancelled when the process stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Tasks:
    """Runs coroutines in the background. A task that raises is logged (``task.crashed``) and
    ends; it never takes the process down. :meth:`cancel_all` ends whatever still runs."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def spawn(self, coro: Coroutine[Any, Any, object], name: str) -> asyncio.Task[None]:
        """Start ``coro`` now; the returned task may be awaited (it never raises but CancelledError)."""

        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("task.crashed", extra={"task": name})

        task = asyncio.create_task(guarded(), name=name)
        self._tasks.append(task)
        return task

    async def cancel_all(self) -> None:
        """Cancel every task and wait until each has ended."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
