"""The coalescer behind the batched store, SMS/WeCom calls and result events: one flush per loop
turn's items, one flush at a time, each caller its own result."""

from __future__ import annotations

import asyncio

from consumers.notify.batching import Coalescer


class Gate:
    """A flush that records its batch and waits until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.running = 0
        self.most = 0
        self.release = asyncio.Event()

    async def flush(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        self.running += 1
        self.most = max(self.most, self.running)
        await self.release.wait()
        self.running -= 1
        return [i * 10 for i in items]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_one_loop_turn_is_one_flush_and_each_caller_gets_its_result() -> None:
    gate = Gate()
    gate.release.set()
    c: Coalescer[int, int] = Coalescer(gate.flush, max_batch=100)
    assert await asyncio.gather(*(c.submit(i) for i in range(7))) == [i * 10 for i in range(7)]
    assert gate.batches == [list(range(7))]


async def test_items_arriving_during_a_flush_go_together_in_the_next_one() -> None:
    gate = Gate()
    c: Coalescer[int, int] = Coalescer(gate.flush, max_batch=100)
    tasks = []
    for w in range(4):  # four loop turns, each adding three items while the first flush waits
        tasks.append(asyncio.gather(*(c.submit(10 * w + i) for i in range(3))))
        await _settle()
    assert gate.running == 1
    gate.release.set()
    results = await asyncio.gather(*tasks)
    assert results == [[(10 * w + i) * 10 for i in range(3)] for w in range(4)]
    assert gate.batches == [[0, 1, 2], [10, 11, 12, 20, 21, 22, 30, 31, 32]]


async def test_a_failed_flush_fails_its_callers_only() -> None:
    calls = 0

    async def flush(items: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("store away")
        return items

    c: Coalescer[int, int] = Coalescer(flush)
    first = await asyncio.gather(c.submit(1), c.submit(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in first)
    assert await c.submit(3) == 3
