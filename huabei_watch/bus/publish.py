"""The one thing a source needs from the bus: publish an event."""

from __future__ import annotations

from typing import Any, Protocol

from huabei_watch.events.base import Event


class Publisher(Protocol):
    async def publish(self, event: Event[Any]) -> None:
        """Publish durably (acks=all) to the event's topic; raises TransientError if the bus is away."""
        ...
