"""Push policy changes to merchants' cashier webhooks: signed POST, retried, never blocking others.

Body: ``{"merchant_id", "seq", "policy": <the policy API's JSON>}`` -- always the merchant's
*current* policy (level-triggered), so a late retry never pushes a stale state. Headers:
``X-Huabei-Timestamp`` (unix seconds) and ``X-Huabei-Signature: sha256=<hex>`` =
HMAC-SHA256(webhook_secret, timestamp + "." + body).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import aiohttp

from consumers.cashier.model import Mode
from consumers.cashier.reader import PolicyReader
from consumers.cashier.store import CashierStore
from huabei_watch.backoff import backoff_delay
from huabei_watch.clock import Clock
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.signing import sign

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
#: Waits between attempts: 4 s doubling to 10 minutes.
RETRY_INITIAL, RETRY_MAX = 4.0, 600.0


class Pusher:
    """Sends the pushes the store's outbox holds (claimed, so several processes share the work)."""

    def __init__(
        self, store: CashierStore, registry: MerchantRegistry, reader: PolicyReader, session: aiohttp.ClientSession,
        clock: Clock, *, concurrency: int = 16, timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.registry = registry
        self.reader = reader
        self.session = session
        self.clock = clock
        self.sem = asyncio.Semaphore(concurrency)
        self.timeout = timeout
        self.sent = 0
        self.failed = 0

    async def run_once(self, limit: int = 200) -> int:
        now = self.clock.now()
        claimed = await self.store.claim_pushes(now, now + timedelta(seconds=60), limit)
        await asyncio.gather(*(self._push(mid, seq, attempts) for mid, seq, attempts in claimed))
        return len(claimed)

    async def _push(self, merchant_id: str, seq: int, attempts: int) -> None:
        async with self.sem:
            merchant = await self.registry.get(merchant_id)
            if merchant is None or not merchant.cashier_webhook:
                await self.store.push_done(merchant_id, seq)
                return
            policy = await self.reader.policy(merchant_id, Mode(merchant.mode))
            body = json.dumps({"merchant_id": merchant_id, "seq": seq, "policy": policy}, ensure_ascii=False).encode()
            ts = str(int(self.clock.now().timestamp()))
            headers = {"Content-Type": "application/json", "X-Huabei-Timestamp": ts}
            if merchant.webhook_secret:
                headers["X-Huabei-Signature"] = sign(merchant.webhook_secret, ts, body)
            error: str | None = None
            retry = True
            try:
                async with self.session.post(
                    merchant.cashier_webhook, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=self.timeout)
                ) as resp:
                    if 200 <= resp.status < 300:
                        await self.store.push_done(merchant_id, seq)
                        self.sent += 1
                        return
                    error = f"HTTP {resp.status}"
                    retry = resp.status == 429 or resp.status >= 500 or resp.status == 408
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
            attempt = attempts + 1
            give_up = not retry or attempt >= MAX_ATTEMPTS
            next_at = None if give_up else self.clock.now() + timedelta(seconds=backoff_delay(attempt, RETRY_INITIAL, RETRY_MAX))
            await self.store.push_failed(merchant_id, seq, error or "failed", next_at)
            self.failed += int(give_up)
            log.warning("cashier.push_failed", extra={"merchant_id": merchant_id, "attempt": attempt, "reason": error,
                                                      "gave_up": give_up})
