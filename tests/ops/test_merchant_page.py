"""The merchant page over HTTP: who may open it (token, signed link), and what it says."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import aiohttp
import pytest
from bs4 import BeautifulSoup
from icalendar import Calendar

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.merchants.links import link_valid, merchant_link
from huabei_watch.root.settings import Settings
from huabei_watch.runtime.app import App
from tests.ops.dom import attr, one
from tests.ops.state import ACTIVE_TITLE, LINK_SECRET, NOW, OWN_TOKEN, serving

OPS = "merchant-page-ops-token"


@pytest.fixture(scope="module")
async def app(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App[Settings]]:
    async with serving(tmp_path_factory.mktemp("mpage"), broker, f"m{uuid.uuid4().hex[:10]}", ops_token=OPS) as a:
        yield a


async def get(app: App[Settings], path: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{app.admin_port}{path}", headers=headers) as r:
        return r.status, await r.text()


def link_path(merchant_id: str, secret: str = LINK_SECRET, expires_in: timedelta = timedelta(days=1)) -> str:
    url = urlsplit(merchant_link("http://x", merchant_id, secret, NOW + expires_in))
    return f"{url.path}?{url.query}"


def test_a_signed_link_opens_only_its_merchant_until_it_expires() -> None:
    url = urlsplit(merchant_link("https://ops.example", "m-own", LINK_SECRET, NOW + timedelta(hours=1)))
    q = dict(p.split("=") for p in url.query.split("&"))
    assert url.path == "/m/m-own"
    assert link_valid(LINK_SECRET, "m-own", q["exp"], q["sig"], NOW)
    assert not link_valid(LINK_SECRET, "m-auto", q["exp"], q["sig"], NOW)
    assert not link_valid(LINK_SECRET, "m-own", q["exp"], q["sig"], NOW + timedelta(hours=2))
    assert not link_valid("another-secret-0123", "m-own", q["exp"], q["sig"], NOW)


@pytest.mark.parametrize(
    ("path", "token", "status"),
    [
        ("/m/m-own", None, 401),
        ("/m/m-own", "wrong", 403),
        ("/m/m-own", OWN_TOKEN, 200),
        ("/m/m-auto", OWN_TOKEN, 403),
        ("/m/m-own", OPS, 200),
        (link_path("m-own"), None, 200),
        (link_path("m-own", expires_in=-timedelta(minutes=1)), None, 403),
        (link_path("m-own", secret="not-the-configured-secret"), None, 403),
        (link_path("m-own").replace("/m/m-own", "/m/m-auto"), None, 403),
        ("/m/nobody", OPS, 404),
    ],
)
async def test_who_may_open_a_merchant_page(app: App[Settings], path: str, token: str | None, status: int) -> None:
    got, _ = await get(app, path, token)
    assert got == status


async def test_merchant_page_says_huabei_is_off_with_recovery_time_windows_messages_and_advice(app: App[Settings]) -> None:
    status, html = await get(app, "/m/m-auto", OPS)
    assert status == 200
    page = BeautifulSoup(html, "lxml")
    assert one(page, id="huabei-now").get_text(strip=True) == "花呗已暂停"
    assert "04:05" in one(page, id="now").get_text()  # the platform switch's expected end (END + 5 min)
    assert "无需操作" in one(page, id="todo").get_text()
    assert one(page, id="messages").get_text().count("已送达") >= 1
    assert page.find("script") is None


async def test_merchant_page_shows_own_incident_advice_and_a_calendar_link_for_signed_links(app: App[Settings]) -> None:
    status, html = await get(app, link_path("m-own"))
    assert status == 200
    page = BeautifulSoup(html, "lxml")
    assert one(page, id="huabei-now").get_text(strip=True) == "花呗已暂停"
    assert "账户或接入" in one(page, id="now").get_text()  # its own incident holds it off, not the platform
    assert "发送失败" in one(page, id="messages").get_text()  # the seeded failed SMS
    calendar = page.find(id="calendar-link")
    assert calendar is not None
    status, body = await get(app, attr(calendar, "href"))
    assert status == 200
    uids = {str(e["uid"]) for e in Calendar.from_ical(body.encode()).walk("VEVENT")}
    assert "maint:n1:0@huabei-watch" in uids


async def test_a_notify_only_merchant_is_told_huabei_stays_on_at_its_cashier(app: App[Settings]) -> None:
    page = BeautifulSoup((await get(app, "/m/m-expired", OPS))[1], "lxml")
    assert one(page, id="huabei-now").get_text(strip=True) == "花呗正常"  # its own off expired a minute ago
    assert "未自动关闭花呗" in one(page, id="now").get_text()
    assert ACTIVE_TITLE in one(page, id="windows").get_text()
