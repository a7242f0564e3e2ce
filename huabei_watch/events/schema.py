"""JSON Schema for every event type, for ops who subscribe with their own Kafka clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huabei_watch.events.base import REGISTRY
from huabei_watch.events.topics import Topics


def schema_for(event_type: str) -> dict[str, Any]:
    model = REGISTRY[event_type]
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:huabei-watch:event:{event_type}"
    schema["title"] = event_type
    schema["description"] = (model.DESCRIPTION or model.__doc__ or "").strip()
    schema["x-topic"] = Topics().for_logical(model.TOPIC)
    schema["x-data-model"] = model.__name__
    return schema


def write_schemas(directory: Path) -> list[Path]:
    """Write ``<type>.schema.json`` per event type (deterministic output); returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for event_type in sorted(REGISTRY):
        path = directory / f"{event_type}.schema.json"
        path.write_text(json.dumps(schema_for(event_type), ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")
        written.append(path)
    return written
