"""Fault drill: fuzzing the edges that read untrusted text (scrapers, notice parser, payment ingest).

Property: arbitrary input never escapes as anything but our own error classes (scrapers), never
raises at all (notice parser), and never makes the payment-results endpoint answer 5xx.
Examples are bounded (max_examples ~200, no deadline) to keep CI time small.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from huabei_watch.clock import ManualClock
from huabei_watch.errors import InvalidInput, PermanentError
from huabei_watch.events.payments import PaymentResultBatch
from watcher.notices import understand
from watcher.payments.ingest import (
    MERCHANT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Rejected,
    VerifiedBatch,
    make_payment_results_handler,
    signed_headers,
    verify_request,
)
from watcher.sources.extract import extract_body, extract_feed, extract_html_list, extract_json

# Markup that looks like XML makes BeautifulSoup warn; the warning is expected on fuzzed input.
pytestmark = pytest.mark.filterwarnings("ignore::bs4.XMLParsedAsHTMLWarning")

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
BASE = "https://open.example.com/notice/"

# Markup-ish text: fragments of real HTML/XML/JSON glued with arbitrary text, so the parsers get
# past their first character often enough to exercise the interesting paths.
_TAGS = st.sampled_from([
    "<ul>", "</ul>", "<li class='item'>", "</li>", "<a href='", "'>", "</a>", "<span class=date>", "</span>",
    "<div id=content>", "</div>", "<base href='", "<script>", "</script>", "<![CDATA[", "]]>", "<!--", "-->",
    "<?xml version='1.0'?>", "<rss version='2.0'>", "</rss>", "<channel>", "<item>", "</item>", "<title>",
    "</title>", "<link>", "</link>", "<guid>", "<pubDate>", "<feed xmlns='http://www.w3.org/2005/Atom'>",
    "<entry>", "<link href='", "<updated>", "2026-11-26", "2026年11月26日", "javascript:", "//x", "&amp;",
    "&#0;", "&#xD800;", "\x00", "\ufeff", "花呗", "维护", "{", "}", "[", "]", '"items"', ":", ",", '"url"',
    '"title"', '"id"', "null", "1e999", "-0", '"\\ud800"', "http://[::1", "%zz",
])
MARKUP = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(_TAGS, st.text(max_size=12)), max_size=60).map("".join),
)
SELECTOR = st.one_of(st.sampled_from(["li.item", "li", "a", "div#content", "ul > li", "p"]), st.text(max_size=12))
OURS = (InvalidInput, PermanentError)


@BOUNDED
@given(MARKUP, SELECTOR, st.one_of(st.none(), SELECTOR), st.one_of(st.none(), SELECTOR))
@example("<DIV ID=content>", "div#content", "0", None)  # a bad link selector, found once by chance
@example("", "-A", None, None)  # a tag name XPath refuses, found by CI once (lxml's XPathSyntaxError)
def test_html_list_extraction_raises_only_our_errors(html: str, item: str, link: str | None, date_sel: str | None) -> None:
    try:
        refs = extract_html_list(html, BASE, item_selector=item, link_selector=link, date_selector=date_sel)
    except OURS:
        return
    assert all(r.notice_id and r.url for r in refs)  # empty: the list's container is there, with no item
    assert len({r.notice_id for r in refs}) == len(refs)


@BOUNDED
@given(MARKUP, st.one_of(st.none(), SELECTOR))
def test_body_extraction_raises_only_our_errors(html: str, selector: str | None) -> None:
    try:
        text = extract_body(html, selector)
    except OURS:
        return
    assert isinstance(text, str)


@BOUNDED
@given(MARKUP)
def test_feed_extraction_raises_only_our_errors(xml: str) -> None:
    try:
        refs = extract_feed(xml, BASE)
    except OURS:
        return
    assert all(r.notice_id for r in refs)


_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.sampled_from(
        ["data", "items", "list", "id", "title", "url", "date", "body", "x"]), inner, max_size=6)),
    max_leaves=30,
)
_JSON_TEXT = st.one_of(_JSON_VALUES.map(json.dumps), MARKUP)
_PATH = st.sampled_from(["items", "data.items", "data.list", "list", "x.0", "", "."])


@BOUNDED
@given(_JSON_TEXT, _PATH, st.one_of(st.none(), st.sampled_from(["id", "x"])), st.sampled_from(["date", "x"]))
def test_json_extraction_raises_only_our_errors(text: str, items_path: str, id_field: str | None, date_field: str) -> None:
    try:
        refs = extract_json(
            text, BASE, items_path=items_path, id_field=id_field, title_field="title", url_field="url",
            date_field=date_field, body_field="body",
        )
    except OURS:
        return
    assert all(r.notice_id for r in refs)


@BOUNDED
@given(MARKUP, st.text(max_size=30), st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_notice_parser_never_raises_on_markup_like_text(text: str, title: str, published: date) -> None:
    # tests/notices already fuzzes plain and notice-like text; this adds markup and odd titles.
    u = understand(text, published=published, title=title)
    for w in u.windows:
        assert w.end is None or w.start <= w.end  # None: the notice gives no end (Window's contract)


# -- payment results: the pure check and the HTTP endpoint ---------------------------------------

SECRETS = {"m1": "secret-1"}
_HEADER_VALUE = st.one_of(st.text(max_size=40), st.sampled_from(["m1", "m2", "", "sha256=", "1795658400", "-1", "１２"]))
_HEADERS = st.dictionaries(
    st.sampled_from([MERCHANT_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER, MERCHANT_HEADER.lower(), "Content-Type"]),
    _HEADER_VALUE, max_size=5,
)
_RESULT = st.fixed_dictionaries(
    {"merchant_id": st.sampled_from(["m1", "m2"]), "at": st.one_of(st.just(NOW.isoformat()), st.text(max_size=25)),
     "channel": st.sampled_from(["pcredit", "balance", "", "x" * 70]), "success": st.one_of(st.booleans(), st.integers())},
    optional={"code": st.text(max_size=10), "sub_code": st.text(max_size=10), "amount": st.integers()},
)
_BATCH = st.fixed_dictionaries({"merchant_id": st.sampled_from(["m1", "m2", ""]),
                                "results": st.lists(_RESULT, max_size=4)})
_BODY = st.one_of(st.binary(max_size=300), _JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                  _BATCH.map(lambda v: json.dumps(v).encode()))


@BOUNDED
@given(_HEADERS, _BODY, st.booleans())
def test_verify_request_returns_a_batch_or_a_4xx_rejection(headers: dict[str, str], body: bytes, sign_it: bool) -> None:
    if sign_it:
        headers = {**headers, **signed_headers("m1", SECRETS["m1"], body, NOW)}
    try:
        batch = verify_request(headers, body, secret_for=SECRETS.get, now=NOW)
    except Rejected as exc:
        assert 400 <= exc.status < 500 and exc.error and exc.reason
        return
    assert sign_it and isinstance(batch, VerifiedBatch) and batch.merchant_id == "m1"
    assert PaymentResultBatch.model_validate_json(batch.to_json()).merchant_id == "m1"


class _Sink:
    def __init__(self) -> None:
        self.batches: list[PaymentResultBatch] = []

    async def accept(self, batch: VerifiedBatch) -> None:
        self.batches.append(PaymentResultBatch.model_validate_json(batch.to_json()))


@pytest.fixture(scope="module")
async def ingest_url() -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    app = web.Application()
    app.router.add_post("/v1/payment-results", make_payment_results_handler(
        secret_for=SECRETS.get, sink=_Sink(), clock=ManualClock(NOW), max_body_bytes=256,
    ))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield str(server.make_url("/v1/payment-results")), session
    await server.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(_HEADERS, _BODY, st.booleans())
async def test_payment_results_endpoint_answers_arbitrary_requests_with_json_and_never_5xx(
    ingest_url: tuple[str, aiohttp.ClientSession], headers: dict[str, str], body: bytes, sign_it: bool
) -> None:
    url, session = ingest_url
    if sign_it:
        headers = {**headers, **signed_headers("m1", SECRETS["m1"], body, NOW)}
    safe = {k: v for k, v in headers.items() if v.isprintable() and "\r" not in v and "\n" not in v}
    async with session.post(url, data=body, headers=safe) as r:
        payload = await r.json(content_type=None)
        assert r.status < 500, payload
        if r.status == 202:
            assert payload["accepted"] >= 0
        else:
            assert 400 <= r.status < 500 and payload["error"] and payload["reason"]
