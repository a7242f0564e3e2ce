"""The configured plugin table (``[compat]``, ``[[compat.plugins]]``): minimum supported versions.

Example::

    [compat]
    check_interval = 86400       # seconds: re-check every merchant this often (and at start-up)
    notice_ttl = 15552000        # seconds (180 days): a notice counts this long after its deadline

    [[compat.plugins]]
    name = "woo-alipay"
    min_version = "3.0.0"
    deadline = 2026-12-31        # TOML date or "2026-12-31"; optional
    advice_zh = "在 WordPress 后台 插件 页面更新 woo-alipay。"   # optional, appended to the advice
    aliases = ["WooCommerce 支付宝插件"]   # other names notices use for it; optional
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from huabei_watch.config.types import Duration
from watcher.compat.version import Version, normalize_name, parse_version

DAY = 86_400.0


class PluginRule(BaseModel):
    """One plugin's minimum supported version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=128, description="Plugin name as merchants report it, e.g. woo-alipay")
    min_version: str = Field(min_length=1, max_length=64, description="Lowest supported version, e.g. 3.0.0")
    deadline: date | None = Field(default=None, description="Date (Asia/Shanghai) from which older versions may fail")
    advice_zh: str = Field(default="", max_length=500, description="Extra upgrade advice for the merchant, in Chinese")
    aliases: tuple[str, ...] = Field(default=(), description="Other names of this plugin (as notices write them)")

    @field_validator("min_version")
    @classmethod
    def _readable_version(cls, v: str) -> str:
        if parse_version(v) is None:
            raise ValueError(f"must be a version like '3.5.0' (got {v!r})")
        return v.strip()

    @field_validator("name")
    @classmethod
    def _name_with_letters(cls, v: str) -> str:
        if not normalize_name(v):
            raise ValueError("must contain letters or digits")
        return v.strip()

    @property
    def minimum(self) -> Version:
        version = parse_version(self.min_version)
        assert version is not None  # checked by the validator
        return version

    def match_keys(self) -> frozenset[str]:
        """Normalised names this rule answers to (its name and aliases)."""
        return frozenset(k for k in (normalize_name(n) for n in (self.name, *self.aliases)) if k)

    def source_id(self) -> str:
        """What advisories from this rule are keyed by: a new minimum is a new advisory."""
        return f"table:{self.name}@{self.min_version}"


class CompatTable(BaseModel):
    """The ``[compat]`` section: plugin rules and how often the checker runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plugins: tuple[PluginRule, ...] = ()
    check_interval: Annotated[float, Duration(ge=600, le=30 * DAY)] = Field(
        default=DAY,
        description="Seconds between checks of every merchant (and once at start-up)",
    )
    notice_ttl: Annotated[float, Duration(ge=DAY, le=3650 * DAY)] = Field(
        default=180 * DAY,
        description="Seconds an interface notice counts after its deadline (or its publication)",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> CompatTable:
        owner: dict[str, str] = {}
        for rule in self.plugins:
            for key in rule.match_keys():
                if key in owner and owner[key] != rule.name:
                    raise ValueError(f"plugin name {key!r} is used by both {owner[key]!r} and {rule.name!r}")
                if key in owner:
                    raise ValueError(f"plugin {rule.name!r} appears twice")
                owner[key] = rule.name
        return self

    def rule_for(self, name: str) -> PluginRule | None:
        """The rule for a plugin name (or alias), matched as :func:`normalize_name` does."""
        key = normalize_name(name)
        return next((r for r in self.plugins if key in r.match_keys()), None)

    def names_for(self, name: str) -> frozenset[str]:
        """Every normalised name a notice may use for this plugin: its own and its rule's aliases."""
        rule = self.rule_for(name)
        own = frozenset({normalize_name(name)})
        return own | rule.match_keys() if rule is not None else own
