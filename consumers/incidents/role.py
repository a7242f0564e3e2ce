"""The incidents role: consumes ``<prefix>.signals``, keeps incidents, publishes ``<prefix>.incidents``."""

from __future__ import annotations

import logging

from consumers.signal_log import record_signal
from watcher.bus import MessageContext
from watcher.events import Event, EventData
from watcher.runtime.app import App

log = logging.getLogger(__name__)


class IncidentsRole:
    name = "incidents"

    def __init__(self) -> None:
        self.app: App | None = None

    async def start(self, app: App) -> None:
        self.app = app
        app.consume(self.name, [app.topics.signals], self.handle)

    async def handle(self, event: Event[EventData], ctx: MessageContext) -> None:
        assert self.app is not None
        await record_signal(self.app.require_db(), event, ctx.received_at)

    async def stop(self) -> None:
        return None

    async def republish(self) -> None:
        return None
