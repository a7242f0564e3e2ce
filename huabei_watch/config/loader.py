"""Read the TOML file, apply ``HUABEI_WATCH_*`` environment overrides, validate, report every error.

Environment overrides address any key by path, sections separated by a double underscore:
``HUABEI_WATCH_KAFKA__SASL_PASSWORD``, ``HUABEI_WATCH_ADMIN__OPS_TOKEN``,
``HUABEI_WATCH_MERCHANTS__0__TOKEN`` (list items by index). Values are TOML scalars when they
parse as such (``true``, ``30``), strings otherwise. This is the only module that reads the
environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from huabei_watch.config.types import KeyProblems, parse_duration
from huabei_watch.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

ENV_PREFIX = "HUABEI_WATCH_"
DEFAULT_PATH = Path("config/default.toml")


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> list[str]:
    """Apply overrides in place; returns the key paths that were overridden (values never logged)."""
    applied: list[str] = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not parts:
            continue
        node: Any = data
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    break
                if last:
                    node[int(part)] = _parse_env_value(environ[name])
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = _parse_env_value(environ[name])
                else:
                    node = node.setdefault(part, {})
            else:
                break
        else:
            applied.append(".".join(parts))
    return applied


#: Discriminator values pydantic puts into the location of an error inside a tagged union.
_UNION_TAGS = frozenset({"http", "tcp", "dns", "html", "rss", "json", "alipay_precreate"})


def format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    prev: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "tagged-union")) or "[" in part:
            pass  # pydantic's internal validator/union labels say nothing to a person
        elif isinstance(prev, int) and part in _UNION_TAGS:
            pass
        else:
            out += ("." if out else "") + part
        prev = part
    return out or "(top level)"


def _num(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


_MESSAGES = {
    "extra_forbidden": "unknown key (check the spelling; see config/default.toml for every key)",
    "missing": "is required",
}


def _looks_like_duration(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_duration(value)
    except PydanticCustomError:
        return False
    return True


def format_errors(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, KeyProblems):
            where = format_loc(tuple(err["loc"]))
            where = "" if where == "(top level)" else where
            for path, message in cause.problems:
                full = where + ("" if not path or path.startswith("[") or not where else ".") + path
                problems.append(f"{full or '(top level)'}: {message}")
            continue
        msg = _MESSAGES.get(err["type"])
        if msg is None:
            msg = err["msg"]
            ctx = err.get("ctx") or {}
            if err["type"] == "greater_than_equal":
                msg = f"must be >= {_num(ctx.get('ge'))}"
            elif err["type"] == "greater_than":
                msg = f"must be > {_num(ctx.get('gt'))}"
            elif err["type"] == "less_than_equal":
                msg = f"must be <= {_num(ctx.get('le'))}"
            elif err["type"] == "less_than":
                msg = f"must be < {_num(ctx.get('lt'))}"
            elif err["type"] == "literal_error":
                msg = f"must be one of {ctx.get('expected')}"
            elif err["type"] == "value_error":
                msg = msg.removeprefix("Value error, ")
            elif err["type"] in ("int_parsing", "int_type", "int_from_float"):
                msg = f"must be a whole number, not {err.get('input')!r}"
                if _looks_like_duration(err.get("input")):
                    msg += " (this key is a count, not a duration)"
            elif err["type"] in ("float_parsing", "float_type"):
                msg = f"must be a number, not {err.get('input')!r}"
        problems.append(f"{format_loc(tuple(err['loc']))}: {msg}")
    return problems


def parse_settings(model: type[M], data: dict[str, Any], *, path: str | None = None) -> M:
    """Validate ``data`` into ``model`` (the root's ``Settings``). Raises :class:`ConfigError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc), path=path) from None


def load_settings(model: type[M], path: Path | str | None = None, *, environ: Mapping[str, str] | None = None) -> M:
    """Load and validate. Raises :class:`ConfigError` listing every problem with its key path."""
    p = Path(path) if path is not None else DEFAULT_PATH
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"file not found: {p} (give --config PATH, or run from the project folder)"], path=str(p)) from None
    except OSError as exc:
        raise ConfigError([f"cannot read {p}: {exc.strerror}"], path=str(p)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(["file is not UTF-8 text"], path=str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"TOML syntax error: {exc}"], path=str(p)) from None
    from_env = apply_env(data, os.environ if environ is None else environ)
    try:
        return parse_settings(model, data, path=str(p))
    except ConfigError as exc:
        # Say which problems come from the environment, so a stray HUABEI_WATCH_* variable is found.
        def annotate(problem: str) -> str:
            key = problem.split(":", 1)[0].replace("[", ".").replace("]", "")
            for env_key in from_env:
                if key == env_key or key.startswith(env_key + "."):
                    var = ENV_PREFIX + "__".join(env_key.upper().split("."))
                    return f"{problem} (from environment variable {var})"
            return problem

        raise ConfigError([annotate(x) for x in exc.problems], path=exc.path) from None
