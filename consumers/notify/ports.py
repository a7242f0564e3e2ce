"""What the delivery core needs from a channel adapter, and the message it hands over.

These mirror, field for field, ``consumers.notify.channels.base`` (written alongside): the
adapters implement :class:`Channel`; the delivery core only consumes it. When both packages are
merged, one of the two modules should re-export the other's classes so there is a single type.

Channel contract (the adapter's side):

* ``send`` makes one attempt and returns a :class:`SendReceipt` when the provider accepted it;
* "try later" raises :class:`watcher.errors.TransientError` (``retry_after`` in seconds when the
  provider says how long);
* "never" raises :class:`watcher.errors.PermanentError`;
* nothing else escapes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

OPS_RECIPIENT = "ops"


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One rendered message for one recipient on one channel.

    ``dedupe_key`` is the key of the delivery (a single planned message's key, or a group's key);
    ``template_id`` and ``template_params`` are for template-only channels (SMS): the provider
    holds the approved text, we send its id and the ordered parameters.
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

    @property
    def ref(self) -> str:
        """A short stable reference derived from the dedupe key (32 hex chars)."""
        return hashlib.sha256(self.dedupe_key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """The provider accepted the message."""

    provider_message_id: str
    attempts: int


class Channel(Protocol):
    """A notification channel adapter (WeCom, SMS, ...). One attempt per ``send``."""

    name: str

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        """Send once; raise TransientError / PermanentError as the module docstring says."""
        ...


class Limiter(Protocol):
    """A process-wide rate limiter (``channels.ratelimit.RateLimiter`` fits)."""

    async def acquire(self, key: str) -> float:
        """Wait until ``key`` may make one call; returns the seconds waited."""
        ...
