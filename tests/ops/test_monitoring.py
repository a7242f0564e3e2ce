"""deploy/'s alert rules and Grafana dashboard name only metrics that a daemon running every role
serves at /metrics (a renamed metric would leave an alert that can never fire)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.root.daemon import start_app
from huabei_watch.root.settings import ROLES, parse_settings

yaml = pytest.importorskip("yaml", reason="PyYAML reads the alert rules")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "huabei-watch.json"
#: Series Prometheus makes itself, not the daemon.
BUILT_IN = {"up"}
NAME = re.compile(r"\b(huabei_[a-z0-9_]+|up)\b(?!\s*\()")


def rule_exprs() -> list[str]:
    doc = yaml.safe_load(RULES.read_text("utf-8"))
    return [r["expr"] for g in doc["groups"] for r in g["rules"]]


def dashboard_exprs() -> list[str]:
    doc = json.loads(DASHBOARD.read_text("utf-8"))
    return [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]


def names_in(exprs: list[str]) -> set[str]:
    return {m for e in exprs for m in NAME.findall(e)}


def served(text: str) -> set[str]:
    """Every series name the exposition offers (with _total, _bucket, _sum, _count as served)."""
    out: set[str] = set()
    for family in text_string_to_metric_families(text):
        out.add(family.name)
        if family.type == "counter":
            out.add(family.name + "_total")
        if family.type == "histogram":
            out.update(family.name + s for s in ("_bucket", "_sum", "_count"))
        out.update(s.name for s in family.samples)
    return out


def test_the_rules_and_dashboard_name_metrics_at_all() -> None:
    assert len(rule_exprs()) >= 10 and len(dashboard_exprs()) >= 10
    assert "huabei_probe_up" in names_in(rule_exprs()) and "huabei_consumer_lag" in names_in(dashboard_exprs())


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_promtool_accepts_the_rules_and_their_unit_tests() -> None:
    for args in (["check", "rules", str(RULES)], ["test", "rules", str(DEPLOY / "prometheus" / "alerts_test.yml")]):
        done = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


async def test_every_metric_in_rules_and_dashboard_is_served_by_a_daemon_running_every_role(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    prefix = f"mon{uuid.uuid4().hex[:8]}"
    settings = parse_settings({
        "daemon": {"state_dir": str(tmp_path / "state"), "shutdown_timeout": 10},
        "admin": {"listen": "127.0.0.1:0"},
        "kafka": {"topic_prefix": prefix, "group_prefix": prefix, "partitions": 1, "session_timeout": 6},
        "sandbox": {"enabled": True},  # one notice source and one health probe on loopback
    })
    app = await start_app(settings, list(ROLES), bootstrap=broker.bootstrap_servers)
    try:
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{app.admin_port}/metrics") as r:
            assert r.status == 200
            text = await r.text()
    finally:
        await app.stop()
    have = served(text) | BUILT_IN
    for what, exprs in (("alert rules", rule_exprs()), ("dashboard", dashboard_exprs())):
        missing = sorted(names_in(exprs) - have)
        assert not missing, f"{what} name metrics /metrics does not serve: {missing}"
