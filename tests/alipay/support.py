"""Shared test helpers for the Alipay probe tests: keys, the start instant, a diagnosis stub."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from huabei_watch.events import Cause

START = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai


@dataclass(frozen=True)
class KeyPair:
    key: rsa.RSAPrivateKey

    @property
    def private_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def public_pem(self) -> str:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def new_pair() -> KeyPair:
    return KeyPair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


# A stand-in for watcher.payments.diagnosis (written elsewhere): the codes these tests meet.
DIAGNOSIS = {
    "ACQ.SELLER_BEEN_BLOCKED": Cause.MERCHANT_ACCOUNT,
    "ACQ.MERCHANT_STATUS_NOT_NORMAL": Cause.MERCHANT_ACCOUNT,
    "isv.invalid-signature": Cause.INTEGRATION,
    "ACQ.INVALID_PARAMETER": Cause.INTEGRATION,
    "ACQ.SYSTEM_ERROR": Cause.PLATFORM,
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": Cause.BUYER,
}


def classify(code: str, sub_code: str) -> Cause:
    return DIAGNOSIS.get(sub_code, Cause.UNKNOWN)
