"""Issue 13's Kafka rows against the running daemon (subprocess, embedded broker, loopback): a
second Kafka client forging, replaying and bombing records changes nothing and stops nothing."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from huabei_watch.events import encode
from huabei_watch.events.auth import AUTH_HEADERS, PrivateKey, Signer, SigningKey
from tests.incidents import factories
from tests.security.daemon import Consumed, Daemon, produce, read, running, stolen_signer
from tests.support import eventually

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def daemon(tmp_path_factory: pytest.TempPathFactory, python_exe: str) -> AsyncIterator[Daemon]:
    async with running(tmp_path_factory.mktemp("hostile-kafka"), python_exe) as d:
        yield d


async def post(d: Daemon, path: str, body: Any) -> tuple[int, Any]:
    import aiohttp

    from tests.security.daemon import OPS

    async with aiohttp.ClientSession() as s, s.post(d.url + path, json=body,
                                                    headers={"Authorization": f"Bearer {OPS}"}) as r:
        return r.status, await r.json()


async def huabei_off(d: Daemon) -> list[str]:
    status, body = await d.get("/v1/merchants/m1/pay-channels", token="tok-m1")
    assert status == 200, body
    assert isinstance(body, dict)
    return list(body["disable_pay_channels"])


async def consumed_ok(d: Daemon, group: str) -> float:
    status, text = await d.get("/metrics", token=None)
    assert status == 200 and isinstance(text, str)
    m = re.search(rf'huabei_events_consumed_total{{group="{re.escape(group)}",outcome="ok"}} ([0-9.e+]+)', text)
    return float(m.group(1)) if m else 0.0


def unsigned(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(k, v) for k, v in headers if k not in AUTH_HEADERS]


def dlq_reasons(records: list[Consumed]) -> list[str]:
    return [dict(r.headers)["dlq_reason"].decode() for r in records]


async def test_forged_incident_revisions_are_dead_lettered_and_an_old_signed_one_replayed_changes_nothing(
    daemon: Daemon,
) -> None:
    status, opened = await post(daemon, "/v1/incidents", {"title": "维护演练", "summary_zh": "花呗暂停"})
    assert status == 201, opened
    incident_id = opened["incident_id"]
    await eventually(lambda: huabei_off(daemon), timeout=30, what="Huabei off for the incident")

    live = [r for r in await read(daemon, "huabei.incidents", at_least=1)
            if dict(r.headers).get("ce_subject") == incident_id.encode()]
    assert live, "the incident was published"
    original = live[0]
    forged_data = json.loads(original.value)
    forged_data.update(phase="resolved", revision=forged_data["revision"] + 50, resolved_at=forged_data["updated_at"])
    value = json.dumps(forged_data).encode()
    base = [(k, v) for k, v in unsigned(original.headers) if k != "ce_type"]
    base.append(("ce_type", b"huabei.incident.resolved"))
    attacker = Signer([SigningKey("incidents", PrivateKey.generate())])
    variants = [
        base,  # no signature at all
        list(attacker.sign("incidents", base, value)),  # "incidents", with a key of its own
        list(stolen_signer(daemon, "watcher").sign("watcher", base, value)),  # a real role's key, not allowed here
    ]
    for headers in variants:
        await produce(daemon, "huabei.incidents", value, headers, key=incident_id.encode())

    dead = await read(daemon, "huabei.incidents.dlq", at_least=6)  # three records for each of cashier and notify
    reasons = dlq_reasons(dead)
    assert len(reasons) == 6 and all(r.startswith("unauthenticated: ") for r in reasons), reasons
    assert {dict(r.headers)["dlq_group"] for r in dead} == {b"huabei-watch.cashier", b"huabei-watch.notify"}
    assert await huabei_off(daemon), "a forged 'resolved' must not switch Huabei on"
    _, listed = await daemon.get("/v1/incidents")
    assert isinstance(listed, dict)
    assert [(i["incident_id"], i["revision"], i["phase"]) for i in listed["incidents"]] == [(incident_id, 1, "active")]

    status, _ = await post(daemon, f"/v1/incidents/{incident_id}/resolve", {})
    assert status == 200
    await eventually(lambda: _not(huabei_off(daemon)), timeout=30, what="Huabei back on after the real resolve")
    before = await consumed_ok(daemon, "huabei-watch.cashier")
    await produce(daemon, "huabei.incidents", original.value, list(original.headers), key=original.key)
    await eventually(lambda: _more(consumed_ok(daemon, "huabei-watch.cashier"), before), timeout=30,
                     what="the replayed revision consumed")
    assert await huabei_off(daemon) == [], "a replayed old revision must change nothing"


async def _not(x: Any) -> bool:
    return not await x


async def _more(x: Any, than: float) -> bool:
    return bool(await x > than)


async def test_a_forged_maintenance_signal_and_json_bombs_are_dead_lettered_and_the_next_event_is_handled(
    daemon: Daemon,
) -> None:
    forged = encode(factories.maintenance(notice_id="forged-n"))
    headers = [(k, b"attacker" if k == "ce_source" else v) for k, v in forged.headers]
    assert forged.value is not None
    await produce(daemon, "huabei.signals", forged.value, headers, key=forged.key)
    bomb = b"[" * 200_000
    await produce(daemon, "huabei.signals", bomb, list(forged.headers), key=forged.key)
    payments_headers = [(k, b"huabei.payments.results" if k == "ce_type" else v) for k, v in forged.headers]
    await produce(daemon, "huabei.payments.results", bomb, payments_headers, key=b"m1")
    watcher = stolen_signer(daemon, "watcher")  # even correctly signed, a bomb is refused before parsing
    await produce(daemon, "huabei.signals", bomb, list(watcher.sign("watcher", list(forged.headers), bomb)))

    signals_dlq = dlq_reasons(await read(daemon, "huabei.signals.dlq", at_least=3))
    assert sum(r.startswith("unauthenticated: ") for r in signals_dlq) == 2, signals_dlq
    assert any("deeper than 32" in r for r in signals_dlq), signals_dlq
    payments_dlq = dlq_reasons(await read(daemon, "huabei.payments.results.dlq", at_least=1))
    assert payments_dlq[0].startswith("unauthenticated: ")
    _, listed = await daemon.get("/v1/incidents")
    assert isinstance(listed, dict) and not any("forged-n" in i["incident_id"] for i in listed["incidents"])

    # The consumers go on: a signal the watcher really signed opens its incident.
    start = datetime.now(UTC) + timedelta(days=30)
    real = factories.maintenance(notice_id="after-bombs", windows=((start, start + timedelta(hours=2)),),
                                 at=datetime.now(UTC))
    rec = encode(real)
    assert rec.value is not None
    await produce(daemon, "huabei.signals", rec.value, list(watcher.sign("watcher", rec.headers, rec.value)), key=rec.key)

    async def opened() -> bool:
        _, body = await daemon.get("/v1/incidents")
        return isinstance(body, dict) and any("after-bombs" in i["incident_id"] for i in body["incidents"])

    await eventually(opened, timeout=30, what="the incident of the signal after the bombs")
    status, ready = await daemon.get("/readyz", token=None)
    assert status == 200, ready


async def test_the_embedded_default_generates_its_keys_in_the_state_dir_for_the_owner_only(daemon: Daemon) -> None:
    folder = daemon.state / "keys"
    assert sorted(p.name for p in folder.iterdir()) == ["cashier.key", "incidents.key", "notify.key", "watcher.key"]
    assert all(p.stat().st_mode & 0o077 == 0 for p in folder.iterdir())
    assert folder.stat().st_mode & 0o077 == 0
