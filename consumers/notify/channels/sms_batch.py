"""SMS in batches: concurrent sends with the same template and parameters become one provider call.

Wraps a provider channel that has ``send_batch`` and ``max_batch`` (Aliyun ``SendBatchSms``, 100
numbers; Tencent ``SendSms``, 200 numbers in ``PhoneNumberSet``). Sends made while the event loop
runs other deliveries are grouped by (template id, parameters) -- the text is the same -- and cut
into chunks of at most ``max_batch`` numbers, a number at most once per chunk; each caller gets its
own number's result, so each number is still recorded once by the delivery layer. A lone send is
an ordinary one-number call. The provider limiter is asked once per call.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from consumers.notify.batching import Coalescer
from consumers.notify.channels.base import OutboundMessage, SendReceipt
from huabei_watch.errors import PermanentError, TransientError

Result = SendReceipt | Exception


class BatchSender(Protocol):
    name: str
    max_batch: int

    async def send(self, msg: OutboundMessage) -> SendReceipt: ...

    async def send_batch(self, msgs: list[OutboundMessage]) -> list[Result]: ...


def chunks(msgs: list[OutboundMessage], size: int) -> list[list[int]]:
    """Indexes of ``msgs`` grouped by identical text (template and parameters), each chunk at most
    ``size`` long with a number at most once."""
    out: list[list[int]] = []
    open_chunks: dict[tuple[str | None, tuple[tuple[str, str], ...]], list[tuple[list[int], set[str]]]] = {}
    for i, m in enumerate(msgs):
        same = open_chunks.setdefault((m.template_id, m.template_params), [])
        for idx, numbers in same:
            if len(idx) < size and m.address not in numbers:
                idx.append(i)
                numbers.add(m.address)
                break
        else:
            chunk: tuple[list[int], set[str]] = ([i], {m.address})
            same.append(chunk)
            out.append(chunk[0])
    return out


class BatchingSms:
    """A :class:`~consumers.notify.channels.base.Channel` over a batch-capable SMS channel."""

    def __init__(self, inner: BatchSender, *, max_pending: int = 2000) -> None:
        self.name = inner.name
        self._inner = inner
        self._coalescer: Coalescer[OutboundMessage, Result] = Coalescer(self._flush, max_batch=max_pending)
        self.calls = 0

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        result = await self._coalescer.submit(msg)
        if isinstance(result, Exception):
            raise result
        return result

    async def _flush(self, msgs: list[OutboundMessage]) -> list[Result]:
        results: list[Result | None] = [None] * len(msgs)

        async def one(idx: list[int]) -> None:
            self.calls += 1
            part = [msgs[i] for i in idx]
            answers: list[Result]
            try:
                answers = await self._inner.send_batch(part) if len(part) > 1 else [await self._inner.send(part[0])]
            except (TransientError, PermanentError) as exc:
                answers = [exc] * len(part)
            for i, answer in zip(idx, answers, strict=True):
                results[i] = answer

        await asyncio.gather(*(one(idx) for idx in chunks(msgs, self._inner.max_batch)))
        return [r if r is not None else TransientError(f"{self.name}: no answer") for r in results]
