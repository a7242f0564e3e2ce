"""The watcher role: sources that observe and publish signals."""

from __future__ import annotations

import logging

from watcher.runtime.app import App

log = logging.getLogger(__name__)


class WatcherRole:
    name = "watcher"

    def __init__(self) -> None:
        self.app: App | None = None

    async def start(self, app: App) -> None:
        self.app = app

    async def stop(self) -> None:
        return None

    async def republish(self) -> None:
        return None
