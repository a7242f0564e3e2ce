"""The small commands: parse-notice, diagnose, incident (against a running daemon's admin API)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import ManualClock
from huabei_watch.root.cli import main
from tests.e2e.harness import OPS, running, settings_for

NOTICE = "尊敬的商户：2026年11月28日凌晨2:00至4:00，花呗及花呗分期服务暂停，期间请引导顾客使用其他支付方式。"


def test_parse_notice_reads_a_gbk_file_and_prints_the_documented_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "notice.txt"
    f.write_bytes(NOTICE.encode("gbk"))
    assert main(["parse-notice", str(f), "--published", "2026-11-26"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "maintenance"
    assert out["windows"][0]["start"] == "2026-11-28T02:00:00+08:00"
    assert out["windows"][0]["end"] == "2026-11-28T04:00:00+08:00"
    assert out["huabei_affected"] is True
    assert set(out["channels"]) == {"pcredit", "pcreditpayInstallment"}


async def test_parse_notice_reads_stdin(python_exe: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        python_exe, "-m", "huabei_watch.root.cli", "parse-notice", "--published", "2026-11-26",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate(NOTICE.encode())
    assert proc.returncode == 0
    assert json.loads(out)["windows"][0]["end"] == "2026-11-28T04:00:00+08:00"


def test_parse_notice_rejects_a_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse-notice", "--published", "28/11/2026"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_diagnose_prints_cause_advice_and_explanation_and_unknown_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cause"] == "buyer" and out["advice_zh"] and out["explanation"]
    assert main(["diagnose", "ACQ.SYSTEM_ERROR"]) == 0
    assert json.loads(capsys.readouterr().out)["cause"] == "platform"
    assert main(["diagnose", "NO.SUCH.CODE"]) == 0
    assert json.loads(capsys.readouterr().out)["cause"] == "unknown"


async def test_incident_command_opens_lists_silences_and_resolves_on_a_running_daemon(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, bus.topics.prefix)
    cfg = tmp_path / "cli.toml"
    cfg.write_text(f'[admin]\nops_token = "{OPS}"\n[daemon]\nstate_dir = "{(tmp_path / "s").as_posix()}"\n', "utf-8")
    async with running(settings, broker, ["incidents", "cashier"], ManualClock(settings_now())) as app:
        url = f"http://127.0.0.1:{app.admin_port}"

        async def cli(*args: str) -> tuple[int, str, str]:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "huabei_watch.root.cli", "--config", str(cfg), "incident", "--url", url, *args,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            out, err = await proc.communicate()
            return proc.returncode or 0, out.decode(), err.decode()

        code, out, err = await cli("open", "--title", "花呗异常", "--summary", "花呗暂时不可用")
        assert code == 0, err
        incident_id = json.loads(out)["incident_id"]
        code, out, _ = await cli("list")
        assert code == 0 and json.loads(out.splitlines()[0])["incident_id"] == incident_id
        code, out, _ = await cli("silence", incident_id, "--for", "2h")
        assert code == 0 and json.loads(out)["silenced_until"]
        code, out, err = await cli("force-on", "m-auto", "--incident", incident_id)
        assert code == 0 and json.loads(out)["forced_on"] == incident_id, err
        code, out, _ = await cli("resolve", incident_id)
        assert code == 0 and json.loads(out)["phase"] == "resolved"
        code, _, err = await cli("resolve", "no-such-incident")
        assert code == 2 and "HTTP 404" in err  # refused as asked: 2 (see huabei_watch.root.cli_ops)


def settings_now() -> datetime:
    return datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
