"""Key settings: check-config reports missing production keys; keys generate round-trips; the
embedded default generates; secrets stay out of repr and logs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from huabei_watch.bus.keys import load_keyring, problems
from huabei_watch.config.loader import load_settings as load_raw
from huabei_watch.config.settings import DaemonSettings, SecuritySettings
from huabei_watch.errors import ConfigError
from huabei_watch.root.cli import main
from huabei_watch.root.settings import Settings, load_settings

ROOT = Path(__file__).parent.parent.parent
PRODUCTION = ROOT / "config" / "production.example.toml"


def generated(capsys: pytest.CaptureFixture[str], *principals: str) -> str:
    assert main(["keys", "generate", *principals]) == 0
    return capsys.readouterr().out


def test_check_config_reports_every_missing_production_key_by_key_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(PRODUCTION), "--role", "cashier"]) == 2
    err = capsys.readouterr().err
    assert "security.principals.cashier.private_key: missing" in err
    assert "HUABEI_WATCH_SECURITY__PRINCIPALS__CASHIER__PRIVATE_KEY" in err
    for role in ("watcher", "incidents", "cashier", "notify"):
        assert f"security.principals.{role}.public_keys: missing" in err
    assert "security.principals.incidents.private_key" not in err  # a cashier process needs only its own


def test_generated_keys_make_a_production_config_complete(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = generated(capsys)
    privates = dict(re.findall(r"\[security\.principals\.(\w+)\]\nprivate_key = \"([^\"]+)\"", text))
    public_only = re.sub(r"^private_key = .*\n", "", text, flags=re.MULTILINE)
    cfg = tmp_path / "prod.toml"
    cfg.write_text(PRODUCTION.read_text("utf-8") + "\n" + public_only, "utf-8")
    for name in ("KAFKA__SASL_PASSWORD", "ADMIN__OPS_TOKEN"):
        monkeypatch.setenv(f"HUABEI_WATCH_{name}", "x")
    ca = tmp_path / "kafka-ca.pem"  # the example's CA file is read by check-config: give one that exists
    ca.write_text("-----BEGIN CERTIFICATE-----\n", "utf-8")
    monkeypatch.setenv("HUABEI_WATCH_KAFKA__SSL_CAFILE", str(ca))
    assert main(["check-config", str(cfg), "--role", "notify"]) == 2  # no private key for notify yet
    monkeypatch.setenv("HUABEI_WATCH_SECURITY__PRINCIPALS__NOTIFY__PRIVATE_KEY", privates["notify"])
    assert main(["check-config", str(cfg), "--role", "notify"]) == 0, capsys.readouterr().err
    settings = load_settings(cfg)
    assert privates["notify"] not in repr(settings)  # a secret, redacted
    ring = load_keyring(settings.daemon, settings.security, embedded=False, roles=["notify"])
    assert ring.signer is not None and ring.signer.principals == {"notify"}


def test_a_malformed_key_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[security.principals.incidents]\npublic_keys = ["not-a-key"]\n', "utf-8")
    with pytest.raises(ConfigError) as info:
        load_raw(Settings, cfg, environ={})
    assert info.value.problems[0].startswith("security.principals.incidents.public_keys: ")


def test_the_embedded_default_generates_every_role_key_once_and_reuses_it(tmp_path: Path) -> None:
    daemon = DaemonSettings(state_dir=tmp_path / "state")
    security = SecuritySettings()
    assert problems(daemon, security, embedded=True, roles=["watcher"]) == []
    first = load_keyring(daemon, security, embedded=True, roles=["watcher"])
    files = sorted(p.name for p in (tmp_path / "state" / "keys").iterdir())
    assert files == ["cashier.key", "incidents.key", "notify.key", "watcher.key"]
    again = load_keyring(daemon, security, embedded=True, roles=["watcher"])
    assert first.signer is not None and again.signer is not None
    assert first.signer._keys["watcher"].key_id == again.signer._keys["watcher"].key_id


def test_without_the_embedded_broker_nothing_is_generated_and_start_is_refused(tmp_path: Path) -> None:
    daemon = DaemonSettings(state_dir=tmp_path / "state")
    with pytest.raises(ConfigError, match=r"security\.principals\.watcher\.private_key: missing"):
        load_keyring(daemon, SecuritySettings(), embedded=False, roles=["watcher"])
    assert not (tmp_path / "state" / "keys").exists()


def test_an_outside_producer_may_not_be_given_a_private_key(tmp_path: Path) -> None:
    from huabei_watch.events.auth import PrivateKey, private_key_text

    security = SecuritySettings.model_validate(
        {"principals": {"platform": {"private_key": private_key_text(PrivateKey.generate())}}})
    found = problems(DaemonSettings(state_dir=tmp_path), security, embedded=True, roles=[])
    assert found and found[0].startswith("security.principals.platform.private_key: 'platform' is not a role")
