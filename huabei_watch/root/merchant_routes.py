"""The merchant page's route, without the page's code: :mod:`huabei_watch.root.merchant_page`
reads every role's stores (the cashier's state, the notify role's deliveries, incidents), which a
process nobody asks for the page never needs; it is imported on the first request (issue 17
item 6: ~1 MB of a watcher, with the status pages' reads; bench/README.md, round `rss8`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from huabei_watch.runtime.app import App


async def merchant_page(request: web.Request) -> web.Response:
    """``GET /m/{merchant_id}``: see :func:`huabei_watch.root.merchant_page.merchant_page`."""
    from huabei_watch.root.merchant_page import merchant_page as page

    return await page(request)


def add_merchant_routes(app: App[Any]) -> None:
    app.web.router.add_get("/m/{merchant_id}", merchant_page)
