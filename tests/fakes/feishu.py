"""Fake Feishu / Lark custom bot (``/open-apis/bot/v2/hook/{hook}``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from aiohttp import web

from huabei_watch.clock import Clock
from tests.fakes.base import REF_HEADER, Failure, FakeProvider


class FakeFeishu(FakeProvider):
    """``bots`` maps hook id -> signing secret (None: bot without 签名校验). Limits: 100/min, 5/s."""

    name = "feishu"

    def __init__(
        self, clock: Clock, *, bots: dict[str, str | None], per_minute: int = 100, per_second: int = 5
    ) -> None:
        self.bots = dict(bots)
        self.per_minute = per_minute
        self.per_second = per_second
        super().__init__(clock)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/open-apis/bot/v2/hook/{hook}", self._send)

    def _answer(self, code: int, msg: str) -> web.Response:
        self.reject(code, msg)
        return web.json_response({"code": code, "msg": msg, "data": {}})

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        failure = self.take_failure()
        if failure is not None:
            return self._failure(failure)
        hook = request.match_info["hook"]
        if hook not in self.bots:
            return self._answer(19001, "param invalid: incoming webhook access token invalid")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._answer(9499, "Bad Request")
        secret = self.bots[hook]
        if secret is not None:
            try:
                stamp = int(body.get("timestamp", ""))
            except (TypeError, ValueError):
                stamp = -1
            # Feishu: the string "timestamp\nsecret" is the HMAC key; the message is empty.
            key = f"{stamp}\n{secret}".encode()
            expected = base64.b64encode(hmac.new(key, digestmod=hashlib.sha256).digest()).decode()
            if (
                abs(self.clock.now().timestamp() - stamp) > 3600
                or not hmac.compare_digest(expected, str(body.get("sign", "")))
            ):
                return self._answer(19021, "sign match fail or timestamp is not within one hour from current time")
        if body.get("msg_type") not in {"text", "post", "interactive", "image", "share_chat"}:
            return self._answer(9499, "Bad Request")
        if not self.window_allows(hook, self.per_minute, 60.0) or not self.window_allows(hook, self.per_second, 1.0):
            return self._answer(11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]")
        self.window_count(hook)
        await self.accept(request.headers.get(REF_HEADER, ""), hook, body)
        return web.json_response({"code": 0, "msg": "success", "data": {}, "StatusCode": 0, "StatusMessage": "success"})

    def _failure(self, failure: Failure) -> web.Response:
        if failure.code is None:
            return self.bare_failure(failure)
        self.reject(failure.code, failure.message)
        return web.json_response({"code": int(failure.code), "msg": failure.message, "data": {}},
                                 status=failure.status)
