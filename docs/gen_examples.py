"""Regenerate the worked examples in docs/subscribing.md and the whole of docs/asyncapi.json.

Run from the repository root::

    python docs/gen_examples.py          # rewrite both files
    python docs/gen_examples.py --check  # write nothing; exit 1 if either is out of date

The examples are tests/samples.py's ``sample_events()`` (one per event type) encoded exactly as
they go on the wire by ``huabei_watch.events.encode``. tests/ops/test_asyncapi.py fails when the
committed files differ from what this script writes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from huabei_watch.events import REGISTRY, Event, EventData, Topics, encode  # noqa: E402
from huabei_watch.events.asyncapi import CHANNELS, asyncapi_document, dump_json  # noqa: E402
from tests.samples import sample_events  # noqa: E402

SUBSCRIBING = ROOT / "docs" / "subscribing.md"
ASYNCAPI_JSON = ROOT / "docs" / "asyncapi.json"
START = "<!-- examples:start -->"
END = "<!-- examples:end -->"


def _ordered(events: list[Event[EventData]]) -> list[Event[EventData]]:
    order = {logical: i for i, (_, logical, _) in enumerate(CHANNELS)}
    return sorted(events, key=lambda e: (order[REGISTRY[e.type].TOPIC], e.type))


def examples_markdown(events: list[Event[EventData]] | None = None) -> str:
    """The generated block (without the markers): per topic, per event type, key, headers, value."""
    topics = Topics()
    lines: list[str] = []
    current_topic = ""
    for event in _ordered(events if events is not None else sample_events()):
        model = REGISTRY[event.type]
        topic = topics.for_logical(model.TOPIC)
        if topic != current_topic:
            current_topic = topic
            lines += [f"### Topic `{topic}`", ""]
        record = encode(event)
        value = json.loads(record.value or b"null")
        lines += [
            f"#### `{event.type}`",
            "",
            model.DESCRIPTION,
            "",
            f"Key: `{(record.key or b'').decode()}`",
            "",
            "Headers:",
            "",
            "```text",
            *(f"{name}: {raw.decode()}" for name, raw in record.headers),
            "```",
            "",
            "Value:",
            "",
            "```json",
            json.dumps(value, ensure_ascii=False, indent=2),
            "```",
            "",
        ]
    return "\n".join(lines)


def rewrite(text: str, block: str) -> str:
    """Replace what lies between the markers in ``text`` by ``block``."""
    try:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise SystemExit(f"{SUBSCRIBING}: markers {START} and {END} not found") from None
    return f"{head}{START}\n\n{block.rstrip()}\n\n{END}{tail}"


def outputs() -> dict[Path, str]:
    """Every generated file and the text it should have."""
    events = sample_events()
    return {
        SUBSCRIBING: rewrite(SUBSCRIBING.read_text("utf-8"), examples_markdown(events)),
        ASYNCAPI_JSON: dump_json(asyncapi_document(examples=events)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = path.read_text("utf-8") if path.exists() else ""
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, "utf-8")
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
