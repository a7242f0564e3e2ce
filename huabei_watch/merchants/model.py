"""The merchant registry's value object (pure)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["auto", "notify_only", "pinned_on", "pinned_off"]


def token_hash(token: str) -> str:
    """How bearer tokens are stored: never the token itself."""
    return hashlib.sha256(("huabei-watch:" + token).encode()).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(token_hash(token), stored_hash)


@dataclass(frozen=True, slots=True)
class MerchantAccess:
    """What reading a merchant's policy needs: who may (the token's hash) and its mode."""

    id: str
    mode: Mode
    token_hash: str | None


@dataclass(frozen=True, slots=True)
class Contacts:
    wecom_robot_key: str | None = None
    wecom_userid: str | None = None
    wechat_openid: str | None = None
    phone: str | None = None
    dingtalk_access_token: str | None = None
    feishu_hook: str | None = None
    webhook_url: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Merchant:
    id: str
    name: str = ""
    mode: Mode = "auto"
    token_hash: str | None = None
    payments_secret: str | None = field(default=None, repr=False)
    cashier_webhook: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    plugin: str | None = None
    channels: tuple[str, ...] = ("wecom", "sms")
    contacts: Contacts = field(default_factory=Contacts, repr=False)
