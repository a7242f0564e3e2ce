"""Generic signed webhook: ``POST <address or default URL>`` with a JSON body.

Headers: ``X-Huabei-Timestamp: <unix seconds>`` and ``X-Huabei-Signature: sha256=<hex>`` where
hex = HMAC-SHA256(secret, f"{timestamp}.".encode() + body). Receivers should recompute it over the
raw body, compare in constant time, reject timestamps older than a few minutes, and deduplicate
on ``dedupe_key``. 2xx is success; 429 and 5xx are retried later (honouring Retry-After); any
other status is final.
"""

from __future__ import annotations

import json
import logging

import aiohttp
from pydantic import SecretStr

from consumers.notify.channels._http import DEDUPE_HEADER, exchange, raise_for_status
from consumers.notify.channels.base import OutboundMessage, SendReceipt, digest
from consumers.notify.channels.ratelimit import Limiter
from huabei_watch.clock import Clock
from huabei_watch.errors import PermanentError
from huabei_watch.signing import sign

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Huabei-Signature"
TIMESTAMP_HEADER = "X-Huabei-Timestamp"


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The project's one signing scheme (as for payment results and cashier pushes)."""
    return sign(secret, timestamp, body)


def webhook_body(msg: OutboundMessage) -> bytes:
    """The JSON document receivers get (stable keys; documented for integrators)."""
    document = {
        "dedupe_key": msg.dedupe_key,
        "recipient": msg.recipient,
        "title": msg.title,
        "text": msg.text,
        "markdown": msg.markdown,
        "critical": msg.critical,
        "template_id": msg.template_id,
        "params": dict(msg.template_params),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookChannel:
    """POST to ``msg.address`` (a URL) or ``default_url``; signed when a secret is configured."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        *,
        secret: SecretStr | None,
        default_url: str | None = None,
        limiter: Limiter | None = None,
        timeout: float = 10.0,
        name: str = "webhook",
    ) -> None:
        self.name = name
        self._session = session
        self._clock = clock
        self._secret = secret
        self._default_url = default_url
        self._limiter = limiter
        self._timeout = timeout

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        url = msg.address if msg.address.startswith(("http://", "https://")) else self._default_url
        if not url:
            raise PermanentError(f"{self.name}: no URL for this recipient and no default URL")
        if self._limiter is not None:
            await self._limiter.acquire(f"{self.name}:{digest(url)}")
        body = webhook_body(msg)
        timestamp = int(self._clock.now().timestamp())
        headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: str(timestamp),
                   DEDUPE_HEADER: msg.ref}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = webhook_signature(self._secret.get_secret_value(), timestamp, body)
        answer = await exchange(
            self._session, "POST", url, provider=self.name, clock=self._clock, timeout_s=self._timeout,
            data=body, headers=headers,
        )
        raise_for_status(self.name, answer)
        log.info("channel.sent", extra={"channel": self.name, "dedupe_key": msg.dedupe_key, "status": answer.status})
        return SendReceipt(provider_message_id=msg.ref, attempts=1)
