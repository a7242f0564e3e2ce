"""A loopback fake notification provider and a tiny channel that talks to it (tests only).

The fake answers ``POST /send`` like an SMS gateway would: 200 ``{"code": "OK", "id": ...}``,
503 (with ``Retry-After``) while it is "down", 400 ``{"code": "MOBILE_NUMBER_ILLEGAL"}`` for numbers
it rejects. It records every accepted message. With ``dedupe_by_key`` it ignores a second message
carrying an already-seen ``X-Dedupe-Key`` (a receiver that deduplicates, like our signed webhook).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from consumers.notify.ports import OutboundMessage, SendReceipt
from huabei_watch.errors import PermanentError, TransientError


@dataclass
class FakeProvider:
    dedupe_by_key: bool = False
    down_for: int = 0
    retry_after: float | None = None
    rejected: set[str] = field(default_factory=set)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    seen_keys: set[str] = field(default_factory=set)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/send", self._send)
        return app

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.json()
        if self.down_for > 0:
            self.down_for -= 1
            headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
            return web.json_response({"code": "ServiceUnavailable"}, status=503, headers=headers)
        if body["to"] in self.rejected:
            return web.json_response({"code": "MOBILE_NUMBER_ILLEGAL"}, status=400)
        key = request.headers["X-Dedupe-Key"]
        if self.dedupe_by_key and key in self.seen_keys:
            return web.json_response({"code": "OK", "id": "dup"})
        self.seen_keys.add(key)
        self.accepted.append(body | {"key": key})
        return web.json_response({"code": "OK", "id": f"msg-{len(self.accepted)}"})

    def keys(self) -> list[str]:
        return [a["key"] for a in self.accepted]


class LoopbackChannel:
    """Speaks the fake's API with the channel contract: one attempt, Transient/Permanent errors."""

    def __init__(self, name: str, session: aiohttp.ClientSession, server: TestServer) -> None:
        self.name = name
        self._session = session
        self._url = str(server.make_url("/send"))

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        payload = {"to": msg.address, "text": msg.text, "template": msg.template_id, "params": dict(msg.template_params)}
        try:
            async with self._session.post(self._url, json=payload, headers={"X-Dedupe-Key": msg.dedupe_key}) as resp:
                body = await resp.json()
                if resp.status == 200:
                    return SendReceipt(provider_message_id=str(body["id"]), attempts=1)
                if resp.status == 503:
                    after = resp.headers.get("Retry-After")
                    raise TransientError(f"{self.name}: {body['code']}", retry_after=float(after) if after else None)
                raise PermanentError(f"{self.name}: {body['code']}")
        except aiohttp.ClientError as exc:
            raise TransientError(f"{self.name}: {exc}") from exc
