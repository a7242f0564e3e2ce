"""The watcher role's configuration: its own sections, and :class:`WatcherConfig`, every section
the role reads (declared in full by :class:`huabei_watch.root.settings.Settings`)."""

from __future__ import annotations

from typing import Annotated, Protocol

from pydantic import Field

from huabei_watch.config.retention import RetentionSettings
from huabei_watch.config.settings import CoreSettings, Section
from huabei_watch.config.types import Duration, HostPort
from watcher.alipay.config import AlipayProbeSettings
from watcher.compat.table import CompatTable
from watcher.payments.settings import DetectionSettings
from watcher.sources.announce_config import AnnouncementSource
from watcher.sources.probe_config import ProbeSpec


class SandboxSettings(Section):
    enabled: bool = Field(default=True, description="Start the built-in sandbox platform on loopback")
    listen: HostPort = "127.0.0.1:0"


class PaymentsSettings(Section):
    detection: DetectionSettings = DetectionSettings()
    evaluate_every: Annotated[float, Duration(ge=1, le=600)] = Field(
        default=10.0, description="How often payment windows are evaluated for anomalies"
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1024 * 1024)
    max_skew: Annotated[float, Duration(ge=10, le=3600)] = 300.0
    fetch_max_wait: Annotated[float, Duration(ge=0.001, le=10)] = Field(
        default=1.0,
        description="How long the broker may hold the payment-results consumer's fetches (instead of "
                    "kafka.fetch_max_wait): results are evaluated every evaluate_every, so a longer hold "
                    "costs fewer idle fetches and delays no evaluation by more than one round",
    )


class WatcherConfig(CoreSettings, Protocol):
    """The sections the watcher role reads."""

    @property
    def sandbox(self) -> SandboxSettings: ...

    @property
    def payments(self) -> PaymentsSettings: ...

    @property
    def alipay(self) -> AlipayProbeSettings: ...

    @property
    def compat(self) -> CompatTable: ...

    @property
    def sources(self) -> tuple[AnnouncementSource, ...]: ...

    @property
    def probes(self) -> tuple[ProbeSpec, ...]: ...

    @property
    def retention(self) -> RetentionSettings: ...
