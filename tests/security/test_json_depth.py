"""The nesting bound reads JSON as a lexer does: brackets inside strings (with any escapes) do not
count, and on bytes that are not JSON it never says "shallow" where a parser would nest deeper
before failing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from huabei_watch.events.bounds import depth_exceeds

TRICKY = st.text(alphabet='ab"\\[]{}/\u82b1 ', max_size=12)
JSON_VALUES = st.recursive(
    st.none() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY, inner, max_size=3),
    max_leaves=40,
)


def true_depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((true_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((true_depth(v) for v in value.values()), default=0)
    return 0


def lexer_depth(raw: bytes) -> int:
    """The deepest nesting a JSON parser can reach on ``raw`` before it fails: brackets outside
    strings, strings ended by an unescaped quote, stopping at a backslash outside a string."""
    depth = deepest = 0
    in_string = escaped = False
    for c in raw:
        if in_string:
            if escaped:
                escaped = False
            elif c == 0x5C:
                escaped = True
            elif c == 0x22:
                in_string = False
        elif c == 0x22:
            in_string = True
        elif c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in b"]}":
            depth -= 1
        elif c == 0x5C:
            break
    return deepest


@settings(max_examples=400)
@given(JSON_VALUES, st.booleans(), st.integers(min_value=0, max_value=4))
def test_valid_json_is_measured_exactly_whatever_its_strings_hold(value: Any, ascii_only: bool, bound: int) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert depth_exceeds(raw, bound) is (true_depth(value) > bound)


@settings(max_examples=600)
@given(st.binary(max_size=60).map(lambda b: bytes(b"[]{}\"\\a"[x % 7] for x in b)), st.integers(min_value=0, max_value=4))
def test_on_any_bytes_it_never_says_shallow_where_a_parser_would_nest_deeper(raw: bytes, bound: int) -> None:
    if lexer_depth(raw) > bound:
        assert depth_exceeds(raw, bound) is True
