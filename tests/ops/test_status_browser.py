"""The status page in headless Chromium: renders without JavaScript, shows the known state, and
leaves a screenshot in test-artifacts/status.png."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.runtime.app import App
from tests.ops.state import ACTIVE_TITLE, OFF_TOTAL, RESOLVED_TITLE, serving

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed (/usr/bin/chromium; apt-get install chromium)"),
]


@pytest.fixture(scope="module")
async def app(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App]:
    # No ops token: loopback may read ops pages, which is how a browser on the host reaches it.
    async with serving(tmp_path_factory.mktemp("browser"), broker, f"b{uuid.uuid4().hex[:10]}", ops_token=None) as a:
        yield a


async def chromium(url: str, profile: Path, screenshot: Path | None = None) -> str:
    """The DOM Chromium built for ``url``, optionally saving a screenshot. (``--dump-dom`` itself
    needs JavaScript on; the page has none, which tests/ops/test_status_page.py checks.)"""
    args = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--window-size=1280,2200",
    ]
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


async def test_status_page_in_headless_chromium_shows_the_known_state(app: App, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "status.png"
    shot.unlink(missing_ok=True)
    base = f"http://127.0.0.1:{app.admin_port}"
    dom = BeautifulSoup(await chromium(f"{base}/", tmp_path / "profile", shot), "lxml")

    assert dom.title is not None and "huabei-watch" in dom.title.get_text()  # followed / -> /status
    open_incidents = dom.find(id="incidents-open")
    assert open_incidents is not None and ACTIVE_TITLE in open_incidents.get_text()
    assert RESOLVED_TITLE not in dom.get_text()
    switch = dom.find(id="platform-switch")
    assert switch is not None and "花呗已关闭" in switch.get_text()
    count = dom.find(id="off-count")
    assert count is not None and count.get_text() == str(OFF_TOTAL)
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    found = BeautifulSoup(await chromium(f"{base}/status?q={quote('自有')}#merchants", tmp_path / "profile2"), "lxml")
    table = found.find(id="off-merchants")
    assert table is not None
    ids = [tr.find("td").get_text(strip=True) for tr in table.find_all("tr")[1:]]
    assert ids == ["m-own"]
    search = found.find("input", attrs={"name": "q"})
    assert search is not None and search["value"] == "自有"

