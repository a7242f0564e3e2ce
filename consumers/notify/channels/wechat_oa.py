"""WeChat Official Account (公众号) template message to one openid.

* Token: ``POST {base}/cgi-bin/stable_token`` ``{"grant_type": "client_credential", "appid",
  "secret", "force_refresh"}`` -> ``{"access_token", "expires_in"}``. Cached until ``expires_in``
  minus a margin; one fetch at a time (single flight) for the whole process.
* Send: ``POST {base}/cgi-bin/message/template/send?access_token=T`` ``{"touser", "template_id",
  "data": {key: {"value": v}}, "client_msg_id"}`` -> ``{"errcode": 0, "msgid": N}``.
  ``client_msg_id`` is WeChat's own guard: same openid + id within 10 minutes sends once.
* 40001 / 42001 / 40014 (token invalid or expired): refresh the token once and retry once. The
  refresh uses normal mode (which returns the current token if another process already rotated
  it) and forces a new token only when normal mode hands back the very token just rejected
  (force mode is limited to 20 a day).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

import aiohttp
from pydantic import BaseModel, SecretStr

from consumers.notify.channels._http import (
    DEDUPE_HEADER,
    access_token,
    exchange,
    raise_for_status,
    unexpected_body,
)
from consumers.notify.channels.base import OutboundMessage, SendReceipt
from consumers.notify.channels.endpoints import WECHAT_BASE_URL
from consumers.notify.channels.ratelimit import Limiter
from huabei_watch.clock import Clock
from huabei_watch.errors import InvalidInput, PermanentError, TransientError

log = logging.getLogger(__name__)

TOKEN_INVALID_CODES = frozenset({40001, 42001, 40014})
TRANSIENT_CODES: dict[int, float | None] = {-1: None, 45009: 3600.0, 45011: 60.0}
PERMANENT_REASONS: dict[int, str] = {
    43101: "the user refused messages from this account",
    40003: "invalid openid",
    40037: "invalid template_id",
    47003: "template data rejected",
    40013: "invalid appid",
    40125: "invalid appsecret",
    40164: "caller IP not in the account's whitelist",
    48001: "api not authorised for this account",
}


class _SendAnswer(BaseModel):
    errcode: int
    errmsg: str = ""
    msgid: int | str | None = None


@dataclass(slots=True)
class _Cached:
    token: str
    valid_until: float  # clock.monotonic()


class StableTokenCache:
    """The stable access token of one app, shared by all sends of the process."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        *,
        base_url: str,
        app_id: str,
        app_secret: SecretStr,
        margin: float = 300.0,
        timeout: float = 10.0,
        provider: str = "wechat_oa",
    ) -> None:
        self._session = session
        self._clock = clock
        self._url = base_url.rstrip("/") + "/cgi-bin/stable_token"
        self._app_id = app_id
        self._secret = app_secret
        self._margin = margin
        self._timeout = timeout
        self._provider = provider
        self._cached: _Cached | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def get(self) -> str:
        """A token valid for at least ``margin`` seconds more (fetches when needed)."""
        cached = self._cached
        if cached is not None and self._clock.monotonic() < cached.valid_until:
            return cached.token
        async with self._lock:
            cached = self._cached
            if cached is not None and self._clock.monotonic() < cached.valid_until:
                return cached.token
            return await self._fetch(force=False)

    async def refresh(self, rejected: str) -> str:
        """A token other than ``rejected`` (which the API just refused)."""
        async with self._lock:
            if self._cached is not None and self._cached.token != rejected:
                return self._cached.token  # someone refreshed while we were waiting
            self._cached = None
            token = await self._fetch(force=False)
            if token == rejected:
                token = await self._fetch(force=True)
            return token

    async def _fetch(self, *, force: bool) -> str:
        self.fetches += 1
        body = {
            "grant_type": "client_credential",
            "appid": self._app_id,
            "secret": self._secret.get_secret_value(),
            "force_refresh": force,
        }
        answer = await exchange(
            self._session,
            "POST",
            self._url,
            provider=self._provider,
            clock=self._clock,
            timeout_s=self._timeout,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        parsed = access_token(self._provider, answer, call="stable_token", transient=TRANSIENT_CODES,
                              permanent=PERMANENT_REASONS)
        lifetime = max(parsed.expires_in - self._margin, 0.0)
        self._cached = _Cached(parsed.access_token, self._clock.monotonic() + lifetime)
        log.info("channel.token_fetched", extra={"channel": self._provider, "force": force, "expires_in": parsed.expires_in})
        return parsed.access_token


class WeChatOAChannel:
    """Template message to ``msg.address`` (an openid). Needs ``msg.template_id`` or a default."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        *,
        app_id: str,
        app_secret: SecretStr,
        base_url: str = WECHAT_BASE_URL,
        default_template_id: str | None = None,
        link_url: str | None = None,
        token_margin: float = 300.0,
        limiter: Limiter | None = None,
        timeout: float = 10.0,
        name: str = "wechat_oa",
    ) -> None:
        self.name = name
        self._session = session
        self._clock = clock
        self._send_url = base_url.rstrip("/") + "/cgi-bin/message/template/send"
        self._default_template = default_template_id
        self._link_url = link_url
        self._limiter = limiter
        self._timeout = timeout
        self.tokens = StableTokenCache(
            session, clock, base_url=base_url, app_id=app_id, app_secret=app_secret,
            margin=token_margin, timeout=timeout, provider=name,
        )

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        template_id = msg.template_id or self._default_template
        if not template_id:
            raise InvalidInput(f"{self.name}: message {msg.dedupe_key} has no template_id")
        if not msg.address:
            raise InvalidInput(f"{self.name}: message {msg.dedupe_key} has no openid")
        body: dict[str, object] = {
            "touser": msg.address,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in msg.template_params},
            "client_msg_id": msg.ref,
        }
        if msg.link or self._link_url:
            body["url"] = msg.link or self._link_url
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if self._limiter is not None:
            await self._limiter.acquire(self.name)
        token = await self.tokens.get()
        attempts = 0
        while True:
            attempts += 1
            parsed = await self._post(token, payload, msg)
            if parsed.errcode == 0:
                log.info("channel.sent", extra={"channel": self.name, "dedupe_key": msg.dedupe_key, "attempts": attempts})
                return SendReceipt(provider_message_id=str(parsed.msgid or msg.ref), attempts=attempts)
            if parsed.errcode in TOKEN_INVALID_CODES and attempts == 1:
                log.info("channel.token_rejected", extra={"channel": self.name, "errcode": parsed.errcode})
                token = await self.tokens.refresh(rejected=token)
                continue
            reason = f"{self.name}: errcode {parsed.errcode}: {parsed.errmsg}"
            if parsed.errcode in TRANSIENT_CODES:
                raise TransientError(reason, retry_after=TRANSIENT_CODES[parsed.errcode])
            if parsed.errcode in TOKEN_INVALID_CODES:
                raise TransientError(f"{reason} (token still rejected after one refresh)")
            raise PermanentError(f"{reason} ({PERMANENT_REASONS.get(parsed.errcode, 'rejected')})")

    async def _post(self, token: str, payload: bytes, msg: OutboundMessage) -> _SendAnswer:
        answer = await exchange(
            self._session,
            "POST",
            self._send_url,
            provider=self.name,
            clock=self._clock,
            timeout_s=self._timeout,
            params={"access_token": token},
            data=payload,
            headers={"Content-Type": "application/json; charset=utf-8", DEDUPE_HEADER: msg.ref},
        )
        parsed = answer.parse(_SendAnswer)
        if parsed is None:
            raise_for_status(self.name, answer)
            raise unexpected_body(self.name, answer)
        return parsed
