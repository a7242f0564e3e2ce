"""Bounds checked before JSON is parsed: nesting depth (the parser recurses) and size.

Python's JSON parser recurses once per nesting level; ``"[" * 200000`` makes it raise
``RecursionError``, which is no ``ValueError`` and used to escape every ``except`` around it.
:func:`parse_json` measures the depth first, without recursion, and refuses anything deeper than
``max_depth`` with :class:`~huabei_watch.errors.InvalidInput`; it never raises anything else.
Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

from huabei_watch.errors import InvalidInput

#: Deeper than anything huabei-watch sends or accepts (its deepest data is about 5 levels).
MAX_DEPTH = 32

# A JSON string: a quote, then any character but a quote or backslash, or a backslash and any
# character, then a quote. One way to match each character, so no catastrophic backtracking.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def depth_exceeds(raw: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """Whether the brackets outside strings nest deeper than ``max_depth``. Linear in ``raw``;
    on text that is not JSON the answer may be either (the parser rejects it afterwards)."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = 0
    for b in brackets:
        if b in b"[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def parse_json(raw: bytes | str, *, max_depth: int = MAX_DEPTH, what: str = "body") -> Any:
    """Parse JSON nested at most ``max_depth`` deep. Raises :class:`InvalidInput` (with a reason a
    person can act on) for bad UTF-8, bad JSON or too deep a nesting; never anything else."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if depth_exceeds(data, max_depth):
        raise InvalidInput(f"{what} nests JSON deeper than {max_depth} levels")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:  # unreachable after the depth check; kept so nothing else escapes
        raise InvalidInput(f"{what} nests JSON too deep") from None
