"""In-memory doubles of the Kafka layer, for tests that need no broker.

* :class:`RecordingPublisher` keeps what was published in a list (sources, the sandbox, checkers).
* :class:`MemoryBus` is a publisher and an in-memory consumer at once: every published event is
  encoded to a Kafka record and decoded again (the real codec, so what a handler gets is what it
  would get from Kafka), kept per topic, and handed to the handlers of the subscriptions attached
  to that topic when :meth:`MemoryBus.deliver` runs, with a :class:`MessageContext` like the
  consumer runner's. A role's handler is driven exactly as the consumer runner would drive it,
  minus the broker.
* :func:`kill_broker` SIGKILLs an embedded broker's process, as a crash would (fault drills).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import MessageContext
from huabei_watch.clock import Clock
from huabei_watch.events import Event, EventData, Topics, decode, encode
from huabei_watch.events.base import PreparedEvent
from huabei_watch.runtime.app import Subscription


class RecordingPublisher:
    """Keeps what was published in a list. Not a bus: nothing consumes it."""

    def __init__(self) -> None:
        self.events: list[Event[EventData]] = []

    async def publish(self, event: Event[Any] | PreparedEvent) -> None:
        if isinstance(event, PreparedEvent):  # kept as the event a consumer would decode
            record = encode(event)
            event = decode(record.key, record.value, record.headers)
        self.events.append(event)


@dataclass
class MemoryBus:
    """Publisher plus in-memory consumer (see the module docstring). One partition per topic."""

    topics: Topics
    clock: Clock
    #: topic -> every event published there, in order (the log).
    log: dict[str, list[Event[EventData]]] = field(default_factory=dict)
    _subs: list[Subscription] = field(default_factory=list)
    #: (group, topic) -> offset of the next record to deliver.
    _offsets: dict[tuple[str, str], int] = field(default_factory=dict)

    async def publish(self, event: Event[Any] | PreparedEvent) -> None:
        record = encode(event)
        model = event.model if isinstance(event, PreparedEvent) else type(event.data)
        self.log.setdefault(self.topics.for_logical(model.TOPIC), []).append(
            decode(record.key, record.value, record.headers)
        )

    def published(self, topic: str) -> list[Event[EventData]]:
        return list(self.log.get(topic, []))

    def attach(self, *subscriptions: Subscription) -> None:
        """Consume for these subscriptions from now on (from the start of each topic, as a new
        consumer group does)."""
        self._subs.extend(subscriptions)

    async def deliver(self, *, rounds: int = 20) -> int:
        """Hand every record not yet handled to its subscriptions' handlers, until no handler
        publishes anything new (at most ``rounds`` passes). A handler that raises propagates.
        Returns how many records were handled."""
        handled = 0
        for _ in range(rounds):
            progress = 0
            for sub in self._subs:
                for topic in sub.topics:
                    events = self.log.get(topic, [])
                    start = self._offsets.get((sub.group, topic), 0)
                    for offset in range(start, len(events)):
                        ctx = MessageContext(topic=topic, partition=0, offset=offset, attempt=1,
                                             received_at=self.clock.now())
                        await sub.handler(events[offset], ctx)
                        self._offsets[(sub.group, topic)] = offset + 1
                        progress += 1
            handled += progress
            if not progress:
                return handled
        raise AssertionError(f"still publishing after {rounds} delivery rounds: a handler loops")


def kill_broker(broker: EmbeddedBroker) -> None:
    """SIGKILL the broker's process (fault drills): its supervisor restarts it, empty."""
    proc = broker._proc
    if proc is not None and proc.returncode is None:
        proc.kill()
