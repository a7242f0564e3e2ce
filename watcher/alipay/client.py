"""A small async client for the Alipay open-API gateway (v2, ``gateway.do``): precreate and cancel.

Thin I/O shell around :mod:`watcher.alipay.sign`. The HTTP session comes from outside. Errors:

* TransientError(reason) -- ``timeout``, ``connection_refused``, ``connection_reset``,
  ``http_<status>`` (5xx/429): the call may or may not have reached Alipay; try again later.
* KeyInvalid -- a configured key cannot be loaded (nothing was sent when it is ours).
* SignatureInvalid / ResponseTampered -- the answer cannot be trusted.
* ResponseMalformed -- the answer is not a gateway answer (HTML error page, other status).

Gateway answers with an Alipay error code are *returned* (``AlipayResponse.ok`` is False), not
raised: they are what the probe is looking for.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from huabei_watch.clock import Clock, to_shanghai
from huabei_watch.errors import TransientError
from huabei_watch.events.common import HUABEI_CHANNELS
from watcher.alipay.sign import (
    ResponseMalformed,
    load_private_key,
    load_public_key,
    open_response,
    sign_rsa2,
)

log = logging.getLogger(__name__)

PRECREATE = "alipay.trade.precreate"
CANCEL = "alipay.trade.cancel"
CLOSE = "alipay.trade.close"
SUCCESS_CODE = "10000"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class AlipayResponse:
    """One gateway answer, read from the verified response node.

    ``signed`` is False only for request-level rejections Alipay sends unsigned (e.g. 40002
    ``isv.invalid-signature``); such content is Alipay's word only as far as the transport is trusted.
    """

    method: str
    code: str
    msg: str = ""
    sub_code: str = ""
    sub_msg: str = ""
    signed: bool = True
    out_trade_no: str = ""
    trade_no: str = ""
    qr_code: str = ""
    action: str = ""
    retry_flag: str = ""

    @property
    def ok(self) -> bool:
        return self.code == SUCCESS_CODE

    @classmethod
    def from_node(cls, method: str, node: Mapping[str, Any], *, signed: bool) -> AlipayResponse:
        def s(name: str) -> str:
            value = node.get(name, "")
            return value if isinstance(value, str) else str(value)

        return cls(
            method=method, code=s("code"), msg=s("msg"), sub_code=s("sub_code"), sub_msg=s("sub_msg"),
            signed=signed, out_trade_no=s("out_trade_no"), trade_no=s("trade_no"), qr_code=s("qr_code"),
            action=s("action"), retry_flag=s("retry_flag"),
        )


class AlipayClient:
    """Calls the gateway as one application (``app_id``), signing with its private key and
    verifying answers with the Alipay platform public key. Keys are loaded on first use, once."""

    def __init__(
        self,
        gateway_url: str,
        app_id: str,
        private_key: SecretStr,
        alipay_public_key: str,
        session: aiohttp.ClientSession,
        clock: Clock,
        *,
        timeout: float = 10.0,
        app_auth_token: SecretStr | None = None,
    ) -> None:
        self._gateway_url = gateway_url
        self._app_id = app_id
        self._private_key_text = private_key
        self._public_key_text = alipay_public_key
        self._session = session
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._app_auth_token = app_auth_token
        self._private: rsa.RSAPrivateKey | None = None
        self._public: rsa.RSAPublicKey | None = None

    def __repr__(self) -> str:
        return f"AlipayClient(gateway_url={self._gateway_url!r}, app_id={self._app_id!r})"

    def _keys(self) -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]:
        if self._private is None:
            self._private = load_private_key(self._private_key_text.get_secret_value())
        if self._public is None:
            self._public = load_public_key(self._public_key_text)
        return self._private, self._public

    async def precreate(
        self,
        out_trade_no: str,
        amount: Decimal | str,
        subject: str,
        hb_fq_num: int | None = None,
        *,
        hb_fq_seller_percent: int | None = None,
        enable_pay_channels: Sequence[str] = HUABEI_CHANNELS,
        timeout_express: str = "5m",
    ) -> AlipayResponse:
        """``alipay.trade.precreate``: a QR pre-order; no money moves unless someone pays the QR.

        ``hb_fq_num`` requests Huabei installments (``extend_params.hb_fq_num``);
        ``timeout_express`` makes Alipay close the pre-order by itself should our cancel be lost.
        """
        biz: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "total_amount": str(amount),
            "subject": subject,
            "timeout_express": timeout_express,
        }
        if enable_pay_channels:
            biz["enable_pay_channels"] = ",".join(enable_pay_channels)
        extend: dict[str, str] = {}
        if hb_fq_num is not None:
            extend["hb_fq_num"] = str(hb_fq_num)
            extend["hb_fq_seller_percent"] = str(hb_fq_seller_percent if hb_fq_seller_percent is not None else 0)
        if extend:
            biz["extend_params"] = extend
        return await self.call(PRECREATE, biz)

    async def cancel(self, out_trade_no: str) -> AlipayResponse:
        """``alipay.trade.cancel``: close (or refund, if paid) the order. Idempotent on Alipay's side."""
        return await self.call(CANCEL, {"out_trade_no": out_trade_no})

    async def close(self, out_trade_no: str) -> AlipayResponse:
        """``alipay.trade.close``: close an unpaid order."""
        return await self.call(CLOSE, {"out_trade_no": out_trade_no})

    def signed_params(self, method: str, biz_content: Mapping[str, Any]) -> dict[str, str]:
        """All request parameters including ``sign``. Raises KeyInvalid."""
        private, _ = self._keys()
        params: dict[str, str] = {
            "app_id": self._app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": to_shanghai(self._clock.now()).strftime(TIMESTAMP_FORMAT),
            "version": "1.0",
            "biz_content": json.dumps(biz_content, ensure_ascii=False, separators=(",", ":")),
        }
        if self._app_auth_token is not None:
            params["app_auth_token"] = self._app_auth_token.get_secret_value()
        params["sign"] = sign_rsa2(params, private)
        return params

    async def call(self, method: str, biz_content: Mapping[str, Any]) -> AlipayResponse:
        """Sign, POST, verify. Common parameters go in the query string, ``biz_content`` in the
        form body (as Alipay's SDKs send them)."""
        params = self.signed_params(method, biz_content)
        _, public = self._keys()
        query = {k: v for k, v in params.items() if k != "biz_content"}
        form = {"biz_content": params["biz_content"]}
        try:
            async with self._session.post(
                self._gateway_url, params=query, data=form, timeout=self._timeout
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except TimeoutError:
            raise TransientError("timeout") from None
        except aiohttp.ClientConnectorError:
            raise TransientError("connection_refused") from None
        except (aiohttp.ClientError, ConnectionError, asyncio.IncompleteReadError):
            raise TransientError("connection_reset") from None
        if status >= 500 or status == 429:
            raise TransientError(f"http_{status}")
        if status != 200:
            raise ResponseMalformed(f"gateway answered HTTP {status}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ResponseMalformed("gateway answer is not UTF-8") from None
        opened = open_response(text, method, public)
        response = AlipayResponse.from_node(method, opened.node, signed=opened.signed)
        log.debug(
            "alipay.call",
            extra={"method": method, "app_id": self._app_id, "code": response.code, "sub_code": response.sub_code},
        )
        return response
