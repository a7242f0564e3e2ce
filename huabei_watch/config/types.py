"""Small config value types whose validation errors read well in ``check-config``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d)")


def parse_duration(value: Any) -> Any:
    """Accept seconds as a number, or a string like ``"30s"``, ``"5m"``, ``"1h30m"``, ``"250ms"``."""
    if isinstance(value, bool):
        raise PydanticCustomError("duration", "must be a duration: seconds as a number, or like '30s', '5m', '1h'")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        try:
            return float(text)
        except ValueError:
            pass
        pos, total = 0, 0.0
        for m in _PART.finditer(text):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if text and pos == len(text):
            return total
    raise PydanticCustomError("duration", "must be a duration: seconds as a number, or like '30s', '5m', '1h'")


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True, slots=True)
class Duration:
    """The type of every duration setting: seconds as a float, given as a number (seconds) or a
    string with units (``"30s"``, ``"5m"``, ``"1h30m"``, ``"250ms"``), with optional bounds whose
    errors read ``must be >= 5 s``.

    Use as ``interval: Annotated[float, Duration(ge=5, le=3600)] = 30``. The type, not the key's
    name, is what makes a setting a duration.
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None

    def check(self, v: float) -> float:
        if self.ge is not None and v < self.ge:
            raise PydanticCustomError("duration_bound", "must be >= {b} s", {"b": _fmt(self.ge)})
        if self.gt is not None and v <= self.gt:
            raise PydanticCustomError("duration_bound", "must be > {b} s", {"b": _fmt(self.gt)})
        if self.le is not None and v > self.le:
            raise PydanticCustomError("duration_bound", "must be <= {b} s", {"b": _fmt(self.le)})
        return v

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        inner = core_schema.no_info_after_validator_function(self.check, handler(source))
        return core_schema.no_info_before_validator_function(parse_duration, inner)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out["description"] = (out.get("description", "") + " (seconds, or '30s', '5m', '1h')").strip()
        return out


def _check_hostport(v: str) -> str:
    host, sep, port = v.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise PydanticCustomError("hostport", "must be HOST:PORT, e.g. 127.0.0.1:8080")
    return v


HostPort = Annotated[str, AfterValidator(_check_hostport)]


class KeyProblems(ValueError):
    """Raised by a validator about keys below its own location: each ``(path, message)`` is
    reported as its own ``<location>.<path>: message`` line (``path`` relative, e.g.
    ``"ops[1].channel"``; ``""`` for the location itself)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" if p else m for p, m in problems))
        self.problems = problems
