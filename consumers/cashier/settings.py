"""Configuration of the cashier switch (``[cashier]`` in the TOML config)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from huabei_watch.config.types import Duration

DEFAULT_FALLBACK_METHODS: tuple[str, ...] = ("balance", "debitCardExpress", "creditCard", "moneyFund")


class CashierSettings(BaseModel):
    """Hysteresis and fail-open timings (seconds) and what shoppers are offered instead."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_hold: Annotated[float, Duration(ge=0, le=3600)] = Field(
        default=120.0,
        description="A switch stays at least this long before flipping back (0 to 3600 s); "
                    "scheduled maintenance switches off exactly on time regardless",
    )
    off_ttl: Annotated[float, Duration(ge=60, le=86_400)] = Field(
        default=900.0,
        description="Every 'off' expires this long after its last renewal (60 to 86400 s): fail open",
    )
    fallback_methods: tuple[str, ...] = Field(
        default=DEFAULT_FALLBACK_METHODS,
        description="Alipay pay-channel codes suggested to shoppers while Huabei is off",
    )

    @property
    def hold(self) -> timedelta:
        return timedelta(seconds=self.min_hold)

    @property
    def ttl(self) -> timedelta:
        return timedelta(seconds=self.off_ttl)
