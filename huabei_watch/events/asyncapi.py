"""AsyncAPI 3.0.0 description of every topic and event type, generated from the event models.

:func:`asyncapi_document` is pure: the same models, topics and examples give the same document
(dump it with :func:`dump_json`, keys sorted). It is written from the point of view of a client
of huabei-watch: ops *receive* from every topic (and its dead-letter topic); a platform that
streams payment results *sends* to ``<prefix>.payments.results``.

Payloads are the pydantic JSON Schemas of the data models (serialization mode, as published),
stored in ``components.schemas`` with their ``$defs`` hoisted next to them. Headers are the
CloudEvents 1.0 Kafka binary-mode attributes (``ce_*``) with ``ce_type`` pinned per message.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable
from typing import Any

from huabei_watch import __version__
from huabei_watch.events.base import REGISTRY, SPEC_SOURCE, Event, EventData
from huabei_watch.events.codec import CONTENT_TYPE, encode
from huabei_watch.events.topics import Topics

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
DEAD_LETTER = "huabei.dead-letter"
_SCHEMAS = "#/components/schemas/"

#: (channel id, logical topic of :class:`Topics`, description). A channel id is its topic's name
#: without the prefix; the dead-letter channel's id adds ``.dlq``.
CHANNELS: tuple[tuple[str, str, str], ...] = (
    ("signals", "signals",
     "What the watcher observed: notices, maintenance windows, probe health, payment anomalies, "
     "source status and merchant findings. Input of the incidents role."),
    ("incidents", "incidents",
     "The whole incident at each change (level-triggered): the latest revision per key replaces "
     "the earlier ones. Open incidents are republished periodically. Input of cashier and notify."),
    ("cashier.changes", "cashier_changes",
     "The audit trail of Huabei switched off or on at each merchant's cashier."),
    ("notifications", "notifications",
     "Outcome of every message to a merchant or ops: delivered, or failed for good."),
    ("payments.results", "payment_results",
     "Payment results streamed in by a platform (input): the watcher diagnoses failures from them."),
)

_DLQ_HEADERS: tuple[tuple[str, str], ...] = (
    ("dlq_reason", "Why the consumer gave up (at most 4000 bytes)."),
    ("dlq_error_class", "InvalidInput (undecodable or invalid), PermanentError, TransientError (after "
     "kafka.max_attempts), or the class of a handler bug."),
    ("dlq_topic", "Topic the record came from: where to produce it back to re-drive it."),
    ("dlq_partition", "Partition it came from (decimal)."),
    ("dlq_offset", "Offset it had there (decimal)."),
    ("dlq_group", "Consumer group that gave up, e.g. huabei-watch.notify."),
    ("dlq_attempts", "How many times the handler was tried (decimal)."),
    ("dlq_at", "When it was dead-lettered (ISO 8601 with offset)."),
)


def _title(event_type: str) -> str:
    words = event_type.removeprefix("huabei.").replace(".", " ").replace("-", " ")
    return words[:1].upper() + words[1:]


def _op_id(action: str, channel_id: str) -> str:
    return action + "".join(p[:1].upper() + p[1:] for p in re.split(r"[._-]", channel_id))


def _template(model: type[EventData], method: str) -> str | None:
    """What ``kafka_key``/``subject`` returns, with ``<field>`` in place of each field's value."""
    values: dict[str, Any] = {name: f"<{name}>" for name in model.model_fields}
    placeholder = model.model_construct(**values)
    try:
        value = getattr(placeholder, method)()
    except Exception:  # a method that needs real values: describe it without a template
        return None
    return value if isinstance(value, str) else None


def _explain(model: type[EventData], template: str) -> str:
    """``probe:<probe_id>`` -> "`probe:<probe_id>` where `<probe_id>` is the probe id"."""
    parts: list[tuple[str, str]] = []
    for name in re.findall(r"<([a-z_]+)>", template):
        field = model.model_fields.get(name)
        extra = f" ({field.description})" if field is not None and field.description else ""
        parts.append((name, name.replace("_", " ") + extra))
    if len(parts) == 1 and template == f"<{parts[0][0]}>":
        what = parts[0][1]
        return what[:1].upper() + what[1:]
    return f"`{template}` where " + "; ".join(f"`<{name}>` is the {what}" for name, what in parts)


def _key_schema(model: type[EventData]) -> dict[str, Any]:
    template = _template(model, "kafka_key")
    order = "Records with the same key go to one partition and stay in order."
    if template is None:
        return {"type": "string", "description": f"A UTF-8 string. {order}"}
    schema: dict[str, Any] = {"type": "string", "description": f"{_explain(model, template)}, as UTF-8. {order}"}
    if re.sub(r"<[a-z_]+>", "", template):
        schema["pattern"] = "^" + re.sub(r"<[a-z_]+>", ".+", re.escape(template)) + "$"
    return schema


def _headers_schema(event_type: str, model: type[EventData]) -> dict[str, Any]:
    subject = _template(model, "subject")
    subject_desc = "What the event is about, to filter without decoding the value"
    if subject:
        explained = _explain(model, subject)
        subject_desc += ": " + (explained if explained.startswith("`") else "the " + explained[:1].lower() + explained[1:])
    return {
        "type": "object",
        "description": "CloudEvents 1.0, Kafka protocol binding, binary mode: one ce_* header per attribute, "
        "values are UTF-8 strings. Other headers may be present and are to be ignored.",
        "required": ["ce_id", "ce_source", "ce_specversion", "ce_time", "ce_type"],
        "properties": {
            "ce_specversion": {"type": "string", "const": "1.0"},
            "ce_id": {
                "type": "string",
                "description": "Deterministic id (sha256 of type and the observation's identity, 32 hex "
                "digits for events huabei-watch publishes): the same observation published twice (re-poll, "
                "second replica, replay) has the same id. Deduplicate by it.",
            },
            "ce_type": {"type": "string", "const": event_type, "description": "The event type; selects the payload schema."},
            "ce_source": {
                "type": "string",
                "description": f"`{SPEC_SOURCE}` for events huabei-watch publishes; a platform's name for payment results it sends.",
                "examples": [SPEC_SOURCE],
            },
            "ce_time": {"type": "string", "format": "date-time", "description": "When it was observed (RFC 3339, usually +08:00)."},
            "ce_subject": {"type": "string", "description": subject_desc + "."},
            "ce_partitionkey": {"type": "string", "description": "The Kafka key again (CloudEvents partitioning extension)."},
            "content-type": {"type": "string", "const": CONTENT_TYPE},
        },
    }


def _merge_schema(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    if name in schemas and schemas[name] != schema:
        raise ValueError(f"two different schemas named {name!r}; rename one of the models")
    schemas[name] = schema


def _model_schemas(models: Iterable[type[EventData]]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in sorted(set(models), key=lambda m: m.__name__):
        schema = model.model_json_schema(mode="serialization", ref_template=_SCHEMAS + "{model}")
        for name, sub in schema.pop("$defs", {}).items():
            _merge_schema(schemas, name, sub)
        _merge_schema(schemas, model.__name__, schema)
    return dict(sorted(schemas.items()))


def _example(event: Event[EventData], n: int) -> dict[str, Any]:
    record = encode(event)
    return {
        "name": f"example-{n}",
        "summary": f"Kafka key: {(record.key or b'').decode()}",
        "headers": {name: value.decode() for name, value in record.headers},
        "payload": json.loads(record.value or b"null"),
    }


def _message(event_type: str, model: type[EventData], examples: list[dict[str, Any]]) -> dict[str, Any]:
    doc = inspect.cleandoc(model.__doc__ or "")
    message: dict[str, Any] = {
        "name": event_type,
        "title": _title(event_type),
        "summary": model.DESCRIPTION or doc.split("\n", 1)[0],
        "description": f"{doc}\n\nData model: `{model.__name__}`.",
        "contentType": CONTENT_TYPE,
        "headers": _headers_schema(event_type, model),
        "payload": {"$ref": _SCHEMAS + model.__name__},
        "bindings": {"kafka": {"key": _key_schema(model), "bindingVersion": KAFKA_BINDING_VERSION}},
    }
    if examples:
        message["examples"] = examples
    return message


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": DEAD_LETTER,
        "title": "Dead letter",
        "summary": "A record a consumer could not handle, unchanged, with why and where from in dlq_* headers.",
        "description": "Key, value and original headers (ce_*) are kept as they were; any earlier dlq_* headers are "
        "replaced. To re-drive, produce key and value back to `dlq_topic` with the headers minus the dlq_* "
        "ones; the event id is kept, so a record that had in fact been handled is dropped as a duplicate.",
        "headers": {
            "type": "object",
            "required": [name for name, _ in _DLQ_HEADERS],
            "properties": {name: {"type": "string", "description": desc} for name, desc in _DLQ_HEADERS},
        },
        "payload": {"description": "The original record's value, unchanged: normally the event's JSON data, "
                    "but anything when the record was undecodable."},
        "bindings": {"kafka": {"key": {"type": "string", "description": "The original record's key, unchanged."},
                               "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _servers() -> dict[str, Any]:
    return {
        "production": {
            "host": "kafka:9092",
            "protocol": "kafka",
            "title": "Your Kafka cluster",
            "description": "Placeholder for `kafka.bootstrap_servers` (`kafka:9092` is the broker of "
            "deploy/docker-compose.yml). Production clusters use SASL_SSL: see config/production.example.toml.",
        },
        "embedded": {
            "host": "127.0.0.1:{port}",
            "protocol": "kafka",
            "title": "Embedded broker",
            "description": "The bundled broker `huabei-watch run` starts when `kafka.bootstrap_servers = "
            "\"embedded\"` (local use). It listens on a free loopback port; while the daemon runs, "
            "`<daemon.state_dir>/broker.addr` holds `127.0.0.1:<port>`.",
            "variables": {"port": {"description": "Read it from <daemon.state_dir>/broker.addr."}},
        },
    }


def asyncapi_document(topics: Topics | None = None, *, examples: Iterable[Event[EventData]] = ()) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document for ``topics`` (default prefix ``huabei``).

    ``examples`` (at most a few per type) become the messages' examples, with headers and value
    exactly as :func:`~huabei_watch.events.codec.encode` puts them on the wire. Raises ValueError if a
    registered model names a topic that has no channel, or two schemas share a name.
    """
    topics = topics or Topics()
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in examples:
        if event.type not in REGISTRY:
            raise ValueError(f"example of unregistered event type {event.type!r}")
        same_type = by_type.setdefault(event.type, [])
        same_type.append(_example(event, len(same_type) + 1))
    types_by_topic: dict[str, list[str]] = {logical: [] for _, logical, _ in CHANNELS}
    for event_type, model in sorted(REGISTRY.items()):
        if model.TOPIC not in types_by_topic:
            raise ValueError(f"{event_type} goes to topic {model.TOPIC!r}, which has no AsyncAPI channel")
        types_by_topic[model.TOPIC].append(event_type)

    messages: dict[str, Any] = {t: _message(t, REGISTRY[t], by_type.get(t, [])) for t in sorted(REGISTRY)}
    messages[DEAD_LETTER] = _dead_letter_message()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel_id, logical, description in CHANNELS:
        address = topics.for_logical(logical)
        types = types_by_topic[logical]
        dlq_id = channel_id + ".dlq"
        channels[channel_id] = {
            "address": address,
            "title": channel_id,
            "description": description,
            "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in types},
        }
        channels[dlq_id] = {
            "address": Topics.dlq(address),
            "title": f"{channel_id} dead letters",
            "description": f"Records from `{address}` that a consumer could not handle.",
            "messages": {DEAD_LETTER: {"$ref": f"#/components/messages/{DEAD_LETTER}"}},
        }
        operations[_op_id("receive", channel_id)] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "title": f"Subscribe to {address}",
            "description": "Use a consumer group of your own (not huabei-watch.*); deduplicate by ce_id.",
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{t}"} for t in types],
        }
        operations[_op_id("receive", dlq_id)] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{dlq_id}"},
            "title": f"Inspect dead letters of {address}",
            "messages": [{"$ref": f"#/channels/{dlq_id}/messages/{DEAD_LETTER}"}],
        }
        if logical == "payment_results":
            operations[_op_id("send", channel_id)] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "title": f"Publish payment results to {address}",
                "description": "Input: a platform that streams its merchants' payment results publishes one batch "
                "per record, key = merchant id, as a binary-mode CloudEvent. The watcher role consumes them.",
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{t}"} for t in types],
            }

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "huabei-watch",
            "version": __version__,
            "description": "Events huabei-watch publishes on Kafka (and the payment results it accepts), as "
            "CloudEvents 1.0 in Kafka binary mode: attributes in ce_* headers, JSON data in the value. Event "
            "ids are deterministic, so consumers deduplicate by ce_id. Topics here use the prefix "
            f"`{topics.prefix}` (`kafka.topic_prefix`). Operations are written from a client's point of view. "
            "How to subscribe: docs/subscribing.md.",
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": _servers(),
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": _model_schemas(REGISTRY.values()),
        },
    }


def dump_json(document: dict[str, Any]) -> str:
    """Deterministic JSON text (sorted keys, 2-space indent, UTF-8 characters kept, final newline)."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
