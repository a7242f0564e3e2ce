"""Config that cannot hurt: a count is never read as a duration, every pair of settings whose
combination breaks a promise is refused with both key paths, and ``check-config`` resolves every
secret given by reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from huabei_watch.errors import ConfigError
from huabei_watch.root.cli import main
from huabei_watch.root.settings import parse_settings

PROBE = {"kind": "http", "id": "gw", "url": "http://127.0.0.1:9/health"}


def _problems(data: dict[str, Any]) -> list[str]:
    try:
        parse_settings(data)
    except ConfigError as exc:
        return exc.problems
    return []


@pytest.mark.parametrize(
    ("data", "key", "mentions"),
    [
        ({"probes": [{**PROBE, "failure_threshold": "2m"}]}, "probes[0].failure_threshold", "count, not a duration"),
        ({"probes": [{**PROBE, "success_threshold": "1h"}]}, "probes[0].success_threshold", "count, not a duration"),
        ({"sources": [{"id": "s", "kind": "rss", "feed_url": "http://127.0.0.1:9/f", "degraded_after": "5m"}]},
         "sources[0].degraded_after", "count, not a duration"),
        ({"kafka": {"max_attempts": "30s"}}, "kafka.max_attempts", "count, not a duration"),
        ({"admin": {"max_body_bytes": "big"}}, "admin.max_body_bytes", "whole number"),
        ({"incidents": {"republish_every": "ten minutes"}}, "incidents.republish_every", "must be a duration"),
        ({"notify": {"wechat_oa": {"app_id": "a", "app_secret": "s", "default_template_id": "t",
                                   "token_margin_seconds": "5m"}}}, None, None),
    ],
)
def test_durations_by_type_and_counts_are_never_durations(data: dict[str, Any], key: str | None, mentions: str | None) -> None:
    problems = _problems(data)
    if key is None:
        assert problems == []  # a duration key takes units
        return
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{key}: "), problems
    assert mentions is not None and mentions in problems[0]


@pytest.mark.parametrize(
    ("data", "key", "other"),
    [
        ({"incidents": {"republish_every": 3600}, "cashier": {"off_ttl": 3600}}, "incidents.republish_every", "cashier.off_ttl"),
        ({"incidents": {"republish_every": 451}, "cashier": {"off_ttl": 900}}, "incidents.republish_every", "cashier.off_ttl"),
        ({"probes": [PROBE, {**PROBE, "id": "slow", "interval": "8m"}]}, "probes[1].interval", "incidents.outage_stale_after"),
        ({"probes": [{**PROBE, "interval": 400}], "incidents": {"outage_stale_after": 600}}, "probes[0].interval",
         "incidents.outage_stale_after"),
        ({"payments": {"evaluate_every": 600, "detection": {"window_s": 300}}}, "payments.evaluate_every",
         "payments.detection.window_s"),
        ({"payments": {"evaluate_every": "3s", "fetch_max_wait": "2s"}}, "payments.fetch_max_wait",
         "payments.evaluate_every"),
        ({"retention": {"incidents_in_memory": "60d", "incidents": "45d"}}, "retention.incidents_in_memory",
         "retention.incidents"),
    ],
)
def test_each_broken_pair_is_refused_naming_both_keys(data: dict[str, Any], key: str, other: str) -> None:
    problems = _problems(data)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{key}: ") and other in problems[0], problems


@pytest.mark.parametrize(
    "data",
    [
        {},  # the defaults keep every promise
        {"incidents": {"republish_every": 300}, "cashier": {"off_ttl": 600}},  # exactly half
        {"probes": [{**PROBE, "interval": 450}], "incidents": {"outage_stale_after": 900}},  # exactly half
        {"retention": {"incidents_in_memory": "90d", "incidents": "90d"}},
        {"payments": {"evaluate_every": "2s", "fetch_max_wait": "1s"}},  # exactly half
    ],
)
def test_pairs_at_their_limit_are_accepted(data: dict[str, Any]) -> None:
    assert _problems(data) == []


def test_the_reported_case_is_refused() -> None:
    """Issue 14: republish_every = 3600 with off_ttl = 60 was accepted, and Huabei came back on
    in the middle of every incident."""
    problems = _problems({"incidents": {"republish_every": 3600}, "cashier": {"off_ttl": 60}})
    assert any(p.startswith("incidents.republish_every: ") and "cashier.off_ttl" in p for p in problems)


def test_delivery_confirmation_must_outlast_channel_timeouts() -> None:
    problems = _problems({"notify": {"wecom": {"timeout_seconds": 60}, "delivery": {"unconfirmed_after": 30, "lease": 30}}})
    assert any("unconfirmed_after" in p and "timeout_seconds" in p for p in problems), problems


def _alipay_config(tmp_path: Path, **merchant: str) -> Path:
    lines = [f'{k} = "{v}"' for k, v in merchant.items()]
    cfg = tmp_path / "alipay.toml"
    cfg.write_text(
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n[sandbox]\nenabled = false\n'
        '[alipay]\nenabled = true\n[[alipay.merchants]]\nmerchant_id = "m1"\napp_id = "2021000000000001"\n'
        + "\n".join(lines) + "\n",
        "utf-8",
    )
    return cfg


@pytest.mark.parametrize(
    ("merchant", "env", "problem"),
    [
        ({"private_key_env": "HBW_TEST_ALIPAY_KEY", "alipay_public_key": "PUB"}, {},
         "alipay.merchants[0].private_key_env: environment variable HBW_TEST_ALIPAY_KEY is not set"),
        ({"private_key_env": "HBW_TEST_ALIPAY_KEY", "alipay_public_key": "PUB"}, {"HBW_TEST_ALIPAY_KEY": ""},
         "alipay.merchants[0].private_key_env: environment variable HBW_TEST_ALIPAY_KEY is not set"),
        ({"private_key_file": "/nonexistent/app.pem", "alipay_public_key": "PUB"}, {},
         "alipay.merchants[0].private_key_file: cannot read /nonexistent/app.pem"),
        ({"private_key": "PRIV", "alipay_public_key_file": "/nonexistent/alipay.pem"}, {},
         "alipay.merchants[0].alipay_public_key_file: cannot read /nonexistent/alipay.pem"),
        ({"private_key_env": "HBW_TEST_ALIPAY_KEY", "alipay_public_key": "PUB"}, {"HBW_TEST_ALIPAY_KEY": "SECRET-VALUE"},
         None),
    ],
)
def test_check_config_resolves_alipay_secret_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    merchant: dict[str, str], env: dict[str, str], problem: str | None,
) -> None:
    monkeypatch.delenv("HBW_TEST_ALIPAY_KEY", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cfg = _alipay_config(tmp_path, **merchant)
    code = main(["check-config", str(cfg), "--role", "watcher"])
    err = capsys.readouterr().err
    assert "SECRET-VALUE" not in err
    if problem is None:
        assert code == 0, err
    else:
        assert code == 2
        assert problem in err


def test_a_role_that_does_not_probe_alipay_does_not_need_its_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HBW_TEST_ALIPAY_KEY", raising=False)
    cfg = _alipay_config(tmp_path, private_key_env="HBW_TEST_ALIPAY_KEY", alipay_public_key="PUB")
    assert main(["check-config", str(cfg), "--role", "cashier"]) == 0, capsys.readouterr().err


def test_check_config_reports_an_unreadable_kafka_tls_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "tls.toml"
    cfg.write_text(
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n[sandbox]\nenabled = false\n'
        f'[kafka]\nssl_cafile = "{tmp_path / "missing-ca.pem"}"\n',
        "utf-8",
    )
    assert main(["check-config", str(cfg)]) == 2
    assert f"kafka.ssl_cafile: cannot read {tmp_path / 'missing-ca.pem'}" in capsys.readouterr().err
