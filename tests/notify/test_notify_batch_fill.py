"""Same-text batching under a paced provider: a call carries as many recipients as are waiting (a
text's partial chunk waits one flush for the sends arriving meanwhile), and a lone or short text
still goes out at once."""

from __future__ import annotations

import asyncio

from consumers.notify.channels.base import OutboundMessage, SendReceipt
from consumers.notify.channels.sms_batch import BatchingChannel, Result


def sms(i: int, text: str = "花呗今晚维护") -> OutboundMessage:
    return OutboundMessage(dedupe_key=f"m{i}|inc-1|announced|aliyun_sms", recipient=f"m{i}",
                           address=f"1390000{i:04d}", title="花呗维护", text=text, template_id="SMS_1",
                           template_params=(("text", text),))


class GatedProvider:
    """A batch provider whose calls wait at a gate (a paced limit), recording each call's numbers."""

    name = "aliyun_sms"
    max_batch = 100

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gate = asyncio.Event()

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        (result,) = await self.send_batch([msg])
        if isinstance(result, Exception):
            raise result
        return result

    async def send_batch(self, msgs: list[OutboundMessage]) -> list[Result]:
        self.calls.append([m.address for m in msgs])
        await self.gate.wait()
        return [SendReceipt(f"r-{m.address}", 1) for m in msgs]


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_partial_chunk_waits_for_the_sends_arriving_during_a_paced_call() -> None:
    provider = GatedProvider()
    channel = BatchingChannel(provider)
    first = [asyncio.ensure_future(channel.send(sms(i))) for i in range(150)]
    await _settle()
    assert [len(c) for c in provider.calls] == [100]  # the 50 left over are held, not sent as a call of 50
    later = [asyncio.ensure_future(channel.send(sms(i))) for i in range(150, 200)]
    await _settle()
    provider.gate.set()
    receipts = await asyncio.gather(*first, *later)
    assert [len(c) for c in provider.calls] == [100, 100]
    assert sorted(a for c in provider.calls for a in c) == sorted(sms(i).address for i in range(200))
    assert [r.provider_message_id for r in receipts] == [f"r-{sms(i).address}" for i in range(200)]


async def test_a_text_that_fills_no_call_goes_out_at_once() -> None:
    provider = GatedProvider()
    provider.gate.set()
    channel = BatchingChannel(provider)
    results = await asyncio.gather(*(channel.send(sms(i)) for i in range(30)),
                                   *(channel.send(sms(i, "另一条")) for i in range(130, 250)))
    assert len(results) == 150
    # one call of 30 for the short text, and the other text's 120 in a full call plus the rest
    assert sorted(len(c) for c in provider.calls) == [20, 30, 100]
