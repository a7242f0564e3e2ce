"""Structured logging through the standard library.

Call sites log an event name and key-value fields::

    log.info("source.degraded", extra={"source": sid, "failures": n})

On a TTY lines are human-readable; otherwise one JSON object per line. Values of keys that look
like secrets are redacted, and any ``SecretStr`` prints as ``**********`` anyway.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

_STD_ATTRS = frozenset(
    vars(logging.LogRecord("x", 0, "x", 0, "x", None, None)).keys() | {"message", "asctime", "taskName"}
)
_SECRET_WORDS = ("secret", "password", "token", "private_key", "authorization", "api_key", "sign")
REDACTED = "**********"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in vars(record).items():
        if key in _STD_ATTRS or key.startswith("_"):
            continue
        if any(word in key.lower() for word in _SECRET_WORDS):
            value = REDACTED
        out[key] = value
    return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        obj.update(_fields(record))
        if record.exc_info:
            obj["exc"] = self.formatException(record.exc_info)
        return json.dumps(obj, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        kv = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{ts} {record.levelname:<7} {record.getMessage()}" + (f"  {kv}" if kv else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class RepeatFilter(logging.Filter):
    """Lets through at most ``burst`` records of the same kind (logger, level, message, exception
    class) per ``window`` seconds; the first record after a quiet window carries
    ``suppressed=<n>``. Bounds the log under a flood of identical errors (a client hammering the
    admin port, ``accept()`` failing). ``clock``: a monotonic time source (tests inject one)."""

    def __init__(self, *, burst: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_kinds: int = 10_000) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.clock = clock
        self.max_kinds = max_kinds
        self._kinds: dict[tuple[str, int, str, str], list[float]] = {}  # kind -> [window start, count, suppressed]

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        kind = (record.name, record.levelno, str(record.msg), exc)
        now = self.clock()
        state = self._kinds.get(kind)
        if state is None or now - state[0] >= self.window:
            if len(self._kinds) >= self.max_kinds:
                self._kinds.clear()
            suppressed = int(state[2]) if state is not None else 0
            self._kinds[kind] = [now, 1, 0]
            if suppressed:
                record.suppressed = suppressed
            return True
        state[1] += 1
        if state[1] <= self.burst:
            return True
        state[2] += 1
        return False


def setup_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
