"""The fetcher against a loopback fake platform: charsets, 304, size limit, timeouts, redirects."""

from __future__ import annotations

import asyncio
import codecs
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from huabei_watch.clock import ManualClock
from huabei_watch.errors import InvalidInput, PermanentError, TransientError
from tests.sources.helpers import Page, Site, page
from watcher.sources.charset import decode_body, normalize_label
from watcher.sources.fetch import USER_AGENT, Fetcher

# ---------------------------------------------------------------- charset detection (pure)

GBK_TEXT = "花呗服务将于 11月26日 18:10 至 18:30 暂停"


@pytest.mark.parametrize(
    ("body", "content_type", "override", "expected_encoding", "how"),
    [
        pytest.param(GBK_TEXT.encode("gbk"), "text/html; charset=GBK", None, "gb18030", "header", id="header-gbk"),
        pytest.param(
            b'<meta charset="gb2312">' + GBK_TEXT.encode("gbk"), "text/html", None, "gb18030", "meta",
            id="meta-charset-gb2312",
        ),
        pytest.param(
            b'<meta http-equiv="Content-Type" content="text/html; charset=gbk">' + GBK_TEXT.encode("gbk"),
            None, None, "gb18030", "meta", id="meta-http-equiv",
        ),
        pytest.param(
            b'<?xml version="1.0" encoding="GBK"?><rss>' + GBK_TEXT.encode("gbk"), None, None, "gb18030", "meta",
            id="xml-declaration",
        ),
        pytest.param(codecs.BOM_UTF8 + GBK_TEXT.encode("utf-8"), None, None, "utf-8-sig", "bom", id="utf8-bom"),
        pytest.param(GBK_TEXT.encode("utf-8"), None, None, "utf-8", "guess", id="plain-utf8"),
        pytest.param(GBK_TEXT.encode("gb18030"), "text/html", None, "gb18030", "guess", id="undeclared-gbk"),
        pytest.param(
            GBK_TEXT.encode("utf-8"), "text/html; charset=gbk", None, "utf-8", "guess",
            id="header-lies-utf8-wins",
        ),
        pytest.param(
            GBK_TEXT.encode("gbk"), "text/html; charset=utf-8", "gbk", "gb18030", "override",
            id="override-wins-over-header",
        ),
        pytest.param(
            GBK_TEXT.encode("gbk"), "text/html; charset=x-unknown-cs", None, "gb18030", "guess",
            id="unknown-label-ignored",
        ),
    ],
)
def test_charset_detection_order(
    body: bytes, content_type: str | None, override: str | None, expected_encoding: str, how: str
) -> None:
    decoded = decode_body(body, content_type=content_type, override=override)
    assert GBK_TEXT in decoded.text
    assert (decoded.encoding, decoded.how) == (expected_encoding, how)


@pytest.mark.parametrize("label", ["gbk", "GB2312", "gb_2312-80", "x-gbk", "cp936", "GB18030"])
def test_gbk_family_labels_read_as_gb18030(label: str) -> None:
    assert normalize_label(label) == "gb18030"


def test_declared_charset_with_one_bad_byte_is_read_leniently() -> None:
    body = b'<meta charset="gbk">' + ("花呗维护公告" * 200).encode("gbk") + b"\xff"
    decoded = decode_body(body)
    assert decoded.how == "lenient"
    assert "花呗维护公告" in decoded.text


def test_bom_is_not_left_in_the_text() -> None:
    decoded = decode_body(codecs.BOM_UTF8 + b'{"a": 1}', content_type="application/json; charset=utf-8")
    assert decoded.text == '{"a": 1}'


def test_garbage_bytes_are_undecodable_with_a_clear_reason() -> None:
    with pytest.raises(InvalidInput, match="undecodable page: not valid utf-8, gb18030"):
        decode_body(page("garbage.bin"), content_type="text/html")


# ---------------------------------------------------------------- over HTTP


async def test_gbk_page_declared_only_in_meta_is_decoded(site: Site, fetcher: Fetcher) -> None:
    site.pages["/notice/gbk.html"] = Page(page("detail_maint_gbk.html"), content_type="text/html")
    result = await fetcher.fetch(site.url("/notice/gbk.html"))
    assert result.encoding == "gb18030"
    assert "花呗服务将于 2026年11月26日 18:10 至 18:30 暂停" in result.text


async def test_conditional_get_gets_not_modified_on_matching_etag(site: Site, fetcher: Fetcher) -> None:
    site.pages["/list"] = Page(page("list.html"))
    first = await fetcher.fetch(site.url("/list"))
    second = await fetcher.fetch(site.url("/list"), etag=first.etag)
    assert not first.not_modified and first.etag and first.content_hash
    assert second.not_modified and second.status == 304 and second.text == ""
    assert second.etag == first.etag
    assert site.conditional_hits["/list"] == 1


async def test_if_modified_since_is_sent(site: Site, fetcher: Fetcher) -> None:
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("If-Modified-Since"))
        return web.Response(status=304)

    site.pages["/lm"] = handler
    result = await fetcher.fetch(site.url("/lm"), last_modified="Wed, 25 Nov 2026 10:00:00 GMT")
    assert seen == ["Wed, 25 Nov 2026 10:00:00 GMT"]
    assert result.not_modified and result.last_modified == "Wed, 25 Nov 2026 10:00:00 GMT"


async def test_a_304_like_the_last_one_is_given_out_again_and_one_that_differs_is_new(site: Site, fetcher: Fetcher) -> None:
    """A 304 that answers the same validators as the previous 304 of its URL is the same (frozen)
    result, not one built a check; new validators, sent or answered, give a result carrying them."""
    answered: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=304, headers={"ETag": answered[-1]} if answered else {})

    site.pages["/same"] = handler
    url = site.url("/same")
    first = await fetcher.fetch(url, etag='"1"')
    again = await fetcher.fetch(url, etag='"1"')
    assert first.not_modified and first.etag == '"1"' and again is first
    newer = await fetcher.fetch(url, etag='"2"')
    assert newer.not_modified and newer.etag == '"2"' and newer is not first
    answered.append('"3"')  # the platform answers 304 with a tag of its own
    told = await fetcher.fetch(url, etag='"2"')
    assert told.etag == '"3"' and told.last_modified is None
    lm = "Wed, 25 Nov 2026 10:00:00 GMT"
    with_lm = await fetcher.fetch(url, etag='"2"', last_modified=lm)
    assert with_lm.etag == '"3"' and with_lm.last_modified == lm


async def test_the_same_url_asked_again_sends_the_validators_and_headers_of_each_call(site: Site, fetcher: Fetcher) -> None:
    """The request headers of a URL are kept between calls: they must follow every change."""
    seen: list[tuple[str | None, str | None, str | None, str | None]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        h = request.headers
        seen.append((h.get("If-None-Match"), h.get("If-Modified-Since"), h.get("X-Token"), h.get("User-Agent")))
        return web.Response(status=304)

    site.pages["/v"] = handler
    url = site.url("/v")
    extra = {"X-Token": "a"}
    lm = "Wed, 25 Nov 2026 10:00:00 GMT"
    await fetcher.fetch(url, etag='"1"', headers=extra)
    await fetcher.fetch(url, etag='"1"', headers=extra)
    await fetcher.fetch(url, etag='"2"', headers=extra)
    await fetcher.fetch(url, etag='"2"', last_modified=lm, headers=extra)
    await fetcher.fetch(url, etag='"2"', last_modified=lm, headers={"X-Token": "b"})
    await fetcher.fetch(url)
    ua = USER_AGENT
    assert seen == [('"1"', None, "a", ua), ('"1"', None, "a", ua), ('"2"', None, "a", ua), ('"2"', lm, "a", ua),
                    ('"2"', lm, "b", ua), (None, None, None, ua)]


async def test_huge_streamed_page_is_rejected_without_reading_it_all(site: Site, fetcher: Fetcher) -> None:
    total = 64 * 1024 * 1024
    sent = 0
    finished = asyncio.Event()

    async def huge(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        resp = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
        await resp.prepare(request)
        chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"
        try:
            while sent < total:
                await resp.write(chunk)
                sent += len(chunk)
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            pass
        finally:
            finished.set()
        return resp

    site.pages["/huge"] = huge
    with pytest.raises(PermanentError, match="page too big: more than max_bytes 262144"):
        await fetcher.fetch(site.url("/huge"), max_bytes=256 * 1024)
    async with asyncio.timeout(10):
        await finished.wait()
    assert sent < total // 2


async def test_declared_content_length_over_limit_is_rejected_before_reading(site: Site, fetcher: Fetcher) -> None:
    site.pages["/big"] = Page(b"a" * (3 * 1024 * 1024))
    with pytest.raises(PermanentError, match="Content-Length 3145728 > max_bytes 2097152"):
        await fetcher.fetch(site.url("/big"))


@pytest.fixture
async def slow_release() -> AsyncIterator[asyncio.Event]:
    release = asyncio.Event()
    yield release
    release.set()


async def test_slow_page_times_out_as_transient(site: Site, fetcher: Fetcher, slow_release: asyncio.Event) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await slow_release.wait()
        return web.Response(text="too late")

    site.pages["/slow"] = slow
    with pytest.raises(TransientError, match=r"timed out after 0\.2 s"):
        await fetcher.fetch(site.url("/slow"), timeout=0.2)


async def test_a_page_stalled_in_its_body_times_out_and_its_connection_is_not_kept(
    site: Site, clock: ManualClock, slow_release: asyncio.Event
) -> None:
    async def stalled_body(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
        await resp.prepare(request)
        await resp.write(b"<p>half a page")
        await slow_release.wait()
        return resp

    site.pages["/stalled"] = stalled_body
    site.pages["/ok"] = Page(b"<p>ok</p>")
    # One connection for the whole session: a stalled request that kept its connection would leave
    # the next request waiting for it (and failing on its own deadline).
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as one_connection:
        fetcher = Fetcher(one_connection, clock, politeness_delay=0.0)
        with pytest.raises(TransientError, match=r"timed out after 0\.2 s"):
            await fetcher.fetch(site.url("/stalled"), timeout=0.2)
        assert fetcher.requests_in_flight == 0
        assert (await fetcher.fetch(site.url("/ok"), timeout=5)).status == 200
        assert fetcher.requests_in_flight == 0


async def test_one_deadline_timer_times_out_each_request_at_its_own_deadline(
    site: Site, fetcher: Fetcher, slow_release: asyncio.Event
) -> None:
    long_arrived = asyncio.Event()

    async def held(request: web.Request) -> web.StreamResponse:
        if request.path == "/long":
            long_arrived.set()
        await slow_release.wait()
        return web.Response(text=f"released {request.path}")

    site.pages["/long"] = site.pages["/short"] = held
    long = asyncio.create_task(fetcher.fetch(site.url("/long"), timeout=60))
    async with asyncio.timeout(10):
        await long_arrived.wait()
    # An earlier deadline than the one the timer waits for: it must not wait for the later one.
    async with asyncio.timeout(10):
        with pytest.raises(TransientError, match=r"timed out after 0\.2 s"):
            await fetcher.fetch(site.url("/short"), timeout=0.2)
    assert not long.done() and fetcher.requests_in_flight == 1  # the later deadline is not due
    slow_release.set()
    async with asyncio.timeout(10):
        result = await long
    assert (result.status, result.text) == (200, "released /long")
    assert fetcher.requests_in_flight == 0


def _held_page(site: Site, slow_release: asyncio.Event) -> asyncio.Event:
    """``/held`` answers only once ``slow_release`` is set; the event returned is set when a
    request has arrived there."""
    arrived = asyncio.Event()

    async def held(request: web.Request) -> web.StreamResponse:
        arrived.set()
        await slow_release.wait()
        return web.Response(text="too late")

    site.pages["/held"] = held
    return arrived


async def test_a_fetch_cancelled_by_its_caller_stays_cancelled(site: Site, fetcher: Fetcher, slow_release: asyncio.Event) -> None:
    arrived = _held_page(site, slow_release)
    task = asyncio.create_task(fetcher.fetch(site.url("/held"), timeout=60))
    async with asyncio.timeout(10):
        await arrived.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fetcher.requests_in_flight == 0


async def test_a_cancellation_during_a_timed_out_request_stays_a_cancellation(
    site: Site, fetcher: Fetcher, slow_release: asyncio.Event
) -> None:
    """Both at once: the deadline passed and the caller cancelled too. The caller's cancellation
    wins (as under ``asyncio.timeout``), and what the deadline asked is taken back."""
    arrived = _held_page(site, slow_release)

    async def caller() -> tuple[str, int]:
        try:
            await fetcher.fetch(site.url("/held"), timeout=0.05)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            return "cancelled", task.cancelling()
        return "not cancelled", 0

    task = asyncio.create_task(caller())
    async with asyncio.timeout(10):
        await arrived.wait()
        while fetcher.requests_in_flight and not task.done():
            # Cancel the caller just as the deadline's own cancellation is requested.
            if task.cancelling():
                task.cancel()
                break
            await asyncio.sleep(0)
        assert await task == ("cancelled", 1)
    assert fetcher.requests_in_flight == 0


async def test_redirect_loop_is_a_permanent_error_naming_the_loop(site: Site, fetcher: Fetcher) -> None:
    async def to_b(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/b")

    async def to_a(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently(site.url("/a"))

    site.pages["/a"], site.pages["/b"] = to_b, to_a
    with pytest.raises(PermanentError, match=r"redirect loop: .*/a -> .*/b -> .*/a"):
        await fetcher.fetch(site.url("/a"))
    assert site.hits["/a"] == 1 and site.hits["/b"] == 1


async def test_redirect_chain_longer_than_the_bound_is_refused(site: Site, fetcher: Fetcher) -> None:
    async def hop(request: web.Request) -> web.StreamResponse:
        n = int(request.path.rsplit("/", 1)[1])
        raise web.HTTPFound(f"/hop/{n + 1}")

    for n in range(10):
        site.pages[f"/hop/{n}"] = hop
    with pytest.raises(PermanentError, match=r"too many redirects \(more than 3\)"):
        await fetcher.fetch(site.url("/hop/0"), max_redirects=3)
    assert site.hits["/hop/4"] == 0


async def test_relative_redirect_is_followed_to_the_final_url(site: Site, fetcher: Fetcher) -> None:
    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("../new/list.html")

    site.pages["/old/list.html"] = moved
    site.pages["/new/list.html"] = Page(page("list.html"))
    result = await fetcher.fetch(site.url("/old/list.html"))
    assert result.final_url == site.url("/new/list.html")
    assert "花呗" in result.text


async def test_garbage_bytes_fail_permanently_not_with_a_crash(site: Site, fetcher: Fetcher) -> None:
    site.pages["/garbage"] = Page(page("garbage.bin"), content_type="text/html")
    with pytest.raises(InvalidInput, match="undecodable page"):
        await fetcher.fetch(site.url("/garbage"))


@pytest.mark.parametrize(
    ("status", "error", "retry_after"),
    [
        (500, TransientError, None),
        (502, TransientError, None),
        (503, TransientError, 30.0),
        (429, TransientError, 7.0),
        (404, PermanentError, None),
        (403, PermanentError, None),
        (410, PermanentError, None),
    ],
)
async def test_http_errors_are_classified(
    site: Site, fetcher: Fetcher, status: int, error: type[Exception], retry_after: float | None
) -> None:
    async def failing(request: web.Request) -> web.StreamResponse:
        headers = {"Retry-After": str(int(retry_after))} if retry_after else {}
        return web.Response(status=status, text="nope", headers=headers)

    site.pages["/fail"] = failing
    with pytest.raises(error, match=f"HTTP {status}") as info:
        await fetcher.fetch(site.url("/fail"))
    if isinstance(info.value, TransientError):
        assert info.value.retry_after == retry_after


async def test_connection_refused_is_transient(fetcher: Fetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransientError, match=r"fetching http://127\.0\.0\.1"):
        await fetcher.fetch(f"http://127.0.0.1:{port}/list")


async def test_non_http_url_is_refused(fetcher: Fetcher) -> None:
    with pytest.raises(PermanentError, match="non-HTTP URL"):
        await fetcher.fetch("file:///etc/passwd")


async def test_politeness_delay_spaces_requests_to_one_host_only(
    site: Site, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    site.pages["/p"] = Page(b"<p>ok</p>")
    fetcher = Fetcher(session, clock, politeness_delay=1.5, sleep=fake_sleep)
    for _ in range(3):
        await fetcher.fetch(site.url("/p"))
    assert waits == [1.5, 1.5]

    other = web.Application()
    other.router.add_get("/q", _ok)
    server = TestServer(other, host="127.0.0.1")
    await server.start_server()
    try:
        await fetcher.fetch(str(server.make_url("/q")))
    finally:
        await server.close()
    assert waits == [1.5, 1.5], "a different host does not wait for this one"


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_per_host_limit_caps_concurrent_requests(
    site: Site, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    in_flight = 0
    peak = 0
    arrived = asyncio.Event()
    release = asyncio.Event()

    async def held(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 2:
            arrived.set()
        await release.wait()
        in_flight -= 1
        return web.Response(text="ok")

    site.pages["/held"] = held
    fetcher = Fetcher(session, clock, per_host_limit=2, politeness_delay=0.0)
    tasks = [asyncio.create_task(fetcher.fetch(site.url("/held"))) for _ in range(5)]
    async with asyncio.timeout(10):
        await arrived.wait()
    release.set()
    results = await asyncio.gather(*tasks)
    assert [r.status for r in results] == [200] * 5
    assert peak == 2
