"""Chinese titles and one-line summaries for merchants (times in Asia/Shanghai).

Short, plain and polite; every function is pure and never raises on aware datetimes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from huabei_watch.clock import to_shanghai
from huabei_watch.events.common import Scope, ScopeKind
from huabei_watch.events.incidents import IncidentKind


def day(dt: datetime) -> str:
    local = to_shanghai(dt)
    return f"{local.month}月{local.day}日"


def hm(dt: datetime) -> str:
    return to_shanghai(dt).strftime("%H:%M")


def span(start: datetime, end: datetime | None) -> str:
    """``11月28日 02:00-04:00``; ``11月28日 22:00-次日02:00``; ``11月28日 02:00起`` when the end is unknown."""
    if end is None:
        return f"{day(start)} {hm(start)}起"
    s, e = to_shanghai(start), to_shanghai(end)
    if s.date() == e.date():
        return f"{day(s)} {hm(s)}-{hm(e)}"
    if e.date() == s.date() + timedelta(days=1):
        return f"{day(s)} {hm(s)}-次日{hm(e)}"
    return f"{day(s)} {hm(s)}-{day(e)} {hm(e)}"


def maintenance_text(
    *, start: datetime, end: datetime | None, toggle: bool, huabei_affected: bool, cancelled: bool
) -> tuple[str, str]:
    """(title, summary_zh) of one maintenance window. ``end`` None means the notice gave no end."""
    when = span(start, end)
    if cancelled:
        return "花呗系统维护已取消", f"原定{when}的系统维护已取消，花呗支付照常可用"
    if not huabei_affected:
        return "平台系统维护", f"平台系统维护：{when}，花呗支付不受影响"
    if not toggle:
        return "花呗可能系统维护", f"平台系统维护：{when}，花呗可能受影响，具体安排待确认，请留意"
    if end is None:
        return "花呗系统维护", f"花呗系统维护：{when}，结束时间待确认，期间暂停花呗支付"
    return "花呗系统维护", f"花呗系统维护：{when}，期间暂停花呗支付"


def _whose(scope: Scope) -> str:
    return "您的" if scope.kind is ScopeKind.MERCHANTS else ""


def correlated_text(
    *, kind: IncidentKind, scope: Scope, start: datetime, end: datetime | None, resolved: bool
) -> tuple[str, str]:
    """(title, summary_zh) of an outage or a merchant problem; ``end`` is the resolution time."""
    who = _whose(scope)
    if kind is IncidentKind.OUTAGE:
        if resolved:
            return "花呗支付已恢复", f"{who}花呗支付已恢复正常（异常时段：{span(start, end)}）"
        return "花呗支付异常", f"{who}花呗支付暂时异常（{span(start, None)}），已暂停花呗支付，恢复后自动开启"
    if kind is IncidentKind.MERCHANT_ACCOUNT:
        if resolved:
            return "商户账户已恢复", "您的商户账户状态已恢复正常"
        return "商户账户异常", "您的商户账户状态异常，花呗等支付可能失败，请尽快处理"
    if resolved:
        return "支付接口问题已解除", "您的支付接口问题已解除"
    return "支付接口对接问题", "您的支付接口配置或版本有问题，部分支付可能失败，请尽快处理"


DEFAULT_ADVICE: dict[IncidentKind, str] = {
    IncidentKind.MERCHANT_ACCOUNT: "请登录支付宝商家平台查看账户状态和限制原因，按提示处理；如有疑问请联系支付宝客服。",
    IncidentKind.INTEGRATION: "请检查应用ID、密钥和签名配置，并将支付插件或SDK升级到最新版本。",
}
