"""Fake DingTalk custom robot (``/robot/send?access_token=&timestamp=&sign=``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from aiohttp import web

from huabei_watch.clock import Clock
from tests.fakes.base import REF_HEADER, Failure, FakeProvider


class FakeDingTalk(FakeProvider):
    """``robots`` maps access token -> signing secret (None: robot without 加签)."""

    name = "dingtalk"

    def __init__(self, clock: Clock, *, robots: dict[str, str | None], per_minute: int = 20) -> None:
        self.robots = dict(robots)
        self.per_minute = per_minute
        super().__init__(clock)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/robot/send", self._send)

    def _answer(self, code: int, msg: str) -> web.Response:
        self.reject(code, msg)
        return web.json_response({"errcode": code, "errmsg": msg})

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        failure = self.take_failure()
        if failure is not None:
            return self._failure(failure)
        token = request.query.get("access_token", "")
        if token not in self.robots:
            return self._answer(300001, "token is not exist")
        secret = self.robots[token]
        if secret is not None:
            try:
                stamp = int(request.query.get("timestamp", ""))
            except ValueError:
                return self._answer(310000, "sign not match, timestamp missing")
            if abs(self.clock.now().timestamp() * 1000 - stamp) > 3_600_000:
                return self._answer(310000, "sign not match, timestamp is not within one hour")
            # request.query is already URL-decoded: compare against the raw base64.
            expected = base64.b64encode(
                hmac.new(secret.encode(), (str(stamp) + "\n" + secret).encode(), hashlib.sha256).digest()
            ).decode()
            if not hmac.compare_digest(expected, request.query.get("sign", "")):
                return self._answer(310000, "sign not match")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._answer(40035, "缺少参数 json")
        markdown = body.get("markdown") if body.get("msgtype") == "markdown" else None
        if not isinstance(markdown, dict) or not markdown.get("title") or not markdown.get("text"):
            return self._answer(40035, "缺少参数 markdown.title/text")
        if not self.window_allows(token, self.per_minute, 60.0):
            return self._answer(130101, "send too fast, exceed 20 times per minute")
        self.window_count(token)
        await self.accept(request.headers.get(REF_HEADER, ""), token, body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def _failure(self, failure: Failure) -> web.Response:
        if failure.code is None:
            return self.bare_failure(failure)
        self.reject(failure.code, failure.message)
        return web.json_response({"errcode": int(failure.code), "errmsg": failure.message}, status=failure.status)
