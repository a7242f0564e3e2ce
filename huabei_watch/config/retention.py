"""``[retention]``: how long each growing table keeps its rows, and how often each role prunes.

One section for every role, so an operator sees every table's lifetime in one place. The floors
keep what the daemon itself reads: the status page shows 30 Asia/Shanghai days of switch changes,
incidents, probe and source hours and delivery outcomes (31 days covers the oldest of them), and a
closed incident must outlive any replay of its events (a consumer group reset to the start of a
Kafka topic, 7 days by Kafka's default).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from huabei_watch.config.types import Duration

DAY = 86_400.0
#: What the status page reads back (30 days, plus the day in progress).
STATUS_PAGE_FLOOR = 31 * DAY


class RetentionSettings(BaseModel):
    """Durations in seconds (or ``"90d"``); see the module docstring for the floors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prune_every: Annotated[float, Duration(ge=3600, le=7 * DAY)] = Field(
        default=DAY, description="How often each role deletes what its retention settings let go (first pass a minute after start)",
    )
    signals: Annotated[float, Duration(ge=DAY)] = Field(
        default=30 * DAY, description="signal_log: every signal the incidents role consumed, by its time",
    )
    incidents: Annotated[float, Duration(ge=STATUS_PAGE_FLOOR)] = Field(
        default=90 * DAY,
        description="Closed incidents after their last change: the incidents role's rows (timeline and "
                    "ledger too), the cashier's and notify's copies. Open incidents are never deleted",
    )
    incidents_in_memory: Annotated[float, Duration(ge=DAY)] = Field(
        default=30 * DAY,
        description="Closed incidents the incidents role keeps in memory and restores at start (a replay "
                    "of their events changes nothing); open ones always",
    )
    cashier_audit: Annotated[float, Duration(ge=STATUS_PAGE_FLOOR)] = Field(
        default=90 * DAY,
        description="cashier_audit (switch changes, GET /v1/pay-channels/changes); each subject's newest "
                    "change and unpublished ones are kept",
    )
    deliveries: Annotated[float, Duration(ge=STATUS_PAGE_FLOOR)] = Field(
        default=90 * DAY,
        description="notification_deliveries in a final state (sent, failed, ...) after their last update; "
                    "pending and in-flight ones are kept",
    )
    seen_notices: Annotated[float, Duration(ge=30 * DAY)] = Field(
        default=365 * DAY,
        description="seen_notices not changed for this long (a notice still listed by a source after that "
                    "would be read as new): keep it longer than the oldest notice your sources list",
    )
    hourly_stats: Annotated[float, Duration(ge=STATUS_PAGE_FLOOR)] = Field(
        default=90 * DAY, description="probe_hours and source_poll_hours (the status page's strips)",
    )


#: The defaults: what a role factory uses when not given the configured section.
DEFAULT_RETENTION = RetentionSettings()
