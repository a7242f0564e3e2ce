"""Typed look-ups in a parsed page: a missing element fails the test with its description
instead of an ``AttributeError`` on ``None`` further on."""

from __future__ import annotations

from bs4 import Tag


def one(root: Tag, name: str | None = None, *, string: str | None = None, **attrs: str) -> Tag:
    """The first element under ``root`` with tag ``name`` (any when None), text ``string`` (any
    when None) and the attribute values ``attrs`` (``id="x"``); fails the test when there is none."""
    found = root.find(None, dict(attrs), string=string) if name is None else root.find(name, dict(attrs), string=string)
    assert isinstance(found, Tag), f"no <{name or '*'}> with {attrs or ''}{f' text {string!r}' if string else ''}"
    return found


def attr(tag: Tag, key: str) -> str:
    """The single-valued attribute ``key`` of ``tag`` (``href``, ``content``...); fails the test when
    it is missing or multi-valued (``class``)."""
    value = tag[key]
    assert isinstance(value, str), f"<{tag.name}> {key}={value!r} is not a single value"
    return value
