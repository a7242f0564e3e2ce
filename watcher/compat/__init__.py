"""Plugin compatibility and shopper hints.

Pure: :mod:`.version` (plugin strings, versions), :mod:`.table` (the ``[compat]`` config),
:mod:`.advice` (which advisories a merchant has), :mod:`.hints` (shopper messages).
Shell: :mod:`.store`, :mod:`.checker` (``CompatChecker``), :mod:`.api` (``GET /v1/diagnose``).
"""

from watcher.compat.advice import InterfaceNotice, advisories, cleared_finding
from watcher.compat.hints import ShopperHint, shopper_hint
from watcher.compat.table import CompatTable, PluginRule
from watcher.compat.version import PluginRef, Version, normalize_name, parse_plugin, parse_version

__all__ = [
    "CompatTable",
    "InterfaceNotice",
    "PluginRef",
    "PluginRule",
    "ShopperHint",
    "Version",
    "advisories",
    "cleared_finding",
    "normalize_name",
    "parse_plugin",
    "parse_version",
    "shopper_hint",
]
