"""``[notify]``: channel tables, the ops route, planning, templates, delivery, fan-out."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from consumers.notify.channels.config import ChannelsConfig
from consumers.notify.delivery import DeliverySettings
from consumers.notify.fanout import FanOutSettings
from consumers.notify.plan import PlanSettings
from consumers.notify.templates import TemplateSettings
from huabei_watch.config.types import Duration


class OpsEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str = Field(min_length=1, description="A configured channel: wecom, dingtalk, feishu, webhook, console, file, ...")
    address: str = Field(default="", description="Robot key / hook / URL / phone; empty: the channel's default")


class NotifySettings(ChannelsConfig):
    """Channel tables (``[notify.wecom]`` ...) plus how messages are planned and delivered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sms_provider: Literal["aliyun_sms", "tencent_sms"] = Field(
        default="aliyun_sms", description="Which SMS channel a merchant's 'sms' means"
    )
    ops: tuple[OpsEndpoint, ...] = Field(default=(), description="The ops route: gets every incident")
    replan_every: Annotated[float, Duration(ge=5, le=3600)] = Field(default=60.0, description="Re-plan open incidents (reminders, quiet hours)")
    plan: PlanSettings = PlanSettings()
    templates: TemplateSettings = TemplateSettings()
    delivery: DeliverySettings = DeliverySettings()
    fanout: FanOutSettings = FanOutSettings()

    @model_validator(mode="after")
    def _unconfirmed_after_outlasts_a_send(self) -> NotifySettings:
        """A send still in progress must never be reported "unconfirmed" (and then retried)."""
        slowest = max(
            (float(getattr(t, "timeout_seconds", 0.0)) for t in (getattr(self, n) for n in type(self).model_fields) if t is not None),
            default=0.0,
        )
        if self.delivery.unconfirmed_after <= slowest:
            raise ValueError(
                f"delivery.unconfirmed_after ({self.delivery.unconfirmed_after:g} s) must be longer than the "
                f"slowest channel's timeout_seconds ({slowest:g} s)"
            )
        return self
