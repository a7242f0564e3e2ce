"""check-config refuses notify mistakes that would otherwise drop or garble messages at run time."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest

from huabei_watch.errors import ConfigError
from huabei_watch.root.cli import main
from huabei_watch.root.settings import Settings, parse_settings

ALIYUN = {"access_key_id": "ak", "access_key_secret": "sk", "sign_name": "花呗助手"}
TENCENT = {"secret_id": "id", "secret_key": "key", "sdk_app_id": "1400000001", "sign_name": "花呗助手"}


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_settings(data)
    return list(err.value.problems)


def test_unknown_channel_names_are_errors_with_their_key_path() -> None:
    found = problems({
        "merchants": [{"id": "m1", "channels": ["wecom", "smss"], "contacts": {"wecom_robot_key": "k"}}],
        "notify": {"console": {}, "ops": [{"channel": "console"}, {"channel": "wecomm"}]},
    })
    assert any(p.startswith("merchants[0].channels: unknown channel 'smss'") for p in found), found
    assert any(p.startswith("notify.ops[1].channel: unknown channel 'wecomm'") for p in found), found


def test_a_wecom_channel_without_a_robot_key_is_an_error() -> None:
    found = problems({"notify": {"wecom": {}, "ops": [{"channel": "wecom"}]}})
    assert found == ["notify.ops[0].address: channel 'wecom' needs a robot key (or notify.wecom.default_key)"]
    found = problems({"merchants": [{"id": "m1", "channels": ["wecom"]}]})
    assert found == ["merchants[0].contacts.wecom_robot_key: required by the channels listed (wecom)"]


def test_an_ops_route_on_a_channel_without_its_section_is_an_error() -> None:
    found = problems({"notify": {"ops": [{"channel": "dingtalk", "address": "tok"}]}})
    assert found == ["notify.ops[0].channel: no [notify.dingtalk] section (or it is disabled): add it, "
                     "or route ops elsewhere"]


def test_a_template_id_missing_for_a_phase_is_an_error_unless_a_default_covers_it() -> None:
    found = problems({"notify": {"tencent_sms": TENCENT | {"templates": {"outage.opened": "1001"}}}})
    (line,) = found
    assert line.startswith("notify.tencent_sms.templates: no template id for maintenance.announced, ")
    assert "outage.opened.manual" in line and "outage.opened," not in line
    assert line.endswith("or set notify.tencent_sms.default_template_id")
    ok = parse_settings({"notify": {"tencent_sms": TENCENT | {"default_template_id": "1000"}}})
    assert ok.notify.template_ids() == {"tencent_sms": {}}


def test_a_legacy_template_map_works_for_one_provider_and_names_the_move_for_two() -> None:
    legacy = {"outage.opened": "SMS_1"}
    one = parse_settings({"notify": {"aliyun_sms": ALIYUN | {"default_template_code": "SMS_0"},
                                     "templates": {"sms_template_ids": legacy}}})
    assert one.notify.template_ids() == {"aliyun_sms": legacy}
    found = problems({"notify": {"aliyun_sms": ALIYUN | {"default_template_code": "SMS_0"},
                                 "tencent_sms": TENCENT | {"default_template_id": "1000"},
                                 "templates": {"sms_template_ids": legacy}}})
    assert found == ["notify.templates.sms_template_ids: one map cannot serve aliyun_sms, tencent_sms: move each "
                     "entry to notify.<channel>.templates (same keys, that provider's ids)"]


def test_sms_provider_takes_one_name_or_an_order() -> None:
    one = parse_settings({"notify": {"sms_provider": "tencent_sms", "tencent_sms": TENCENT | {"default_template_id": "1"}}})
    assert one.notify.sms_route() == ("tencent_sms",)
    both = parse_settings({"notify": {"sms_provider": ["tencent_sms", "aliyun_sms"],
                                      "tencent_sms": TENCENT | {"default_template_id": "1"},
                                      "aliyun_sms": ALIYUN | {"default_template_code": "SMS_0"}}})
    assert both.notify.sms_route() == ("tencent_sms", "aliyun_sms")
    assert both.notify.sms_route(("aliyun_sms", "sms")) == ("aliyun_sms", "tencent_sms")


def test_quiet_hours_as_one_string_is_accepted_and_a_bad_one_says_the_form() -> None:
    s: Settings = parse_settings({"notify": {"plan": {"quiet_hours": "22:00-08:00"}}})
    assert (s.notify.plan.quiet_hours.start, s.notify.plan.quiet_hours.end) == (time(22, 0), time(8, 0))
    found = problems({"notify": {"plan": {"quiet_hours": "10pm to 8am"}}})
    assert found == ['notify.plan.quiet_hours: must be "HH:MM-HH:MM" (e.g. "22:00-08:00") or '
                     "{ start = \"22:00\", end = \"08:00\" }, not '10pm to 8am'"]


def test_check_config_prints_each_channel_mistake_with_its_key_path(tmp_path: Path, capsys: Any) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[notify]\nops = [{ channel = "smss" }]\n[[merchants]]\nid = "m1"\nchannels = ["wecom"]\n', "utf-8")
    assert main(["check-config", str(cfg)]) == 2
    err = capsys.readouterr()
    text = err.out + err.err
    assert "notify.ops[0].channel: unknown channel 'smss'" in text
    assert "merchants[0].contacts.wecom_robot_key: required by the channels listed (wecom)" in text
