"""Loopback announcement sites for ``bench_polling`` (run as a child process so their CPU is not
counted): ``python -m bench._list_servers --sources N --servers K --interval S --change-share F``.

Prints one JSON line ``{"ports": [...]}`` once listening, then serves until stdin closes (or
``--max-seconds``). Source ``i`` lives on server ``i % K`` at ``/list/<i>``: an HTML list of ten
notices with an ``ETag``; ``If-None-Match`` with the current tag gets 304. Every ``interval``
seconds a share ``F`` of the sources (a different slice each time) gets one more notice (a new
ETag); its page ``/notice/<i>/<n>`` is a short maintenance notice in Chinese.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from aiohttp import web

NOTICE = (
    "<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>"
    "<div class='notice-body'><p>尊敬的商户：为提升服务质量，我司将于2026年12月{day}日02:00至04:00进行系统升级维护，"
    "期间花呗支付及花呗分期将暂停使用，请提前做好准备。给您带来不便，敬请谅解。</p></div></body></html>"
)


class Sites:
    def __init__(self, sources: int, interval: float, change_share: float) -> None:
        self.sources = sources
        self.interval = interval
        self.slices = max(1, round(1 / change_share)) if change_share > 0 else 0
        self.started = time.monotonic()
        self.requests = 0
        self.not_modified = 0

    def version(self, i: int) -> int:
        """How many notices were added to source ``i`` so far."""
        if not self.slices:
            return 0
        epoch = int((time.monotonic() - self.started) / self.interval)
        # Source i changes in the epochs e >= 1 with e % slices == i % slices.
        r = i % self.slices
        if r == 0:
            return epoch // self.slices
        return (epoch - r) // self.slices + 1 if epoch >= r else 0

    async def list_page(self, request: web.Request) -> web.Response:
        self.requests += 1
        i = int(request.match_info["i"])
        v = self.version(i)
        tag = f'"s{i}-v{v}"'
        if request.headers.get("If-None-Match") == tag:
            self.not_modified += 1
            return web.Response(status=304, headers={"ETag": tag})
        items = "".join(
            f"<li><a href='/notice/{i}/{n}'>花呗系统维护公告 第{n}期</a><span class='date'>2026-11-{1 + n % 28:02d}</span></li>"
            for n in range(v + 9, v - 1, -1)
        )
        html = f"<html><head><meta charset='utf-8'></head><body><ul class='notices'>{items}</ul></body></html>"
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers={"ETag": tag})

    async def notice(self, request: web.Request) -> web.Response:
        self.requests += 1
        n = int(request.match_info["n"])
        html = NOTICE.format(title=f"花呗系统维护公告 第{n}期", day=1 + n % 28)
        return web.Response(text=html, content_type="text/html", charset="utf-8")


async def serve(args: argparse.Namespace) -> None:
    sites = Sites(args.sources, args.interval, args.change_share)
    runners: list[web.AppRunner] = []
    ports: list[int] = []
    for _ in range(args.servers):
        app = web.Application()
        app.router.add_get("/list/{i}", sites.list_page)
        app.router.add_get("/notice/{i}/{n}", sites.notice)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
        runners.append(runner)
        ports.append(runner.addresses[0][1])
    print(json.dumps({"ports": ports}), flush=True)
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), lambda: closed.set() if not sys.stdin.readline() else None)
    try:
        await asyncio.wait_for(closed.wait(), args.max_seconds)
    except TimeoutError:
        pass
    finally:
        loop.remove_reader(sys.stdin.fileno())
        print(json.dumps({"requests": sites.requests, "not_modified": sites.not_modified}), flush=True)
        for r in runners:
            await r.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sources", type=int, required=True)
    ap.add_argument("--servers", type=int, default=4)
    ap.add_argument("--interval", type=float, default=30.0)
    ap.add_argument("--change-share", type=float, default=0.05)
    ap.add_argument("--max-seconds", type=float, default=900.0)
    asyncio.run(serve(ap.parse_args()))


if __name__ == "__main__":
    main()
