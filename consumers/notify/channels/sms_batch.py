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
the sends that arrived meanwhile: when the same text filled a whole call in this flush, it goes
once that flush's calls are made; otherwise, when the channel's ``limiter`` would make its call
wait anyway (no grant free after this flush's full chunks took theirs), it waits in this flush for
the grant (without taking it), at most ``hold_max`` seconds (:data:`HOLD_FOR_GRANT_MAX`), and then
goes. A chunk holding a send held before is always sent, so a send waits at most ``hold_max`` plus
the limiter's wait and one flush; a text that fills no call and finds a grant free goes out at once. Each
caller is answered as soon as its own chunk's call returns, never later for a chunk held in the
same flush. After :meth:`BatchingChannel.stop` nothing is held and a chunk waiting for a grant goes
at once (its call still asks the limiter), so a stopping fan-out that lets its deliveries finish
sends everything held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from consumers.notify.batching import Coalescer
from consumers.notify.channels.base import OutboundMessage, SendReceipt
from consumers.notify.channels.ratelimit import Limiter, SleepFn
from huabei_watch.errors import PermanentError, TransientError

Result = SendReceipt | Exception


class _Again:
    """A flush's answer for a send held back to the next flush."""


_AGAIN = _Again()

#: Longest (seconds) a text's partial chunk waits in a flush for the limiter's next grant before it
#: is held anyway. The flush (one at a time) waits with it, so the bound keeps the next flush --
#: other texts, and sends held before -- from waiting out a whole rate window (Aliyun's 6,000 a
#: minute can mean up to 60 s), well inside ``daemon.shutdown_timeout`` (20 s); 2 s still covers a
#: fan-out's ramp-up (500 numbers in 1.2-2 s on a loaded machine, bench/README.md).
HOLD_FOR_GRANT_MAX = 2.0


def _answered() -> asyncio.Future[Result | _Again]:
    return asyncio.get_running_loop().create_future()


@dataclass(slots=True)
class _Entry:
    """A send waiting in the coalescer; ``held``: it went through a flush unsent already;
    ``answer``: its result, set by the flush as soon as it is known."""

    msg: OutboundMessage
    held: bool = False
    answer: asyncio.Future[Result | _Again] = field(default_factory=_answered)


def _forward(answer: asyncio.Future[Result | _Again], queued: asyncio.Future[Result | _Again]) -> None:
    """The coalescer's answer (a failed or cancelled flush) where the flush gave none of its own."""
    if queued.cancelled():
        if not answer.done():
            answer.cancel()
        return
    exc = queued.exception()  # retrieved either way
    if answer.done():
        return
    if exc is not None:
        answer.set_exception(exc)
    else:
        answer.set_result(queued.result())


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
    ``limiter``: the one the inner channel asks for each call (its key: the channel's name);
    ``hold_max``: the longest a partial chunk waits for a grant (``sleep`` times it)."""

    def __init__(
        self, inner: BatchSender, *, max_pending: int = 2000, key: Callable[[OutboundMessage], Hashable] = sms_text,
        limiter: Limiter | None = None, hold_max: float = HOLD_FOR_GRANT_MAX, sleep: SleepFn = asyncio.sleep,
    ) -> None:
        if hold_max < 0:
            raise ValueError("hold_max must be 0 seconds or more")
        self.name = inner.name
        self._inner = inner
        self._key = key
        self._limiter = limiter
        self._hold_max = hold_max
        self._sleep = sleep
        self._stopped = asyncio.Event()
        self._coalescer: Coalescer[_Entry, Result | _Again] = Coalescer(self._flush, max_batch=max_pending)
        self.calls = 0

    def stop(self) -> None:
        """From now on hold nothing: a chunk waiting for a grant and every later chunk go at once
        (on shutdown, so sends are made and recorded within ``daemon.shutdown_timeout``)."""
        self._stopped.set()

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        entry = _Entry(msg)
        result = await self._submit(entry, first=False)
        while isinstance(result, _Again):
            entry.held = True
            entry.answer = _answered()
            result = await self._submit(entry, first=True)
        if isinstance(result, Exception):
            raise result
        return result

    async def _submit(self, entry: _Entry, *, first: bool) -> Result | _Again:
        queued = self._coalescer.enqueue(entry, first=first)
        queued.add_done_callback(partial(_forward, entry.answer))
        try:
            return await entry.answer
        except asyncio.CancelledError:
            queued.cancel()  # not flushed yet: dropped
            raise

    async def _flush(self, entries: list[_Entry]) -> list[Result | _Again]:
        msgs = [e.msg for e in entries]
        size = self._inner.max_batch
        cut = chunks(msgs, size, self._key)
        full = {self._key(msgs[idx[0]]) for idx in cut if len(idx) >= size}
        results: list[Result | _Again | None] = [None] * len(msgs)

        def answer(idx: list[int], answers: list[Result] | list[_Again]) -> None:
            for i, a in zip(idx, answers, strict=True):
                results[i] = a
                if not entries[i].answer.done():
                    entries[i].answer.set_result(a)

        async def one(idx: list[int]) -> None:
            # a partial chunk not held yet is held once (it decides after this flush's full chunks,
            # created first, took their grants)
            if (len(idx) < size and not any(entries[i].held for i in idx) and not self._stopped.is_set()
                    and (self._key(msgs[idx[0]]) in full or await self._wait_for_grant())):
                answer(idx, [_AGAIN] * len(idx))
                return
            self.calls += 1
            part = [msgs[i] for i in idx]
            answers: list[Result]
            try:
                answers = await self._inner.send_batch(part) if len(part) > 1 else [await self._inner.send(part[0])]
            except (TransientError, PermanentError) as exc:
                answers = [exc] * len(part)
            answer(idx, answers)

        # full chunks and chunks of held sends first: their calls ask the limiter before any
        # partial chunk decides whether it would wait
        cut.sort(key=lambda idx: len(idx) < size and not any(entries[i].held for i in idx))
        await asyncio.gather(*(one(idx) for idx in cut))
        return [r if r is not None else TransientError(f"{self.name}: no answer") for r in results]

    async def _wait_for_grant(self) -> bool:
        """Whether a call now would wait for the limiter; if so, wait until it would not, at most
        ``hold_max`` seconds (True) and not past :meth:`stop` (False: go now)."""
        if self._limiter is None or not self._limiter.would_wait(self.name):
            return False
        waits = (asyncio.ensure_future(self._limiter.until_free(self.name)),
                 asyncio.ensure_future(self._sleep(self._hold_max)), asyncio.ensure_future(self._stopped.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                if w.done() and not w.cancelled():
                    w.exception()  # a failed wait only ends the wait: the call itself asks the limiter
                w.cancel()
        return not self._stopped.is_set()


#: The SMS wrapper (same class; the default key is the SMS text).
BatchingSms = BatchingChannel
