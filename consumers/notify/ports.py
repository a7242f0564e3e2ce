"""What the delivery core needs from a channel adapter, and the message it hands over.

The message and channel types are those of ``consumers.notify.channels.base`` (re-exported here,
one type for both sides): the adapters implement :class:`Channel`; the delivery core consumes it.

Channel contract (the adapter's side):

* ``send`` makes one attempt and returns a :class:`SendReceipt` when the provider accepted it;
* "try later" raises :class:`huabei_watch.errors.TransientError` (``retry_after`` in seconds when the
  provider says how long);
* "never" raises :class:`huabei_watch.errors.PermanentError`;
* nothing else escapes.
"""

from __future__ import annotations

from consumers.notify.channels.base import Channel, OutboundMessage, SendReceipt
from consumers.notify.channels.ratelimit import Limiter

__all__ = ["Channel", "Limiter", "OutboundMessage", "SendReceipt"]
