"""Drill: the embedded broker passes its memory limit while payment results stream in.

The daemon holds back new records, waits until its consumer groups caught up, replaces the broker
by a fresh process and goes on. Every batch the endpoint acknowledged (202) is consumed exactly
once; senders that hit the hold get 503 and resend; the record on a topic no group of the daemon
reads (``notifications``) is still there after the recycle; the broker's memory went down.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer

from huabei_watch.events import Record, Topics
from huabei_watch.root.daemon import start_app
from huabei_watch.signing import signed_headers
from tests.e2e.harness import role, settings_for
from tests.support import eventually

LIMIT_MB = 40


def _batch(merchant: str, n: int, size: int) -> bytes:
    at = datetime.now(UTC).isoformat()
    results = [{"merchant_id": merchant, "at": at, "channel": "pcredit", "success": i % 7 != 0, "code": "10000",
                "sub_code": f"ok-{n}-{i}", "plugin": "woo-alipay/3.2.1"} for i in range(size)]
    return json.dumps({"merchant_id": merchant, "results": results}).encode()


async def _count(bootstrap: str, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[bytes] = []
    try:
        empty = 0
        while empty < 3:  # complete once three fetches in a row come back empty
            batch = await consumer.getmany(timeout_ms=300)
            empty = 0 if batch else empty + 1
            out += [m.value or b"" for msgs in batch.values() for m in msgs]
    finally:
        await consumer.stop()
    return out


@pytest.mark.slow
async def test_broker_over_its_memory_limit_is_recycled_and_every_accepted_result_is_consumed_once(
    tmp_path: Path, topic_prefix: str, embedded_kafka: dict[str, str]
) -> None:
    merchants = [{"id": f"m{i}", "mode": "auto", "payments_secret": f"secret-{i}"} for i in range(4)]
    settings = settings_for(tmp_path, topic_prefix, {
        "kafka": {**embedded_kafka, "embedded_recycle_above_mb": LIMIT_MB, "embedded_check_every": 1,
                  "publish_timeout": 20},
        "merchants": merchants,
    })
    app = await start_app(settings, ["watcher"])
    try:
        assert app.broker is not None and app.recycler is not None
        topics = Topics(topic_prefix)
        await app.bus.send(topics.notifications, Record(b"ops", b"kept across the recycle", ()))
        url = f"http://127.0.0.1:{app.admin_port}/v1/payment-results"
        accepted = 0
        held_back = 0
        n = 0
        sent_after = 0  # batches accepted after the first recycle
        async with aiohttp.ClientSession() as http:

            async def post(body: bytes, merchant: int) -> bool:
                nonlocal accepted, held_back
                headers = signed_headers(f"m{merchant}", f"secret-{merchant}", body, datetime.now(UTC))
                async with http.post(url, data=body, headers={**headers, "Content-Type": "application/json"}) as resp:
                    reply = await resp.json()
                    if resp.status == 503:
                        held_back += 1
                        return False
                    assert resp.status == 202, reply
                    if not reply.get("duplicate"):
                        accepted += reply["accepted"]
                    return True

            async def sender(k: int) -> None:
                nonlocal n, sent_after
                broker = app.broker
                assert broker is not None
                for _ in range(3000):  # until the recycle happened and a while after it; bounded
                    if broker.recycles >= 1 and sent_after >= 40:
                        return
                    n += 1
                    body = _batch(f"m{k}", n, 150)
                    for _attempt in range(100):
                        if await post(body, k):
                            break
                        await asyncio.sleep(0.2)  # the sender's own retry pace after a 503
                    else:
                        raise AssertionError("a batch was refused 100 times in a row")
                    if broker.recycles >= 1:
                        sent_after += 1

            await asyncio.gather(*(sender(k) for k in range(4)))
        assert app.broker.recycles >= 1, "the broker was never recycled"
        assert sent_after >= 40
        pipeline = role(app, "watcher").payments
        await eventually(lambda: pipeline.results_consumed >= accepted, timeout=60, what="every accepted result consumed")
        assert pipeline.results_consumed == accepted
        assert pipeline.replays == 0
        rss = app.broker.rss_bytes()
        assert rss is not None and rss < LIMIT_MB * 1024 * 1024
        kept = await _count(app.bootstrap, topics.notifications)
        assert b"kept across the recycle" in kept
    finally:
        await app.stop()
