"""A loopback fake of the Alipay open-API gateway (``gateway.do``) for tests.

It behaves like the real gateway where our code depends on it:

* verifies each request's RSA2 signature with the public key of the app (``app_id``) it was given;
  a bad signature gets the unsigned 40002 ``isv.invalid-signature`` answer, as Alipay sends;
* signs its answers with its own platform private key (``alipay_public_key_pem`` is what a client
  must be configured with);
* ``alipay.trade.precreate`` creates a pre-order (recorded) and answers a ``qr_code``;
  ``alipay.trade.cancel`` / ``alipay.trade.close`` close it (recorded) or answer
  ``ACQ.TRADE_NOT_EXIST``.

Per app, it can be told (:meth:`FakeAlipayGateway.set_mode`) to answer precreate with
``ACQ.SELLER_BEEN_BLOCKED`` or ``ACQ.SYSTEM_ERROR``, to hang (before or after creating the
pre-order) until :meth:`release` is called, or to tamper with its answer after signing it.

Use as ``async with FakeAlipayGateway(...) as gw: gw.url``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class Mode(Enum):
    SUCCESS = "success"
    SELLER_BLOCKED = "seller_blocked"  # 40004 ACQ.SELLER_BEEN_BLOCKED, signed
    SYSTEM_ERROR = "system_error"  # 40004 ACQ.SYSTEM_ERROR, signed
    HANG = "hang"  # precreate hangs before creating anything, until release()
    HANG_AFTER_CREATE = "hang_after_create"  # creates the pre-order, then hangs
    TAMPER_BODY = "tamper_body"  # signs a success, then rewrites it to ACQ.SELLER_BEEN_BLOCKED
    STRIP_SIGN = "strip_sign"  # ACQ.SELLER_BEEN_BLOCKED with the signature removed
    DUPLICATE_NODE = "duplicate_node"  # signed success node followed by an unsigned blocked node
    NOT_JSON = "not_json"  # an HTML error page with status 200


SUB_MSGS = {
    "ACQ.SELLER_BEEN_BLOCKED": "商家账号被冻结",
    "ACQ.SYSTEM_ERROR": "系统错误",
    "ACQ.TRADE_NOT_EXIST": "交易不存在",
}


def envelope(node_key: str, node_json: str, sign: str | None = None) -> str:
    """The gateway's body: ``{"<key>":<node>,"sign":"..."}``, node text kept byte for byte."""
    tail = "" if sign is None else ',"sign":"' + sign + '"'
    return '{"' + node_key + '":' + node_json + tail + "}"


def _canonical(params: dict[str, str]) -> str:
    # Written independently of watcher.alipay.sign on purpose: the fake is a second implementation.
    pairs = [f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != ""]
    return "&".join(pairs)


@dataclass
class Request:
    """One request as the fake received it."""

    app_id: str
    method: str
    params: dict[str, str]
    biz: dict[str, Any]
    signature_ok: bool


@dataclass
class _App:
    public_key: rsa.RSAPublicKey
    mode: Mode = Mode.SUCCESS


@dataclass
class FakeAlipayGateway:
    """The fake gateway. ``apps`` maps app_id -> the app's public key (PEM)."""

    apps: dict[str, str] = field(default_factory=dict)
    platform_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def __post_init__(self) -> None:
        self._apps: dict[str, _App] = {}
        for app_id, pem in self.apps.items():
            self.add_app(app_id, pem)
        self.requests: list[Request] = []
        self.created: dict[str, str] = {}  # out_trade_no -> app_id
        self.cancelled: set[str] = set()
        self._release = asyncio.Event()
        self.hanging = 0
        self._server: TestServer | None = None

    # --- control -------------------------------------------------------------------------------

    def add_app(self, app_id: str, public_key_pem: str) -> None:
        key = serialization.load_pem_public_key(public_key_pem.encode())
        assert isinstance(key, rsa.RSAPublicKey)
        self._apps[app_id] = _App(public_key=key)

    def set_mode(self, app_id: str, mode: Mode) -> None:
        self._apps[app_id].mode = mode

    def release(self) -> None:
        """Let every hanging request finish (they then answer nothing useful: the client is gone)."""
        self._release.set()

    @property
    def alipay_public_key_pem(self) -> str:
        return self.platform_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def open_orders(self) -> set[str]:
        """Pre-orders created and not cancelled: what a probe would have left behind."""
        return set(self.created) - self.cancelled

    @property
    def url(self) -> str:
        assert self._server is not None, "use `async with FakeAlipayGateway(...)`"
        return str(self._server.make_url("/gateway.do"))

    async def __aenter__(self) -> FakeAlipayGateway:
        app = web.Application()
        app.router.add_post("/gateway.do", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()
        assert self._server is not None
        await self._server.close()

    # --- gateway -------------------------------------------------------------------------------

    def _signed_body(self, node_key: str, node_json: str) -> str:
        sig = self.platform_key.sign(node_json.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        return envelope(node_key, node_json, base64.b64encode(sig).decode())

    @staticmethod
    def _node(code: str, msg: str, sub_code: str = "", **extra: str) -> str:
        node: dict[str, str] = {"code": code, "msg": msg}
        if sub_code:
            node["sub_code"] = sub_code
            node["sub_msg"] = SUB_MSGS.get(sub_code, sub_code)
        node.update(extra)
        # Alipay's answers carry unescaped UTF-8 and sometimes "\/": keep both to test raw verification.
        return json.dumps(node, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")

    async def _hang(self) -> None:
        self.hanging += 1
        try:
            await self._release.wait()
        finally:
            self.hanging -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        params = {k: str(v) for k, v in request.query.items()}
        params.update({k: str(v) for k, v in form.items()})
        method = params.get("method", "")
        node_key = method.replace(".", "_") + "_response"
        app = self._apps.get(params.get("app_id", ""))
        try:
            biz = json.loads(params.get("biz_content", "{}"))
        except json.JSONDecodeError:
            biz = {}
        ok = False
        if app is not None and params.get("sign_type") == "RSA2":
            try:
                app.public_key.verify(
                    base64.b64decode(params.get("sign", "")), _canonical(params).encode("utf-8"),
                    padding.PKCS1v15(), hashes.SHA256(),
                )
                ok = True
            except (InvalidSignature, ValueError):
                ok = False
        self.requests.append(Request(params.get("app_id", ""), method, params, biz, ok))
        if app is None:
            node = self._node("40002", "Invalid Arguments", "isv.invalid-app-id")
            return web.Response(text=envelope(node_key, node), content_type="text/html", charset="utf-8")
        if not ok:
            node = self._node("40002", "Invalid Arguments", "isv.invalid-signature")
            return web.Response(text=envelope(node_key, node), content_type="text/html", charset="utf-8")
        otn = str(biz.get("out_trade_no", ""))
        if method == "alipay.trade.precreate":
            body = await self._precreate(app, node_key, otn)
        elif method in ("alipay.trade.cancel", "alipay.trade.close"):
            if otn in self.created:
                self.cancelled.add(otn)
                extra = {"out_trade_no": otn, "retry_flag": "N", "action": "close"}
                if method == "alipay.trade.close":
                    extra = {"out_trade_no": otn}
                body = self._signed_body(node_key, self._node("10000", "Success", **extra))
            else:
                body = self._signed_body(node_key, self._node("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST"))
        else:
            node = self._node("40002", "Invalid Arguments", "isv.invalid-method")
            body = envelope("error_response", node)
        if body is None:
            return web.Response(status=200, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        # Alipay answers JSON with text/html;charset=utf-8: clients must not rely on the content type.
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    async def _precreate(self, app: _App, node_key: str, otn: str) -> str | None:
        mode = app.mode
        if mode is Mode.HANG:
            await self._hang()
            return None
        if mode is Mode.NOT_JSON:
            return None
        if mode in (Mode.SELLER_BLOCKED, Mode.SYSTEM_ERROR):
            sub = "ACQ.SELLER_BEEN_BLOCKED" if mode is Mode.SELLER_BLOCKED else "ACQ.SYSTEM_ERROR"
            return self._signed_body(node_key, self._node("40004", "Business Failed", sub))
        self.created[otn] = "created"
        success = self._node("10000", "Success", out_trade_no=otn, qr_code=f"https://qr.alipay.com/bax0{len(self.created):05d}")
        if mode is Mode.HANG_AFTER_CREATE:
            await self._hang()
            return None
        blocked = self._node("40004", "Business Failed", "ACQ.SELLER_BEEN_BLOCKED")
        if mode is Mode.TAMPER_BODY:
            signed = self._signed_body(node_key, success)
            return signed.replace(success, blocked)
        if mode is Mode.STRIP_SIGN:
            return envelope(node_key, blocked)
        if mode is Mode.DUPLICATE_NODE:
            signed = self._signed_body(node_key, success)
            return signed[:-1] + "," + envelope(node_key, blocked)[1:]
        return self._signed_body(node_key, success)
