"""The one thing a source needs from the bus: publish an event."""

from __future__ import annotations

from typing import Any, Protocol

from huabei_watch.events.base import Event, EventData


class Publisher(Protocol):
    async def publish(self, event: Event[Any]) -> None:
        """Publish durably (acks=all) to the event's topic; raises TransientError if the bus is away."""
        ...


class RecordingPublisher:
    """Keeps what was published in a list. For unit tests of sources and the sandbox; not a bus."""

    def __init__(self) -> None:
        self.events: list[Event[EventData]] = []

    async def publish(self, event: Event[Any]) -> None:
        self.events.append(event)
