"""Why did a payment fail? Alipay code / sub code / transport error -> one :class:`Cause`.

Pure: no I/O, no clock. :func:`diagnose` never raises on input it does not know; it answers
``Cause.UNKNOWN`` instead, so a new Alipay code can never crash the pipeline.

Lookup order:

1. a transport error (no Alipay answer) -> ``platform`` (known kinds get specific advice);
2. the sub code, if known (``ACQ.*``, ``isv.*``, ``isp.*``, ``aop.*``), case-insensitive;
3. the code itself when it is a sub code (platforms often send ``ACQ.SYSTEM_ERROR`` as ``code``);
4. an unknown sub code of a family whose owner Alipay defines: ``isv.*`` -> integration (the
   caller's request), ``isp.*`` -> platform (the service behind the gateway);
5. the top-level code (20000, 40002, ...). ``40004`` with an unknown sub code stays unknown.

Whatever it finds, a failure while ``in_maintenance`` is ``maintenance``: during a known window
the cause of the moment is the window, not the code.
"""

from __future__ import annotations

from dataclasses import dataclass

from huabei_watch.events.common import Cause
from watcher.payments.codes import (
    ACQ_CODES,
    GATEWAY_SUB_CODES,
    HINT_OTHER_METHOD,
    HINT_RETRY_LATER,
    HINT_SHOP_SIDE,
    TOP_LEVEL_CODES,
    TRANSPORT_ERRORS,
    TRANSPORT_OTHER,
    CodeInfo,
    Severity,
)

SUCCESS_CODE = "10000"


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The cause of one failure and what to tell the merchant, ops and the shopper."""

    cause: Cause
    advice_zh: str
    explanation: str
    shopper_hint_zh: str
    severity: Severity
    #: The table row that matched ("" when none did); what evidence counts are keyed by.
    matched: str = ""


def _index(*tables: tuple[CodeInfo, ...]) -> dict[str, CodeInfo]:
    out: dict[str, CodeInfo] = {}
    for table in tables:
        for info in table:
            key = info.code.lower()
            if key in out:
                raise ValueError(f"code {info.code!r} appears twice in the diagnosis tables")
            out[key] = info
    return out


_SUB_CODES = _index(ACQ_CODES, GATEWAY_SUB_CODES)
_TOP_LEVEL = _index(TOP_LEVEL_CODES)
_TRANSPORT = _index(TRANSPORT_ERRORS)

_ISV_FALLBACK = CodeInfo(
    "isv.*", Cause.INTEGRATION, "critical",
    "收银系统的请求被支付宝网关拒绝（isv类错误）。请把报错信息发给收银系统/插件技术支持。",
    "Unlisted isv.* sub code: by Alipay's convention the caller's request is at fault.",
    HINT_SHOP_SIDE,
)
_ISP_FALLBACK = CodeInfo(
    "isp.*", Cause.PLATFORM, "warning",
    "支付宝服务端出现错误（isp类错误），请稍后重试。",
    "Unlisted isp.* sub code: by Alipay's convention the service provider side is at fault.",
    HINT_RETRY_LATER,
)
_UNKNOWN = CodeInfo(
    "", Cause.UNKNOWN, "warning",
    "暂时无法判断失败原因。请查看报错信息（sub_msg）；如持续出现，请联系支付宝技术支持。",
    "Code not in the diagnosis table; cause unknown.",
    HINT_OTHER_METHOD,
)


def known_codes() -> tuple[str, ...]:
    """Every code and sub code in the table (for docs and tests)."""
    return tuple(i.code for i in (*ACQ_CODES, *GATEWAY_SUB_CODES, *TOP_LEVEL_CODES))


def known_transport_errors() -> tuple[str, ...]:
    return tuple(i.code for i in TRANSPORT_ERRORS)


def _lookup(code: str, sub_code: str, transport_error: str) -> CodeInfo:
    if transport_error:
        return _TRANSPORT.get(transport_error.lower(), TRANSPORT_OTHER)
    for candidate in (sub_code, code):
        info = _SUB_CODES.get(candidate.lower()) if candidate else None
        if info is not None:
            return info
    for candidate in (sub_code, code):
        lowered = candidate.lower()
        if lowered.startswith("isv."):
            return _ISV_FALLBACK
        if lowered.startswith("isp."):
            return _ISP_FALLBACK
    return _TOP_LEVEL.get(code.lower(), _UNKNOWN) if code else _UNKNOWN


def diagnose(
    code: str = "",
    sub_code: str = "",
    *,
    transport_error: str = "",
    in_maintenance: bool = False,
) -> Diagnosis:
    """Diagnose one result. Never raises; unknown input gives ``Cause.UNKNOWN``."""
    code, sub_code, transport_error = code.strip(), sub_code.strip(), transport_error.strip()
    info = _lookup(code, sub_code, transport_error)
    is_success = not transport_error and code == SUCCESS_CODE and not sub_code
    if in_maintenance and not is_success:
        return Diagnosis(
            cause=Cause.MAINTENANCE,
            advice_zh="支付宝/花呗正在进行已公告的系统维护，维护结束后会自动恢复，期间请引导顾客使用其他支付方式。",
            explanation=f"Failure inside a known maintenance window (the code would otherwise mean: {info.explanation})",
            shopper_hint_zh="花呗服务维护中，请选择其他支付方式",
            severity="warning",
            matched=info.code,
        )
    return Diagnosis(
        cause=info.cause,
        advice_zh=info.advice_zh,
        explanation=info.explanation,
        shopper_hint_zh=info.shopper_hint_zh,
        severity=info.severity,
        matched=info.code,
    )


def diagnosis_json(code: str, sub_code: str = "") -> dict[str, str]:
    """What ``huabei-watch diagnose CODE [SUB_CODE]`` prints (a JSON object at the CLI edge)."""
    d = diagnose(code, sub_code)
    return {"cause": d.cause.value, "advice_zh": d.advice_zh, "explanation": d.explanation}
