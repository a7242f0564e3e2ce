"""``[notify]``: channel tables, the ops route, planning, templates, delivery, fan-out."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from consumers.notify.channels.config import CHANNEL_NAMES, SMS_PROVIDERS, ChannelsConfig
from consumers.notify.subsettings import (
    MERCHANT_BASES,
    DeliverySettings,
    FanOutSettings,
    PlanSettings,
    TemplateSettings,
)
from huabei_watch.config.types import Duration, KeyProblems

SmsProvider = Literal["aliyun_sms", "tencent_sms"]


class OpsEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str = Field(
        min_length=1, description="A configured channel: wecom, dingtalk, feishu, webhook, console, file, sms, ..."
    )
    address: str = Field(default="", description="Robot key / hook / URL / phone; empty: the channel's default")


class NotifySettings(ChannelsConfig):
    """Channel tables (``[notify.wecom]`` ...) plus how messages are planned and delivered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sms_provider: tuple[SmsProvider, ...] = Field(
        default=("aliyun_sms",),
        description="Which SMS provider(s) a merchant's 'sms' means, in order (the next is tried when one fails "
        "for good); a merchant naming aliyun_sms / tencent_sms in its channels chooses its own",
    )
    ops: tuple[OpsEndpoint, ...] = Field(default=(), description="The ops route: gets every incident")
    shared_limits: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Provider rate limits held across notify processes through the database (auto: on with "
        "PostgreSQL, off with SQLite, which serves one process)",
    )
    replan_every: Annotated[float, Duration(ge=5, le=3600)] = Field(
        default=600.0,
        description="Longest wait between re-plans of open incidents; the next reminder, repeat or end of quiet "
        "hours is planned for exactly",
    )
    plan: PlanSettings = PlanSettings()
    templates: TemplateSettings = TemplateSettings()
    delivery: DeliverySettings = DeliverySettings()
    fanout: FanOutSettings = FanOutSettings()

    @field_validator("sms_provider", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    def sms_route(self, names: tuple[str, ...] = ("sms",)) -> tuple[str, ...]:
        """The configured SMS providers, in order, that channel names ``names`` stand for
        (``sms``: the default order; a provider name: itself)."""
        route: list[str] = []
        for name in names:
            route += self.sms_provider if name == "sms" else [name] if name in SMS_PROVIDERS else []
        return tuple(p for p in dict.fromkeys(route) if self.enabled(p))

    def template_ids(self) -> dict[str, dict[str, str]]:
        """Per template channel, template base -> provider template id (the legacy
        ``templates.sms_template_ids`` counted for the one template channel configured)."""
        out = {c: dict(getattr(self, c).templates) for c in self.template_defaults()}
        legacy = self.templates.sms_template_ids
        if legacy and len(out) == 1:
            (only,) = out
            out[only] = {**legacy, **out[only]}
        return out

    @model_validator(mode="after")
    def _routes_and_templates_resolve(self) -> NotifySettings:
        """What would otherwise be dropped or rejected at run time: an ops route to an unknown or
        unconfigured channel, or one with no address and no default; a template channel with
        no template id for a message it may have to send; an ambiguous legacy template map."""
        problems: list[tuple[str, str]] = []
        for i, e in enumerate(self.ops):
            where = f"ops[{i}]"
            if e.channel != "sms" and e.channel not in CHANNEL_NAMES:
                problems.append((f"{where}.channel", f"unknown channel {e.channel!r} (known: sms, {', '.join(CHANNEL_NAMES)})"))
            elif e.channel == "sms" and not self.sms_route():
                problems.append((f"{where}.channel", f"'sms' needs a [notify.{self.sms_provider[0]}] section"))
            elif e.channel != "sms" and not self.enabled(e.channel):
                problems.append((f"{where}.channel", f"no [notify.{e.channel}] section (or it is disabled): add it, "
                                                     "or route ops elsewhere"))
            elif not e.address and not self.default_address(e.channel):
                need = {"wecom": "a robot key (or notify.wecom.default_key)", "dingtalk": "an access token (or "
                        "notify.dingtalk.default_token)", "feishu": "a hook (or notify.feishu.default_hook)",
                        "webhook": "a URL (or notify.webhook.default_url)"}.get(e.channel, "an address")
                problems.append((f"{where}.address", f"channel {e.channel!r} needs {need}"))
        defaults = self.template_defaults()
        legacy = self.templates.sms_template_ids
        if legacy and len(defaults) > 1:
            problems.append(("templates.sms_template_ids", "one map cannot serve " + ", ".join(defaults)
                             + ": move each entry to notify.<channel>.templates (same keys, that provider's ids)"))
        ids = self.template_ids()
        known = {*MERCHANT_BASES, "ops", "group"}
        for channel in ids:
            unknown = sorted(set(getattr(self, channel).templates) - known)
            if unknown:
                problems.append((f"{channel}.templates", f"unknown template {', '.join(unknown)} (known: "
                                                         f"{', '.join(sorted(known))})"))
        ops_channels = {c for e in self.ops for c in (self.sms_route() if e.channel == "sms" else (e.channel,))}
        for channel, default in defaults.items():
            if default:
                continue
            needed = [*MERCHANT_BASES, *(["ops"] if channel in ops_channels else [])]
            missing = [b for b in needed if b not in ids[channel]]
            if missing:
                key = "default_template_code" if channel == "aliyun_sms" else "default_template_id"
                problems.append((f"{channel}.templates", f"no template id for {', '.join(missing)}: add them, "
                                                         f"or set notify.{channel}.{key}"))
        if problems:
            raise KeyProblems(problems)
        return self

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
