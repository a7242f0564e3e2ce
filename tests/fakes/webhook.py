"""Fake receiver of our generic signed webhook (any path), checking X-Huabei-Signature."""

from __future__ import annotations

import hashlib
import hmac
import json

from aiohttp import web

from huabei_watch.clock import Clock
from tests.fakes.base import REF_HEADER, FakeProvider


class FakeWebhookReceiver(FakeProvider):
    """Accepts ``POST /<anything>``; 401 on a bad signature or a timestamp older than ``tolerance``."""

    name = "webhook"

    def __init__(self, clock: Clock, *, secret: str | None, tolerance: float = 300.0) -> None:
        self.secret = secret
        self.tolerance = tolerance
        super().__init__(clock)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/{path:.*}", self._receive)

    async def _receive(self, request: web.Request) -> web.Response:
        self.requests += 1
        failure = self.take_failure()
        if failure is not None:
            self.reject(failure.status, failure.message)
            return self.bare_failure(failure)
        raw = await request.read()
        if self.secret is not None:
            stamp = request.headers.get("X-Huabei-Timestamp", "")
            expected = "sha256=" + hmac.new(self.secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
            fresh = stamp.isdigit() and abs(self.clock.now().timestamp() - int(stamp)) <= self.tolerance
            if not fresh or not hmac.compare_digest(expected, request.headers.get("X-Huabei-Signature", "")):
                self.reject(401, "bad signature")
                return web.Response(status=401, text="bad signature")
        try:
            body = json.loads(raw)
        except ValueError:
            self.reject(400, "not json")
            return web.Response(status=400, text="not json")
        await self.accept(request.headers.get(REF_HEADER, ""), request.path, body)
        return web.Response(status=204)
