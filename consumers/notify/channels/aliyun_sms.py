"""Aliyun SMS ``SendSms`` (dysmsapi 2017-05-25), RPC style with signature v1 (HMAC-SHA1).

Signing (what :func:`rpc_signature` implements): every parameter except ``Signature``, sorted by
name, each name and value percent-encoded (RFC 3986: only ``A-Za-z0-9-_.~`` stay, space is
``%20``), joined as ``k=v`` with ``&``; string-to-sign = ``METHOD&%2F&`` + percent-encode(that
query); signature = base64(HMAC-SHA1(key = AccessKeySecret + "&", string-to-sign)).
The request is a form-encoded POST to ``{base}/``.

Answer: ``{"Code": "OK", "BizId": ..., "RequestId": ..., "Message": ...}``; failures carry another
``Code`` (see the tables below) with HTTP 200 for business errors and 4xx/5xx for API errors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from consumers.notify.channels._http import DEDUPE_HEADER, exchange, raise_for_status, unexpected_body
from consumers.notify.channels.base import OutboundMessage, SendReceipt, masked
from consumers.notify.channels.endpoints import ALIYUN_SMS_BASE_URL
from consumers.notify.channels.ratelimit import Limiter
from huabei_watch.clock import SHANGHAI, Clock
from huabei_watch.errors import InvalidInput, PermanentError, TransientError

log = logging.getLogger(__name__)


TRANSIENT_CODES = frozenset(
    {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL", "isp.SYSTEM_ERROR",
     "Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable", "InternalError",
     "SignatureNonceUsed"}
)
PERMANENT_REASONS: Mapping[str, str] = {
    "isv.MOBILE_NUMBER_ILLEGAL": "invalid phone number",
    "isv.SMS_TEMPLATE_ILLEGAL": "template not approved or wrong",
    "isv.SMS_SIGNATURE_ILLEGAL": "signature name not approved or wrong",
    "isv.AMOUNT_NOT_ENOUGH": "account balance too low (top up, then redrive)",
    "isv.OUT_OF_SERVICE": "service stopped (account in arrears)",
    "isv.TEMPLATE_MISSING_PARAMETERS": "template parameters missing",
    "isv.BLACK_KEY_CONTROL_LIMIT": "content contains a blocked word",
    "isv.MOBILE_COUNT_OVER_LIMIT": "too many numbers",
    "SignatureDoesNotMatch": "request signature rejected (check AccessKeySecret)",
    "InvalidAccessKeyId.NotFound": "AccessKeyId unknown",
    "isp.RAM_PERMISSION_DENY": "AccessKey lacks SMS permission",
}


def percent_encode(value: str) -> str:
    """Aliyun's RPC percent-encoding (RFC 3986 unreserved characters kept)."""
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def rpc_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    """Signature v1 over ``params`` (which must not contain ``Signature``)."""
    string_to_sign = f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"
    mac = hmac.new(f"{secret}&".encode(), string_to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def limit_retry_after(message: str, now: datetime) -> float:
    """How long BUSINESS_LIMIT_CONTROL asks us to wait: its message names the window that tripped
    (分钟级 minute, 小时级 hour, 天级 day -> until midnight Shanghai). Unknown -> one hour."""
    if "分钟" in message:
        return 60.0
    if "小时" in message:
        return 3600.0
    if "天" in message or "日" in message:
        local = now.astimezone(SHANGHAI)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
        return (midnight - local).total_seconds()
    return 3600.0


async def _result(call: Awaitable[SendReceipt]) -> SendReceipt | Exception:
    """The receipt, or the channel error (Transient/Permanent) as a value."""
    try:
        return await call
    except (TransientError, PermanentError) as exc:
        return exc


class _Answer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    code: str = Field(alias="Code")
    message: str = Field(default="", alias="Message")
    biz_id: str = Field(default="", alias="BizId")


class AliyunSmsChannel:
    """One SMS to ``msg.address`` (a mainland number) from template ``msg.template_id`` (or the default)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        *,
        access_key_id: str,
        access_key_secret: SecretStr,
        sign_name: str,
        default_template_code: str | None = None,
        base_url: str = ALIYUN_SMS_BASE_URL,
        region_id: str = "cn-hangzhou",
        limiter: Limiter | None = None,
        timeout: float = 10.0,
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
        name: str = "aliyun_sms",
    ) -> None:
        self.name = name
        self._session = session
        self._clock = clock
        self._url = base_url.rstrip("/") + "/"
        self._key_id = access_key_id
        self._secret = access_key_secret
        self._sign_name = sign_name
        self._default_template = default_template_code
        self._region = region_id
        self._limiter = limiter
        self._timeout = timeout
        self._nonce = nonce

    def signed_params(self, msg: OutboundMessage, template_code: str) -> dict[str, str]:
        """The full parameter set of a SendSms call, ``Signature`` included."""
        params = {
            "AccessKeyId": self._key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": msg.ref,
            "PhoneNumbers": msg.address,
            "RegionId": self._region,
            "SignName": self._sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self._nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(dict(msg.template_params), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": self._clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = rpc_signature("POST", params, self._secret.get_secret_value())
        return params

    #: SendBatchSms takes at most this many numbers per call.
    max_batch = 100

    async def send_batch(self, msgs: list[OutboundMessage]) -> list[SendReceipt | Exception]:
        """One ``SendBatchSms`` call for messages with the same template and parameters (different
        numbers): one result per message. A refusal of the whole call that may concern one number
        only (a permanent error) is retried number by number with ``SendSms``, so one bad number
        never fails the others."""
        if len(msgs) == 1:
            return [await _result(self.send(msgs[0]))]
        first = msgs[0]
        template = first.template_id or self._default_template
        if not template:
            return [InvalidInput(f"{self.name}: message {m.dedupe_key} has no template code") for m in msgs]
        if self._limiter is not None:
            await self._limiter.acquire(self.name)
        param = dict(first.template_params)
        batch_ref = hashlib.sha256("\n".join(m.ref for m in msgs).encode()).hexdigest()[:32]
        params = {
            "AccessKeyId": self._key_id, "Action": "SendBatchSms", "Format": "JSON", "OutId": batch_ref,
            "PhoneNumberJson": json.dumps([m.address for m in msgs]),
            "RegionId": self._region,
            "SignNameJson": json.dumps([self._sign_name] * len(msgs), ensure_ascii=False),
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": self._nonce(), "SignatureVersion": "1.0",
            "TemplateCode": template,
            "TemplateParamJson": json.dumps([param] * len(msgs), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": self._clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = rpc_signature("POST", params, self._secret.get_secret_value())
        try:
            receipt = await self._call(params, batch_ref, f"batch of {len(msgs)}", in_body=True)
        except PermanentError:
            return [await _result(self.send(m)) for m in msgs]
        except TransientError as exc:
            return [exc for _ in msgs]
        return [receipt for _ in msgs]

    async def _call(self, params: dict[str, str], ref: str, what: str, *, in_body: bool = False) -> SendReceipt:
        """POST ``params`` in the query string (``in_body``: as a form body, for the long lists of
        SendBatchSms, which would make a URL some servers refuse; the signature is the same);
        the receipt, or the error the answer means."""
        encoded = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items())
        answer = await exchange(
            self._session, "POST", self._url if in_body else f"{self._url}?{encoded}", provider=self.name,
            clock=self._clock, timeout_s=self._timeout, data=encoded.encode("ascii") if in_body else None,
            headers={DEDUPE_HEADER: ref, **({"Content-Type": "application/x-www-form-urlencoded"} if in_body else {})},
        )
        parsed = answer.parse(_Answer)
        if parsed is None:
            raise_for_status(self.name, answer)
            raise unexpected_body(self.name, answer)
        if parsed.code == "OK":
            log.debug("channel.sent", extra={"channel": self.name, "what": what})
            return SendReceipt(provider_message_id=parsed.biz_id or ref, attempts=1)
        reason = f"{self.name}: {parsed.code}: {parsed.message}"
        if parsed.code in TRANSIENT_CODES or parsed.code.startswith("Throttling"):
            retry_after = answer.retry_after
            if parsed.code == "isv.BUSINESS_LIMIT_CONTROL":
                retry_after = limit_retry_after(parsed.message, self._clock.now())
            elif parsed.code in ("isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL"):
                retry_after = limit_retry_after("天", self._clock.now())
            raise TransientError(reason, retry_after=retry_after)
        if answer.status >= 500:
            raise TransientError(reason, retry_after=answer.retry_after)
        raise PermanentError(f"{reason} ({PERMANENT_REASONS.get(parsed.code, 'rejected')})")

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        template = msg.template_id or self._default_template
        if not template:
            raise InvalidInput(f"{self.name}: message {msg.dedupe_key} has no template code")
        if not msg.address:
            raise InvalidInput(f"{self.name}: message {msg.dedupe_key} has no phone number")
        if self._limiter is not None:
            await self._limiter.acquire(self.name)
        params = self.signed_params(msg, template)
        receipt = await self._call(params, msg.ref, msg.dedupe_key)
        log.info("channel.sent", extra={"channel": self.name, "dedupe_key": msg.dedupe_key, "to": masked(msg.address)})
        return receipt
