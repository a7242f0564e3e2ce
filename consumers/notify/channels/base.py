"""What a channel is: one message in, one provider attempt, a receipt or an error that says what to do.

Contract every adapter keeps:

* ``send`` makes ONE attempt (retries and backoff belong to the delivery layer). The single
  exception is documented per adapter (WeChat OA refreshes its access token once and retries once).
* Success returns a :class:`SendReceipt`.
* "Try later" answers (rate limits, 5xx, timeouts, connection errors) raise
  :class:`huabei_watch.errors.TransientError`, with ``retry_after`` when the provider says how long.
* Final answers (bad number, robot removed, user refused, wrong credentials) raise
  :class:`huabei_watch.errors.PermanentError`.
* Nothing else escapes: no aiohttp exception, no KeyError from a surprising body.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One rendered message for one recipient on one channel.

    ``address`` is channel specific: a WeCom robot key or webhook URL, a WeChat openid, a phone
    number, a DingTalk access token or URL, a Feishu hook id or URL, a webhook URL. An empty
    address means "the channel's configured default" (usually the ops robot).
    ``template_params`` keep their order: Tencent SMS fills its template positionally.
    ``link``: a signed link to the recipient merchant's own page (empty: none); channels that can
    carry a link show it (WeCom after the markdown, WeChat as the template message's page).
    """

    dedupe_key: str
    recipient: str
    address: str = field(repr=False)
    title: str
    text: str
    markdown: str = ""
    template_id: str | None = None
    template_params: tuple[tuple[str, str], ...] = ()
    critical: bool = False
    link: str = ""

    @property
    def ref(self) -> str:
        """A short, stable reference derived from the dedupe key (32 hex chars).

        Sent in the provider's own idempotency or correlation field where one exists
        (Aliyun ``OutId``, Tencent ``SessionContext``, WeChat ``client_msg_id``), so a status
        report or a provider-side duplicate check maps back to our key.
        """
        return hashlib.sha256(self.dedupe_key.encode("utf-8")).hexdigest()[:32]

    @property
    def body_markdown(self) -> str:
        """The markdown body, falling back to the plain text."""
        return self.markdown or self.text


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """The provider accepted the message. ``attempts`` counts HTTP sends made for it (1, or 2 after
    a token refresh)."""

    provider_message_id: str
    attempts: int


class Channel(Protocol):
    """A notification channel. See the module docstring for the error contract."""

    name: str

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        """Send once; raise TransientError / PermanentError as documented in this module."""
        ...


def masked(address: str) -> str:
    """An address safe for logs: keeps the first 3 and last 2 characters."""
    if len(address) <= 6:
        return "*" * len(address)
    return f"{address[:3]}***{address[-2:]}"


def digest(secret: str) -> str:
    """A short non-reversible label for a secret-ish key (robot keys), for rate-limit keys and logs."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def clip_utf8(text: str, max_bytes: int, marker: str = "…") -> str:
    """``text`` cut so its UTF-8 encoding fits ``max_bytes`` (never splits a character)."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    room = max_bytes - len(marker.encode("utf-8"))
    return raw[: max(room, 0)].decode("utf-8", errors="ignore") + marker
