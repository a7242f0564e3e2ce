"""Helpers for source tests: a loopback fake platform serving saved pages and a tiny stand-in for
the notice understanding (the real one lives in ``watcher/notices`` and is tested there)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer

from huabei_watch.clock import SHANGHAI
from huabei_watch.events.common import PCREDIT, PCREDIT_INSTALLMENT, Window

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
#: 18:00 in Shanghai: the fixture maintenance (18:10-18:30 the same day) is ten minutes ahead.
START = datetime(2026, 11, 26, 18, 0, tzinfo=SHANGHAI)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: bool = True


@dataclass
class Site:
    """A fake platform: ``pages`` (path -> Page or handler) can be changed between polls."""

    server: TestServer
    pages: dict[str, Page | Handler] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    conditional_hits: Counter[str] = field(default_factory=Counter)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        if "If-None-Match" in request.headers:
            self.conditional_hits[request.path] += 1
        entry = self.pages.get(request.path)
        if entry is None:
            return web.Response(status=404, text="not found")
        if not isinstance(entry, Page):
            return await entry(request)
        headers = {"Content-Type": entry.content_type}
        if entry.etag:
            tag = '"' + hashlib.sha1(entry.body).hexdigest()[:12] + '"'
            headers["ETag"] = tag
            if request.headers.get("If-None-Match") == tag:
                return web.Response(status=304, headers={"ETag": tag})
        return web.Response(status=entry.status, body=entry.body, headers=headers)


# ---------------------------------------------------------------- stand-in understanding


@dataclass(frozen=True)
class StandIn:
    kind: str
    windows: tuple[Window, ...]
    channels: tuple[str, ...]
    products: tuple[str, ...]
    huabei_affected: bool
    confidence: float
    needs_review: bool

    def metric_labels(self) -> tuple[str, str]:
        return self.kind, "true" if self.needs_review else "false"


_SPAN = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日\s*(\d{1,2}):(\d{2})\s*至\s*(\d{1,2}):(\d{2})")


def standin_understand(text: str, *, published: date, title: str = "") -> StandIn:
    """Just enough understanding for the watcher tests: 'M月D日 HH:MM 至 HH:MM' spans."""
    whole = title + "\n" + text
    cancelled = "取消" in whole
    windows = []
    for m in _SPAN.finditer(whole):
        year = int(m.group(1) or published.year)
        month, day = int(m.group(2)), int(m.group(3))
        start = datetime(year, month, day, int(m.group(4)), int(m.group(5)), tzinfo=SHANGHAI)
        end = datetime(year, month, day, int(m.group(6)), int(m.group(7)), tzinfo=SHANGHAI)
        windows.append(Window(start=start, end=end, status="cancelled" if cancelled else "scheduled"))
    huabei = "花呗" in whole
    if any(word in whole for word in ("维护", "暂停", "升级")) and windows:
        kind = "maintenance"
    elif "费率" in whole:
        kind = "fee_policy"
    elif "接口" in whole:
        kind = "interface"
    else:
        kind = "other"
    channels = (PCREDIT, PCREDIT_INSTALLMENT) if huabei else ()
    return StandIn(kind, tuple(windows), channels, ("花呗",) if huabei else (), huabei, 0.9, False)
