"""Same text, many recipients: concurrent sends with the same text become one provider call.

Wraps a provider channel that has ``send_batch`` and ``max_batch`` (Aliyun ``SendBatchSms``, 100
numbers; Tencent ``SendSms``, 200 numbers in ``PhoneNumberSet``; WeCom application
``message/send``, 1000 members in ``touser``). Sends made while the event loop runs other
deliveries are grouped by their text -- ``key(msg)``: for SMS the template id and parameters, for
WeCom the rendered markdown -- and cut into chunks of at most ``max_batch`` recipients, a recipient
at most once per chunk; each caller gets its own recipient's result, so each recipient is still
recorded once by the delivery layer (a recipient the provider refused gets its own
PermanentError). A lone send is an ordinary one-recipient call. The provider limiter is asked once
per call, so a call should carry as many recipients as are waiting: when a text fills a whole call
in a flush, its last, partial chunk is not sent but goes first into the next flush, joining the
sends that arrived meanwhile (under a paced limit, fewer calls for the same recipients). A partial
chunk put first is always sent by the next flush (it is that text's first chunk), so nothing waits
more than one flush, and a text that fills no call goes out at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Protocol

from consumers.notify.batching import Coalescer
from consumers.notify.channels.base import OutboundMessage, SendReceipt
from huabei_watch.errors import PermanentError, TransientError

Result = SendReceipt | Exception


class _Again:
    """A flush's answer for a send held back to the next flush."""


_AGAIN = _Again()


class BatchSender(Protocol):
    name: str
    max_batch: int

    async def send(self, msg: OutboundMessage) -> SendReceipt: ...

    async def send_batch(self, msgs: list[OutboundMessage]) -> list[Result]: ...


def sms_text(msg: OutboundMessage) -> Hashable:
    """The text of an SMS: its template and parameters."""
    return (msg.template_id, msg.template_params)


def chunks(msgs: list[OutboundMessage], size: int, key: Callable[[OutboundMessage], Hashable] = sms_text) -> list[list[int]]:
    """Indexes of ``msgs`` grouped by identical text (``key``), each chunk at most ``size`` long
    with a recipient at most once."""
    out: list[list[int]] = []
    open_chunks: dict[Hashable, list[tuple[list[int], set[str]]]] = {}
    for i, m in enumerate(msgs):
        same = open_chunks.setdefault(key(m), [])
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


class BatchingChannel:
    """A :class:`~consumers.notify.channels.base.Channel` over a batch-capable channel; ``key``
    tells messages with the same text apart (default: the SMS template and parameters)."""

    def __init__(
        self, inner: BatchSender, *, max_pending: int = 2000, key: Callable[[OutboundMessage], Hashable] = sms_text
    ) -> None:
        self.name = inner.name
        self._inner = inner
        self._key = key
        self._coalescer: Coalescer[OutboundMessage, Result | _Again] = Coalescer(self._flush, max_batch=max_pending)
        self.calls = 0

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        result = await self._coalescer.submit(msg)
        while isinstance(result, _Again):
            result = await self._coalescer.submit(msg, first=True)
        if isinstance(result, Exception):
            raise result
        return result

    def _to_send(self, msgs: list[OutboundMessage]) -> tuple[list[list[int]], list[int]]:
        """The chunks to send now, and the indexes held back: a text's partial chunks when the
        same text fills a whole call in this flush."""
        size = self._inner.max_batch
        cut = chunks(msgs, size, self._key)
        full = {self._key(msgs[idx[0]]) for idx in cut if len(idx) >= size}
        send: list[list[int]] = []
        held: list[int] = []
        for idx in cut:
            if len(idx) < size and self._key(msgs[idx[0]]) in full:
                held.extend(idx)
            else:
                send.append(idx)
        return send, held

    async def _flush(self, msgs: list[OutboundMessage]) -> list[Result | _Again]:
        results: list[Result | _Again | None] = [None] * len(msgs)

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

        send, held = self._to_send(msgs)
        for i in held:
            results[i] = _AGAIN
        await asyncio.gather(*(one(idx) for idx in send))
        return [r if r is not None else TransientError(f"{self.name}: no answer") for r in results]


#: The SMS wrapper (same class; the default key is the SMS text).
BatchingSms = BatchingChannel
