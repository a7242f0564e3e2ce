"""Channel configuration (the ``[notify.<channel>]`` tables) and the factory that builds channels.

Each channel table is optional; a channel exists only when its table is present and
``enabled = true``. ``base_url`` defaults to the provider's real endpoint (tests point it at
loopback fakes). Secrets are :class:`SecretStr`, redacted in ``repr`` and logs. Default rate limits
follow the providers' documentation (robots per robot, SMS APIs per account).

The models import none of the adapters (only :func:`build_channels` does, when called): they are
part of ``[notify]``'s model, which every process validates, and only the notify role sends.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from consumers.notify.channels.endpoints import (
    ALIYUN_SMS_BASE_URL,
    DINGTALK_BASE_URL,
    FEISHU_BASE_URL,
    TENCENT_SMS_BASE_URL,
    WECHAT_BASE_URL,
    WECOM_APP_BASE_URL,
    WECOM_BASE_URL,
)
from consumers.notify.channels.ratelimit import Limiter, Rate, RateLimiter, SleepFn
from huabei_watch.clock import Clock
from huabei_watch.config.types import Duration

if TYPE_CHECKING:
    from consumers.notify.channels.base import Channel

#: Every channel name a merchant or the ops route may use (``sms`` means the SMS provider route).
CHANNEL_NAMES = ("wecom", "wecom_app", "wechat_oa", "aliyun_sms", "tencent_sms", "dingtalk", "feishu", "webhook", "console", "file")
SMS_PROVIDERS = ("aliyun_sms", "tencent_sms")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _HttpChannelConfig(_Model):
    enabled: bool = True
    timeout_seconds: Annotated[float, Duration(gt=0, le=120)] = Field(10.0, description="Seconds for one provider call, connect to answer")
    rate_per_minute: int | None = Field(None, ge=1, description="Most calls per minute per limit key; none = no limit")

    @field_validator("base_url", "default_url", check_fields=False)
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    def rates(self) -> tuple[Rate, ...]:
        return (Rate(self.rate_per_minute, 60.0),) if self.rate_per_minute else ()


class WeComConfig(_HttpChannelConfig):
    """``[notify.wecom]``: WeCom group robots. Merchants give their robot key as address."""

    base_url: str = WECOM_BASE_URL
    default_key: SecretStr | None = Field(None, description="Robot key used when a message has no address (ops)")
    rate_per_minute: int | None = Field(20, ge=1, description="WeCom: 20 messages a minute per robot")


class WeComAppConfig(_HttpChannelConfig):
    """``[notify.wecom_app]``: WeCom application messages (``message/send``) to members of the
    corp. Merchants give their member userid (``contacts.wecom_userid``); messages with the same
    text go up to 1000 members a call when batching is on."""

    base_url: str = WECOM_APP_BASE_URL
    corp_id: str = Field(min_length=1, description="The corp id (企业ID)")
    corp_secret: SecretStr = Field(description="The application's secret")
    agent_id: int = Field(ge=0, description="The application's agentid")
    token_margin_seconds: Annotated[float, Duration(ge=0, le=3600)] = Field(300.0, description="Refresh the token this long before it expires")


class WeChatOAConfig(_HttpChannelConfig):
    """``[notify.wechat_oa]``: template messages from one Official Account."""

    base_url: str = WECHAT_BASE_URL
    app_id: str = Field(min_length=1)
    app_secret: SecretStr
    default_template_id: str | None = None
    templates: dict[str, str] = Field(
        default_factory=dict, description="Template base (e.g. 'maintenance.announced') -> template id"
    )
    link_url: str | None = Field(None, description="Page opened when the merchant taps the message")
    token_margin_seconds: Annotated[float, Duration(ge=0, le=3600)] = Field(300.0, description="Refresh the token this long before it expires")


class AliyunSmsConfig(_HttpChannelConfig):
    """``[notify.aliyun_sms]``: Aliyun SMS SendSms."""

    base_url: str = ALIYUN_SMS_BASE_URL
    access_key_id: str = Field(min_length=1)
    access_key_secret: SecretStr
    sign_name: str = Field(min_length=1, description="Approved SMS signature (签名), e.g. 花呗助手")
    default_template_code: str | None = None
    templates: dict[str, str] = Field(
        default_factory=dict, description="Template base (e.g. 'maintenance.announced') -> TemplateCode (SMS_...)"
    )
    region_id: str = "cn-hangzhou"
    rate_per_minute: int | None = Field(6000, ge=1, description="Account-wide SendSms calls per minute")


class TencentSmsConfig(_HttpChannelConfig):
    """``[notify.tencent_sms]``: Tencent Cloud SMS SendSms 2021-01-11."""

    base_url: str = TENCENT_SMS_BASE_URL
    secret_id: str = Field(min_length=1)
    secret_key: SecretStr
    sdk_app_id: str = Field(min_length=1)
    sign_name: str = Field(min_length=1)
    default_template_id: str | None = None
    templates: dict[str, str] = Field(
        default_factory=dict, description="Template base (e.g. 'maintenance.announced') -> TemplateId (digits)"
    )
    region: str = "ap-guangzhou"
    rate_per_minute: int | None = Field(180_000, ge=1, description="SendSms: 3000 calls a second per account")


class DingTalkConfig(_HttpChannelConfig):
    """``[notify.dingtalk]``: DingTalk custom robots. ``secrets`` maps access token -> signing secret."""

    base_url: str = DINGTALK_BASE_URL
    default_token: SecretStr | None = None
    default_secret: SecretStr | None = None
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    rate_per_minute: int | None = Field(20, ge=1, description="DingTalk: 20 messages a minute per robot")


class FeishuConfig(_HttpChannelConfig):
    """``[notify.feishu]``: Feishu / Lark custom bots. ``secrets`` maps hook id -> signing secret."""

    base_url: str = FEISHU_BASE_URL
    default_hook: SecretStr | None = None
    default_secret: SecretStr | None = None
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    rate_per_minute: int | None = Field(100, ge=1, description="Feishu: 100 a minute per bot")
    rate_per_second: int | None = Field(5, ge=1, description="Feishu: 5 a second per bot")

    def rates(self) -> tuple[Rate, ...]:
        second = (Rate(self.rate_per_second, 1.0),) if self.rate_per_second else ()
        return super().rates() + second


class WebhookConfig(_HttpChannelConfig):
    """``[notify.webhook]``: generic signed JSON webhook."""

    default_url: str | None = Field(None, description="Receiver used when a message has no URL address")
    secret: SecretStr | None = Field(None, description="HMAC-SHA256 key for X-Huabei-Signature; none = unsigned")


class ConsoleConfig(_Model):
    """``[notify.console]``: log messages instead of sending (sandbox)."""

    enabled: bool = True


class FileConfig(_Model):
    """``[notify.file]``: append messages as JSON lines (sandbox)."""

    enabled: bool = True
    path: Path = Path("state/notifications.jsonl")


class ChannelsConfig(_Model):
    """The channel tables of ``[notify]``."""

    wecom: WeComConfig | None = None
    wecom_app: WeComAppConfig | None = None
    wechat_oa: WeChatOAConfig | None = None
    aliyun_sms: AliyunSmsConfig | None = None
    tencent_sms: TencentSmsConfig | None = None
    dingtalk: DingTalkConfig | None = None
    feishu: FeishuConfig | None = None
    webhook: WebhookConfig | None = None
    console: ConsoleConfig | None = None
    file: FileConfig | None = None

    def enabled(self, name: str) -> bool:
        """Whether channel ``name`` has a table here with ``enabled = true``."""
        table = getattr(self, name, None) if name in CHANNEL_NAMES else None
        return table is not None and bool(table.enabled)

    def template_defaults(self) -> dict[str, str | None]:
        """The default template id of each enabled template channel (None: no default)."""
        out: dict[str, str | None] = {}
        if self.aliyun_sms and self.aliyun_sms.enabled:
            out["aliyun_sms"] = self.aliyun_sms.default_template_code
        if self.tencent_sms and self.tencent_sms.enabled:
            out["tencent_sms"] = self.tencent_sms.default_template_id
        if self.wechat_oa and self.wechat_oa.enabled:
            out["wechat_oa"] = self.wechat_oa.default_template_id
        return out

    def default_address(self, name: str) -> bool:
        """Whether channel ``name`` can send to an empty address (it has a default recipient)."""
        if name in ("console", "file"):
            return True
        if name == "wecom":
            return bool(self.wecom and self.wecom.default_key)
        if name == "dingtalk":
            return bool(self.dingtalk and self.dingtalk.default_token)
        if name == "feishu":
            return bool(self.feishu and self.feishu.default_hook)
        if name == "webhook":
            return bool(self.webhook and self.webhook.default_url)
        return False

    def rates(self) -> dict[str, tuple[Rate, ...]]:
        """Limiter rules per channel name, for every enabled HTTP channel that has some."""
        out: dict[str, tuple[Rate, ...]] = {}
        for name in ("wecom", "wecom_app", "wechat_oa", "aliyun_sms", "tencent_sms", "dingtalk", "feishu", "webhook"):
            table = getattr(self, name)
            if isinstance(table, _HttpChannelConfig) and table.enabled and table.rates():
                out[name] = table.rates()
        return out


def build_channels(
    cfg: ChannelsConfig,
    session: aiohttp.ClientSession,
    clock: Clock,
    *,
    limiter: Limiter | None = None,
    sleep: SleepFn = asyncio.sleep,
    batch_sms: bool = True,
) -> dict[str, Channel]:
    """Every enabled channel, keyed by name (``batch_sms``: same-text SMS and WeCom application
    messages share provider calls). All share one limiter (built from ``cfg.rates()``
    unless given), so a process never exceeds a provider's limit whatever the fan-out."""
    # The adapters are imported here, not at the top: the model above is validated in every
    # process that reads a config with [notify]; only the notify role builds channels.
    from consumers.notify.channels.aliyun_sms import AliyunSmsChannel
    from consumers.notify.channels.console import ConsoleChannel
    from consumers.notify.channels.dingtalk import DingTalkChannel
    from consumers.notify.channels.feishu import FeishuChannel
    from consumers.notify.channels.file import FileChannel
    from consumers.notify.channels.sms_batch import BatchingChannel, BatchingSms
    from consumers.notify.channels.tencent_sms import TencentSmsChannel
    from consumers.notify.channels.webhook import WebhookChannel
    from consumers.notify.channels.wechat_oa import WeChatOAChannel
    from consumers.notify.channels.wecom import WeComChannel
    from consumers.notify.channels.wecom_app import WeComAppChannel

    shared: Limiter = limiter if limiter is not None else RateLimiter(clock, cfg.rates(), sleep=sleep)
    out: dict[str, Channel] = {}
    if cfg.wecom and cfg.wecom.enabled:
        c = cfg.wecom
        out["wecom"] = WeComChannel(session, clock, base_url=c.base_url, default_key=c.default_key,
                                    limiter=shared, timeout=c.timeout_seconds)
    if cfg.wecom_app and cfg.wecom_app.enabled:
        wa = cfg.wecom_app
        app = WeComAppChannel(
            session, clock, corp_id=wa.corp_id, corp_secret=wa.corp_secret, agent_id=wa.agent_id,
            base_url=wa.base_url, token_margin=wa.token_margin_seconds, limiter=shared, timeout=wa.timeout_seconds,
        )
        out["wecom_app"] = BatchingChannel(app, key=app.batch_key, limiter=shared) if batch_sms else app
    if cfg.wechat_oa and cfg.wechat_oa.enabled:
        w = cfg.wechat_oa
        out["wechat_oa"] = WeChatOAChannel(
            session, clock, app_id=w.app_id, app_secret=w.app_secret, base_url=w.base_url,
            default_template_id=w.default_template_id, link_url=w.link_url,
            token_margin=w.token_margin_seconds, limiter=shared, timeout=w.timeout_seconds,
        )
    if cfg.aliyun_sms and cfg.aliyun_sms.enabled:
        a = cfg.aliyun_sms
        aliyun = AliyunSmsChannel(
            session, clock, access_key_id=a.access_key_id, access_key_secret=a.access_key_secret,
            sign_name=a.sign_name, default_template_code=a.default_template_code, base_url=a.base_url,
            region_id=a.region_id, limiter=shared, timeout=a.timeout_seconds,
        )
        out["aliyun_sms"] = BatchingSms(aliyun, limiter=shared) if batch_sms else aliyun
    if cfg.tencent_sms and cfg.tencent_sms.enabled:
        t = cfg.tencent_sms
        tencent = TencentSmsChannel(
            session, clock, secret_id=t.secret_id, secret_key=t.secret_key, sdk_app_id=t.sdk_app_id,
            sign_name=t.sign_name, default_template_id=t.default_template_id, base_url=t.base_url,
            region=t.region, limiter=shared, timeout=t.timeout_seconds,
        )
        out["tencent_sms"] = BatchingSms(tencent, limiter=shared) if batch_sms else tencent
    if cfg.dingtalk and cfg.dingtalk.enabled:
        d = cfg.dingtalk
        out["dingtalk"] = DingTalkChannel(
            session, clock, base_url=d.base_url, default_token=d.default_token, default_secret=d.default_secret,
            secrets=d.secrets, limiter=shared, timeout=d.timeout_seconds,
        )
    if cfg.feishu and cfg.feishu.enabled:
        f = cfg.feishu
        out["feishu"] = FeishuChannel(
            session, clock, base_url=f.base_url, default_hook=f.default_hook, default_secret=f.default_secret,
            secrets=f.secrets, limiter=shared, timeout=f.timeout_seconds,
        )
    if cfg.webhook and cfg.webhook.enabled:
        h = cfg.webhook
        out["webhook"] = WebhookChannel(session, clock, secret=h.secret, default_url=h.default_url,
                                        limiter=shared, timeout=h.timeout_seconds)
    if cfg.console and cfg.console.enabled:
        out["console"] = ConsoleChannel()
    if cfg.file and cfg.file.enabled:
        out["file"] = FileChannel(cfg.file.path, clock)
    return out
