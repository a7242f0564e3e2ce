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


async def test_submit_many_joins_the_batch_of_single_submits_without_a_task_per_item() -> None:
    gate = Gate()
    gate.release.set()
    c: Coalescer[int, int] = Coalescer(gate.flush, max_batch=4)
    tasks_before = len(asyncio.all_tasks())
    single = asyncio.ensure_future(c.submit(0))
    many = asyncio.ensure_future(c.submit_many([1, 2, 3, 4, 5]))
    await asyncio.sleep(0)
    # two callers and one drain worker: no task per item
    assert len(asyncio.all_tasks()) - tasks_before == 3
    assert await many == [10, 20, 30, 40, 50]
    assert await single == 0
    assert gate.batches == [[0, 1, 2, 3], [4, 5]]
    assert await c.submit_many([]) == []
    assert await c.submit_many([7]) == [70]


async def test_submit_many_raises_the_first_failure_once_every_item_is_done() -> None:
    flushed: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        flushed.append(items)
        if 2 in items:
            raise RuntimeError(f"store away for {items}")
        return items

    c: Coalescer[int, int] = Coalescer(flush, max_batch=2)
    try:
        await c.submit_many([0, 1, 2, 3, 4])
    except RuntimeError as exc:
        assert str(exc) == "store away for [2, 3]"
    else:
        raise AssertionError("a failed batch must fail submit_many")
    assert flushed == [[0, 1], [2, 3], [4]]


async def test_a_cancelled_submit_many_drops_its_items_not_flushed_yet() -> None:
    gate = Gate()
    c: Coalescer[int, int] = Coalescer(gate.flush, max_batch=2)
    many = asyncio.ensure_future(c.submit_many([1, 2, 3, 4]))
    await _settle()
    assert gate.batches == [[1, 2]]
    many.cancel()
    await _settle()
    gate.release.set()
    assert await c.submit(5) == 50
    assert gate.batches == [[1, 2], [5]]
