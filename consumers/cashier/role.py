"""The cashier role: consumes ``<prefix>.incidents`` and reconciles Huabei per merchant."""

from __future__ import annotations

from watcher.bus import MessageContext
from watcher.events import Event, EventData
from watcher.runtime.app import App


class CashierRole:
    name = "cashier"

    def __init__(self) -> None:
        self.app: App | None = None

    async def start(self, app: App) -> None:
        self.app = app
        app.consume(self.name, [app.topics.incidents], self.handle)

    async def handle(self, event: Event[EventData], ctx: MessageContext) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def republish(self) -> None:
        return None
