"""Fake WeCom application messages: ``GET /cgi-bin/gettoken`` and ``POST /cgi-bin/message/send``.

Follows the documented API: ``touser`` is member userids joined by ``|`` (at most 1000; more:
40032); members that do not exist or are outside the application's visible range are skipped and
named, lower-cased, in ``invaliduser`` while the others get the message (errcode 0); when no
member is valid the call fails with 81013 and ``invaliduser``. Userids match case-insensitively.
Each member that got the message is one :class:`~tests.fakes.base.Received` (recipient = the
userid as known to the fake, ref = the call's dedupe header + ``:`` + userid).
"""

from __future__ import annotations

import json
import secrets

from aiohttp import web

from huabei_watch.clock import Clock
from tests.fakes.base import REF_HEADER, Failure, FakeProvider

MAX_MEMBERS = 1000
MAX_MARKDOWN_BYTES = 2048


class FakeWeComApp(FakeProvider):
    """One corp (``corp_id`` / ``corp_secret``) with one application ``agent_id`` visible to
    ``members``; ``unlicensed`` members are refused in ``unlicenseduser``."""

    name = "wecom_app"

    def __init__(self, clock: Clock, *, corp_id: str, corp_secret: str, agent_id: int, members: set[str],
                 unlicensed: set[str] | None = None, token_lifetime: int = 7200) -> None:
        self.corp_id = corp_id
        self.corp_secret = corp_secret
        self.agent_id = agent_id
        self.members = {m.lower(): m for m in members}
        self.unlicensed = {m.lower() for m in (unlicensed or set())}
        self.token_lifetime = token_lifetime
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.calls: list[list[str]] = []  # touser of each accepted call, as sent
        super().__init__(clock)

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on (42001), as after its 7200 s."""
        self.tokens.clear()

    def _answer(self, code: int, msg: str, **extra: str) -> web.Response:
        if code:
            self.reject(code, msg)
        return web.json_response({"errcode": code, "errmsg": msg, **extra})

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if request.query.get("corpid") != self.corp_id:
            return self._answer(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.corp_secret:
            return self._answer(40001, "invalid credential")
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token,
                                  "expires_in": self.token_lifetime})

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        failure = self.take_failure()
        if failure is not None:
            return self._failure(failure)
        token = request.query.get("access_token", "")
        if not token:
            return self._answer(41001, "access_token missing")
        if token not in self.tokens:
            return self._answer(42001, "access_token expired")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._answer(40008, "invalid message type")
        if not isinstance(body, dict) or body.get("agentid") != self.agent_id:
            return self._answer(40056, "invalid agentid")
        if body.get("msgtype") != "markdown" or not isinstance(body.get("markdown"), dict):
            return self._answer(40008, "invalid message type")
        content = body["markdown"].get("content", "")
        if not content:
            return self._answer(44004, "empty content")
        if len(content.encode("utf-8")) > MAX_MARKDOWN_BYTES:
            return self._answer(40058, "markdown.content exceed max length 2048")
        touser = [u for u in str(body.get("touser", "")).split("|") if u]
        if len(touser) > MAX_MEMBERS:
            return self._answer(40032, "invalid userid list size")
        invalid = [u.lower() for u in touser if u.lower() not in self.members]
        unlicensed = [u.lower() for u in touser if u.lower() in self.unlicensed and u.lower() in self.members]
        valid = [u for u in touser if u.lower() in self.members and u.lower() not in self.unlicensed]
        if not valid:
            return self._answer(81013, "user & party & tag all invalid", invaliduser="|".join(invalid))
        ref = request.headers.get(REF_HEADER, "")
        self.calls.append(touser)
        seen: set[str] = set()
        for u in valid:
            member = self.members[u.lower()]
            if member in seen:  # one message per member per call, as WeCom does
                continue
            seen.add(member)
            await self.accept(f"{ref}:{member}", member, body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid),
                                  "unlicenseduser": "|".join(unlicensed), "msgid": secrets.token_hex(8)})

    def _failure(self, failure: Failure) -> web.Response:
        if failure.code is None:
            return self.bare_failure(failure)
        self.reject(failure.code, failure.message)
        return web.json_response({"errcode": int(failure.code), "errmsg": failure.message}, status=failure.status)
