"""Fake Tencent Cloud SMS (``SendSms`` 2021-01-11), TC3-HMAC-SHA256 checked from the raw request."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time

from aiohttp import web

from huabei_watch.clock import Clock
from tests.fakes.base import Failure, FakeProvider

AUTH = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)/tc3_request, "
    r"SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)
MOBILE = re.compile(r"^(\+86|0086|86)?1\d{10}$")
#: Default per-number frequency policy (console defaults): 30 s, 1 h, day.
DEFAULT_NUMBER_LIMITS: tuple[tuple[int, float, str], ...] = (
    (1, 30.0, "LimitExceeded.PhoneNumberThirtySecondLimit"),
    (5, 3600.0, "LimitExceeded.PhoneNumberOneHourLimit"),
    (10, 86400.0, "LimitExceeded.PhoneNumberDailyLimit"),
)
#: Codes a failure injection puts per number in SendStatusSet (others go to Response.Error).
_PER_NUMBER_PREFIXES = ("FailedOperation.", "LimitExceeded.", "InvalidParameterValue.")


def _h(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


class FakeTencentSms(FakeProvider):
    name = "tencent_sms"

    def __init__(
        self, clock: Clock, *, secret_id: str, secret_key: str, sdk_app_id: str,
        number_limits: tuple[tuple[int, float, str], ...] = DEFAULT_NUMBER_LIMITS,
    ) -> None:
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.number_limits = number_limits
        #: Numbers answered LimitExceeded.AppCountryOrRegionInBlacklist (a region the app may not reach).
        self.blocked_numbers: set[str] = set()
        self.batch_calls = 0  # requests with more than one number
        super().__init__(clock)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/", self._api)

    def _error(self, code: str, message: str) -> web.Response:
        self.reject(code, message)
        return web.json_response({"Response": {"Error": {"Code": code, "Message": message},
                                               "RequestId": secrets.token_hex(8)}})

    def _status(self, phone: str, code: str, message: str, ref: str) -> web.Response:
        self.reject(code, message)
        return web.json_response({"Response": {"SendStatusSet": [
            {"SerialNo": "", "PhoneNumber": phone, "Fee": 0, "SessionContext": ref, "Code": code,
             "Message": message, "IsoCode": "CN"}], "RequestId": secrets.token_hex(8)}})

    def _signature_ok(self, request: web.Request, raw: bytes, m: re.Match[str]) -> bool:
        signed = m["headers"].split(";")
        canonical_headers = "".join(f"{h}:{request.headers.get(h, '').strip().lower()}\n" for h in signed)
        canonical = (
            f"{request.method}\n{request.path}\n{request.query_string}\n{canonical_headers}\n"
            f"{m['headers']}\n{hashlib.sha256(raw).hexdigest()}"
        )
        stamp = request.headers.get("X-TC-Timestamp", "")
        scope = f"{m['date']}/{m['service']}/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = _h(_h(_h(("TC3" + self.secret_key).encode(), m["date"]), m["service"]), "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, m["sig"])

    async def _api(self, request: web.Request) -> web.Response:
        self.requests += 1
        raw = await request.read()
        m = AUTH.match(request.headers.get("Authorization", ""))
        if m is None:
            return self._error("AuthFailure.InvalidAuthorization", "Authorization header is not valid.")
        if m["id"] != self.secret_id:
            return self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        try:
            stamp = int(request.headers.get("X-TC-Timestamp", ""))
        except ValueError:
            return self._error("AuthFailure.InvalidAuthorization", "X-TC-Timestamp missing.")
        if abs(self.clock.now().timestamp() - stamp) > 300:
            return self._error("AuthFailure.SignatureExpire", "Signature expired.")
        if time.strftime("%Y-%m-%d", time.gmtime(stamp)) != m["date"] or "host" not in m["headers"].split(";"):
            return self._error("AuthFailure.InvalidAuthorization", "Credential scope date or signed headers wrong.")
        if not self._signature_ok(request, raw, m):
            return self._error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        if request.headers.get("X-TC-Action") != "SendSms" or request.headers.get("X-TC-Version") != "2021-01-11":
            return self._error("InvalidAction", "The action or version is not valid.")
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error("FailedOperation.JsonParseFail", "json parse failed")
        if body.get("SmsSdkAppId") != self.sdk_app_id:
            return self._error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId not exist.")
        phones = body.get("PhoneNumberSet") or []
        if not 1 <= len(phones) <= 200:
            return self._error("LimitExceeded.PhoneNumberCountLimit", "1 to 200 numbers per request")
        ref = body.get("SessionContext", "")
        failure = self.take_failure()
        if failure is not None:
            return self._failure(failure, phones[0], ref)
        statuses = []
        for phone in phones:
            code = ""
            if not MOBILE.match(phone):
                code = "InvalidParameterValue.IncorrectPhoneNumber"
            elif phone in self.blocked_numbers:
                code = "LimitExceeded.AppCountryOrRegionInBlacklist"
            else:
                key = f"{phone}|{body.get('TemplateId')}"
                code = next((c for limit, per, c in self.number_limits if not self.window_allows(key, limit, per)), "")
                if not code:
                    self.window_count(key)
                    await self.accept(ref if len(phones) == 1 else f"{ref}:{phone}", phone, body)
            if code:
                self.reject(code, "refused")
            statuses.append({"SerialNo": "" if code else f"2433:{len(self.received)}", "PhoneNumber": phone,
                             "Fee": 0 if code else 1, "SessionContext": ref, "Code": code or "Ok",
                             "Message": code or "send success", "IsoCode": "CN"})
        if len(phones) > 1:
            self.batch_calls += 1
        return web.json_response({"Response": {"SendStatusSet": statuses, "RequestId": secrets.token_hex(8)}})

    def _failure(self, failure: Failure, phone: str, ref: str) -> web.Response:
        if failure.code is None:
            return self.bare_failure(failure)
        code = str(failure.code)
        if code.startswith(_PER_NUMBER_PREFIXES):
            return self._status(phone, code, failure.message, ref)
        return self._error(code, failure.message)
