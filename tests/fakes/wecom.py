"""Fake WeCom group robot webhook (``/cgi-bin/webhook/send?key=``)."""

from __future__ import annotations

import json

from aiohttp import web

from huabei_watch.clock import Clock
from tests.fakes.base import REF_HEADER, Failure, FakeProvider


class FakeWeCom(FakeProvider):
    """Robots are the keys in ``keys``; each accepts ``per_minute`` messages a minute (45009 past it)."""

    name = "wecom"

    def __init__(self, clock: Clock, *, keys: set[str], per_minute: int = 20) -> None:
        self.keys = set(keys)
        self.per_minute = per_minute
        super().__init__(clock)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/cgi-bin/webhook/send", self._send)

    def _answer(self, code: int, msg: str) -> web.Response:
        if code:
            self.reject(code, msg)
        return web.json_response({"errcode": code, "errmsg": msg})

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        failure = self.take_failure()
        if failure is not None:
            return self._failure(failure)
        key = request.query.get("key", "")
        if key not in self.keys:
            return self._answer(93000, "invalid webhook url")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._answer(40008, "invalid message type")
        if body.get("msgtype") != "markdown" or not isinstance(body.get("markdown"), dict):
            return self._answer(40008, "invalid message type")
        content = body["markdown"].get("content", "")
        if not content:
            return self._answer(44004, "empty content")
        if len(content.encode("utf-8")) > 4096:
            return self._answer(40058, "markdown.content exceed max length 4096")
        if not self.window_allows(key, self.per_minute, 60.0):
            return self._answer(45009, "api freq out of limit")
        self.window_count(key)
        await self.accept(request.headers.get(REF_HEADER, ""), key, body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def _failure(self, failure: Failure) -> web.Response:
        if failure.code is None:
            return self.bare_failure(failure)
        self.reject(failure.code, failure.message)
        return web.json_response({"errcode": int(failure.code), "errmsg": failure.message}, status=failure.status)
