"""The status, incident and merchant pages in headless Chromium at desktop and phone widths: they
render without JavaScript, show the known state, and leave screenshots in test-artifacts/
(``status-desktop.png``, ``status-phone.png``, ``incident-*.png``, ``merchant-*.png``)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.merchants.links import merchant_link
from huabei_watch.root.settings import Settings
from huabei_watch.runtime.app import App
from tests.ops.dom import one
from tests.ops.state import ACTIVE_TITLE, LINK_SECRET, NOW, OFF_TOTAL, RESOLVED_TITLE, serving

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed (/usr/bin/chromium; apt-get install chromium)"),
]


@pytest.fixture(scope="module")
async def app(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App[Settings]]:
    # No ops token: loopback may read ops pages, which is how a browser on the host reaches it.
    async with serving(tmp_path_factory.mktemp("browser"), broker, f"b{uuid.uuid4().hex[:10]}", ops_token=None) as a:
        yield a


#: Window sizes: a laptop, and a phone (CSS pixels; the pages carry a viewport meta tag).
SIZES = {"desktop": (1280, 2200), "phone": (390, 3000)}


async def chromium(url: str, profile: Path, screenshot: Path | None = None, size: str = "desktop") -> str:
    """The DOM Chromium built for ``url``, optionally saving a screenshot. (``--dump-dom`` itself
    needs JavaScript on; the page has none, which tests/ops/test_status_page.py checks.)"""
    args = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--window-size={},{}".format(*SIZES[size]), "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ]
    if size == "phone":
        args.append("--user-agent=Mozilla/5.0 (Linux; Android 14) Mobile MicroMessenger/8.0")
    if screenshot is not None:
        args.append(f"--screenshot={screenshot}")
    proc = await asyncio.create_subprocess_exec(
        str(CHROMIUM), *args, "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    except TimeoutError:
        proc.kill()
        with contextlib.suppress(Exception):
            await proc.wait()
        raise AssertionError(f"chromium did not finish loading {url} within 90 s") from None
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


async def shoot(url: str, name: str, size: str, profile: Path) -> BeautifulSoup:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{name}-{size}.png"
    shot.unlink(missing_ok=True)
    dom = BeautifulSoup(await chromium(url, profile, shot, size), "lxml")
    assert shot.exists() and png_size(shot) == SIZES[size], f"{shot} missing or of the wrong size"
    return dom


@pytest.mark.parametrize("size", list(SIZES))
async def test_status_page_in_headless_chromium_shows_the_known_state(app: App[Settings], tmp_path: Path, size: str) -> None:
    base = f"http://127.0.0.1:{app.admin_port}"
    dom = await shoot(f"{base}/", "status", size, tmp_path / "profile")

    assert dom.title is not None and "huabei-watch" in dom.title.get_text()  # followed / -> /status
    open_incidents = dom.find(id="incidents-open")
    assert open_incidents is not None and ACTIVE_TITLE in open_incidents.get_text()
    assert RESOLVED_TITLE not in dom.get_text()
    switch = dom.find(id="platform-switch")
    assert switch is not None and "花呗已关闭" in switch.get_text()
    count = dom.find(id="off-count")
    assert count is not None and count.get_text() == str(OFF_TOTAL)
    grid = dom.find(id="availability-grid")
    assert grid is not None and grid.find("svg") is not None
    links = {a["href"] for a in grid.find_all("a")}
    assert {"/status/incidents/maint%3An1%3A0", "/status/incidents/outage%3Aold"} <= links
    assert len(grid.find_all("rect", class_="outage")) == 5  # the outage two days ago: 23:00 to 04:00
    probes = dom.find(id="probe-strips")
    assert probes is not None and len(probes.find_all("rect", class_="down")) == 3
    assert one(dom, id="outcome-bars").find("svg") is not None
    assert dom.find("script") is None
    if size == "phone":
        return

    found = BeautifulSoup(await chromium(f"{base}/status?q={quote('自有')}#merchants", tmp_path / "profile2"), "lxml")
    table = found.find(id="off-merchants")
    assert table is not None
    ids = [one(tr, "td").get_text(strip=True) for tr in table.find_all("tr")[1:]]
    assert ids == ["m-own"]
    search = found.find("input", attrs={"name": "q"})
    assert search is not None and search["value"] == "自有"



@pytest.mark.parametrize("size", list(SIZES))
async def test_incident_page_in_headless_chromium_shows_the_timeline(app: App[Settings], tmp_path: Path, size: str) -> None:
    base = f"http://127.0.0.1:{app.admin_port}"
    dom = await shoot(f"{base}/status/incidents/maint%3An1%3A0", "incident", size, tmp_path / "profile")
    assert one(dom, id="incident-title").get_text(strip=True) == ACTIVE_TITLE
    kinds = [li["data-what"] for li in one(dom, id="timeline-list").find_all("li")]
    assert {"opened", "phase", "switch", "message"} <= set(kinds)
    assert "wecom" in one(dom, id="message-counts").get_text()


@pytest.mark.parametrize("size", list(SIZES))
async def test_merchant_page_in_headless_chromium_via_a_signed_link(app: App[Settings], tmp_path: Path, size: str) -> None:
    url = merchant_link(f"http://127.0.0.1:{app.admin_port}", "m-auto", LINK_SECRET, NOW + timedelta(days=1))
    dom = await shoot(url, "merchant", size, tmp_path / "profile")
    assert one(dom, id="huabei-now").get_text(strip=True) == "花呗已暂停"
    assert ACTIVE_TITLE in one(dom, id="windows").get_text()
    assert dom.find(id="calendar-link") is not None
