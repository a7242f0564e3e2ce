"""A loopback announcement platform for ``bench_polling`` (run as a child process so its CPU is not
counted): ``python -m bench._list_servers --sources N [--items 28] [--max-seconds S]``.

One aiohttp server on 127.0.0.1, like one real platform: source ``i`` is the list page
``/list/<i>`` (``--items`` notices, newest first) with an ``ETag`` and a ``Last-Modified``;
``If-None-Match`` with the current tag gets 304. Notice ``n`` of source ``i`` is
``/notice/<i>/<n>``, a short maintenance notice in Chinese whose window is three days after the
server started (so each new notice is a maintenance still ahead).

Prints ``{"port": P}`` once listening, then reads commands on stdin, one a line, answering each
with one JSON line:
* ``stats`` -- requests so far (list pages, 304s, notice pages), notices added, sources served;
* ``change SHARE INTERVAL`` -- from now on, every ``INTERVAL`` seconds a share ``SHARE`` of the
  sources (a different slice each time) gets one more notice; ``change 0 1`` stops that;
* end of input stops the server (so does ``--max-seconds``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import TypedDict

from aiohttp import web

NOTICE = (
    "<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>"
    "<div class='notice-body'><p>尊敬的商户：为提升服务质量，我司将于{y}年{m}月{d}日02:00至04:00进行系统升级维护，"
    "期间花呗支付及花呗分期将暂停使用，请提前做好准备。给您带来不便，敬请谅解。</p></div></body></html>"
)


class Stats(TypedDict):
    """What the platform counted; sent as JSON on the ``stats`` command."""

    requests: int
    list_requests: int
    not_modified: int
    notice_requests: int
    added: int
    #: ``time.time()`` of the first list request, None before it.
    first_request_at: float | None
    served: int


class Platform:
    def __init__(self, sources: int, items: int) -> None:
        self.sources = sources
        self.items = items
        self.versions = [0] * sources
        self.modified = [time.time()] * sources
        self.window = datetime.now() + timedelta(days=3)
        self.stats: Stats = {"requests": 0, "list_requests": 0, "not_modified": 0, "notice_requests": 0, "added": 0,
                      "first_request_at": None, "served": 0}
        self._served = [False] * sources
        self._changer: asyncio.Task[None] | None = None

    async def list_page(self, request: web.Request) -> web.Response:
        st = self.stats
        st["requests"] += 1
        st["list_requests"] += 1
        if st["first_request_at"] is None:
            st["first_request_at"] = time.time()
        i = int(request.match_info["i"])
        v = self.versions[i]
        tag = f'"s{i}-v{v}"'
        headers = {"ETag": tag, "Last-Modified": format_datetime(datetime.fromtimestamp(self.modified[i]).astimezone(),
                                                                 usegmt=False)}
        if request.headers.get("If-None-Match") == tag:
            st["not_modified"] += 1
            return web.Response(status=304, headers=headers)
        if not self._served[i]:
            self._served[i] = True
            st["served"] += 1
        rows = "".join(
            f"<li><a href='/notice/{i}/{n}'>花呗系统维护公告 第{n}期</a><span class='date'>2026-11-{1 + n % 28:02d}</span></li>"
            for n in range(v + self.items - 1, v - 1, -1)
        )
        html = f"<html><head><meta charset='utf-8'></head><body><ul class='notices'>{rows}</ul></body></html>"
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=headers)

    async def notice(self, request: web.Request) -> web.Response:
        self.stats["requests"] += 1
        self.stats["notice_requests"] += 1
        n = int(request.match_info["n"])
        w = self.window
        html = NOTICE.format(title=f"花呗系统维护公告 第{n}期", y=w.year, m=w.month, d=w.day)
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    def change(self, share: float, interval: float) -> None:
        if self._changer is not None:
            self._changer.cancel()
            self._changer = None
        if share > 0:
            self._changer = asyncio.get_running_loop().create_task(self._change_every(share, interval))

    async def _change_every(self, share: float, interval: float) -> None:
        per_round = max(1, round(self.sources * share))
        start = 0
        while True:
            await asyncio.sleep(interval)
            now = time.time()
            for k in range(per_round):
                i = (start + k) % self.sources
                self.versions[i] += 1
                self.modified[i] = now
                self.stats["added"] += 1
            start = (start + per_round) % self.sources


async def serve(args: argparse.Namespace) -> None:
    platform = Platform(args.sources, args.items)
    app = web.Application()
    app.router.add_get("/list/{i}", platform.list_page)
    app.router.add_get("/notice/{i}/{n}", platform.notice)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=2048).start()
    print(json.dumps({"port": runner.addresses[0][1]}), flush=True)
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()
    loop.add_reader(sys.stdin.fileno(), lambda: lines.put_nowait(sys.stdin.readline()))
    deadline = loop.time() + args.max_seconds
    try:
        while True:
            line = await asyncio.wait_for(lines.get(), max(0.0, deadline - loop.time()))
            if not line:
                break
            cmd = line.split()
            if cmd and cmd[0] == "change":
                platform.change(float(cmd[1]), float(cmd[2]))
            print(json.dumps(platform.stats), flush=True)
    except TimeoutError:
        pass
    finally:
        loop.remove_reader(sys.stdin.fileno())
        await runner.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, required=True)
    ap.add_argument("--items", type=int, default=28)
    ap.add_argument("--max-seconds", type=float, default=1800.0)
    asyncio.run(serve(ap.parse_args()))


if __name__ == "__main__":
    main()
