"""Configuration of the synthetic pre-order probe: the ``[alipay]`` table and merchant credentials.

Credentials are values (:class:`PrecreateCredentials`); where they come from (the merchant registry,
a secret file, an environment variable) is resolved here, once, at start-up. Secrets stay
``SecretStr`` so they never show in repr or logs.
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from huabei_watch.config.types import Duration
from huabei_watch.errors import ConfigError

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"

HbFqNum = Literal[3, 6, 12]


class PrecreateCredentials(BaseModel):
    """What the probe needs to call Alipay as one merchant's application.

    ``private_key`` is the application private key (PEM or the console's bare base64);
    ``alipay_public_key`` is the Alipay *platform* public key for that application (not the app's
    own public key). ``app_auth_token`` is set when an ISV application calls on the merchant's behalf.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    merchant_id: str = Field(min_length=1, max_length=64)
    app_id: str = Field(min_length=1, max_length=32)
    private_key: SecretStr
    alipay_public_key: str = Field(min_length=1)
    app_auth_token: SecretStr | None = None
    hb_fq_num: HbFqNum | None = Field(default=None, description="Override of [alipay].hb_fq_num for this merchant")


class MerchantCredentialsRef(BaseModel):
    """One ``[[alipay.merchants]]`` entry: the merchant's app and where its secrets are.

    Each secret is given exactly one way: inline, ``*_file`` (path to a file holding it) or
    ``*_env`` (name of an environment variable holding it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    merchant_id: str = Field(min_length=1, max_length=64)
    app_id: str = Field(min_length=1, max_length=32)
    private_key: SecretStr | None = None
    private_key_file: Path | None = None
    private_key_env: str | None = None
    alipay_public_key: str | None = None
    alipay_public_key_file: Path | None = None
    app_auth_token: SecretStr | None = None
    hb_fq_num: HbFqNum | None = None

    @model_validator(mode="after")
    def _one_source_each(self) -> MerchantCredentialsRef:
        given = [x for x in (self.private_key, self.private_key_file, self.private_key_env) if x is not None]
        if len(given) != 1:
            raise ValueError("give the private key exactly one way: private_key, private_key_file or private_key_env")
        if (self.alipay_public_key is None) == (self.alipay_public_key_file is None):
            raise ValueError("give the Alipay public key exactly one way: alipay_public_key or alipay_public_key_file")
        return self

    def resolve(self, environ: dict[str, str] | None = None, *, where: str | None = None) -> PrecreateCredentials:
        """Read the referenced secrets. Raises ConfigError naming the key path (``where``, e.g.
        ``alipay.merchants[0]``), never the secret."""
        env = dict(os.environ) if environ is None else environ
        where = where or f"alipay.merchants[{self.merchant_id}]"
        problems: list[str] = []
        private: str | None = None
        if self.private_key is not None:
            private = self.private_key.get_secret_value()
        elif self.private_key_file is not None:
            private = _read(self.private_key_file, f"{where}.private_key_file", problems)
        elif self.private_key_env is not None:
            private = env.get(self.private_key_env)
            if not private:
                problems.append(f"{where}.private_key_env: environment variable {self.private_key_env} is not set")
        public = self.alipay_public_key
        if self.alipay_public_key_file is not None:
            public = _read(self.alipay_public_key_file, f"{where}.alipay_public_key_file", problems)
        if problems or not private or not public:
            raise ConfigError(problems or [f"{where}: credentials are empty"])
        return PrecreateCredentials(
            merchant_id=self.merchant_id,
            app_id=self.app_id,
            private_key=SecretStr(private),
            alipay_public_key=public,
            app_auth_token=self.app_auth_token,
            hb_fq_num=self.hb_fq_num,
        )


def _read(path: Path, key: str, problems: list[str]) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(f"{key}: cannot read {path} ({exc.strerror or type(exc).__name__})")
        return None


class AlipayProbeSettings(BaseModel):
    """The ``[alipay]`` table.

    ``interval``: each opted-in merchant is probed once per interval, spread evenly over it.
    ``rate_limit_per_s``: global ceiling on pre-order calls (cancel calls ride along).
    ``timeout``: per HTTP call. ``amount``: pre-order amount in yuan (no money moves: the QR code
    is never paid and the pre-order is cancelled). ``max_backoff``: cap of the per-merchant
    backoff after consecutive failures.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    gateway_url: str = Field(default=PRODUCTION_GATEWAY, pattern=r"^https?://")
    interval: Annotated[float, Duration(ge=60.0, le=7 * 86400.0)] = Field(default=3600.0, description="seconds between probes of one merchant")
    rate_limit_per_s: float = Field(default=30.0, gt=0.0, le=1000.0, description="pre-order calls per second, all merchants")
    burst: int = Field(default=10, ge=1, le=1000, description="calls allowed at once after a quiet spell")
    max_concurrency: int = Field(default=64, ge=1, le=1024)
    timeout: Annotated[float, Duration(gt=0.0, le=120.0)] = Field(default=10.0, description="seconds per HTTP call")
    amount: str = Field(default="0.01", description="pre-order amount in yuan, 0.01..100000000")
    subject: str = Field(default="花呗可用性检测", min_length=1, max_length=256)
    hb_fq_num: HbFqNum | None = Field(default=3, description="Huabei installments requested (3, 6 or 12); none = plain Huabei")
    max_backoff: Annotated[float, Duration(ge=60.0)] = Field(default=86400.0, description="seconds; cap of the backoff after failures")
    raise_after: int = Field(default=2, ge=1, le=100, description="consecutive bad probes of one cause before a finding")
    clear_after: int = Field(default=2, ge=1, le=100, description="consecutive good probes before a finding clears")
    merchants: tuple[MerchantCredentialsRef, ...] = ()

    @field_validator("amount")
    @classmethod
    def _amount_is_yuan(cls, v: str) -> str:
        try:
            value = Decimal(v)
        except InvalidOperation:
            raise ValueError("amount must be a decimal number of yuan, e.g. \"0.01\"") from None
        if not value.is_finite() or value < Decimal("0.01") or value > Decimal("100000000"):
            raise ValueError("amount must be between 0.01 and 100000000 yuan")
        if value != value.quantize(Decimal("0.01")):
            raise ValueError("amount has at most two decimals (fen)")
        return f"{value.quantize(Decimal('0.01'))}"

    @model_validator(mode="after")
    def _backoff_covers_interval(self) -> AlipayProbeSettings:
        if self.max_backoff < self.interval:
            raise ValueError("max_backoff must be at least interval")
        ids = [m.merchant_id for m in self.merchants]
        if len(ids) != len(set(ids)):
            raise ValueError("merchants: a merchant_id is listed twice")
        return self

    def credentials(self, environ: dict[str, str] | None = None) -> tuple[PrecreateCredentials, ...]:
        """Resolve every configured merchant's secrets; one ConfigError listing all problems."""
        out: list[PrecreateCredentials] = []
        problems: list[str] = []
        for i, ref in enumerate(self.merchants):
            try:
                out.append(ref.resolve(environ, where=f"alipay.merchants[{i}]"))
            except ConfigError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ConfigError(problems)
        return tuple(out)
