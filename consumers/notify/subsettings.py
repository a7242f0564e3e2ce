"""The models of ``[notify.plan]``, ``[notify.templates]``, ``[notify.delivery]`` and ``[notify.fanout]``
(and the template bases the configuration is checked against), apart from the code that uses them.

Every process validates ``[notify]`` (:mod:`consumers.notify.settings`); with the models here it does
not load the planner, the renderer, the deliverer or the fan-out (issue 17, memory). Pure: no I/O.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from huabei_watch.clock import SHANGHAI
from huabei_watch.config.types import Duration

#: (kind, step) pairs the planner produces for merchants.
STEPS: dict[str, tuple[str, ...]] = {
    "maintenance": ("announced", "reminder", "started", "resolved", "changed", "cancelled"),
    "outage": ("opened", "ongoing", "resolved"),
    "merchant_account": ("opened", "resolved"),
    "integration": ("opened", "resolved"),
}

#: Kinds with a "manual" voice (``<kind>.<step>.manual``), see :func:`consumers.notify.plan.voice`.
MANUAL_KINDS = ("maintenance", "outage")
#: Every template base the planner produces for merchants.
MERCHANT_BASES: tuple[str, ...] = tuple(
    f"{kind}.{step}{v}" for kind, steps in STEPS.items() for step in steps
    for v in (("", ".manual") if kind in MANUAL_KINDS else ("",))
)

_QUIET_TEXT = re.compile(r"(\d{1,2}):(\d{2})\s*[-~～至]\s*(\d{1,2}):(\d{2})")


class QuietHours(BaseModel):
    """A daily quiet period in Asia/Shanghai local time; ``start == end`` means none.

    A period with ``start > end`` runs across midnight (22:00-08:00).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time = Field(default=time(22, 0), description="Local time the quiet period begins, e.g. '22:00'")
    end: time = Field(default=time(8, 0), description="Local time it ends, e.g. '08:00'")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        """Also accept ``"22:00-08:00"``; any other string is refused with the expected forms."""
        if not isinstance(value, str):
            return value
        m = _QUIET_TEXT.fullmatch(value.strip())
        if m is None:
            raise ValueError(f'must be "HH:MM-HH:MM" (e.g. "22:00-08:00") or {{ start = "22:00", end = "08:00" }}, not {value!r}')
        try:
            return {"start": time(int(m[1]), int(m[2])), "end": time(int(m[3]), int(m[4]))}
        except ValueError:
            raise ValueError(f"{value!r}: hours must be 00-23 and minutes 00-59") from None

    def contains(self, when: datetime) -> bool:
        """True when ``when`` (aware) falls inside the quiet period."""
        if self.start == self.end:
            return False
        local = when.astimezone(SHANGHAI).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def end_after(self, when: datetime) -> datetime:
        """The first end of the quiet period strictly after ``when``, as an aware Shanghai time."""
        local = when.astimezone(SHANGHAI)
        candidate = datetime.combine(local.date(), self.end, tzinfo=SHANGHAI)
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate


class PlanSettings(BaseModel):
    """``notify.plan`` configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reminders: tuple[Annotated[int, Field(ge=1, le=720)], ...] = Field(
        default=(24, 1), description="Hours before a maintenance window starts at which merchants are reminded"
    )
    reminder_min_lead: Annotated[float, Duration(ge=0.0, le=86400.0)] = Field(
        default=1800.0,
        description="Seconds: skip a reminder when the incident became known less than this before it",
    )
    outage_repeat: Annotated[float, Duration(ge=60.0, le=7 * 86400.0)] = Field(
        default=3600.0,
        description="Seconds between 'still ongoing' messages",
    )
    quiet_hours: QuietHours = QuietHours()
    sms_quiet_hours: bool = Field(default=True, description="Hold non-critical SMS during quiet hours")
    ops_during_silence: bool = Field(default=True, description="Ops still get silenced incidents")
    sms_channels: tuple[str, ...] = Field(
        default=("sms", "aliyun_sms", "tencent_sms"), description="Channel names that are SMS"
    )
    critical: tuple[str, ...] = Field(
        default=("outage.opened", "merchant_account.opened"),
        description="'<kind>.<step>' messages sent even in quiet hours",
    )


class TemplateSettings(BaseModel):
    """``notify.templates`` configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    overrides: dict[str, str] = Field(default_factory=dict, description="Template name -> Jinja2 text")
    sms_template_ids: dict[str, str] = Field(
        default_factory=dict,
        description="Deprecated: one map for every provider. Use notify.<provider>.templates; accepted only "
        "while exactly one template channel (aliyun_sms, tencent_sms, wechat_oa) is configured",
    )
    sms_param_max_chars: int = Field(default=35, ge=1, le=500, description="Longest SMS parameter value")
    markdown_channels: tuple[str, ...] = ("wecom", "dingtalk", "feishu")
    param_channels: tuple[str, ...] = Field(
        default=("sms", "aliyun_sms", "tencent_sms", "wechat_oa"),
        description="Channels that send a provider template id and parameters",
    )


class DeliverySettings(BaseModel):
    """``notify.delivery`` configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=8, ge=1, le=100, description="Attempts before a message is dead-lettered")
    backoff_initial: Annotated[float, Duration(gt=0.0, le=3600.0)] = Field(default=2.0, description="Seconds before the 2nd attempt")
    backoff_max: Annotated[float, Duration(gt=0.0, le=86400.0)] = Field(default=900.0, description="Longest wait between attempts")
    jitter: float = Field(default=0.25, ge=0.0, le=1.0, description="Random +/- fraction of each wait")
    max_inline_wait: Annotated[float, Duration(ge=0.0, le=3600.0)] = Field(
        default=60.0,
        description="Longer waits are left to run_due instead of sleeping",
    )
    lease: Annotated[float, Duration(ge=1.0, le=86400.0)] = Field(default=600.0, description="Seconds an in_flight reservation is live")
    unconfirmed_after: Annotated[float, Duration(ge=1.0, le=7 * 86400.0)] = Field(
        default=3600.0,
        description="Seconds after which in_flight is reported to ops",
    )
    resend_safe_channels: tuple[str, ...] = Field(
        default=("webhook",), description="Channels whose receivers deduplicate by key (may be resent)"
    )

    @model_validator(mode="after")
    def _lease_before_report(self) -> DeliverySettings:
        if self.unconfirmed_after < self.lease:
            raise ValueError("unconfirmed_after must be at least lease")
        return self


#: Deliveries at once per channel, sized by how the provider limits: robots (WeCom, DingTalk,
#: Feishu) limit each robot, not the account, so many robots are served in parallel; SMS accounts
#: take thousands of numbers a minute in batches (Aliyun 100, Tencent 200 numbers a call), so five
#: calls' worth are in flight (the reservation, the call and the confirmation of one batch overlap
#: the others'); the WeCom application takes 1000 members a call, so two calls' worth; others keep
#: the default.
DEFAULT_CONCURRENCY: dict[str, int] = {
    "wecom": 64, "wecom_app": 2000, "dingtalk": 64, "feishu": 32, "aliyun_sms": 500, "tencent_sms": 1000,
}


class FanOutSettings(BaseModel):
    """``notify.fanout`` configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_concurrency: int | None = Field(
        default=None, ge=1, le=1000,
        description="Deliveries at once per channel; none: sized by provider (DEFAULT_CONCURRENCY, else 8)",
    )
    concurrency: dict[str, int] = Field(default_factory=dict, description="Per-channel override of the above")
    batching: bool = Field(
        default=True,
        description="Reservations and confirmations hundreds per statement, same-text SMS and WeCom application "
        "messages in batch calls, sent results in batch events (huabei.notification.sent.batch); off: one "
        "statement, one provider call and one result event per message (a provider that refuses batch calls)",
    )

    gc_threshold: int = Field(
        default=30_000, ge=0, le=1_000_000,
        description="Young-generation threshold of Python's cyclic garbage collector while deliveries are in "
        "progress (the process's; put back when none is): above a fan-out's working set of live deliveries, so "
        "the collector does not walk them over and over (CPython's default is 700). 0: leave the collector alone",
    )
    shards: int = Field(
        default=1, ge=1, le=256,
        description="Pieces (merchant id ranges) each phase of a platform-wide incident is split into; any notify "
        "process takes a piece under a lease, so several processes share one incident. 1: the process that "
        "consumes the incident tells everyone itself (one process, or incidents small enough for one)",
    )
    min_shard_merchants: int = Field(
        default=1000, ge=1,
        description="Merchants per piece at least: a smaller registry is cut into fewer pieces (one below twice this)",
    )
    shards_per_process: int = Field(
        default=2, ge=1, le=64, description="Pieces one process works on at once (with shards > 1)",
    )
    shard_lease: Annotated[float, Duration(ge=1, le=600)] = Field(
        default=30.0,
        description="How long a piece stays with a process that stops renewing it (killed, stuck) before another "
        "takes it over; renewed every claim_every",
    )
    claim_every: Annotated[float, Duration(ge=0.05, le=60)] = Field(
        default=1.0, description="How often a process looks for free pieces and renews its leases (with shards > 1)",
    )

    @model_validator(mode="after")
    def _lease_outlives_renewals(self) -> FanOutSettings:
        if self.shard_lease < 3 * self.claim_every:
            raise ValueError(f"shard_lease ({self.shard_lease:g} s) must be at least 3 x claim_every "
                             f"({self.claim_every:g} s): a lease renewed late must not be taken over")
        return self

    def limit(self, channel: str) -> int:
        if channel in self.concurrency:
            return self.concurrency[channel]
        if self.default_concurrency is not None:
            return self.default_concurrency
        return DEFAULT_CONCURRENCY.get(channel, 8)
