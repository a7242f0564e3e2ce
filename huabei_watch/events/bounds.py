"""Bounds checked before JSON is parsed: nesting depth (the parser recurses) and size.

Python's JSON parser recurses once per nesting level; ``"[" * 200000`` makes it raise
``RecursionError``, which is no ``ValueError`` and used to escape every ``except`` around it.
:func:`parse_json` measures the depth first, without recursion, and refuses anything deeper than
``max_depth`` with :class:`~huabei_watch.errors.InvalidInput`; it never raises anything else.
Pure: no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from huabei_watch.errors import InvalidInput

#: Deeper than anything huabei-watch sends or accepts (its deepest data is about 5 levels).
MAX_DEPTH = 32

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: ``{`` as ``[`` and ``}`` as ``]``: nesting depth does not depend on the kind of bracket.
_ONE_KIND = bytes.maketrans(b"{}", b"[]")


def _outside_strings(raw: bytes) -> bytes:
    """The bytes of ``raw`` outside JSON strings, with byte-string operations only (a regular
    expression over the strings took ~10 ms per 50 KB). Escapes are paired left to right as a JSON
    lexer pairs them (``\\\\`` first, then ``\\"``), so every quote left delimits a string;
    then strings are the odd pieces between quotes. An unterminated last string counts as outside
    (the parser fails there anyway; counting more brackets only errs on the safe side). A
    backslash outside a string is not JSON: the parser stops there, and up to that point this
    reads the bytes as it does."""
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    pieces = raw.split(b'"')
    outside = pieces[::2]
    if len(pieces) % 2 == 0:  # an odd number of quotes: the last string never ends
        outside.append(pieces[-1])
    return b"".join(outside)


def depth_exceeds(raw: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """Whether the brackets outside strings nest deeper than ``max_depth``. Linear in ``raw``;
    on text that is not JSON the answer may be either (the parser rejects it afterwards), but
    never False where the parser would nest deeper before failing."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False
    brackets = _outside_strings(raw).translate(_ONE_KIND, _NOT_BRACKETS)
    if brackets.count(b"[") <= max_depth:
        return False
    # Balanced brackets of depth d empty in exactly d passes, each removing the innermost pairs.
    rest = brackets
    for _ in range(max_depth):
        fewer = rest.replace(b"[]", b"")
        if not fewer:
            return False
        if len(fewer) == len(rest):
            break
        rest = fewer
    depth = 0  # not balanced, or deep: count exactly
    for b in brackets:
        if b == 91:  # [
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
