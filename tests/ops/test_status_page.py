"""The status page over plain HTTP: what it shows for a known state, its auth, its tolerance."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import text

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.config.settings import MerchantConfig
from huabei_watch.db.engine import Database
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.root.settings import Settings
from huabei_watch.root.status_data import read_status
from huabei_watch.runtime.app import App
from tests.ops.dom import attr, one
from tests.ops.state import (
    ACTIVE_TITLE,
    NOW,
    OFF_TOTAL,
    RESOLVED_TITLE,
    UPCOMING_TITLE,
    merchants,
    seed,
    serving,
)

OPS = "status-ops-token"


@pytest.fixture(scope="module")
async def app(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App[Settings]]:
    async with serving(tmp_path_factory.mktemp("status"), broker, f"s{uuid.uuid4().hex[:10]}", ops_token=OPS) as a:
        yield a


async def fetch(app: App[Settings], path: str, token: str | None = OPS) -> tuple[int, str, aiohttp.ClientResponse]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{app.admin_port}{path}", headers=headers,
                                                  allow_redirects=False) as r:
        return r.status, await r.text(), r


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


def cells(page: BeautifulSoup, table_id: str) -> list[list[str]]:
    table = page.find(id=table_id)
    assert table is not None, f"no table #{table_id}"
    return [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in table.find_all("tr")[1:]]


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("wrong-token", 403), (OPS, 200)])
async def test_status_needs_the_ops_token_when_one_is_configured(app: App[Settings], token: str | None, status: int) -> None:
    got, _, _ = await fetch(app, "/status", token)
    assert got == status


async def test_root_redirects_to_status(app: App[Settings]) -> None:
    status, _, resp = await fetch(app, "/")
    assert status == 302
    assert resp.headers["Location"] == "/status"


async def test_status_shows_open_and_upcoming_incidents_in_shanghai_time(app: App[Settings]) -> None:
    status, html, resp = await fetch(app, "/status")
    assert status == 200 and resp.content_type == "text/html"
    page = soup(html)
    assert attr(one(page, "meta", **{"http-equiv": "refresh"}), "content") == "15"
    assert page.find("script") is None  # works without JavaScript
    (active,) = cells(page, "incidents-open")
    assert ACTIVE_TITLE in active[0] and "maintenance" in active[1] and "active" in active[2]
    assert "全平台" in active[3]
    assert active[4] == "2026-11-28 02:00 → 2026-11-28 04:00"
    assert active[5] == "2026-11-28 01:55 → 2026-11-28 04:05"
    assert active[6].startswith("否")
    (upcoming,) = cells(page, "incidents-upcoming")
    assert UPCOMING_TITLE in upcoming[0] and "m-own" in upcoming[3]
    assert upcoming[4] == "2026-11-29 10:00 → 2026-11-29 12:00"
    assert upcoming[6].startswith("是")
    assert RESOLVED_TITLE not in html


async def test_status_shows_platform_switch_off_and_counts_merchants_once(app: App[Settings]) -> None:
    page = soup((await fetch(app, "/status"))[1])
    assert "花呗已关闭" in one(page, id="platform-switch").get_text()
    after = one(page, id="switch").find_next("p")
    assert after is not None and "2026-11-28 04:05" in after.get_text()
    assert one(page, id="off-count").get_text() == str(OFF_TOTAL)
    rows = cells(page, "off-merchants")
    assert len(rows) == 50
    by_id = {r[0]: r for r in rows}
    assert "platform" in by_id["m-auto"][3]
    assert "merchant" in by_id["m-own"][3] and by_id["m-own"][4] == "pcredit"
    assert "pinned" in by_id["m-pinned"][3]
    assert "m-on" not in by_id and "m-expired" not in by_id


async def test_status_merchant_search_filters_by_name_and_id(app: App[Settings]) -> None:
    rows = cells(soup((await fetch(app, "/status?q=自有"))[1]), "off-merchants")
    assert [r[0] for r in rows] == ["m-own"]
    rows = cells(soup((await fetch(app, "/status?q=SHOP-05"))[1]), "off-merchants")
    assert [r[0] for r in rows] == [f"shop-{i:03d}" for i in range(50, 60)]
    page = soup((await fetch(app, "/status?q=常开"))[1])
    assert page.find(id="off-merchants") is None


async def test_status_paginates_the_merchant_list_by_50(app: App[Settings]) -> None:
    page = soup((await fetch(app, "/status?page=2"))[1])
    rows = cells(page, "off-merchants")
    assert len(rows) == OFF_TOTAL - 50 and rows[-1][0] == "shop-059"
    assert attr(one(page, "a", string="上一页 Previous"), "href") == "/status?page=1#merchants"
    assert page.find("a", string="下一页 Next") is None


async def test_status_shows_source_health_and_notification_failures(app: App[Settings]) -> None:
    page = soup((await fetch(app, "/status"))[1])
    sources = {r[0]: r for r in cells(page, "source-health")}
    assert "ok" in sources["alipay-notices"][2] and sources["alipay-notices"][1] == "2026-11-28 02:29"
    assert "degraded" in sources["dev-rss"][2] and sources["dev-rss"][3] == "5"
    assert "HTTP 503 from feed" in sources["dev-rss"][5]
    deliveries = cells(page, "deliveries")
    assert [d[1] for d in deliveries][:2] == ["失败 failed", "已发送 sent"]  # the newest two; history follows
    assert "errcode 45009" in deliveries[0][5]
    assert [d[4] for d in deliveries][:2] == ["1", "1"]  # a message sent at the first try was tried once
    checks = {r[0]: r[1] for r in cells(page, "checks")}
    assert "正常" in checks["database"] and "正常" in checks["broker"]


async def test_status_shows_probe_health_from_saved_probe_state(app: App[Settings]) -> None:
    page = soup((await fetch(app, "/status"))[1])
    [row] = cells(page, "probe-health")
    assert row[0] == "gateway" and "down" in row[1]
    assert row[4] == "5000 ms" and "timeout after 5 s" in row[5]


async def test_status_escapes_the_search_text(app: App[Settings]) -> None:
    html = (await fetch(app, "/status?q=%3Cscript%3Ex%3C/script%3E"))[1]
    assert "<script>x" not in html and "&lt;script&gt;x" in html


async def test_status_data_counts_and_searches_on_each_database(db: Database) -> None:
    await MerchantRegistry(db).upsert_many([MerchantConfig.model_validate(m) for m in merchants()], origin="config", now=NOW)
    await seed(db, history=False)
    data = await read_status(db, NOW)
    assert [i.title for i in data.incidents] == [ACTIVE_TITLE, UPCOMING_TITLE]
    assert data.platform.channels and data.off.total == OFF_TOTAL and data.off.pages == 2
    assert {s.source_id: s.health for s in data.sources} == {"alipay-notices": "ok", "dev-rss": "degraded"}
    assert dict(data.delivery_counts) == {"failed": 1, "sent": 1}
    found = await read_status(db, NOW, q="100%_店")
    assert found.off.matching == 0  # LIKE wildcards in the search text are literal
    found = await read_status(db, NOW, q="固定")
    assert [(m.merchant_id, m.why) for m in found.off.rows] == [("m-pinned", "pinned")]


async def test_status_data_reads_empty_and_missing_tables(db: Database) -> None:
    async with db.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS source_state"))
        await conn.execute(text("DROP TABLE IF EXISTS notification_deliveries"))
    data = await read_status(db, NOW, q="x", page=3)
    assert data.incidents == () and data.sources == () and data.deliveries == ()
    assert not data.platform.channels and data.off.total == 0 and data.off.page == 1
    assert set(data.missing) == {"source_state", "notification_deliveries"}
