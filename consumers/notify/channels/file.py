"""Sandbox channel: appends one JSON line per message to a file. Never fails on the provider side;
an unwritable file raises PermanentError."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from consumers.notify.channels.base import OutboundMessage, SendReceipt
from huabei_watch.clock import Clock
from huabei_watch.errors import PermanentError


class FileChannel:
    """Appends one JSON line per message to ``path`` (created with its parent directory)."""

    def __init__(self, path: Path, clock: Clock, *, name: str = "file") -> None:
        self.name = name
        self._path = path
        self._clock = clock
        self._lock = asyncio.Lock()

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        line = json.dumps(
            {
                "at": self._clock.now().isoformat(),
                "dedupe_key": msg.dedupe_key,
                "recipient": msg.recipient,
                "address": msg.address,
                "title": msg.title,
                "text": msg.text,
                "markdown": msg.markdown,
                "template_id": msg.template_id,
                "params": dict(msg.template_params),
                "critical": msg.critical,
            },
            ensure_ascii=False,
        )
        async with self._lock:
            try:
                await asyncio.to_thread(self._append, line)
            except OSError as exc:
                raise PermanentError(f"{self.name}: cannot write {self._path}: {exc}") from exc
        return SendReceipt(provider_message_id=msg.ref, attempts=1)

    def _append(self, line: str) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
