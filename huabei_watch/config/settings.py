"""The sections every role shares (daemon, admin, kafka, database, merchants) and
:class:`CoreSettings`, what the framework needs from the whole configuration.

The whole file is :class:`huabei_watch.root.settings.Settings`, declared by the composition root
with every role's section; the framework only sees it through the :class:`CoreSettings` protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from huabei_watch.config.types import Duration, HostPort, KeyProblems
from huabei_watch.events.auth import KeyFormatError, private_key_from_text, public_key_from_text


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DaemonSettings(Section):
    state_dir: Path = Field(default=Path("state"), description="Where the SQLite file and other state live")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="auto: human-readable on a TTY, JSON lines otherwise"
    )
    shutdown_timeout: Annotated[float, Duration(gt=0, le=600)] = 20.0
    timezone: Literal["Asia/Shanghai"] = "Asia/Shanghai"
    event_loop: Literal["auto", "uvloop", "asyncio"] = Field(
        default="auto", description="auto: uvloop when installed, else asyncio (logged at start)"
    )


class AdminSettings(Section):
    listen: HostPort = "127.0.0.1:8080"
    ops_token: SecretStr | None = Field(
        default=None, description="Bearer token for ops endpoints (env HUABEI_WATCH_ADMIN__OPS_TOKEN)"
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1024 * 1024)
    max_connections: int = Field(
        default=512, ge=8, le=100_000, description="Open connections at once (at most half the fd limit)"
    )
    max_connections_per_address: int = Field(default=64, ge=1, le=100_000)
    header_timeout: Annotated[float, Duration(gt=0, le=300)] = Field(
        default=10.0, description="A request's header must arrive within this"
    )
    body_timeout: Annotated[float, Duration(gt=0, le=3600)] = Field(
        default=30.0, description="A request's body must arrive within this after its header"
    )
    keepalive_timeout: Annotated[float, Duration(gt=0, le=3600)] = Field(
        default=15.0, description="An idle keep-alive connection is closed after this"
    )


class KafkaSettings(Section):
    bootstrap_servers: str = Field(
        default="embedded",
        description="'embedded' starts the bundled Kafka-compatible broker; otherwise host:port[,host:port]",
    )
    topic_prefix: str = Field(default="huabei", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    client_id: str = "huabei-watch"
    group_prefix: str = Field(default="huabei-watch", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    partitions: int = Field(default=6, ge=1, le=1000)
    replication_factor: int = Field(default=1, ge=1, le=10)
    idempotence: Literal["auto", "on", "off"] = Field(
        default="auto", description="auto: on for real Kafka, off for the embedded broker (it lacks InitProducerId)"
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    session_timeout: Annotated[float, Duration(ge=1, le=300)] = 10.0
    # A publish to an unreachable broker fails (TransientError) after this, instead of blocking the
    # poll or request that publishes; the caller keeps the event pending and retries.
    publish_timeout: Annotated[float, Duration(ge=0.5, le=300)] = 15.0
    fetch_max_wait: Annotated[float, Duration(ge=0.001, le=10)] = Field(
        default=0.1, description="How long the broker may hold a fetch when no records are waiting (latency vs idle polling)"
    )
    max_in_flight: int = Field(default=64, ge=1, le=10_000, description="Bounded in-flight work per consumer")
    retry_initial: Annotated[float, Duration(gt=0, le=60)] = 0.2
    retry_max: Annotated[float, Duration(gt=0, le=3600)] = 30.0
    max_attempts: int = Field(default=8, ge=1, le=1000, description="Transient retries before a message is dead-lettered")
    embedded_binary: Path | None = Field(default=None, description="Override the bundled Tansu binary")
    embedded_recycle_above_mb: int = Field(
        default=200, ge=32, le=1_000_000,
        description="The embedded broker is recycled (drained, replaced by a fresh process) once its resident "
                    "memory passes this many MB",
    )
    embedded_check_every: Annotated[float, Duration(ge=1, le=3600)] = Field(
        default=5.0, description="How often the embedded broker's memory is checked"
    )
    embedded_drain_timeout: Annotated[float, Duration(ge=1, le=600)] = Field(
        default=10.0, description="Before a recycle, new records are held back while the consumer groups catch up; "
                                  "if they handle nothing for this long, the recycle is postponed to the next check",
    )
    embedded_keep_unconsumed_mb: int = Field(
        default=4, ge=0, le=1024,
        description="Per topic no consumer group of the daemon reads (dead letters, cashier.changes, notifications): "
                    "MB of its newest records carried over a recycle or restart of the embedded broker",
    )

    @property
    def embedded(self) -> bool:
        return self.bootstrap_servers.strip() == "embedded"

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers(cls, v: str) -> str:
        v = v.strip()
        if v == "embedded":
            return v
        for part in v.split(","):
            host, sep, port = part.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError("must be 'embedded' or a comma-separated list of host:port")
        return v

    @model_validator(mode="after")
    def _sasl(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not (self.sasl_mechanism and self.sasl_username):
            raise ValueError("SASL needs sasl_mechanism and sasl_username (and sasl_password)")
        return self


class DatabaseSettings(Section):
    url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy async URL (postgresql+asyncpg://...); empty: SQLite file in state_dir",
    )
    pool_size: int = Field(
        default=5, ge=1, le=100,
        description="PostgreSQL connections kept open per process (up to 10 more at peaks); SQLite uses "
        "SQLAlchemy's own pool and ignores it",
    )
    sqlite_cache_kb: int = Field(
        default=1024, ge=64, le=1_048_576,
        description="SQLite page cache per connection of a daemon, in KiB (SQLite's own default is 2,000); "
        "the file's pages are in the operating system's cache anyway. PostgreSQL ignores it",
    )
    retry_for: Annotated[float, Duration(ge=0, le=3600)] = Field(
        default=60.0, description="How long a locked/unreachable database is retried before giving up on one unit of work"
    )


class LeaseSettings(Section):
    """``[ha]``: the lease that keeps one incidents process active (:mod:`huabei_watch.lease`)."""

    lease_ttl: Annotated[float, Duration(ge=2, le=600)] = Field(
        default=15.0, description="A leader that stops renewing (killed, paused, cut off) loses the lease after this"
    )
    renew_every: Annotated[float, Duration(ge=0.5, le=300)] = Field(
        default=5.0, description="How often the leader renews its lease"
    )
    standby_poll: Annotated[float, Duration(ge=0.2, le=300)] = Field(
        default=2.0, description="How often a standby tries to take the lease"
    )

    @model_validator(mode="after")
    def _renew_well_within_ttl(self) -> LeaseSettings:
        if self.renew_every * 2 > self.lease_ttl:
            raise ValueError(f"ha.renew_every ({self.renew_every:g} s) must be at most half of ha.lease_ttl "
                             f"({self.lease_ttl:g} s), or one slow renewal loses the lease")
        return self

    @property
    def takeover_within(self) -> float:
        """Longest time from the leader's death to a standby holding the lease (PostgreSQL)."""
        return self.lease_ttl + self.standby_poll


_PRINCIPAL = r"^[a-z][a-z0-9_-]{0,31}$"


class PrincipalKeys(Section):
    """The keys of one principal (a role, or an outside producer such as a platform streaming
    payment results). Keys are base64 text as ``huabei-watch keys generate`` prints them."""

    private_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 signing key of a role this process runs (a secret: give it through "
        "HUABEI_WATCH_SECURITY__PRINCIPALS__<NAME>__PRIVATE_KEY)",
    )
    public_keys: tuple[str, ...] = Field(
        default=(), description="Accepted public keys (old and new during a rotation); the private key's is added"
    )

    @field_validator("private_key")
    @classmethod
    def _private(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            try:
                private_key_from_text(v.get_secret_value())
            except KeyFormatError as exc:
                raise ValueError(str(exc)) from None
        return v

    @field_validator("public_keys")
    @classmethod
    def _public(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for i, text in enumerate(v):
            try:
                public_key_from_text(text)
            except KeyFormatError as exc:
                raise ValueError(f"public key {i}: {exc}") from None
        return v


class SecuritySettings(Section):
    sign_events: bool = Field(
        default=True,
        description="Sign every published event and dead-letter consumed ones not signed by a principal "
        "allowed to produce their type ('unauthenticated'). Turn off only to read foreign topics.",
    )
    generate_keys: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Create missing role keys in keys_dir: auto = only with the embedded broker",
    )
    keys_dir: Path | None = Field(default=None, description="Where generated keys live (default: <state_dir>/keys)")
    principals: dict[Annotated[str, Field(pattern=_PRINCIPAL)], PrincipalKeys] = Field(
        default_factory=dict,
        description="Keys per principal: the roles (watcher, incidents, cashier, notify) and outside producers",
    )


class MerchantContacts(Section):
    wecom_robot_key: SecretStr | None = None
    wecom_userid: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[^|\s]+$",
                                     description="The merchant's member userid in the corp (WeCom application messages)")
    wechat_openid: str | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?\d{6,15}$")
    dingtalk_access_token: SecretStr | None = None
    feishu_hook: SecretStr | None = None
    webhook_url: str | None = None
    email: str | None = None


#: Notification channel names a merchant may list (``sms``: the deployment's SMS provider order;
#: ``aliyun_sms`` / ``tencent_sms``: that provider, several in the order listed).
MERCHANT_CHANNELS = ("wecom", "wecom_app", "sms", "aliyun_sms", "tencent_sms", "wechat_oa", "dingtalk", "feishu", "webhook",
                     "console", "file")
#: The contact each channel sends to.
CHANNEL_CONTACT = {"wecom": "wecom_robot_key", "wecom_app": "wecom_userid", "sms": "phone", "aliyun_sms": "phone", "tencent_sms": "phone",
                   "wechat_oa": "wechat_openid", "dingtalk": "dingtalk_access_token", "feishu": "feishu_hook",
                   "webhook": "webhook_url"}


class MerchantConfig(Section):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    name: str = ""
    mode: Literal["auto", "notify_only", "pinned_on", "pinned_off"] = "auto"
    token: SecretStr | None = Field(default=None, description="Bearer token for this merchant's policy API")
    payments_secret: SecretStr | None = Field(default=None, description="HMAC secret for POST /v1/payment-results")
    cashier_webhook: str | None = None
    webhook_secret: SecretStr | None = None
    plugin: str | None = Field(default=None, description="Cashier plugin/SDK and version, e.g. 'woo-alipay/3.2.1'")
    channels: tuple[str, ...] = Field(
        default=("wecom", "sms"),
        description="Notification channels for this merchant; SMS entries (sms, aliyun_sms, tencent_sms) form one "
        "route tried in the order listed",
    )
    contacts: MerchantContacts = MerchantContacts()

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in MERCHANT_CHANNELS]
        if unknown:
            raise ValueError(f"unknown channel {', '.join(map(repr, unknown))} (known: {', '.join(MERCHANT_CHANNELS)})")
        return value

    @model_validator(mode="after")
    def _listed_channels_have_contacts(self) -> MerchantConfig:
        """A channel listed explicitly must have its contact (the defaults stay quiet without)."""
        if "channels" not in self.model_fields_set:
            return self
        missing = sorted({CHANNEL_CONTACT[c] for c in self.channels
                          if c in CHANNEL_CONTACT and getattr(self.contacts, CHANNEL_CONTACT[c]) is None})
        if missing:
            raise KeyProblems([(f"contacts.{m}", "required by the channels listed "
                                f"({', '.join(c for c in self.channels if CHANNEL_CONTACT.get(c) == m)})")
                               for m in missing])
        return self


class CoreSettings(Protocol):
    """What the framework reads from the configuration. The root's ``Settings`` has these and
    every role's section; the root hands each role factory its own section (the watcher reads
    several, through ``WatcherConfig``)."""

    @property
    def daemon(self) -> DaemonSettings: ...

    @property
    def admin(self) -> AdminSettings: ...

    @property
    def kafka(self) -> KafkaSettings: ...

    @property
    def database(self) -> DatabaseSettings: ...

    @property
    def merchants(self) -> tuple[MerchantConfig, ...]: ...

    @property
    def security(self) -> SecuritySettings: ...

    def database_url(self) -> str:
        """The SQLAlchemy URL: ``database.url``, or the SQLite file in ``daemon.state_dir``."""
        ...


def database_url(daemon: DaemonSettings, database: DatabaseSettings) -> str:
    """``database.url`` when set, else the SQLite file in ``daemon.state_dir``."""
    if database.url is not None:
        return database.url.get_secret_value()
    return f"sqlite+aiosqlite:///{(daemon.state_dir / 'huabei-watch.db').as_posix()}"
