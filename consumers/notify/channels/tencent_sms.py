"""Tencent Cloud SMS ``SendSms`` (version 2021-01-11) signed with TC3-HMAC-SHA256.

Signing (what :func:`tc3_authorization` implements):
canonical request = ``POST\\n/\\n\\ncontent-type:<ct>\\nhost:<host>\\n\\ncontent-type;host\\n`` +
hex(sha256(body)); string-to-sign = ``TC3-HMAC-SHA256\\n<ts>\\n<date>/<service>/tc3_request\\n`` +
hex(sha256(canonical request)); key = HMAC chain ``"TC3"+SecretKey`` -> date -> service ->
``tc3_request``; signature = hex(HMAC-SHA256(key, string-to-sign)). ``<date>`` is the UTC date of
``<ts>``. Headers X-TC-Action/Version/Timestamp/Region carry the common parameters.

Answer: ``{"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": ...}], "RequestId": ...}}``,
or ``{"Response": {"Error": {"Code", "Message"}}}`` when the whole call failed. Per-number codes
are read from ``SendStatusSet``, matched by number (up to 200 numbers per call).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, SecretStr

from consumers.notify.channels._http import DEDUPE_HEADER, exchange, raise_for_status, unexpected_body
from consumers.notify.channels.base import OutboundMessage, SendReceipt, masked
from consumers.notify.channels.endpoints import TENCENT_SMS_BASE_URL
from consumers.notify.channels.ratelimit import Limiter
from huabei_watch.clock import SHANGHAI, Clock
from huabei_watch.errors import InvalidInput, PermanentError, TransientError

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/json; charset=utf-8"
ALGORITHM = "TC3-HMAC-SHA256"

#: FailedOperation codes that clear up by themselves (everything else under FailedOperation is final).
TRANSIENT_FAILED_OPERATIONS = frozenset({"FailedOperation.MarketingSendTimeConstraint"})
#: LimitExceeded codes that waiting does not clear (the other LimitExceeded.* are frequency windows).
PERMANENT_LIMITS = frozenset({"LimitExceeded.PhoneNumberCountLimit", "LimitExceeded.AppCountryOrRegionInBlacklist"})
PERMANENT_REASONS = {
    "FailedOperation.InsufficientBalanceInSmsPackage": "SMS package balance exhausted (top up, then redrive)",
    "FailedOperation.PhoneNumberInBlacklist": "number on the do-not-disturb list (user unsubscribed)",
    "FailedOperation.SignatureIncorrectOrUnapproved": "signature not approved",
    "FailedOperation.TemplateIncorrectOrUnapproved": "template not approved or parameters mismatch",
    "FailedOperation.ContainSensitiveWord": "content contains a sensitive word",
    "InvalidParameterValue.IncorrectPhoneNumber": "invalid phone number",
    "AuthFailure.SignatureFailure": "request signature rejected (check SecretKey)",
    "AuthFailure.SecretIdNotFound": "SecretId unknown",
    "LimitExceeded.AppCountryOrRegionInBlacklist": "the number's country or region is blocked for this app "
    "(change the app's country/region settings in the SMS console)",
    "LimitExceeded.PhoneNumberCountLimit": "too many numbers in one request",
}


def tc3_authorization(
    *, secret_id: str, secret_key: str, service: str, host: str, timestamp: int, body: bytes,
    content_type: str = CONTENT_TYPE,
) -> str:
    """The ``Authorization`` header value for a POST of ``body`` to ``/`` on ``host``."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    signed_headers = "content-type;host"
    canonical = "\n".join(
        ["POST", "/", "", f"content-type:{content_type.lower()}\nhost:{host.lower()}\n", signed_headers,
         hashlib.sha256(body).hexdigest()]
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join([ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])

    def _hmac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()

    signing_key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"


def limit_retry_after(code: str, now: datetime) -> float:
    """Seconds to wait for a LimitExceeded.* code (by the window its name gives)."""
    if "ThirtySecond" in code:
        return 30.0
    if "OneHour" in code:
        return 3600.0
    if "Daily" in code:
        local = now.astimezone(SHANGHAI)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
        return (midnight - local).total_seconds()
    return 60.0


def classify(code: str, message: str, now: datetime) -> TransientError | PermanentError:
    """The error a Tencent code means (never called with ``Ok``)."""
    reason = f"tencent_sms: {code}: {message}"
    if code.startswith("LimitExceeded") and code not in PERMANENT_LIMITS:
        return TransientError(reason, retry_after=limit_retry_after(code, now))
    if code.startswith(("InternalError", "RequestLimitExceeded")) or code in TRANSIENT_FAILED_OPERATIONS:
        return TransientError(reason, retry_after=1.0 if code.startswith("RequestLimitExceeded") else None)
    return PermanentError(f"{reason} ({PERMANENT_REASONS.get(code, 'rejected')})")


class _Status(BaseModel):
    Code: str
    Message: str = ""
    SerialNo: str = ""
    PhoneNumber: str = ""


class _Error(BaseModel):
    Code: str
    Message: str = ""


class _Response(BaseModel):
    Error: _Error | None = None
    SendStatusSet: list[_Status] = []
    RequestId: str = ""


class _Envelope(BaseModel):
    Response: _Response


class TencentSmsChannel:
    """One SMS to ``msg.address``; template parameters are passed in ``msg.template_params`` order."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        *,
        secret_id: str,
        secret_key: SecretStr,
        sdk_app_id: str,
        sign_name: str,
        default_template_id: str | None = None,
        base_url: str = TENCENT_SMS_BASE_URL,
        region: str = "ap-guangzhou",
        service: str = "sms",
        limiter: Limiter | None = None,
        timeout: float = 10.0,
        name: str = "tencent_sms",
    ) -> None:
        self.name = name
        self._session = session
        self._clock = clock
        self._url = base_url.rstrip("/") + "/"
        self._host = urlsplit(base_url).netloc
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._app_id = sdk_app_id
        self._sign_name = sign_name
        self._default_template = default_template_id
        self._region = region
        self._service = service
        self._limiter = limiter
        self._timeout = timeout

    #: SendSms takes at most this many numbers in PhoneNumberSet.
    max_batch = 200

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        (result,) = await self.send_batch([msg])
        if isinstance(result, Exception):
            raise result
        return result

    async def send_batch(self, msgs: list[OutboundMessage]) -> list[SendReceipt | Exception]:
        """One ``SendSms`` call for messages with the same template and parameters, up to 200
        numbers in ``PhoneNumberSet``; each number's result comes from its ``SendStatusSet`` entry.
        Raises InvalidInput when the first message has no template or a number is missing."""
        first = msgs[0]
        template = first.template_id or self._default_template
        if not template:
            raise InvalidInput(f"{self.name}: message {first.dedupe_key} has no template id")
        if any(not m.address for m in msgs):
            raise InvalidInput(f"{self.name}: a message has no phone number")
        ref = first.ref if len(msgs) == 1 else hashlib.sha256("\n".join(m.ref for m in msgs).encode()).hexdigest()[:32]
        body = json.dumps(
            {
                "PhoneNumberSet": [m.address for m in msgs],
                "SmsSdkAppId": self._app_id,
                "SignName": self._sign_name,
                "TemplateId": template,
                "TemplateParamSet": [value for _, value in first.template_params],
                "SessionContext": ref,
            },
            ensure_ascii=False,
        ).encode("utf-8")
        if self._limiter is not None:
            await self._limiter.acquire(self.name)
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self._secret_id, secret_key=self._secret_key.get_secret_value(),
                service=self._service, host=self._host, timestamp=timestamp, body=body,
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": self._host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self._region,
            DEDUPE_HEADER: ref,
        }
        answer = await exchange(
            self._session, "POST", self._url, provider=self.name, clock=self._clock,
            timeout_s=self._timeout, data=body, headers=headers,
        )
        parsed = answer.parse(_Envelope)
        if parsed is None:
            raise_for_status(self.name, answer)
            raise unexpected_body(self.name, answer)
        response = parsed.Response
        now = self._clock.now()
        if response.Error is not None:
            err = classify(response.Error.Code, response.Error.Message, now)
            return [err for _ in msgs]
        by_number = {_national(st.PhoneNumber): st for st in response.SendStatusSet}
        if len(msgs) == 1 and len(response.SendStatusSet) == 1:
            by_number = {_national(msgs[0].address): response.SendStatusSet[0]}
        out: list[SendReceipt | Exception] = []
        for m in msgs:
            st = by_number.get(_national(m.address))
            if st is None:
                out.append(unexpected_body(self.name, answer))
            elif st.Code == "Ok":
                log.debug("channel.sent", extra={"channel": self.name, "dedupe_key": m.dedupe_key, "to": masked(m.address)})
                out.append(SendReceipt(provider_message_id=st.SerialNo or m.ref, attempts=1))
            else:
                out.append(classify(st.Code, st.Message, now))
        return out


def _national(number: str) -> str:
    """A mainland number without its country prefix (+86, 0086, 86), as Tencent may echo it."""
    digits = number.lstrip("+")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix):]
    return digits
