"""Pure helper behind ``huabei-watch parse-notice``; the CLI module wires argv and files to it."""

from __future__ import annotations

from datetime import date
from typing import Any

from watcher.notices.understand import understand


def parse_notice_json(text: str, published: date) -> dict[str, Any]:
    """The JSON object ``parse-notice`` prints for ``text`` published on ``published``.

    Never raises on any ``str``. The first line is not treated as a title: callers that have a
    separate title should call :func:`watcher.notices.understand` directly.
    """
    return understand(text, published=published).to_json()
