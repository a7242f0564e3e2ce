"""Configuration of the incident engine (``[incidents]`` in the TOML config)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from huabei_watch.config.types import Duration


class IncidentSettings(BaseModel):
    """Timings of the incident engine, in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    maintenance_lead: Annotated[float, Duration(ge=0, le=86_400)] = Field(
        default=300.0,
        description="Huabei goes off this long before a maintenance window starts (0 to 86400 s)",
    )
    maintenance_grace: Annotated[float, Duration(ge=0, le=86_400)] = Field(
        default=300.0,
        description="Huabei comes back this long after a maintenance window ends (0 to 86400 s)",
    )
    outage_stale_after: Annotated[float, Duration(ge=60, le=86_400)] = Field(
        default=900.0,
        description="An outage with no new evidence for this long resolves by itself (60 to 86400 s)",
    )
    republish_every: Annotated[float, Duration(ge=10, le=3600)] = Field(
        default=300.0,
        description="The shell re-publishes every open incident this often (10 to 3600 s); keep it well "
                    "under cashier.off_ttl, which is how long a Huabei 'off' lives without renewal",
    )
    default_maintenance_duration: Annotated[float, Duration(gt=0, le=7 * 86_400)] = Field(
        default=7200.0,
        description="Assumed length of a window whose notice gives no end (needs review)",
    )

    @property
    def lead(self) -> timedelta:
        return timedelta(seconds=self.maintenance_lead)

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.maintenance_grace)

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.outage_stale_after)

    @property
    def default_duration(self) -> timedelta:
        return timedelta(seconds=self.default_maintenance_duration)
