"""WeCom (企业微信) application message to members of the corp: one markdown text, many members.

* Token: ``GET {base}/cgi-bin/gettoken?corpid=ID&corpsecret=SECRET`` ->
  ``{"errcode": 0, "access_token", "expires_in"}``; cached until ``expires_in`` minus a margin, one
  fetch at a time for the whole process.
* Send: ``POST {base}/cgi-bin/message/send?access_token=T`` ``{"touser": "id1|id2|...", "msgtype":
  "markdown", "agentid": N, "markdown": {"content": ...}}``: up to 1000 members per call (``touser``
  joined by ``|``). The answer ``{"errcode": 0, "invaliduser": "a|b", "unlicenseduser": "c", "msgid"}``
  names the members it refused (lower-cased); the others got the message. When every member is
  refused the call fails with errcode 81013 (and ``invaliduser``).
* 40014 / 42001 (token invalid or expired): fetch a new token once and retry once.

``send_batch`` sends one text to several members and returns one result per message: a receipt, or
a :class:`PermanentError` naming why the provider refused that member. Several messages to the
same member in one call would be merged by WeCom, so callers give a member at most once per call
(:func:`consumers.notify.channels.sms_batch.chunks` does).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Hashable

import aiohttp
from pydantic import BaseModel, SecretStr

from consumers.notify.channels._http import (
    DEDUPE_HEADER,
    access_token,
    exchange,
    raise_for_status,
    unexpected_body,
)
from consumers.notify.channels.base import OutboundMessage, SendReceipt, clip_utf8
from consumers.notify.channels.endpoints import WECOM_APP_BASE_URL
from consumers.notify.channels.ratelimit import Limiter
from consumers.notify.channels.wecom import LINK_TEXT
from huabei_watch.clock import Clock
from huabei_watch.errors import InvalidInput, PermanentError, TransientError

log = logging.getLogger(__name__)

#: Members per ``message/send`` call.
MAX_MEMBERS = 1000
#: Application markdown messages carry at most 2048 bytes.
MAX_MARKDOWN_BYTES = 2048
TOKEN_INVALID_CODES = frozenset({40014, 42001})
ALL_REFUSED = 81013
TRANSIENT_CODES: dict[int, float | None] = {-1: None, 45009: 60.0, 45033: 5.0}
PERMANENT_REASONS: dict[int, str] = {
    ALL_REFUSED: "no such member, or not in the application's visible range",
    40001: "corp secret rejected",
    40013: "corp id rejected",
    40056: "agentid rejected",
    40008: "message type rejected",
    44004: "empty content",
    82001: "member not reachable",
}
#: Why a member named in ``invaliduser`` / ``unlicenseduser`` did not get the message.
REFUSED_INVALID = "member refused (invaliduser): no such userid, or not in the application's visible range"
REFUSED_UNLICENSED = "member refused (unlicenseduser): no WeCom interface licence for this member"


class _SendAnswer(BaseModel):
    errcode: int
    errmsg: str = ""
    invaliduser: str = ""
    unlicenseduser: str = ""
    msgid: str = ""


def content(msg: OutboundMessage) -> str:
    """The markdown sent: the body clipped to the limit, then the page link whole."""
    link = f"\n\n[{LINK_TEXT}]({msg.link})" if msg.link else ""
    return clip_utf8(msg.body_markdown, MAX_MARKDOWN_BYTES - len(link.encode("utf-8"))) + link


def _members(field: str) -> set[str]:
    return {m.strip().lower() for m in field.split("|") if m.strip()}


class WeComAppChannel:
    """Markdown application messages to ``msg.address`` (a member's userid)."""

    max_batch = MAX_MEMBERS

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        *,
        corp_id: str,
        corp_secret: SecretStr,
        agent_id: int,
        base_url: str = WECOM_APP_BASE_URL,
        token_margin: float = 300.0,
        limiter: Limiter | None = None,
        timeout: float = 10.0,
        name: str = "wecom_app",
    ) -> None:
        self.name = name
        self._session = session
        self._clock = clock
        base = base_url.rstrip("/")
        self._token_url = base + "/cgi-bin/gettoken"
        self._send_url = base + "/cgi-bin/message/send"
        self._corp_id = corp_id
        self._secret = corp_secret
        self._agent_id = agent_id
        self._margin = token_margin
        self._limiter = limiter
        self._timeout = timeout
        self._token: tuple[str, float] | None = None  # (token, valid until clock.monotonic())
        self._token_lock = asyncio.Lock()

    @staticmethod
    def batch_key(msg: OutboundMessage) -> Hashable:
        """Messages with equal keys have the same text and may share one call."""
        return content(msg)

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        result = (await self.send_batch([msg]))[0]
        if isinstance(result, Exception):
            raise result
        return result

    async def send_batch(self, msgs: list[OutboundMessage]) -> list[SendReceipt | Exception]:
        """One call for ``msgs`` (same text, distinct members, at most :data:`MAX_MEMBERS`): one
        result per message. Raises TransientError / PermanentError when the whole call failed."""
        if not msgs:
            return []
        if len(msgs) > MAX_MEMBERS:
            raise InvalidInput(f"{self.name}: {len(msgs)} members in one call, at most {MAX_MEMBERS}")
        missing = next((m for m in msgs if not m.address), None)
        if missing is not None:
            raise InvalidInput(f"{self.name}: message {missing.dedupe_key} has no member userid")
        body = {"touser": "|".join(m.address for m in msgs), "msgtype": "markdown", "agentid": self._agent_id,
                "markdown": {"content": content(msgs[0])}}
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if self._limiter is not None:
            await self._limiter.acquire(self.name)
        token = await self._get_token()
        parsed = await self._post(token, payload, msgs[0].ref)
        attempts = 1
        if parsed.errcode in TOKEN_INVALID_CODES:
            log.info("channel.token_rejected", extra={"channel": self.name, "errcode": parsed.errcode})
            token = await self._get_token(rejected=token)
            parsed = await self._post(token, payload, msgs[0].ref)
            attempts = 2
        reason = f"{self.name}: errcode {parsed.errcode}: {parsed.errmsg}"
        if parsed.errcode == ALL_REFUSED:
            return [PermanentError(f"{self.name}: {REFUSED_INVALID}") for _ in msgs]
        if parsed.errcode != 0:
            if parsed.errcode in TRANSIENT_CODES:
                raise TransientError(reason, retry_after=TRANSIENT_CODES[parsed.errcode])
            if parsed.errcode in TOKEN_INVALID_CODES:
                raise TransientError(f"{reason} (token still rejected after one refresh)")
            raise PermanentError(f"{reason} ({PERMANENT_REASONS.get(parsed.errcode, 'rejected')})")
        invalid, unlicensed = _members(parsed.invaliduser), _members(parsed.unlicenseduser)
        out: list[SendReceipt | Exception] = []
        for m in msgs:
            member = m.address.lower()
            if member in invalid:
                out.append(PermanentError(f"{self.name}: {REFUSED_INVALID}"))
            elif member in unlicensed:
                out.append(PermanentError(f"{self.name}: {REFUSED_UNLICENSED}"))
            else:
                out.append(SendReceipt(provider_message_id=parsed.msgid or m.ref, attempts=attempts))
        log.debug("channel.sent", extra={"channel": self.name, "members": len(msgs),
                                         "refused": len(msgs) - sum(isinstance(r, SendReceipt) for r in out)})
        return out

    async def _get_token(self, *, rejected: str | None = None) -> str:
        """The cached token, or a new one (``rejected``: the token the API just refused)."""
        cached = self._token
        if cached is not None and cached[0] != rejected and self._clock.monotonic() < cached[1]:
            return cached[0]
        async with self._token_lock:
            cached = self._token
            if cached is not None and cached[0] != rejected and self._clock.monotonic() < cached[1]:
                return cached[0]
            answer = await exchange(
                self._session, "GET", self._token_url, provider=self.name, clock=self._clock,
                timeout_s=self._timeout,
                params={"corpid": self._corp_id, "corpsecret": self._secret.get_secret_value()},
            )
            parsed = access_token(self.name, answer, call="gettoken", transient=TRANSIENT_CODES,
                                  permanent=PERMANENT_REASONS)
            self._token = (parsed.access_token, self._clock.monotonic() + max(parsed.expires_in - self._margin, 0.0))
            log.info("channel.token_fetched", extra={"channel": self.name, "expires_in": parsed.expires_in})
            return parsed.access_token

    async def _post(self, token: str, payload: bytes, ref: str) -> _SendAnswer:
        answer = await exchange(
            self._session, "POST", self._send_url, provider=self.name, clock=self._clock, timeout_s=self._timeout,
            params={"access_token": token}, data=payload,
            headers={"Content-Type": "application/json; charset=utf-8", DEDUPE_HEADER: ref},
        )
        parsed = answer.parse(_SendAnswer)
        if parsed is None:
            raise_for_status(self.name, answer)
            raise unexpected_body(self.name, answer)
        return parsed
