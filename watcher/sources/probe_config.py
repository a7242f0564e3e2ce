"""Configuration of health probes: ``[[probes]]`` entries in the TOML file.

Each entry has a ``kind`` (``http``, ``tcp`` or ``dns``) and the common keys ``id``, ``interval``,
``timeout``, ``failure_threshold``, ``success_threshold``, ``scope``, ``channels`` and ``jitter``::

    [[probes]]
    kind = "http"
    id = "alipay-gateway"
    url = "https://openapi.alipay.com/gateway.do"
    interval = 30          # seconds between checks, >= 1
    timeout = 5            # seconds, > 0 and < interval
    failure_threshold = 3  # consecutive failures before "down"
    success_threshold = 2  # consecutive successes before "up" again
    expected_status = ["200-299", 304]
    max_latency_ms = 2000
    min_cert_days = 14

:func:`load_probes` validates a list of such tables and raises :class:`~huabei_watch.errors.ConfigError`
whose problems read ``probes[2].interval: must be >= 1 s``; :func:`problems_from` does the same
formatting for a :class:`pydantic.ValidationError` the caller caught itself (e.g. when probes are
one section of a larger settings model).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from huabei_watch.config.types import Duration
from huabei_watch.errors import ConfigError
from huabei_watch.events.common import HUABEI_CHANNELS, Scope
from watcher.sources.probe_conditions import parse_json_path

PROBE_KINDS: tuple[str, ...] = ("http", "tcp", "dns")
HTTP_METHODS = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

#: The same shape as source ids (and merchant ids): letters of either case, digits, ``_ . : -``.
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_CHANNEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_STATUS_RANGE_RE = re.compile(r"^\s*(\d{3})\s*-\s*(\d{3})\s*$")
_STATUS_CLASS_RE = re.compile(r"^\s*([1-5])xx\s*$", re.IGNORECASE)

#: Units of numeric keys, so bound errors read "must be >= 1 s".
_UNITS: dict[str, str] = {
    "interval": "s",
    "timeout": "s",
    "jitter": "s",
    "max_latency_ms": "ms",
    "min_cert_days": "days",
}


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatusRange(_Config):
    """An inclusive range of HTTP status codes; a single code is a range of one."""

    low: int = Field(ge=100, le=599)
    high: int = Field(ge=100, le=599)

    @model_validator(mode="after")
    def _ordered(self) -> StatusRange:
        if self.low > self.high:
            raise ValueError(f"status range {self.low}-{self.high} is empty")
        return self

    def __contains__(self, status: object) -> bool:
        return isinstance(status, int) and self.low <= status <= self.high

    def label(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


def _parse_status_item(item: object) -> object:
    if isinstance(item, StatusRange | Mapping):
        return item
    if isinstance(item, bool):
        raise ValueError("a status is a number like 200, a range like \"200-299\" or a class like \"2xx\"")
    if isinstance(item, int):
        return {"low": item, "high": item}
    if isinstance(item, str):
        text = item.strip()
        if text.isdigit():
            return {"low": int(text), "high": int(text)}
        if m := _STATUS_RANGE_RE.match(text):
            return {"low": int(m.group(1)), "high": int(m.group(2))}
        if m := _STATUS_CLASS_RE.match(text):
            base = int(m.group(1)) * 100
            return {"low": base, "high": base + 99}
    raise ValueError(f"{item!r} is not a status: use 200, \"200-299\" or \"2xx\"")


def _parse_statuses(value: object) -> object:
    items = value if isinstance(value, list | tuple) else [value]
    if not items:
        raise ValueError("needs at least one status")
    parsed = tuple(_parse_status_item(i) for i in items)
    for p in parsed:
        if isinstance(p, dict):
            for code in (p["low"], p["high"]):
                if not 100 <= code <= 599:
                    raise ValueError(f"{code} is not an HTTP status (100-599)")
    return parsed


StatusList = Annotated[tuple[StatusRange, ...], BeforeValidator(_parse_statuses)]
JsonScalar = str | bool | int | float


class ProbeBase(_Config):
    """Keys every probe has. Thresholds give hysteresis: see :mod:`watcher.sources.probe_state`."""

    id: str = Field(description="Unique probe id: letters, digits, '.', '_', ':' or '-' (case-sensitive)")
    interval: Annotated[float, Duration(ge=1.0, le=86_400.0)] = Field(default=30.0, description="Seconds between checks")
    timeout: Annotated[float, Duration(gt=0.0)] = Field(default=5.0, description="Seconds a check may take; below interval")
    failure_threshold: int = Field(default=3, ge=1, le=1000)
    success_threshold: int = Field(default=2, ge=1, le=1000)
    scope: Literal["platform"] | tuple[str, ...] = Field(
        default="platform", description='"platform", or the list of merchant ids the probe speaks for'
    )
    channels: tuple[str, ...] = Field(default=HUABEI_CHANNELS, description="Alipay pay channels affected")
    jitter: Annotated[float, Duration(ge=0.0)] = Field(default=0.0, description="Up to this many seconds of random delay per run")

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not _ID_RE.match(v):
            raise ValueError("must be 1-64 of letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
        return v

    @field_validator("scope", mode="before")
    @classmethod
    def _scope_shape(cls, v: object) -> object:
        if v == "platform":
            return v
        if not isinstance(v, list | tuple):
            raise ValueError('must be "platform" or a list of merchant ids')
        if not v:
            raise ValueError('an empty merchant list probes for nobody: use "platform" or list merchant ids')
        if not all(isinstance(m, str) and m.strip() for m in v):
            raise ValueError("merchant ids must be non-empty strings")
        return tuple(sorted({m.strip() for m in v}))

    @field_validator("channels")
    @classmethod
    def _channels_shape(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("needs at least one channel, e.g. \"pcredit\"")
        for ch in v:
            if not _CHANNEL_RE.match(ch):
                raise ValueError(f"{ch!r} is not a pay channel code like \"pcredit\"")
        return tuple(dict.fromkeys(v))

    @field_validator("timeout", "jitter")
    @classmethod
    def _below_interval(cls, v: float, info: ValidationInfo) -> float:
        interval = info.data.get("interval")
        if isinstance(interval, float) and v >= interval:
            raise ValueError(f"must be below interval ({interval:g} s)")
        return v

    def scope_value(self) -> Scope:
        """The event-contract :class:`Scope` this probe reports for."""
        if self.scope == "platform":
            return Scope.platform()
        return Scope.merchants(*self.scope)

    def target(self) -> str:
        """What is probed, as shown in events and on the status page."""
        raise NotImplementedError


class HttpProbe(ProbeBase):
    """An HTTP(S) request whose response must meet every configured condition.

    Conditions: status in ``expected_status``; latency at most ``max_latency_ms``; the JSON value at
    ``json_path`` exists and (if ``json_expected`` is set) equals it; ``body_regex`` is found in the
    body; the server certificate is valid for at least ``min_cert_days`` more days (https only).
    """

    kind: Literal["http"]
    url: str
    method: HTTP_METHODS = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    secret_headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Headers whose values are secrets (Authorization ...); redacted in logs"
    )
    body: str | None = None
    expected_status: StatusList = (StatusRange(low=200, high=299),)
    max_latency_ms: float | None = Field(default=None, gt=0.0)
    json_path: str | None = Field(default=None, description='Dotted path into a JSON body: "status", "data.items[0].state"')
    json_expected: JsonScalar | None = None
    body_regex: str | None = None
    min_cert_days: int | None = Field(default=None, ge=0, le=3650)
    verify_tls: bool = True

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("url")
    @classmethod
    def _url_shape(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http:// or https:// URL")
        return v

    @field_validator("json_path")
    @classmethod
    def _json_path_shape(cls, v: str | None) -> str | None:
        if v is not None:
            parse_json_path(v)  # raises ValueError with the reason
        return v

    @field_validator("body_regex")
    @classmethod
    def _regex_compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return v

    @field_validator("headers", "secret_headers")
    @classmethod
    def _header_names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not name or any(c in name for c in " :\r\n\t"):
                raise ValueError(f"{name!r} is not a valid header name")
        return v

    @field_validator("min_cert_days")
    @classmethod
    def _https_only(cls, v: int | None, info: ValidationInfo) -> int | None:
        url = info.data.get("url")
        if v is not None and isinstance(url, str) and urlsplit(url).scheme != "https":
            raise ValueError("needs an https:// url")
        return v

    @field_validator("json_expected")
    @classmethod
    def _needs_path(cls, v: JsonScalar | None, info: ValidationInfo) -> JsonScalar | None:
        if v is not None and info.data.get("json_path") is None:
            raise ValueError("needs json_path")
        return v

    def target(self) -> str:
        parts = urlsplit(self.url)
        if parts.username is None and parts.password is None:
            return self.url
        # Never publish credentials embedded in the URL.
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def needs_body(self) -> bool:
        return self.json_path is not None or self.body_regex is not None


class TcpProbe(ProbeBase):
    """A TCP connect to ``host:port``; success is an established connection within the timeout."""

    kind: Literal["tcp"]
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)

    def target(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class DnsProbe(ProbeBase):
    """A name lookup through the system resolver.

    Success: the name resolves to at least one address of ``record_type``, and, when
    ``expected_addresses`` is given, every expected address is among the answers (more answers,
    e.g. round-robin pools, are fine).
    """

    kind: Literal["dns"]
    name: str = Field(min_length=1, max_length=253)
    record_type: Literal["A", "AAAA"] = "A"
    expected_addresses: tuple[str, ...] | None = None
    resolver: Literal["system"] = "system"

    @field_validator("expected_addresses")
    @classmethod
    def _addresses(cls, v: tuple[str, ...] | None, info: ValidationInfo) -> tuple[str, ...] | None:
        if v is None:
            return None
        if not v:
            raise ValueError("leave it out, or list at least one address")
        want = 4 if info.data.get("record_type", "A") == "A" else 6
        out = []
        for a in v:
            try:
                addr = ipaddress.ip_address(a.strip())
            except ValueError:
                raise ValueError(f"{a!r} is not an IP address") from None
            if addr.version != want:
                raise ValueError(f"{addr} is not an IPv{want} address (record_type is {info.data.get('record_type')})")
            out.append(str(addr))
        return tuple(out)


    def target(self) -> str:
        return self.name


ProbeSpec = Annotated[HttpProbe | TcpProbe | DnsProbe, Field(discriminator="kind")]
AnyProbe = HttpProbe | TcpProbe | DnsProbe


class ProbesConfig(_Config):
    """The ``probes`` list of the settings file. Probe ids are unique."""

    probes: tuple[ProbeSpec, ...] = ()

    @field_validator("probes")
    @classmethod
    def _unique_ids(cls, v: tuple[AnyProbe, ...]) -> tuple[AnyProbe, ...]:
        seen: set[str] = set()
        for p in v:
            if p.id in seen:
                raise ValueError(f"probe id {p.id!r} is used twice")
            seen.add(p.id)
        return v


def load_probes(entries: Sequence[Mapping[str, Any]], *, path: str | None = None) -> tuple[AnyProbe, ...]:
    """Validate the ``[[probes]]`` tables of a TOML file. Raises ConfigError listing every problem."""
    try:
        return ProbesConfig.model_validate({"probes": list(entries)}).probes
    except ValidationError as exc:
        raise ConfigError(problems_from(exc), path=path) from None


def problems_from(exc: ValidationError, *, prefix: str = "") -> list[str]:
    """Turn a ValidationError into ``"probes[2].interval: must be >= 1 s"`` lines.

    ``prefix`` is prepended to each key path (e.g. ``"watcher"`` when probes sit in a sub-table).
    The discriminator tag pydantic puts in the location (``probes.2.http.interval``) is dropped.
    """
    lines = []
    for err in exc.errors():
        loc = _clean_loc(err["loc"])
        key = _format_loc(((prefix,) if prefix else ()) + loc)
        lines.append(f"{key}: {_message(err, loc)}" if key else _message(err, loc))
    return lines


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    out: list[int | str] = []
    for i, part in enumerate(loc):
        if isinstance(part, str) and part in PROBE_KINDS and i > 0 and isinstance(loc[i - 1], int):
            continue
        # pydantic names union members / validators in the location; they mean nothing to a user.
        if isinstance(part, str) and (part.startswith("function-") or part in ("literal['platform']", "tuple[str, ...]")):
            continue
        out.append(part)
    return tuple(out)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _message(err: Any, loc: tuple[int | str, ...]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    field = next((p for p in reversed(loc) if isinstance(p, str)), "")
    unit = f" {_UNITS[field]}" if field in _UNITS else ""
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"must be {bounds[kind]} {limit:g}{unit}" if isinstance(limit, int | float) else f"must be {bounds[kind]} {limit}{unit}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling)"
    if kind == "union_tag_invalid":
        return f"unknown kind {ctx.get('tag')!r}: use one of {', '.join(PROBE_KINDS)}"
    if kind == "union_tag_not_found":
        return f"needs a kind: one of {', '.join(PROBE_KINDS)}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    msg = str(err["msg"])
    return msg[:1].lower() + msg[1:]
