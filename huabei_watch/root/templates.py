"""Jinja2 templates of the root's HTML pages (package data next to this module), autoescaped."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from huabei_watch.clock import to_shanghai


def shanghai(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``2026-11-28 02:00`` in Asia/Shanghai; ``—`` for None."""
    return to_shanghai(value).strftime(fmt) if value is not None else "—"


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["sh"] = shanghai
    return env


@cache
def template(name: str) -> jinja2.Template:
    text = resources.files("huabei_watch.root").joinpath(name).read_text("utf-8")
    return _env().from_string(text)


def render(name: str, **context: Any) -> str:
    return template(name).render(**context)
