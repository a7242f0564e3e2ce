"""DingTalk (钉钉) custom robot: ``POST {base}/robot/send?access_token=T&timestamp=MS&sign=S``.

Signing ("加签"): string-to-sign = ``f"{timestamp_ms}\\n{secret}"``; sign =
urlencode(base64(HMAC-SHA256(key = secret, msg = string-to-sign))). The server accepts timestamps
within an hour of its clock. A robot without a secret (keyword or IP security) sends unsigned.

Answer ``{"errcode": 0, "errmsg": "ok"}``. 130101: over 20 messages a minute (the robot is then
throttled for 10 minutes); 310000: signature, keyword or IP check failed; 300001: token unknown.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

import aiohttp
from pydantic import BaseModel, SecretStr

from consumers.notify.channels._http import DEDUPE_HEADER, exchange, raise_for_status, unexpected_body
from consumers.notify.channels.base import OutboundMessage, SendReceipt, digest
from consumers.notify.channels.endpoints import DINGTALK_BASE_URL
from consumers.notify.channels.ratelimit import Limiter
from huabei_watch.clock import Clock
from huabei_watch.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

TRANSIENT_CODES: dict[int, float | None] = {130101: 600.0, -1: None, 410100: 60.0}
PERMANENT_REASONS = {
    310000: "signature, keyword or IP check failed (check the robot secret)",
    300001: "robot token unknown (robot removed?)",
    400013: "group disbanded",
}


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """The ``sign`` query value before URL encoding (base64 of the HMAC)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def access_token(address: str) -> str:
    if address.startswith(("http://", "https://")):
        tokens = parse_qs(urlsplit(address).query).get("access_token")
        return tokens[0] if tokens else ""
    return address.strip()


class _Answer(BaseModel):
    errcode: int
    errmsg: str = ""


class DingTalkChannel:
    """Markdown message to the robot ``msg.address`` (token or URL), or the default robot."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        *,
        base_url: str = DINGTALK_BASE_URL,
        default_token: SecretStr | None = None,
        default_secret: SecretStr | None = None,
        secrets: Mapping[str, SecretStr] | None = None,
        limiter: Limiter | None = None,
        timeout: float = 10.0,
        name: str = "dingtalk",
    ) -> None:
        """``secrets`` maps an access token to its robot's signing secret; ``default_secret``
        signs for tokens not in it (and for the default robot)."""
        self.name = name
        self._session = session
        self._clock = clock
        self._url = base_url.rstrip("/") + "/robot/send"
        self._default_token = default_token
        self._default_secret = default_secret
        self._secrets = dict(secrets or {})
        self._limiter = limiter
        self._timeout = timeout

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        token = access_token(msg.address) or (self._default_token.get_secret_value() if self._default_token else "")
        if not token:
            raise PermanentError(f"{self.name}: no robot token for this recipient and no default robot")
        if self._limiter is not None:
            await self._limiter.acquire(f"{self.name}:{digest(token)}")
        params = {"access_token": token}
        secret = self._secrets.get(token, self._default_secret)
        if secret is not None:
            timestamp_ms = int(self._clock.now().timestamp() * 1000)
            params["timestamp"] = str(timestamp_ms)
            params["sign"] = dingtalk_sign(timestamp_ms, secret.get_secret_value())
        body = {"msgtype": "markdown", "markdown": {"title": msg.title or msg.text[:20], "text": msg.body_markdown}}
        answer = await exchange(
            self._session, "POST", self._url, provider=self.name, clock=self._clock, timeout_s=self._timeout,
            params=params, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", DEDUPE_HEADER: msg.ref},
        )
        parsed = answer.parse(_Answer)
        if parsed is None:
            raise_for_status(self.name, answer)
            raise unexpected_body(self.name, answer)
        if parsed.errcode == 0:
            log.info("channel.sent", extra={"channel": self.name, "dedupe_key": msg.dedupe_key})
            return SendReceipt(provider_message_id=msg.ref, attempts=1)
        reason = f"{self.name}: errcode {parsed.errcode}: {parsed.errmsg}"
        if parsed.errcode in TRANSIENT_CODES:
            raise TransientError(reason, retry_after=TRANSIENT_CODES[parsed.errcode] or answer.retry_after)
        raise PermanentError(f"{reason} ({PERMANENT_REASONS.get(parsed.errcode, 'rejected')})")
