"""The one thing a source needs from the bus: publish an event."""

from __future__ import annotations

from typing import Any, Protocol

from huabei_watch.events.base import Event, PreparedEvent


class Publisher(Protocol):
    async def publish(self, event: Event[Any] | PreparedEvent) -> None:
        """Publish durably (acks=all) to the event's topic; raises TransientError if the bus is away.
        A :class:`PreparedEvent` goes out as the record its :class:`Event` would be."""
        ...
