"""CloudEvents 1.0 on Kafka, binary mode, JSON data -- through the ``cloudevents`` package.

``encode`` and ``decode`` are the only place events meet bytes. ``decode`` never raises anything
but :class:`~huabei_watch.errors.InvalidInput`, whose message says what is wrong with the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from huabei_watch.clock import SHANGHAI
from huabei_watch.errors import InvalidInput
from huabei_watch.events.base import REGISTRY, Event, EventData, PreparedEvent
from huabei_watch.events.bounds import MAX_DEPTH, depth_exceeds

_FORMAT = JSONFormat()
CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Record:
    """A Kafka record as aiokafka produces and consumes it."""

    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def encode(event: Event[EventData] | PreparedEvent) -> Record:
    """Turn an event into a binary-mode CloudEvents Kafka record. The value is the data's compact
    UTF-8 JSON as pydantic writes it (made once, by :meth:`Event.build` when it built the event, or
    by the hot path that made a :class:`PreparedEvent`).
    ``ce_time`` is the event's time in Asia/Shanghai (``+08:00``), whatever zone it was built in."""
    attributes: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "specversion": "1.0",
        "time": event.time.astimezone(SHANGHAI),
        "datacontenttype": CONTENT_TYPE,
        "partitionkey": event.key,
    }
    if event.subject:
        attributes["subject"] = event.subject
    if isinstance(event, PreparedEvent):
        data = event.data_json
    else:
        data = event.data_json if event.data_json is not None else event.data.model_dump_json().encode()
    ce = CloudEvent(attributes=attributes, data=data)
    msg = ce_kafka.to_binary(ce, _FORMAT)
    key = msg.key.encode() if isinstance(msg.key, str) else msg.key
    return Record(key=key, value=msg.value, headers=tuple(msg.headers.items()))


def headers_dict(headers: Iterable[tuple[str, bytes | None]] | None) -> dict[str, bytes]:
    """Kafka headers as a dict (a repeated name: the last value; a null value: absent)."""
    out: dict[str, bytes] = {}
    for name, value in headers or ():
        if value is not None:
            out[name] = value
    return out


def decode(key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes | None]] | None) -> Event[EventData]:
    """Parse a record into a typed event.

    Raises :class:`InvalidInput` with a reason a person can act on when the record is not a
    CloudEvent, is larger than its type allows or nested deeper than :data:`MAX_DEPTH` (both
    checked before parsing), has an unknown type, or its data fails the model.
    """
    hdrs = headers_dict(headers)
    if "ce_specversion" not in hdrs:
        raise InvalidInput("not a binary-mode CloudEvent: header ce_specversion is missing")
    if hdrs.get("ce_specversion") != b"1.0":
        raise InvalidInput(f"unsupported CloudEvents specversion {hdrs['ce_specversion']!r}")
    ctype = hdrs.get("content-type", CONTENT_TYPE.encode()).split(b";")[0].strip()
    if ctype != CONTENT_TYPE.encode():
        raise InvalidInput(f"unsupported content-type {ctype!r}; expected application/json")
    if value is None:
        raise InvalidInput("record has no value (tombstone); an event needs JSON data")
    check_bounds(hdrs.get("ce_type", b""), value)
    fast = _decode_common(key, value, hdrs)
    if fast is not None:
        return fast
    try:
        json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"data is not valid JSON: {exc}") from None
    try:
        ce = ce_kafka.from_binary(ce_kafka.KafkaMessage(headers=hdrs, key=key, value=value), _FORMAT)
    except Exception as exc:  # the library raises several unrelated types for bad attributes
        raise InvalidInput(f"invalid CloudEvent attributes: {type(exc).__name__}: {exc}") from None
    raw = ce.get_data()
    if not isinstance(raw, dict):
        raise InvalidInput(f"data of {ce.get_type()} must be a JSON object, got {type(raw).__name__}")
    time = ce.get_time()
    return _typed(key, ce.get_id(), ce.get_type(), ce.get_source(), time, ce.get_subject(), raw)


def max_bytes(event_type: str) -> int:
    """The largest record value accepted for ``event_type`` (unknown types: the default bound)."""
    model = REGISTRY.get(event_type)
    return model.MAX_BYTES if model is not None else EventData.MAX_BYTES


def check_size(event_type: bytes, value: bytes) -> None:
    """Refuse a value larger than its type allows (before hashing or parsing it)."""
    etype = event_type.decode("ascii", "replace")[:200]
    limit = max_bytes(etype)
    if len(value) > limit:
        raise InvalidInput(f"record value is {len(value)} bytes; {etype or 'an event'} allows at most {limit}")


def check_bounds(event_type: bytes, value: bytes) -> None:
    """Refuse, before any parsing, a value larger than its type allows or nested too deep."""
    check_size(event_type, value)
    if depth_exceeds(value, MAX_DEPTH):
        raise InvalidInput(f"data nests JSON deeper than {MAX_DEPTH} levels")


_REQUIRED = ("ce_id", "ce_source", "ce_type", "ce_time")


def _decode_common(key: bytes | None, value: bytes, hdrs: dict[str, bytes]) -> Event[EventData] | None:
    """The common case, without building a ``cloudevents`` object: a record of a known type whose
    attributes are all present, plain ASCII, with a timezone-aware time, and whose value its model
    validates, parsed and validated in one pass by pydantic's JSON parser -- what our own
    :func:`encode` writes (the round-trip test pins the two paths to the same result). Anything
    else returns None and goes through the library's full validation and its error messages."""
    try:
        attrs = {name: hdrs[name].decode("ascii") for name in _REQUIRED}
        time = datetime.fromisoformat(attrs["ce_time"].replace("Z", "+00:00"))
        subject = hdrs["ce_subject"].decode("utf-8") if "ce_subject" in hdrs else None
    except (KeyError, UnicodeDecodeError, ValueError):
        return None
    model = REGISTRY.get(attrs["ce_type"])
    if model is None or time.tzinfo is None or not (attrs["ce_id"] and attrs["ce_source"]):
        return None
    try:
        data = model.model_validate_json(value)
    except ValidationError:
        return None
    ev_key = key.decode("utf-8", "replace") if key is not None else data.kafka_key()
    return cast(
        Event[EventData],
        Event(id=attrs["ce_id"], type=attrs["ce_type"], source=attrs["ce_source"], time=time, data=data,
              key=ev_key, subject=subject),
    )


def _typed(
    key: bytes | None, ev_id: str, ev_type: str, source: str, time: object, subject: str | None, raw: dict[str, object]
) -> Event[EventData]:
    model = REGISTRY.get(ev_type)
    if model is None:
        raise InvalidInput(f"unknown event type {ev_type!r}")
    try:
        data = model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise InvalidInput(f"data of {ev_type} is invalid at {loc}: {first['msg']} ({exc.error_count()} errors)") from None
    if not isinstance(time, datetime) or time.tzinfo is None:
        raise InvalidInput("CloudEvent has no timezone-aware 'time' attribute")
    ev_key = key.decode("utf-8", "replace") if key is not None else data.kafka_key()
    return cast(
        Event[EventData],
        Event(id=ev_id, type=ev_type, source=source, time=time, data=data, key=ev_key, subject=subject),
    )
