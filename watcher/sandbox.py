"""The built-in sandbox platform: a small loopback website that behaves like a payment platform.

The daemon serves it on 127.0.0.1 when ``config/default.toml`` is used, so a newcomer sees the whole
flow without touching a real platform: a notice list page (UTF-8), detail pages (one in GBK with
``<meta charset="gbk">`` and no charset in the header), a developer RSS feed, and a JSON health
endpoint. Notices are generated relative to ``start``: a Huabei maintenance beginning about ten
minutes later and lasting twenty, an older maintenance already over, a fee notice and an
interface-deprecation notice. Every page has an ETag and answers ``If-None-Match`` with 304.

Demo switches: ``/admin/health?down=1`` (``down=0`` to heal), ``/admin/maintenance?shift=30``
(the upcoming maintenance is postponed by 30 minutes: an edited notice) and
``/admin/maintenance?cancel=1`` (it is cancelled).
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from aiohttp import web

from huabei_watch.clock import SHANGHAI, Clock
from watcher.sources.announce_config import HtmlSource, RssSource

UPCOMING_ID = "n1004"


@dataclass(frozen=True, slots=True)
class SandboxNotice:
    notice_id: str
    title: str
    published: date
    paragraphs: tuple[str, ...]
    channel: str  # "notices" (HTML list) or "dev" (RSS feed)
    encoding: str = "utf-8"


@dataclass(slots=True)
class _State:
    start: datetime
    maintenance_start: datetime
    maintenance_minutes: int = 20
    postponed: bool = False
    cancelled: bool = False
    health_down: bool = False


def _ceil_minute(dt: datetime) -> datetime:
    floor = dt.replace(second=0, microsecond=0)
    return floor if floor == dt else floor + timedelta(minutes=1)


def _md_hm(dt: datetime) -> str:
    return f"{dt.month}月{dt.day}日 {dt:%H:%M}"


def _upcoming(state: _State) -> SandboxNotice:
    begin = state.maintenance_start
    end = begin + timedelta(minutes=state.maintenance_minutes)
    when = f"{_md_hm(begin)} 至 {end:%H:%M}"
    if state.cancelled:
        title = "关于取消花呗服务系统维护的公告"
        body = (
            "尊敬的商户：",
            f"原定于 {when} 进行的花呗服务系统维护已取消，花呗及花呗分期支付正常可用。",
            "感谢您的理解与支持。",
        )
    else:
        title = "关于花呗服务系统维护的公告" + ("（更新）" if state.postponed else "")
        lead = "因维护安排调整，" if state.postponed else "为提升服务稳定性，"
        body = (
            "尊敬的商户：",
            f"{lead}花呗服务将于 {when} 暂停，期间消费者使用花呗及花呗分期付款将无法完成支付，"
            "余额、银行卡等其他支付方式不受影响。",
            "建议您在维护期间引导消费者使用其他支付方式。给您带来不便，敬请谅解。",
        )
    return SandboxNotice(UPCOMING_ID, title, state.start.date(), body, "notices", encoding="gbk")


def _notices(state: _State) -> list[SandboxNotice]:
    day = state.start.date()
    past = day - timedelta(days=3)
    deadline = day + timedelta(days=35)
    fee_from = date(day.year + 1, 1, 1)
    return [
        _upcoming(state),
        SandboxNotice(
            "n1003", "关于 alipay.trade.pay 旧版接口下线的通知", day - timedelta(days=2),
            ("尊敬的开发者：",
             f"旧版 alipay.trade.pay 接口（1.0 版本）将于 {deadline.year}年{deadline.month}月{deadline.day}日 下线。",
             "请尽快将 SDK 升级至 4.x 版本并完成联调，逾期未升级的商户将无法正常收款。"),
            "dev",
        ),
        SandboxNotice(
            "n1002", "关于系统升级维护的公告", past,
            ("尊敬的商户：",
             f"我司将于 {past.year}年{past.month}月{past.day}日 02:00 至 04:00 进行系统升级，"
             "期间花呗、信用卡支付将暂停服务。",
             "感谢您的理解与支持。"),
            "notices",
        ),
        SandboxNotice(
            "n1001", "关于调整花呗分期商家服务费率的通知", day - timedelta(days=5),
            ("尊敬的商户：",
             f"自 {fee_from.year}年1月1日 起，花呗分期 3 期商家贴息服务费率调整为 2.3%，其他期数不变。",
             "如有疑问，请联系您的客户经理。"),
            "dev",
        ),
    ]


def _etagged(request: web.Request, body: bytes, content_type: str) -> web.Response:
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=body, headers={"ETag": etag, "Content-Type": content_type})


def _list_page(notices: list[SandboxNotice]) -> bytes:
    rows = "\n".join(
        f'    <li class="notice"><a href="/notices/{n.notice_id}.html">{html.escape(n.title)}</a>'
        f' <span class="date">{n.published.isoformat()}</span></li>'
        for n in notices
        if n.channel == "notices"
    )
    page = (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>平台公告</title></head>\n'
        f'<body><h1>平台公告</h1>\n  <ul class="notice-list">\n{rows}\n  </ul></body></html>\n'
    )
    return page.encode("utf-8")


def _detail_page(n: SandboxNotice) -> bytes:
    paras = "\n".join(f"    <p>{html.escape(p)}</p>" for p in n.paragraphs)
    page = (
        f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="{n.encoding}">'
        f"<title>{html.escape(n.title)}</title>\n<script>var track = 1;</script></head>\n"
        f'<body><h1 class="notice-title">{html.escape(n.title)}</h1>\n'
        f'  <div class="notice-meta">发布时间：{n.published.isoformat()}</div>\n'
        f'  <div class="notice-body">\n{paras}\n  </div></body></html>\n'
    )
    return page.encode(n.encoding)


def _rss(notices: list[SandboxNotice], base: str) -> bytes:
    items = []
    for n in notices:
        if n.channel != "dev":
            continue
        pub = datetime(n.published.year, n.published.month, n.published.day, 10, 0, tzinfo=SHANGHAI)
        desc = "".join(f"<p>{html.escape(p)}</p>" for p in n.paragraphs)
        items.append(
            f"  <item><title>{html.escape(n.title)}</title><link>{base}/notices/{n.notice_id}.html</link>"
            f'<guid isPermaLink="false">sandbox-{n.notice_id}</guid>'
            f"<pubDate>{pub:%a, %d %b %Y %H:%M:%S %z}</pubDate>"
            f"<description>{html.escape(desc)}</description></item>"
        )
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>开发者公告</title>'
        f"<link>{base}/dev/</link><description>sandbox developer notices</description>\n"
        + "\n".join(items)
        + "\n</channel></rss>\n"
    )
    return feed.encode("utf-8")


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("1", "true", "yes", "on")


def make_sandbox_app(clock: Clock, *, start: datetime, health_follows_maintenance: bool = False) -> web.Application:
    """The sandbox site. ``start`` anchors the generated notices (aware; read in Asia/Shanghai).

    With ``health_follows_maintenance`` the health endpoint also fails while the maintenance window
    is open (by ``clock``), as a real platform's would.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    local = start.astimezone(SHANGHAI)
    state = _State(start=local, maintenance_start=_ceil_minute(local + timedelta(minutes=10)))
    app = web.Application()

    def base(request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    async def index(request: web.Request) -> web.Response:
        raise web.HTTPFound("/notices/")

    async def notice_list(request: web.Request) -> web.Response:
        return _etagged(request, _list_page(_notices(state)), "text/html; charset=utf-8")

    async def detail(request: web.Request) -> web.Response:
        wanted = request.match_info["notice_id"]
        for n in _notices(state):
            if n.notice_id == wanted:
                # A GBK page says so only in its <meta>, like many older Chinese sites.
                ctype = "text/html" if n.encoding != "utf-8" else "text/html; charset=utf-8"
                return _etagged(request, _detail_page(n), ctype)
        raise web.HTTPNotFound(text="公告不存在")

    async def rss(request: web.Request) -> web.Response:
        return _etagged(request, _rss(_notices(state), base(request)), "application/rss+xml; charset=utf-8")

    async def health(request: web.Request) -> web.Response:
        now = clock.now()
        end = state.maintenance_start + timedelta(minutes=state.maintenance_minutes)
        in_window = not state.cancelled and state.maintenance_start <= now < end
        down = state.health_down or (health_follows_maintenance and in_window)
        body = {"status": "down" if down else "ok", "service": "huabei", "time": now.isoformat()}
        return web.json_response(body, status=503 if down else 200)

    async def admin_health(request: web.Request) -> web.Response:
        flag = _flag(request.query.get("down"))
        if flag is not None:
            state.health_down = flag
        return web.json_response({"health_down": state.health_down})

    async def admin_maintenance(request: web.Request) -> web.Response:
        shift = request.query.get("shift")
        if shift is not None:
            try:
                minutes = int(shift)
            except ValueError:
                raise web.HTTPBadRequest(text="shift must be whole minutes") from None
            state.maintenance_start += timedelta(minutes=minutes)
            state.postponed = True
        if _flag(request.query.get("cancel")):
            state.cancelled = True
        end = state.maintenance_start + timedelta(minutes=state.maintenance_minutes)
        return web.json_response(
            {"start": state.maintenance_start.isoformat(), "end": end.isoformat(), "cancelled": state.cancelled}
        )

    app.router.add_get("/", index)
    app.router.add_get("/notices/", notice_list)
    app.router.add_get("/notices/{notice_id}.html", detail)
    app.router.add_get("/dev/rss.xml", rss)
    app.router.add_get("/health", health)
    app.router.add_route("*", "/admin/health", admin_health)
    app.router.add_route("*", "/admin/maintenance", admin_maintenance)
    return app


def sandbox_sources(base_url: str, *, interval: float = 30.0) -> tuple[HtmlSource, RssSource]:
    """Source configs pointing at a sandbox served at ``base_url`` (e.g. ``http://127.0.0.1:8765``)."""
    base = base_url.rstrip("/")
    html_source = HtmlSource(
        id="sandbox-notices",
        list_url=f"{base}/notices/",
        item_selector="ul.notice-list li.notice",
        link_selector="a",
        date_selector="span.date",
        date_format="%Y-%m-%d",
        body_selector="div.notice-body",
        interval=interval,
        politeness_delay=0.2,
        timeout=10.0,
    )
    rss_source = RssSource(
        id="sandbox-dev-feed", feed_url=f"{base}/dev/rss.xml", interval=interval, politeness_delay=0.2, timeout=10.0
    )
    return html_source, rss_source


@dataclass(frozen=True, slots=True)
class SandboxServer:
    base_url: str
    runner: web.AppRunner

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_sandbox(
    clock: Clock, *, start: datetime, host: str = "127.0.0.1", port: int = 0, health_follows_maintenance: bool = False
) -> SandboxServer:
    """Serve the sandbox on ``host:port`` (0 = any free port); the caller closes it."""
    runner = web.AppRunner(make_sandbox_app(clock, start=start, health_follows_maintenance=health_follows_maintenance))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    return SandboxServer(base_url=f"http://{host}:{bound[1]}", runner=runner)


__all__ = ["SandboxNotice", "SandboxServer", "make_sandbox_app", "sandbox_sources", "start_sandbox"]
