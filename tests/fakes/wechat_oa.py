"""Fake WeChat Official Account: ``/cgi-bin/stable_token`` and ``/cgi-bin/message/template/send``."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from aiohttp import web

from huabei_watch.clock import Clock
from tests.fakes.base import REF_HEADER, FakeProvider


@dataclass(slots=True)
class _Token:
    value: str
    expires_at: float  # clock.monotonic()


class FakeWeChatOA(FakeProvider):
    """One app. Stable-token semantics: normal mode returns the current token while valid; force
    mode issues a new one and invalidates the old. ``refused`` openids answer 43101."""

    name = "wechat_oa"

    def __init__(
        self, clock: Clock, *, app_id: str, app_secret: str, token_lifetime: int = 7200,
        refused: set[str] | None = None, templates: set[str] | None = None,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.token_lifetime = token_lifetime
        self.refused = set(refused or ())
        self.templates = templates  # None = any template id
        self.token_calls = 0
        self.force_calls = 0
        self._current: _Token | None = None
        self._retired: set[str] = set()
        super().__init__(clock)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_post("/cgi-bin/message/template/send", self._send)

    def invalidate_token(self) -> None:
        """Simulate another process force-refreshing: the current token stops working at once."""
        if self._current is not None:
            self._retired.add(self._current.value)
            self._current = None

    def _issue(self) -> _Token:
        if self._current is not None:
            self._retired.add(self._current.value)
        self._current = _Token(f"tok-{secrets.token_hex(8)}", self.clock.monotonic() + self.token_lifetime)
        return self._current

    async def _stable_token(self, request: web.Request) -> web.Response:
        self.token_calls += 1
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response({"errcode": 47001, "errmsg": "data format error"})
        if body.get("grant_type") != "client_credential":
            return web.json_response({"errcode": 40002, "errmsg": "invalid grant_type"})
        if body.get("appid") != self.app_id:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        if body.get("secret") != self.app_secret:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        now = self.clock.monotonic()
        if body.get("force_refresh") is True:
            self.force_calls += 1
            token = self._issue()
        elif self._current is None or now >= self._current.expires_at:
            token = self._issue()
        else:
            token = self._current
        return web.json_response({"access_token": token.value, "expires_in": int(token.expires_at - now)})

    def _answer(self, code: int, msg: str) -> web.Response:
        self.reject(code, msg)
        return web.json_response({"errcode": code, "errmsg": msg})

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        failure = self.take_failure()
        if failure is not None:
            if failure.code is None:
                return self.bare_failure(failure)
            return self._answer(int(failure.code), failure.message)
        token = request.query.get("access_token", "")
        current = self._current
        if current is None or token != current.value:
            return self._answer(40001, "invalid credential, access_token is invalid or not latest")
        if self.clock.monotonic() >= current.expires_at:
            return self._answer(42001, "access_token expired")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._answer(47001, "data format error")
        openid = body.get("touser", "")
        if not openid:
            return self._answer(40003, "invalid openid")
        if self.templates is not None and body.get("template_id") not in self.templates:
            return self._answer(40037, "invalid template_id")
        if openid in self.refused:
            return self._answer(43101, "user refuse to accept the msg")
        ref = body.get("client_msg_id") or request.headers.get(REF_HEADER, "")
        await self.accept(ref, openid, body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 2_000_000 + len(self.received)})

