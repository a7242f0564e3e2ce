"""Configuration: typed validation, key paths in every error, env overrides, secrets redacted."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from huabei_watch.config.loader import apply_env
from huabei_watch.errors import ConfigError
from huabei_watch.logs import JsonFormatter, TextFormatter
from huabei_watch.root.cli import main
from huabei_watch.root.settings import Settings, load_settings

FIXTURES = Path(__file__).parent.parent / "fixtures" / "configs"
ROOT = Path(__file__).parent.parent.parent


def test_default_config_is_valid() -> None:
    s = load_settings(ROOT / "config" / "default.toml", environ={})
    assert s.kafka.embedded
    assert s.admin.listen == "127.0.0.1:8080"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unknown_key.toml", ["kafka.bootstrap_server: unknown key"]),
        ("bad_duration.toml", ["kafka.session_timeout: must be >= 1 s", "kafka.retry_max: must be a duration"]),
        ("bad_listen.toml", ["admin.listen: must be HOST:PORT"]),
        (
            "bad_merchants.toml",
            [
                "merchants[0].mode: must be one of",
                "merchants[2].id: String should match pattern",
                "merchants[2].contacts.phone: String should match pattern",
            ],
        ),
        ("bad_toml.toml", ["TOML syntax error"]),
        ("sasl_incomplete.toml", ["kafka: SASL needs sasl_mechanism and sasl_username"]),
    ],
)
def test_check_config_reports_each_problem_with_its_key_path(
    name: str, expected: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check-config", str(FIXTURES / name)])
    err = capsys.readouterr().err
    assert code == 2
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in:\n{err}"


def test_duplicate_merchant_ids_are_an_error_after_per_field_errors_are_fixed(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[[merchants]]\nid = "m1"\n[[merchants]]\nid = "m1"\n', "utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(p, environ={})
    assert info.value.problems == ["(top level): merchant id 'm1' appears twice"]


def test_check_config_on_a_missing_file_says_what_to_do(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["check-config", str(tmp_path / "nope.toml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_check_config_ok_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(ROOT / "config" / "default.toml")]) == 0
    assert ": ok" in capsys.readouterr().out


def test_environment_overrides_secrets_by_key_path(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[kafka]\nbootstrap_servers = "k1:9092"\n[[merchants]]\nid = "m1"\n', "utf-8")
    env = {
        "HUABEI_WATCH_ADMIN__OPS_TOKEN": "ops-s3cret",
        "HUABEI_WATCH_KAFKA__SASL_PASSWORD": "kafka-s3cret",
        "HUABEI_WATCH_MERCHANTS__0__TOKEN": "m1-s3cret",
        "HUABEI_WATCH_KAFKA__PARTITIONS": "12",
        "OTHER": "x",
    }
    s = load_settings(p, environ=env)
    assert s.admin.ops_token is not None and s.admin.ops_token.get_secret_value() == "ops-s3cret"
    assert s.kafka.sasl_password is not None and s.kafka.sasl_password.get_secret_value() == "kafka-s3cret"
    assert s.merchants[0].token is not None and s.merchants[0].token.get_secret_value() == "m1-s3cret"
    assert s.kafka.partitions == 12
    for secret in ("ops-s3cret", "kafka-s3cret", "m1-s3cret"):
        assert secret not in repr(s)
        assert secret not in str(s.model_dump())


def test_env_override_of_a_list_item_out_of_range_is_ignored() -> None:
    data: dict[str, object] = {"merchants": [{"id": "a"}]}
    assert apply_env(data, {"HUABEI_WATCH_MERCHANTS__5__TOKEN": "x"}) == []


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()])
def test_secrets_never_appear_in_logs(formatter: logging.Formatter, tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[admin]\nlisten = \"127.0.0.1:1\"\n", "utf-8")
    s = load_settings(p, environ={"HUABEI_WATCH_ADMIN__OPS_TOKEN": "tok-XYZZY"})
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(formatter)
    lg = logging.getLogger("test.secrets")
    lg.addHandler(handler)
    lg.setLevel(logging.INFO)
    try:
        lg.info("settings.loaded", extra={"settings": s, "admin_token": "tok-XYZZY", "ops": s.admin.ops_token})
    finally:
        lg.removeHandler(handler)
    out = buf.getvalue()
    assert "settings.loaded" in out
    assert "tok-XYZZY" not in out


def test_a_stray_environment_variable_is_named_in_the_error(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("", "utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(p, environ={"HUABEI_WATCH_KAFKA__PARTITION": "3"})
    assert info.value.problems == [
        "kafka.partition: unknown key (check the spelling; see config/default.toml for every key)"
        " (from environment variable HUABEI_WATCH_KAFKA__PARTITION)"
    ]


def test_unconfirmed_after_shorter_than_a_channel_timeout_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[notify.wecom]\ntimeout_seconds = 30\n[notify.delivery]\nlease = 10\nunconfirmed_after = 20\n", "utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(p, environ={})
    assert "unconfirmed_after (20 s) must be longer than the slowest channel's timeout_seconds (30 s)" in info.value.problems[0]


def _settings_with(section: str, body: str, tmp_path: Path) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(f"[sandbox]\nenabled = false\n{section}\n{body}\n", "utf-8")
    return load_settings(path, environ={})


@pytest.mark.parametrize(
    ("section", "body", "read", "seconds"),
    [
        ("[notify.delivery]", 'lease = "10m"', lambda s: s.notify.delivery.lease, 600.0),
        ("[payments.detection]", 'no_evidence_clear_s = "30m"', lambda s: s.payments.detection.no_evidence_clear_s, 1800.0),
        ("[alipay]", 'interval = "2h"', lambda s: s.alipay.interval, 7200.0),
        ("[notify.wecom]", 'timeout_seconds = "1500ms"', lambda s: s.notify.wecom.timeout_seconds, 1.5),
        ("[[sources]]", 'kind = "rss"\nid = "f"\nfeed_url = "http://127.0.0.1/f"\npoliteness_delay = "250ms"',
         lambda s: s.sources[0].politeness_delay, 0.25),
        ("[[probes]]", 'kind = "tcp"\nid = "p"\nhost = "127.0.0.1"\nport = 1\ninterval = "1m"\ntimeout = "2s"',
         lambda s: s.probes[0].interval, 60.0),
        ("[compat]", 'notice_ttl = "30d"', lambda s: s.compat.notice_ttl, 30 * 86400.0),
    ],
)
def test_every_duration_setting_takes_units_because_of_its_type(
    section: str, body: str, read: Callable[[Settings], float], seconds: float, tmp_path: Path
) -> None:
    assert read(_settings_with(section, body, tmp_path)) == seconds


@pytest.mark.parametrize(
    ("section", "body", "key"),
    [
        ("[[probes]]", 'kind = "tcp"\nid = "p"\nhost = "127.0.0.1"\nport = 1\nfailure_threshold = "3s"', "failure_threshold"),
        ("[notify.delivery]", 'jitter = "0.5s"', "notify.delivery.jitter"),  # a fraction, not seconds
        ("[alipay]", 'raise_after = "2m"', "alipay.raise_after"),  # a count
    ],
)
def test_a_setting_is_not_a_duration_because_its_name_looks_like_one(
    section: str, body: str, key: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as info:
        _settings_with(section, body, tmp_path)
    # Refused as what it is (a count, a fraction), never with a duration's error or bound.
    assert any(key in p and "must be a duration" not in p and " s" not in p.split(":", 1)[1]
               for p in info.value.problems), info.value.problems


def test_a_duration_out_of_bounds_or_unreadable_says_so_in_seconds(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _settings_with("[cashier]", 'off_ttl = "30s"\nmin_hold = "soon"', tmp_path)
    assert "cashier.off_ttl: must be >= 60 s" in info.value.problems
    assert any(p.startswith("cashier.min_hold: must be a duration") for p in info.value.problems), info.value.problems
