"""Same text, many recipients: concurrent sends with the same text become one provider call.

Wraps a provider channel that has ``send_batch`` and ``max_batch`` (Aliyun ``SendBatchSms``, 100
numbers; Tencent ``SendSms``, 200 numbers in ``PhoneNumberSet``; WeCom application
``message/send``, 1000 members in ``touser``). Sends made while the event loop runs other
deliveries are grouped by their text -- ``key(msg)``: for SMS the template id and parameters, for
WeCom the rendered markdown -- and cut into chunks of at most ``max_batch`` recipients, a recipient
at most once per chunk; each caller gets its own recipient's result, so each recipient is still
recorded once by the delivery layer (a recipient the provider refused gets its own
PermanentError). A lone send is an ordinary one-recipient call.

The provider limiter is asked once per call, so a call should carry as many recipients as are
waiting. A text's partial chunk is therefore held once, going first into the next flush to join
the sends that arrived meanwhile: when the channel's ``limiter`` would make its call wait anyway
(no grant free after this flush's full chunks took theirs), it waits for the grant in this flush
(without taking it) and then goes; when the same text filled a whole call in this flush, it goes
once that flush's calls are made. A chunk holding a send held before is always sent, so a send
waits at most the limiter's wait plus one flush; a text that fills no call and finds a grant free
goes out at once. Nothing is held outside a running flush, so a stopping fan-out that lets its
deliveries finish sends everything held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

from consumers.notify.batching import Coalescer
from consumers.notify.channels.base import OutboundMessage, SendReceipt
from consumers.notify.channels.ratelimit import Limiter
from huabei_watch.errors import PermanentError, TransientError

Result = SendReceipt | Exception


class _Again:
    """A flush's answer for a send held back to the next flush."""


_AGAIN = _Again()


@dataclass(slots=True)
class _Entry:
    """A send waiting in the coalescer; ``held``: it went through a flush unsent already."""

    msg: OutboundMessage
    held: bool = False


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
    tells messages with the same text apart (default: the SMS template and parameters);
    ``limiter``: the one the inner channel asks for each call (its key: the channel's name)."""

    def __init__(
        self, inner: BatchSender, *, max_pending: int = 2000, key: Callable[[OutboundMessage], Hashable] = sms_text,
        limiter: Limiter | None = None,
    ) -> None:
        self.name = inner.name
        self._inner = inner
        self._key = key
        self._limiter = limiter
        self._coalescer: Coalescer[_Entry, Result | _Again] = Coalescer(self._flush, max_batch=max_pending)
        self.calls = 0

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        entry = _Entry(msg)
        result = await self._coalescer.submit(entry)
        while isinstance(result, _Again):
            entry.held = True
            result = await self._coalescer.submit(entry, first=True)
        if isinstance(result, Exception):
            raise result
        return result

    async def _flush(self, entries: list[_Entry]) -> list[Result | _Again]:
        msgs = [e.msg for e in entries]
        size = self._inner.max_batch
        cut = chunks(msgs, size, self._key)
        full = {self._key(msgs[idx[0]]) for idx in cut if len(idx) >= size}
        results: list[Result | _Again | None] = [None] * len(msgs)

        async def one(idx: list[int]) -> None:
            # a partial chunk not held yet is held once (it decides after this flush's full chunks,
            # created first, took their grants)
            if len(idx) < size and not any(entries[i].held for i in idx) and (
                await self._wait_for_grant() or self._key(msgs[idx[0]]) in full
            ):
                for i in idx:
                    results[i] = _AGAIN
                return
            self.calls += 1
            part = [msgs[i] for i in idx]
            answers: list[Result]
            try:
                answers = await self._inner.send_batch(part) if len(part) > 1 else [await self._inner.send(part[0])]
            except (TransientError, PermanentError) as exc:
                answers = [exc] * len(part)
            for i, answer in zip(idx, answers, strict=True):
                results[i] = answer

        # full chunks and chunks of held sends first: their calls ask the limiter before any
        # partial chunk decides whether it would wait
        cut.sort(key=lambda idx: len(idx) < size and not any(entries[i].held for i in idx))
        await asyncio.gather(*(one(idx) for idx in cut))
        return [r if r is not None else TransientError(f"{self.name}: no answer") for r in results]

    async def _wait_for_grant(self) -> bool:
        """Whether a call now would wait for the limiter; if so, wait until it would not."""
        return self._limiter is not None and await self._limiter.until_free(self.name)


#: The SMS wrapper (same class; the default key is the SMS text).
BatchingSms = BatchingChannel
