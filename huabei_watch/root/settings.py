"""The whole configuration file: every shared section and every role's section, with the checks
that span sections. Read once at start-up (:func:`load_settings`) and passed down; each role sees
its sections through the role registry (:mod:`huabei_watch.root.daemon`): a consumer role gets its
own section, the watcher the sections of :class:`~watcher.settings.WatcherConfig`.

``[notify]`` is a plain field validated by :class:`~consumers.notify.settings.NotifySettings`,
like every other section, so every process loads that model (about 0.9 MB of RSS): pydantic
models only. What the notify role needs to run -- the channel adapters and jinja2 -- is imported
by the notify role when it builds its channels and its :class:`~consumers.notify.templates.Renderer`,
so a process of another role never loads them, with or without ``[notify]`` in its file
(``tests/roles/test_watcher_process_imports.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, SecretStr, model_validator

from consumers.cashier.settings import CashierSettings
from consumers.incidents.settings import IncidentSettings
from consumers.notify.settings import NotifySettings
from huabei_watch.config import loader
from huabei_watch.config.retention import RetentionSettings
from huabei_watch.config.settings import (
    AdminSettings,
    DaemonSettings,
    DatabaseSettings,
    KafkaSettings,
    LeaseSettings,
    MerchantConfig,
    Section,
    SecuritySettings,
    database_url,
)
from huabei_watch.config.types import Duration
from huabei_watch.errors import ConfigError
from huabei_watch.root.checks import cross_section_problems
from watcher.alipay.config import AlipayProbeSettings
from watcher.compat.table import CompatTable
from watcher.settings import PaymentsSettings, SandboxSettings, WatcherConfig
from watcher.sources.announce_config import AnnouncementSource
from watcher.sources.probe_config import ProbeSpec

Role = Literal["watcher", "incidents", "cashier", "notify"]
ROLES: tuple[Role, ...] = ("watcher", "incidents", "cashier", "notify")


class PagesSettings(Section):
    """The pages people open: the merchant page, calendars and feeds."""

    public_url: str | None = Field(
        default=None, pattern=r"^https?://[^\s]+$",
        description="Base URL people reach the admin server at (links in feeds and messages); default: the request's own",
    )
    link_secret: SecretStr | None = Field(
        default=None, min_length=16,
        description="Key signing merchant-page links (/m/{id}?exp=&sig=); none: only bearer tokens open the page",
    )
    link_ttl: Annotated[float, Duration(ge=3600)] = 30 * 86400


class Settings(Section):
    """The whole configuration file."""

    daemon: DaemonSettings = DaemonSettings()
    admin: AdminSettings = AdminSettings()
    kafka: KafkaSettings = KafkaSettings()
    database: DatabaseSettings = DatabaseSettings()
    ha: LeaseSettings = LeaseSettings()
    security: SecuritySettings = SecuritySettings()
    sandbox: SandboxSettings = SandboxSettings()
    incidents: IncidentSettings = IncidentSettings()
    cashier: CashierSettings = CashierSettings()
    notify: NotifySettings = NotifySettings()
    payments: PaymentsSettings = PaymentsSettings()
    alipay: AlipayProbeSettings = AlipayProbeSettings()
    compat: CompatTable = CompatTable()
    sources: tuple[AnnouncementSource, ...] = ()
    probes: tuple[ProbeSpec, ...] = ()
    merchants: tuple[MerchantConfig, ...] = ()
    pages: PagesSettings = PagesSettings()
    retention: RetentionSettings = RetentionSettings()

    @model_validator(mode="after")
    def _unique_ids(self) -> Settings:
        for what, ids in (
            ("merchant", [m.id for m in self.merchants]),
            ("probe", [p.id for p in self.probes]),
            ("source", [src.id for src in self.sources]),
        ):
            seen: set[str] = set()
            for i in ids:
                if i in seen:
                    raise ValueError(f"{what} id {i!r} appears twice")
                seen.add(i)
        return self

    def database_url(self) -> str:
        return database_url(self.daemon, self.database)


def parse_settings(data: dict[str, Any], *, path: str | None = None) -> Settings:
    """Validate a parsed TOML document, each section and then the pairs of settings across
    sections (:mod:`huabei_watch.root.checks`); raises :class:`~huabei_watch.errors.ConfigError`."""
    return _across_sections(loader.parse_settings(Settings, data, path=path), path)


def load_settings(path: Path | str | None = None, *, environ: Any = None) -> Settings:
    """Read, apply ``HUABEI_WATCH_*`` overrides, validate (see :mod:`huabei_watch.config.loader`),
    then check the pairs of settings across sections."""
    settings = loader.load_settings(Settings, path, environ=environ)
    return _across_sections(settings, str(path if path is not None else loader.DEFAULT_PATH))


def _across_sections(settings: Settings, path: str | None) -> Settings:
    problems = cross_section_problems(settings)
    if problems:
        raise ConfigError(problems, path=path)
    return settings


if TYPE_CHECKING:

    def _declares_every_section_a_role_reads(
        s: Settings,
    ) -> WatcherConfig:
        """Checked by mypy, never run: ``Settings`` satisfies the watcher's config protocol (the
        other roles get their one section each)."""
        return s
