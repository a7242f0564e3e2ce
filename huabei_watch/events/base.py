"""Event envelope, registry and deterministic ids.

Every event data model subclasses :class:`EventData`, names the CloudEvents ``type`` values it is
published under, the logical topic it goes to, its Kafka key (what must stay ordered) and its
identity (what makes two observations "the same": same identity, same event id).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

SPEC_SOURCE = "huabei-watch"


class EventData(BaseModel):
    """Base of every event's ``data``. Frozen, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: CloudEvents ``type`` values this model is published under.
    EVENT_TYPES: ClassVar[tuple[str, ...]] = ()
    #: Logical topic (a field name of :class:`huabei_watch.events.topics.Topics`).
    TOPIC: ClassVar[str] = "signals"
    #: Short description for the generated docs.
    DESCRIPTION: ClassVar[str] = ""
    #: Principals (role names) whose signature a consumer accepts on this model's types.
    PRODUCERS: ClassVar[tuple[str, ...]] = ("watcher",)
    #: Whether principals configured in ``[security.principals]`` (outside producers, e.g. a platform
    #: streaming payment results) may produce it too.
    OUTSIDE_PRODUCERS: ClassVar[bool] = False
    #: Largest record value accepted for these types, checked before the JSON is parsed.
    MAX_BYTES: ClassVar[int] = 256 * 1024

    def kafka_key(self) -> str:
        """The Kafka key: events with the same key stay in order (same partition)."""
        raise NotImplementedError

    def identity(self) -> str:
        """What makes this observation unique. Same identity and type -> same event id."""
        raise NotImplementedError

    def identity_of(self, data_json: bytes) -> str:
        """:meth:`identity`, given this data's JSON (``model_dump_json()``, already made for the
        record): a model whose identity hashes its whole content uses it instead of serialising
        itself again."""
        return self.identity()

    def subject(self) -> str | None:
        """CloudEvents ``subject`` (what the event is about), for filtering without decoding."""
        return None


D = TypeVar("D", bound=EventData)


def event_id(event_type: str, identity: str) -> str:
    """Deterministic id: the same observation published twice (re-poll, replica) has the same id."""
    digest = hashlib.sha256(f"{event_type}\x1f{identity}".encode()).hexdigest()
    return digest[:32]


@dataclass(frozen=True, slots=True)
class Event(Generic[D]):
    """A CloudEvent with typed data."""

    id: str
    type: str
    source: str
    time: datetime
    data: D
    key: str
    subject: str | None = None
    #: ``data.model_dump_json()`` as made by :meth:`build` (the record value :func:`encode` writes);
    #: None on a decoded event. Not part of the event's equality.
    data_json: bytes | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(cls, event_type: str, data: D, *, time: datetime, source: str = SPEC_SOURCE) -> Event[D]:
        """Build an event; the id is derived from type and the data's identity, never random."""
        if event_type not in type(data).EVENT_TYPES:
            raise ValueError(f"{type(data).__name__} is not published as {event_type!r}")
        if time.tzinfo is None:
            raise ValueError("event time must be timezone-aware")
        data_json = data.model_dump_json().encode()
        return cls(
            id=event_id(event_type, data.identity_of(data_json)),
            type=event_type,
            source=source,
            time=time,
            data=data,
            key=data.kafka_key(),
            subject=data.subject(),
            data_json=data_json,
        )

    def as_json_obj(self) -> dict[str, Any]:
        """CloudEvents attributes and data as one JSON object (what ``tail`` prints)."""
        return {
            "specversion": "1.0",
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "time": self.time.isoformat(),
            "subject": self.subject,
            "partitionkey": self.key,
            "datacontenttype": "application/json",
            "data": self.data.model_dump(mode="json"),
        }


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """An event whose data is already JSON, validated and serialised on a hot path that never builds
    the data model (payment results in). It must be what :meth:`Event.build` makes of
    ``model.model_validate_json(data_json)``: the same id, key, subject and record value, so
    :func:`~huabei_watch.events.codec.encode` writes the same record for both (the models that
    offer one pin that with a test)."""

    model: type[EventData]
    id: str
    type: str
    source: str
    time: datetime
    key: str
    subject: str | None
    data_json: bytes
    #: SHA-256 of ``data_json`` when its maker hashed it already (a payment batch's id does): the
    #: signer uses it instead of hashing the value again.
    data_sha256: bytes | None = None


REGISTRY: dict[str, type[EventData]] = {}


def producers(outside: Iterable[str] = ()) -> dict[str, tuple[str, ...]]:
    """Event type -> principals that may produce it: each model's :attr:`EventData.PRODUCERS`, plus
    the ``outside`` principals on types open to them."""
    table: dict[str, tuple[str, ...]] = {}
    extra = tuple(outside)
    for etype, model in REGISTRY.items():
        table[etype] = model.PRODUCERS + (extra if model.OUTSIDE_PRODUCERS else ())
    return table


def register(model: type[D]) -> type[D]:
    """Class decorator: make ``model`` decodable under each of its EVENT_TYPES."""
    for t in model.EVENT_TYPES:
        if t in REGISTRY and REGISTRY[t] is not model:
            raise ValueError(f"event type {t!r} registered twice")
        REGISTRY[t] = model
    return model
