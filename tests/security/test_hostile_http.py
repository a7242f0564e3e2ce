"""Issue 13's HTTP rows against the running daemon: payment-result replays and big batches, JSON
bombs and bad query values on the admin API, and ops actions on a database that takes no writes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from huabei_watch.signing import signed_headers
from tests.security.daemon import OPS, SECRET, Daemon, read, running
from tests.support import eventually

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def daemon(tmp_path_factory: pytest.TempPathFactory, python_exe: str) -> AsyncIterator[Daemon]:
    async with running(tmp_path_factory.mktemp("hostile-http"), python_exe) as d:
        yield d


async def call(d: Daemon, method: str, path: str, body: bytes | None = None,
               headers: dict[str, str] | None = None, token: str | None = OPS) -> tuple[int, Any, float]:
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    started = time.monotonic()
    async with aiohttp.ClientSession() as s, s.request(method, d.url + path, data=body, headers=h) as r:
        text = await r.text()
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            parsed = text
        return r.status, parsed, time.monotonic() - started


def results(n: int) -> bytes:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [{"merchant_id": "m1", "at": (now - timedelta(seconds=i % 200)).isoformat(), "success": i % 10 != 0,
             **({} if i % 10 else {"code": "20000"})} for i in range(n)]
    return json.dumps({"merchant_id": "m1", "results": rows}, separators=(",", ":")).encode()


async def test_a_payment_batch_replayed_with_the_signature_in_upper_case_is_a_duplicate(daemon: Daemon) -> None:
    body = results(3)
    headers = signed_headers("m1", SECRET, body, datetime.now(UTC))
    status, first, _ = await call(daemon, "POST", "/v1/payment-results", body, headers, token=None)
    assert status == 202 and "duplicate" not in first, first
    shouted = {**headers, "X-Huabei-Signature": headers["X-Huabei-Signature"].upper()}
    status, again, _ = await call(daemon, "POST", "/v1/payment-results", body, shouted, token=None)
    assert (status, again.get("duplicate")) == (202, True), again


async def test_a_batch_of_10000_results_under_the_body_limit_is_accepted_split_across_records(daemon: Daemon) -> None:
    body = results(10_000)
    assert 700_000 < len(body) < 1_048_576
    status, answer, _ = await call(daemon, "POST", "/v1/payment-results", body,
                                   signed_headers("m1", SECRET, body, datetime.now(UTC)), token=None)
    assert (status, answer) == (202, {"accepted": 10_000})
    records = await read(daemon, "huabei.payments.results", at_least=2)
    counted = [len(json.loads(r.value)["results"]) for r in records]
    assert sum(counted) >= 10_000 and max(len(r.value) for r in records) < 1_000_000


async def test_a_body_over_the_limit_is_a_final_413(daemon: Daemon) -> None:
    body = b" " * 1_100_000
    status, answer, _ = await call(daemon, "POST", "/v1/payment-results", body,
                                   signed_headers("m1", SECRET, body, datetime.now(UTC)), token=None)
    assert status == 413 and answer["error"] == "body_too_large"


BOMB = b"[" * 200_000


@pytest.mark.parametrize(
    ("path", "needs_signature"),
    [("/v1/payment-results", True), ("/v1/incidents", False), ("/v1/merchants/m1/force-on", False),
     ("/v1/incidents/nope/silence", False), ("/v1/incidents/nope/resolve", False)],
)
async def test_json_bombs_are_a_400(daemon: Daemon, path: str, needs_signature: bool) -> None:
    headers = signed_headers("m1", SECRET, BOMB, datetime.now(UTC)) if needs_signature else {}
    status, answer, _ = await call(daemon, "POST", path, BOMB, headers, token=None if needs_signature else OPS)
    assert status == 400, answer
    assert "deeper than 32" in json.dumps(answer, ensure_ascii=False)


@pytest.mark.parametrize(
    "path",
    ["/v1/pay-channels/changes?since=99999999999999999999999", "/v1/pay-channels/changes?since=-1",
     "/v1/pay-channels/changes?limit=abc", "/v1/incidents?all=maybe", "/status?page=99999999999999999999",
     "/v1/diagnose?code=" + "x" * 500],
)
async def test_bad_query_values_are_a_400(daemon: Daemon, path: str) -> None:
    status, answer, _ = await call(daemon, "GET", path)
    assert status == 400, answer
    assert isinstance(answer, dict) and "error" in answer


# -- a database that takes no writes ---------------------------------------------------------------------

@pytest.fixture
async def fresh(tmp_path: Path, python_exe: str) -> AsyncIterator[Daemon]:
    async with running(tmp_path, python_exe) as d:
        yield d


async def test_ops_actions_on_a_database_that_takes_no_writes_answer_503_and_nothing_happens_later(fresh: Daemon) -> None:
    d = fresh
    status, before, _ = await call(d, "POST", "/v1/incidents", json.dumps({"title": "锁库前"}).encode(),
                                   {"Content-Type": "application/json"})
    assert status == 201
    existing = before["incident_id"]
    lock = sqlite3.connect(d.state / "huabei-watch.db", timeout=30, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another writer holds the database: every write of the daemon waits, then fails
    try:
        async def not_ready() -> bool:
            status, body, _ = await call(d, "GET", "/readyz", token=None)
            return status == 503 and body["checks"]["database"] is False

        await eventually(not_ready, timeout=15, what="/readyz 503 with database false")
        attempts = [
            ("/v1/incidents", {"title": "锁库时"}),
            (f"/v1/incidents/{existing}/resolve", {}),
            (f"/v1/incidents/{existing}/silence", {"for": "2h"}),
            ("/v1/merchants/m1/force-on", {"incident_id": "*"}),
        ]
        answers = await asyncio.gather(*(call(d, "POST", p, json.dumps(b).encode(), {"Content-Type": "application/json"})
                                         for p, b in attempts))
        for (path, _), (status, body, took) in zip(attempts, answers, strict=True):
            assert status == 503, (path, body, took)
            assert set(body) == {"error", "reason"} and took < 15, (path, body, took)
    finally:
        lock.execute("ROLLBACK")
        lock.close()

    await eventually(lambda: _ready(d), timeout=15, what="/readyz 200 once the database takes writes again")
    # Later: the next safety tick, publish and reconcile passes have run; none of the refused commands appears.
    status, listed, _ = await call(d, "GET", "/v1/incidents?all=1")
    assert [(i["incident_id"], i["revision"], i["silenced_until"]) for i in listed["incidents"]] == [(existing, 1, None)]
    records = await read(d, "huabei.incidents", at_least=1)
    assert {json.loads(r.value)["revision"] for r in records} == {1}
    assert all(json.loads(r.value)["incident_id"] == existing for r in records)
    with sqlite3.connect(d.state / "huabei-watch.db") as db:
        assert db.execute("SELECT count(*) FROM cashier_overrides").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM incidents").fetchone() == (1,)


async def _ready(d: Daemon) -> bool:
    status, _, _ = await call(d, "GET", "/readyz", token=None)
    return status == 200
