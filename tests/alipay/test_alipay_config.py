"""The [alipay] settings and merchant credential references."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from huabei_watch.errors import ConfigError
from watcher.alipay.config import (
    PRODUCTION_GATEWAY,
    AlipayProbeSettings,
    MerchantCredentialsRef,
)

SECRET = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ-TOPSECRET"


def test_defaults() -> None:
    s = AlipayProbeSettings()
    assert (s.gateway_url, s.interval, s.rate_limit_per_s, s.amount, s.hb_fq_num) == (
        PRODUCTION_GATEWAY, 3600.0, 30.0, "0.01", 3
    )
    assert s.enabled is False and s.merchants == ()


@pytest.mark.parametrize(
    ("amount", "normalised"),
    [("0.01", "0.01"), ("1", "1.00"), ("12.5", "12.50"), ("100000000", "100000000.00")],
)
def test_amount_is_normalised_to_fen(amount: str, normalised: str) -> None:
    assert AlipayProbeSettings(amount=amount).amount == normalised


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "0.015"}, "at most two decimals"),
        ({"amount": "0"}, "between 0.01 and 100000000"),
        ({"amount": "abc"}, "decimal number of yuan"),
        ({"amount": "NaN"}, "between 0.01"),
        ({"interval": 10}, "must be >= 60 s"),
        ({"rate_limit_per_s": 0}, "greater than 0"),
        ({"timeout": 0}, "must be > 0 s"),
        ({"hb_fq_num": 5}, "3, 6 or 12"),
        ({"gateway_url": "openapi.alipay.com/gateway.do"}, "should match pattern"),
        ({"interval": 7200, "max_backoff": 3600}, "max_backoff must be at least interval"),
        ({"unknown_key": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_read_well(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        AlipayProbeSettings.model_validate(overrides)
    text = str(info.value)
    if message == "3, 6 or 12":
        assert "hb_fq_num" in text and "3" in text and "12" in text
    else:
        assert message in text


def test_inline_private_key_never_shows_in_repr() -> None:
    ref = MerchantCredentialsRef(merchant_id="m1", app_id="2021", private_key=SECRET, alipay_public_key="PUB")
    creds = ref.resolve(environ={})
    assert creds.private_key.get_secret_value() == SECRET
    assert "TOPSECRET" not in repr(ref) + repr(creds) + str(creds)


def test_secrets_from_files_and_environment(tmp_path: Path) -> None:
    (tmp_path / "app.key").write_text(SECRET, encoding="utf-8")
    (tmp_path / "alipay.pub").write_text("PUBLIC", encoding="utf-8")
    settings = AlipayProbeSettings.model_validate(
        {
            "merchants": [
                {"merchant_id": "m1", "app_id": "a1", "private_key_file": str(tmp_path / "app.key"),
                 "alipay_public_key_file": str(tmp_path / "alipay.pub"), "hb_fq_num": 6},
                {"merchant_id": "m2", "app_id": "a2", "private_key_env": "M2_KEY", "alipay_public_key": "PUB2"},
            ]
        }
    )
    m1, m2 = settings.credentials(environ={"M2_KEY": "KEY2"})
    assert (m1.private_key.get_secret_value(), m1.alipay_public_key, m1.hb_fq_num) == (SECRET, "PUBLIC", 6)
    assert (m2.private_key.get_secret_value(), m2.alipay_public_key) == ("KEY2", "PUB2")


def test_missing_secrets_are_one_config_error_naming_keys_not_values(tmp_path: Path) -> None:
    settings = AlipayProbeSettings.model_validate(
        {
            "merchants": [
                {"merchant_id": "m1", "app_id": "a1", "private_key_file": str(tmp_path / "absent.key"),
                 "alipay_public_key": "PUB"},
                {"merchant_id": "m2", "app_id": "a2", "private_key_env": "M2_KEY", "alipay_public_key": "PUB"},
            ]
        }
    )
    with pytest.raises(ConfigError) as info:
        settings.credentials(environ={})
    problems = info.value.problems
    assert problems[0].startswith("alipay.merchants[0].private_key_file: cannot read")
    assert problems[1] == "alipay.merchants[1].private_key_env: environment variable M2_KEY is not set"


@pytest.mark.parametrize(
    "entry",
    [
        {"merchant_id": "m", "app_id": "a", "alipay_public_key": "P"},  # no private key
        {"merchant_id": "m", "app_id": "a", "private_key": "K", "private_key_env": "E", "alipay_public_key": "P"},
        {"merchant_id": "m", "app_id": "a", "private_key": "K"},  # no platform key
    ],
)
def test_each_secret_is_given_exactly_one_way(entry: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="exactly one way"):
        MerchantCredentialsRef.model_validate(entry)


def test_duplicate_merchants_are_rejected() -> None:
    entry = {"merchant_id": "m", "app_id": "a", "private_key": "K", "alipay_public_key": "P"}
    with pytest.raises(ValidationError, match="listed twice"):
        AlipayProbeSettings.model_validate({"merchants": [entry, entry]})
