"""Configuration: one TOML file, validated into :class:`Settings`."""

from watcher.config.loader import (
    DEFAULT_PATH,
    ENV_PREFIX,
    apply_env,
    format_errors,
    load_settings,
    parse_settings,
)
from watcher.config.settings import ROLES, Role, Settings

__all__ = [
    "DEFAULT_PATH", "ENV_PREFIX", "ROLES", "Role", "Settings", "apply_env", "format_errors", "load_settings",
    "parse_settings",
]
