"""Sandbox channel: logs the message instead of sending it. Never fails."""

from __future__ import annotations

import logging

from consumers.notify.channels.base import OutboundMessage, SendReceipt

log = logging.getLogger(__name__)


class ConsoleChannel:
    """Logs each message at INFO (event ``notify.console``) with its fields in ``extra``."""

    def __init__(self, *, name: str = "console") -> None:
        self.name = name

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        log.info(
            "notify.console",
            extra={"dedupe_key": msg.dedupe_key, "recipient": msg.recipient, "title": msg.title,
                   "text": msg.text, "critical": msg.critical},
        )
        return SendReceipt(provider_message_id=msg.ref, attempts=1)
