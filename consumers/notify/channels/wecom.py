"""WeCom (企业微信) group robot: ``POST {base}/cgi-bin/webhook/send?key=KEY`` with a markdown body.

Answers are ``{"errcode": 0, "errmsg": "ok"}`` on success. The robot key is the credential (no
signature). Each robot takes 20 messages a minute; past that it answers 45009.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import aiohttp
from pydantic import BaseModel, SecretStr

from consumers.notify.channels._http import DEDUPE_HEADER, exchange, raise_for_status, unexpected_body
from consumers.notify.channels.base import OutboundMessage, SendReceipt, clip_utf8, digest
from consumers.notify.channels.endpoints import WECOM_BASE_URL
from consumers.notify.channels.ratelimit import Limiter
from huabei_watch.clock import Clock
from huabei_watch.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

#: The words of the merchant page link under a message.
LINK_TEXT = "查看本店花呗状态"
#: WeCom rejects markdown content over 4096 bytes.
MAX_MARKDOWN_BYTES = 4096

#: errcode -> seconds to wait. 45009: robot over 20 msgs/min; -1: system busy; 45033: concurrency.
TRANSIENT_CODES: dict[int, float | None] = {45009: 60.0, -1: None, 45033: 5.0}
PERMANENT_REASONS: dict[int, str] = {
    93000: "robot removed or webhook key invalid",
    40008: "message type rejected",
    40058: "content rejected (empty or too long)",
    44004: "empty content",
}


class _Answer(BaseModel):
    errcode: int
    errmsg: str = ""


def robot_key(address: str) -> str:
    """The robot key from a bare key or a full webhook URL (``...send?key=KEY``)."""
    if address.startswith(("http://", "https://")):
        keys = parse_qs(urlsplit(address).query).get("key")
        return keys[0] if keys else ""
    return address.strip()


def content(msg: OutboundMessage) -> str:
    """The markdown sent: the body, clipped to WeCom's limit, then the merchant's page link whole."""
    if not msg.link:
        return clip_utf8(msg.body_markdown, MAX_MARKDOWN_BYTES)
    link = f"\n\n[{LINK_TEXT}]({msg.link})"
    return clip_utf8(msg.body_markdown, MAX_MARKDOWN_BYTES - len(link.encode("utf-8"))) + link


class WeComChannel:
    """One markdown message per send to the robot named by ``msg.address`` (or the default robot)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        *,
        base_url: str = WECOM_BASE_URL,
        default_key: SecretStr | None = None,
        limiter: Limiter | None = None,
        timeout: float = 10.0,
        name: str = "wecom",
    ) -> None:
        self.name = name
        self._session = session
        self._clock = clock
        self._url = base_url.rstrip("/") + "/cgi-bin/webhook/send"
        self._default_key = default_key
        self._limiter = limiter
        self._timeout = timeout

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        key = robot_key(msg.address) or (self._default_key.get_secret_value() if self._default_key else "")
        if not key:
            raise PermanentError("wecom: no robot key for this recipient and no default robot configured")
        if self._limiter is not None:
            await self._limiter.acquire(f"{self.name}:{digest(key)}")
        body = {"msgtype": "markdown", "markdown": {"content": content(msg)}}
        answer = await exchange(
            self._session,
            "POST",
            self._url,
            provider=self.name,
            clock=self._clock,
            timeout_s=self._timeout,
            params={"key": key},
            data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", DEDUPE_HEADER: msg.ref},
        )
        parsed = answer.parse(_Answer)
        if parsed is None:
            raise_for_status(self.name, answer)
            raise unexpected_body(self.name, answer)
        code = parsed.errcode
        if code == 0:
            log.info("channel.sent", extra={"channel": self.name, "dedupe_key": msg.dedupe_key})
            return SendReceipt(provider_message_id=msg.ref, attempts=1)
        reason = f"{self.name}: errcode {code}: {parsed.errmsg}"
        if code in TRANSIENT_CODES:
            raise TransientError(reason, retry_after=TRANSIENT_CODES[code] or answer.retry_after)
        raise PermanentError(f"{reason} ({PERMANENT_REASONS.get(code, 'rejected')})")
