"""Feishu / Lark custom bot: ``POST {base}/open-apis/bot/v2/hook/{hook_id}`` with a card.

Signing ("签名校验"): string-to-sign = ``f"{timestamp_s}\\n{secret}"`` is the HMAC-SHA256 *key*
and the message is empty; sign = base64(HMAC). ``timestamp`` (seconds, as a string) and ``sign``
travel in the JSON body; the server accepts timestamps within an hour.

Answer ``{"code": 0, "msg": "success"}``. 11232: frequency limited (100/min and 5/s per bot, and
system pressure at busy times); 19021: signature or timestamp rejected; 19024: keyword check;
19022: IP not allowed; 9499: bad request; 19001: hook token invalid.
Lark uses base URL ``https://open.larksuite.com``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, SecretStr

from consumers.notify.channels._http import DEDUPE_HEADER, exchange, raise_for_status, unexpected_body
from consumers.notify.channels.base import OutboundMessage, SendReceipt, digest
from consumers.notify.channels.endpoints import FEISHU_BASE_URL
from consumers.notify.channels.ratelimit import Limiter
from huabei_watch.clock import Clock
from huabei_watch.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

HOOK_PATH = "/open-apis/bot/v2/hook/"
TRANSIENT_CODES: dict[int, float | None] = {11232: 60.0, 11233: 60.0}
PERMANENT_REASONS = {
    19021: "signature or timestamp rejected (check the bot secret and the clock)",
    19024: "keyword check failed",
    19022: "IP not allowed",
    9499: "bad request",
    19001: "hook token invalid (bot removed?)",
}


def feishu_sign(timestamp_s: int, secret: str) -> str:
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def hook_id(address: str) -> str:
    if address.startswith(("http://", "https://")):
        path = urlsplit(address).path
        return path.rsplit("/", 1)[-1] if HOOK_PATH in path else ""
    return address.strip()


class _Answer(BaseModel):
    code: int | None = None
    msg: str = ""
    StatusCode: int | None = None  # older answers carry only these
    StatusMessage: str = ""


class FeishuChannel:
    """An interactive card (title header + markdown) to the bot ``msg.address`` or the default bot."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        *,
        base_url: str = FEISHU_BASE_URL,
        default_hook: SecretStr | None = None,
        default_secret: SecretStr | None = None,
        secrets: Mapping[str, SecretStr] | None = None,
        limiter: Limiter | None = None,
        timeout: float = 10.0,
        name: str = "feishu",
    ) -> None:
        self.name = name
        self._session = session
        self._clock = clock
        self._base = base_url.rstrip("/") + HOOK_PATH
        self._default_hook = default_hook
        self._default_secret = default_secret
        self._secrets = dict(secrets or {})
        self._limiter = limiter
        self._timeout = timeout

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        hook = hook_id(msg.address) or (self._default_hook.get_secret_value() if self._default_hook else "")
        if not hook:
            raise PermanentError(f"{self.name}: no bot hook for this recipient and no default bot")
        if self._limiter is not None:
            await self._limiter.acquire(f"{self.name}:{digest(hook)}")
        body: dict[str, object] = {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": msg.title or msg.text[:20]}},
                "elements": [{"tag": "markdown", "content": msg.body_markdown}],
            },
        }
        secret = self._secrets.get(hook, self._default_secret)
        if secret is not None:
            timestamp = int(self._clock.now().timestamp())
            body["timestamp"] = str(timestamp)
            body["sign"] = feishu_sign(timestamp, secret.get_secret_value())
        answer = await exchange(
            self._session, "POST", self._base + hook, provider=self.name, clock=self._clock,
            timeout_s=self._timeout, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", DEDUPE_HEADER: msg.ref},
        )
        parsed = answer.parse(_Answer)
        code = None if parsed is None else (parsed.code if parsed.code is not None else parsed.StatusCode)
        if parsed is None or code is None:
            raise_for_status(self.name, answer)
            raise unexpected_body(self.name, answer)
        if code == 0 and 200 <= answer.status < 300:
            log.info("channel.sent", extra={"channel": self.name, "dedupe_key": msg.dedupe_key})
            return SendReceipt(provider_message_id=msg.ref, attempts=1)
        reason = f"{self.name}: code {code}: {parsed.msg or parsed.StatusMessage}"
        if code in TRANSIENT_CODES or answer.status == 429 or answer.status >= 500:
            raise TransientError(reason, retry_after=answer.retry_after or TRANSIENT_CODES.get(code))
        raise PermanentError(f"{reason} ({PERMANENT_REASONS.get(code, 'rejected')})")
