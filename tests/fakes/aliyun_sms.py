"""Fake Aliyun SMS RPC endpoint (``SendSms``, signature v1 HMAC-SHA1 checked from the raw form)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote_plus

from aiohttp import web

from huabei_watch.clock import Clock
from tests.fakes.base import Failure, FakeProvider

MOBILE = re.compile(r"^(\+?86)?1\d{10}$")
#: Aliyun's per-number flow control (same signature + template): minute, hour, day.
DEFAULT_NUMBER_LIMITS: tuple[tuple[int, float, str], ...] = (
    (1, 60.0, "触发分钟级流控Permits:1"),
    (5, 3600.0, "触发小时级流控Permits:5"),
    (10, 86400.0, "触发天级流控Permits:10"),
)


def _aliyun_encode(value: str) -> str:
    # The documented recipe: form-encode, then "+" -> "%20", "*" -> "%2A", "%7E" -> "~".
    return quote_plus(value, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


class FakeAliyunSms(FakeProvider):
    name = "aliyun_sms"

    def __init__(
        self, clock: Clock, *, access_key_id: str, access_key_secret: str, sign_names: set[str] | None = None,
        templates: set[str] | None = None,
        number_limits: tuple[tuple[int, float, str], ...] = DEFAULT_NUMBER_LIMITS,
    ) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_names = sign_names
        self.templates = templates
        self.number_limits = number_limits
        self._nonces: set[str] = set()
        self.param_places: list[str] = []
        self.batch_calls = 0  # SendBatchSms calls accepted
        super().__init__(clock)

    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/", self._rpc)

    def _error(self, status: int, code: str, message: str) -> web.Response:
        self.reject(code, message)
        return web.json_response(
            {"Code": code, "Message": message, "RequestId": secrets.token_hex(8).upper()}, status=status
        )

    def _expected_signature(self, method: str, params: list[tuple[str, str]]) -> str:
        pairs = sorted((k, v) for k, v in params if k != "Signature")
        query = "&".join(_aliyun_encode(k) + "=" + _aliyun_encode(v) for k, v in pairs)
        to_sign = method + "&" + _aliyun_encode("/") + "&" + _aliyun_encode(query)
        key = (self.access_key_secret + "&").encode()
        return base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha1).digest()).decode()

    async def _rpc(self, request: web.Request) -> web.Response:
        self.requests += 1
        failure = self.take_failure()
        if failure is not None:
            return self._failure(failure)
        raw = await request.read()
        in_query = parse_qsl(request.query_string, keep_blank_values=True)
        in_body = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
        params = in_query + in_body
        p = dict(params)
        # Where the parameters travelled: the official SDKs put them all in the query string.
        self.param_places.append("query" if in_query and not in_body else "body" if not in_query else "both")
        if p.get("AccessKeyId") != self.access_key_id:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if p.get("SignatureMethod") != "HMAC-SHA1" or p.get("SignatureVersion") != "1.0":
            return self._error(400, "InvalidParameter", "SignatureMethod/SignatureVersion")
        if not hmac.compare_digest(p.get("Signature", ""), self._expected_signature(request.method, params)):
            return self._error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        try:
            stamp = datetime.strptime(p.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return self._error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs((self.clock.now() - stamp).total_seconds()) > 900:
            return self._error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        nonce = p.get("SignatureNonce", "")
        if not nonce or nonce in self._nonces:
            return self._error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self._nonces.add(nonce)
        if p.get("Action") not in ("SendSms", "SendBatchSms") or p.get("Version") != "2017-05-25":
            return self._error(400, "InvalidAction.NotFound", "Specified api is not found.")
        if p["Action"] == "SendBatchSms":
            return await self._batch(p)
        phone = p.get("PhoneNumbers", "")
        if not MOBILE.match(phone):
            return self._error(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if self.sign_names is not None and p.get("SignName") not in self.sign_names:
            return self._error(200, "isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
        template = p.get("TemplateCode", "")
        if self.templates is not None and template not in self.templates:
            return self._error(200, "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法")
        try:
            template_param = json.loads(p.get("TemplateParam", "{}"))
        except ValueError:
            return self._error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法")
        window_key = f"{phone}|{template}"
        for limit, per, message in self.number_limits:
            if not self.window_allows(window_key, limit, per):
                return self._error(200, "isv.BUSINESS_LIMIT_CONTROL", message)
        self.window_count(window_key)
        await self.accept(p.get("OutId", ""), phone, {**p, "TemplateParam": template_param})
        return web.json_response(
            {"Code": "OK", "Message": "OK", "BizId": f"{len(self.received)}^0", "RequestId": secrets.token_hex(8).upper()}
        )

    async def _batch(self, p: dict[str, str]) -> web.Response:
        """SendBatchSms: up to 100 numbers, one signature and parameter set per number."""
        try:
            phones, signs, params = (json.loads(p.get(k, "")) for k in ("PhoneNumberJson", "SignNameJson", "TemplateParamJson"))
        except ValueError:
            return self._error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法")
        if not isinstance(phones, list) or not 1 <= len(phones) <= 100:
            return self._error(200, "isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
        if not (isinstance(signs, list) and isinstance(params, list) and len(signs) == len(params) == len(phones)):
            return self._error(200, "isv.INVALID_PARAMETERS", "签名、参数与号码数量不一致")
        if any(not MOBILE.match(str(x)) for x in phones):
            return self._error(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if self.sign_names is not None and any(x not in self.sign_names for x in signs):
            return self._error(200, "isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
        template = p.get("TemplateCode", "")
        if self.templates is not None and template not in self.templates:
            return self._error(200, "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法")
        for phone in phones:
            for limit, per, message in self.number_limits:
                if not self.window_allows(f"{phone}|{template}", limit, per):
                    return self._error(200, "isv.BUSINESS_LIMIT_CONTROL", message)
        self.batch_calls += 1
        for phone, param in zip(phones, params, strict=True):
            self.window_count(f"{phone}|{template}")
            await self.accept(f"{p.get('OutId', '')}:{phone}", phone,
                              {**p, "PhoneNumbers": phone, "TemplateParam": param})
        return web.json_response(
            {"Code": "OK", "Message": "OK", "BizId": f"{len(self.received)}^0", "RequestId": secrets.token_hex(8).upper()}
        )

    def _failure(self, failure: Failure) -> web.Response:
        if failure.code is None:
            return self.bare_failure(failure)
        headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else None
        self.reject(failure.code, failure.message)
        return web.json_response({"Code": str(failure.code), "Message": failure.message}, status=failure.status,
                                 headers=headers)
