"""Jinja2 templates of the root's HTML pages (package data next to this module), autoescaped.

jinja2 is imported on the first page rendered, not with the admin server: a process whose pages
nobody opens does not carry it (~1.7 MB of RSS)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from huabei_watch.clock import to_shanghai

if TYPE_CHECKING:
    import jinja2


def shanghai(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``2026-11-28 02:00`` in Asia/Shanghai; ``—`` for None."""
    return to_shanghai(value).strftime(fmt) if value is not None else "—"


@cache
def _env() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["sh"] = shanghai
    return env


@cache
def template(name: str) -> jinja2.Template:
    text = resources.files("huabei_watch.root").joinpath(name).read_text("utf-8")
    return _env().from_string(text)


def render(name: str, **context: Any) -> str:
    return template(name).render(**context)
