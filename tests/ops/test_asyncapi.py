"""The AsyncAPI document is valid AsyncAPI 3 structure, covers every topic and event type, and the
committed docs (docs/asyncapi.json, the examples in docs/subscribing.md) are what the generator
writes today."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from huabei_watch import __version__
from huabei_watch.events import REGISTRY, Event, EventData, Topics, encode
from huabei_watch.events.asyncapi import DEAD_LETTER, asyncapi_document, dump_json
from huabei_watch.root.cli import main as cli_main
from tests.samples import NOW, sample_events

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REGENERATE = "run python docs/gen_examples.py from the repository root and commit the result"


def _gen_examples() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_examples", DOCS / "gen_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer (``#/a/b``); KeyError if it leads nowhere."""
    assert ref.startswith("#/"), f"not a local reference: {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return asyncapi_document(examples=sample_events())


# -- structure -----------------------------------------------------------------------------------
def test_document_is_asyncapi_3_with_info_from_the_package(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] == "huabei-watch"
    assert doc["info"]["version"] == __version__
    assert doc["info"]["description"]
    assert doc["defaultContentType"] == "application/json"
    assert {s["protocol"] for s in doc["servers"].values()} == {"kafka"}
    assert doc["servers"]["production"]["host"] == "kafka:9092"
    assert "broker.addr" in doc["servers"]["embedded"]["description"]


def test_every_reference_in_the_document_resolves(doc: dict[str, Any]) -> None:
    refs = sorted(set(_refs(doc)))
    assert refs, "the document has no references at all"
    unresolved = []
    for ref in refs:
        try:
            _resolve(doc, ref)
        except (KeyError, TypeError):
            unresolved.append(ref)
    assert unresolved == []
    assert not [r for r in refs if "$defs" in r], "pydantic $defs references must point into components.schemas"


def test_every_topic_and_its_dead_letter_topic_is_a_channel_with_its_real_address() -> None:
    topics = Topics("acme")
    doc = asyncapi_document(topics)
    addresses = {ch["address"] for ch in doc["channels"].values()}
    assert addresses == set(topics.all()) | {Topics.dlq(t) for t in topics.all()}
    for channel_id, channel in doc["channels"].items():
        if channel_id.endswith(".dlq"):
            assert list(channel["messages"]) == [DEAD_LETTER]


def test_every_event_type_has_a_message_pinning_ce_type_in_its_topics_channel(doc: dict[str, Any]) -> None:
    messages = doc["components"]["messages"]
    by_address = {ch["address"]: ch for ch in doc["channels"].values()}
    for event_type, model in REGISTRY.items():
        message = messages[event_type]
        assert message["name"] == event_type
        assert message["summary"] == model.DESCRIPTION
        headers = message["headers"]
        assert headers["type"] == "object"
        assert headers["properties"]["ce_type"]["const"] == event_type
        assert {"ce_id", "ce_type", "ce_source", "ce_specversion", "ce_time"} <= set(headers["required"])
        payload = _resolve(doc, message["payload"]["$ref"])
        assert payload["title"] == model.__name__
        channel = by_address[Topics().for_logical(model.TOPIC)]
        assert _resolve(doc, channel["messages"][event_type]["$ref"]) is message


def test_payload_schemas_are_the_models_json_schemas(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for model in set(REGISTRY.values()):
        expected = model.model_json_schema(mode="serialization")
        got = schemas[model.__name__]
        assert set(got["properties"]) == set(expected["properties"])
        assert got.get("required", []) == expected.get("required", [])
        for name in expected.get("$defs", {}):
            assert name in schemas, f"{model.__name__}: $defs/{name} was not moved to components.schemas"


def test_operations_receive_from_every_channel_and_send_only_payment_results(doc: dict[str, Any]) -> None:
    received: set[str] = set()
    sent: set[str] = set()
    for op in doc["operations"].values():
        channel_ref = op["channel"]["$ref"]
        _resolve(doc, channel_ref)
        assert op["messages"], f"operation on {channel_ref} names no message"
        for m in op["messages"]:
            assert m["$ref"].startswith(channel_ref + "/messages/"), "an operation's messages must be its channel's"
        (received if op["action"] == "receive" else sent).add(channel_ref.removeprefix("#/channels/"))
    assert received == set(doc["channels"])
    assert sent == {"payments.results"}


def test_kafka_key_schema_describes_and_matches_the_real_keys(doc: dict[str, Any]) -> None:
    messages = doc["components"]["messages"]
    for event in sample_events():
        key = messages[event.type]["bindings"]["kafka"]["key"]
        assert key["type"] == "string" and key["description"]
        if "pattern" in key:
            assert re.fullmatch(key["pattern"], event.key), (event.type, event.key)
    assert messages["huabei.incident.opened"]["bindings"]["kafka"]["key"]["description"].startswith("Incident id")
    assert messages["huabei.cashier.changed"]["bindings"]["kafka"]["key"]["description"].startswith("Merchant id")
    assert "`notice:<notice_id>`" in messages["huabei.maintenance.scheduled"]["bindings"]["kafka"]["key"]["description"]
    assert messages["huabei.health.down"]["bindings"]["kafka"]["key"]["pattern"] == "^probe:.+$"


def test_examples_are_the_wire_records_and_fit_the_schemas(doc: dict[str, Any]) -> None:
    messages = doc["components"]["messages"]
    for event in sample_events():
        (example,) = messages[event.type]["examples"]
        record = encode(event)
        assert example["headers"] == {k: v.decode() for k, v in record.headers}
        assert example["payload"] == json.loads(record.value or b"")
        headers_schema = messages[event.type]["headers"]
        assert set(headers_schema["required"]) <= set(example["headers"])
        assert set(example["headers"]) <= set(headers_schema["properties"])
        for name, prop in headers_schema["properties"].items():
            if "const" in prop:
                assert example["headers"][name] == prop["const"], (event.type, name)
        REGISTRY[event.type].model_validate(example["payload"])


def test_examples_of_an_unregistered_type_are_refused() -> None:
    (sample, *_) = sample_events()
    stray = Event(id="x", type="huabei.no.such.type", source="t", time=NOW, data=sample.data, key="k")
    with pytest.raises(ValueError, match=r"huabei\.no\.such\.type"):
        asyncapi_document(examples=[stray])


def test_document_is_deterministic() -> None:
    events: list[Event[EventData]] = list(reversed(sample_events()))
    assert dump_json(asyncapi_document(examples=sample_events())) == dump_json(asyncapi_document(examples=events))


# -- committed docs are current ------------------------------------------------------------------
def test_committed_asyncapi_json_equals_the_generated_document(doc: dict[str, Any]) -> None:
    committed = json.loads((DOCS / "asyncapi.json").read_text("utf-8"))
    assert committed == doc, f"docs/asyncapi.json is out of date: {REGENERATE}"
    assert (DOCS / "asyncapi.json").read_text("utf-8") == dump_json(doc), f"docs/asyncapi.json is not formatted as generated: {REGENERATE}"


def test_subscribing_examples_block_equals_what_gen_examples_writes() -> None:
    gen = _gen_examples()
    text = (DOCS / "subscribing.md").read_text("utf-8")
    block = text.split(gen.START, 1)[1].split(gen.END, 1)[0].strip()
    assert block == gen.examples_markdown().strip(), f"the examples in docs/subscribing.md are out of date: {REGENERATE}"
    assert gen.rewrite(text, gen.examples_markdown()) == text


def test_subscribing_shows_every_event_type_with_key_headers_and_value() -> None:
    text = (DOCS / "subscribing.md").read_text("utf-8")
    for event in sample_events():
        section = text.split(f"#### `{event.type}`", 1)
        assert len(section) == 2, f"no worked example of {event.type}"
        body = section[1].split("#### ", 1)[0]
        assert f"Key: `{event.key}`" in body
        assert f"ce_type: {event.type}" in body and f"ce_id: {event.id}" in body
        assert '"' in body.split("```json", 1)[1]


def test_gen_examples_check_reports_nothing_stale() -> None:
    assert _gen_examples().main(["--check"]) == 0, REGENERATE


# -- CLI -----------------------------------------------------------------------------------------
def test_cli_writes_json_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "asyncapi.json"
    assert cli_main(["asyncapi", str(out)]) == 0
    assert json.loads(out.read_text("utf-8")) == asyncapi_document()


def test_cli_writes_yaml_for_a_yaml_file(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    out = tmp_path / "asyncapi.yaml"
    assert cli_main(["asyncapi", str(out)]) == 0
    text = out.read_text("utf-8")
    assert not text.lstrip().startswith("{"), "expected YAML, got JSON"
    assert yaml.safe_load(text) == asyncapi_document()


def test_cli_prints_json_without_a_file_using_the_configured_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[kafka]\ntopic_prefix = "acme"\n', "utf-8")
    assert cli_main(["-c", str(config), "asyncapi"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == asyncapi_document(Topics("acme"))
    assert printed["channels"]["incidents"]["address"] == "acme.incidents"

