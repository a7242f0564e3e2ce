"""Configuration of the payment-result detector (``[payments.detection]``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from huabei_watch.config.types import Duration
from huabei_watch.events.common import HUABEI_CHANNELS

MAX_BUCKETS = 720


class DetectionSettings(BaseModel):
    """Thresholds and windows of the payment-result detector (``[payments.detection]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: Annotated[float, Duration(ge=30, le=3600)] = Field(300.0, description="Sliding window length, seconds")
    bucket_s: Annotated[float, Duration(ge=1, le=300)] = Field(10.0, description="Bucket width; the window is a whole number of buckets")
    huabei_channels: tuple[str, ...] = Field(HUABEI_CHANNELS, min_length=1)

    platform_raise_rate: float = Field(0.3, gt=0, le=1, description="Platform-failure share that makes a merchant 'affected'")
    platform_clear_rate: float = Field(0.1, ge=0, lt=1, description="Share under which an outage starts to clear")
    platform_min_merchants: int = Field(3, ge=1, le=10_000, description="K: affected Huabei-only merchants needed")
    platform_min_attempts: int = Field(30, ge=1, description="Attempts on the channel platform-wide in the window")
    merchant_min_attempts: int = Field(5, ge=1, description="Attempts one merchant needs in the window to count")
    contrast_min_attempts: int = Field(3, ge=1, description="Other-channel attempts needed to judge the contrast")
    contrast_max_failure_rate: float = Field(0.2, gt=0, le=1, description="Other channels count as healthy under this platform-failure share")
    require_contrast: bool = Field(True, description="Only merchants whose other channels are seen healthy count toward K")

    merchant_raise_rate: float = Field(0.25, gt=0, le=1)
    merchant_clear_rate: float = Field(0.05, ge=0, lt=1)
    merchant_min_failures: int = Field(3, ge=1)

    clear_after_s: Annotated[float, Duration(ge=0, le=86_400)] = Field(120.0, description="Time below the clear rate before clearing")
    no_evidence_clear_s: Annotated[float, Duration(ge=60, le=86_400)] = Field(1800.0, description="Time without traffic before clearing anyway")

    max_future_skew_s: Annotated[float, Duration(ge=0, le=3600)] = Field(60.0, description="Results further in the future are dropped")
    max_merchants: int = Field(50_000, ge=1, le=10_000_000, description="Merchants tracked at once (memory bound)")
    max_channels: int = Field(32, ge=1, le=1000, description="Channels tracked per merchant and platform-wide")
    max_codes_per_bucket: int = Field(32, ge=1, le=1000)

    @model_validator(mode="after")
    def _consistent(self) -> DetectionSettings:
        if self.bucket_s > self.window_s:
            raise ValueError(f"bucket_s ({self.bucket_s}) must not exceed window_s ({self.window_s})")
        ratio = self.window_s / self.bucket_s
        if abs(ratio - round(ratio)) > 1e-9:
            raise ValueError(f"window_s ({self.window_s}) must be a whole multiple of bucket_s ({self.bucket_s})")
        if round(ratio) > MAX_BUCKETS:
            raise ValueError(f"window_s / bucket_s is {round(ratio)}; at most {MAX_BUCKETS} buckets per window")
        if self.platform_clear_rate >= self.platform_raise_rate:
            raise ValueError("platform_clear_rate must be below platform_raise_rate (hysteresis)")
        if self.merchant_clear_rate >= self.merchant_raise_rate:
            raise ValueError("merchant_clear_rate must be below merchant_raise_rate (hysteresis)")
        return self

    @property
    def buckets(self) -> int:
        return round(self.window_s / self.bucket_s)
