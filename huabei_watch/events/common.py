"""Value types shared by several events."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: Alipay pay-channel codes for Huabei (what ``disable_pay_channels`` takes).
PCREDIT = "pcredit"
PCREDIT_INSTALLMENT = "pcreditpayInstallment"
HUABEI_CHANNELS: tuple[str, ...] = (PCREDIT, PCREDIT_INSTALLMENT)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScopeKind(StrEnum):
    PLATFORM = "platform"
    MERCHANTS = "merchants"


class Scope(Frozen):
    """Who is affected: the whole platform, or a list of merchants."""

    kind: ScopeKind = ScopeKind.PLATFORM
    merchant_ids: tuple[str, ...] = ()

    @classmethod
    def platform(cls) -> Scope:
        return cls(kind=ScopeKind.PLATFORM)

    @classmethod
    def merchants(cls, *ids: str) -> Scope:
        return cls(kind=ScopeKind.MERCHANTS, merchant_ids=tuple(sorted(set(ids))))

    def covers(self, merchant_id: str) -> bool:
        return self.kind is ScopeKind.PLATFORM or merchant_id in self.merchant_ids

    def label(self) -> str:
        return "platform" if self.kind is ScopeKind.PLATFORM else ",".join(self.merchant_ids)


class Window(Frozen):
    """A time window from a notice. ``end`` is None when the notice gives no end."""

    start: AwareDatetime
    end: AwareDatetime | None = None
    products: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    status: str = Field(default="scheduled", description="scheduled | postponed | cancelled")


class Cause(StrEnum):
    """Why a payment failed (the diagnosis)."""

    BUYER = "buyer"
    MERCHANT_ACCOUNT = "merchant_account"
    INTEGRATION = "integration"
    PLATFORM = "platform"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"
