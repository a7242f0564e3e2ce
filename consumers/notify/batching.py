"""Coalescing: many concurrent single-item calls served by one call on a batch.

A :class:`Coalescer` collects the items submitted while the event loop runs other tasks and hands
them to one ``flush(items)`` call (at most ``max_batch`` at a time, one flush at a time), then gives
each caller its own result or exception. Nothing waits for a timer: the first item schedules a
flush for the loop's next turn (and each further batch waits one turn too, so a caller of the last
batch can hand an item back first), so a lone call costs one loop turn and a fan-out of hundreds of
concurrent deliveries becomes a few statements. A flush that raises fails every item of its batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[list[T]], Awaitable[Sequence[R]]]


class Coalescer(Generic[T, R]):
    """``await submit(item)`` -> that item's result from ``flush`` (results in item order)."""

    def __init__(self, flush: Flush[T, R], *, max_batch: int = 500) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._flush = flush
        self._max = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, item: T, *, first: bool = False) -> R:
        """``first``: ahead of the items waiting (an item the flush handed back to go again)."""
        return await self.enqueue(item, first=first)

    def enqueue(self, item: T, *, first: bool = False) -> asyncio.Future[R]:
        """:meth:`submit` without waiting: the future of ``item``'s result (cancelling it drops an
        item not flushed yet). For a flush that answers some items before it returns by its own
        means; a future already done when the flush returns is left as it is."""
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        if first:
            self._pending.insert(0, (item, fut))
        else:
            self._pending.append((item, fut))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return fut

    async def submit_many(self, items: Sequence[T]) -> list[R]:
        """:meth:`submit` for each of ``items`` (they join the same batches), without a task per
        item: the results in ``items`` order; if any item failed, the first failure (in ``items``
        order) is raised once every item is done."""
        if not items:
            return []
        if len(items) == 1:
            return [await self.submit(items[0])]
        loop = asyncio.get_running_loop()
        futs: list[asyncio.Future[R]] = [loop.create_future() for _ in items]
        self._pending.extend(zip(items, futs, strict=True))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        try:
            await asyncio.wait(futs)
        except asyncio.CancelledError:  # as a cancelled submit: the items not flushed yet are dropped
            for f in futs:
                f.cancel()
            raise
        failures = [exc for exc in (f.exception() for f in futs) if exc is not None]  # each one retrieved
        if failures:
            raise failures[0]
        return [f.result() for f in futs]

    async def _drain(self) -> None:
        while self._pending:
            # let the other callers of this loop turn join the batch (and the callers of the last
            # batch hand an item back, ``first``)
            await asyncio.sleep(0)
            batch, self._pending = self._pending[: self._max], self._pending[self._max :]
            live = [(item, fut) for item, fut in batch if not fut.cancelled()]
            if not live:
                continue
            self.batches += 1
            self.items += len(live)
            try:
                results = await self._flush([item for item, _ in live])
            except BaseException as exc:  # every caller of the batch learns why
                for _, fut in live:
                    if not fut.done():
                        fut.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_, fut), result in zip(live, results, strict=True):
                if not fut.done():
                    fut.set_result(result)
