"""``GET /m/{merchant_id}``: one merchant's page, in Chinese, for a phone (WeChat's in-app browser
included: plain HTML and CSS, no JavaScript, no outside resources).

Opened with the merchant's token (``Authorization: Bearer``), the ops token, or a signed link
(:mod:`huabei_watch.merchants.links`) that messages can carry. Shows Huabei at this merchant's
cashier now, upcoming maintenance windows (with a calendar link), the latest messages sent to it,
and what to do. Reads the cashier's, the incidents' and the notify role's tables.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from consumers.cashier.reconcile import effective
from consumers.cashier.store import PLATFORM, state_from_json, state_table
from consumers.notify.store import notification_deliveries
from huabei_watch.events import Incident, IncidentKind
from huabei_watch.merchants.links import link_signature
from huabei_watch.merchants.model import Merchant
from huabei_watch.root import reads
from huabei_watch.root.calendars import calendar_windows
from huabei_watch.root.incident_data import outcome_of
from huabei_watch.root.page_auth import merchant_access
from huabei_watch.root.templates import render
from huabei_watch.runtime.admin import APP_KEY

if TYPE_CHECKING:
    from huabei_watch.root.settings import Settings
    from huabei_watch.runtime.app import App

log = logging.getLogger(__name__)

RECENT_MESSAGES = 10
PHASE_ZH = {"scheduled": "预告", "reminder": "提醒", "active": "开始", "resolved": "恢复", "cancelled": "取消",
            "updated": "变更", "opened": "开始"}
OUTCOME_ZH = {"sent": "已送达", "retried": "重试后送达", "failed": "发送失败", "unconfirmed": "未确认", "pending": "发送中"}
CHANNEL_ZH = {"wecom": "企业微信", "sms": "短信", "wechat_oa": "微信公众号", "dingtalk": "钉钉", "feishu": "飞书",
              "webhook": "Webhook", "console": "控制台", "file": "文件", "email": "邮件"}


@dataclass(frozen=True, slots=True)
class CashierNow:
    """Huabei at this merchant's cashier. ``why``: ``platform``, ``merchant``, ``pinned`` or ``""``."""

    off: bool
    why: str
    until: datetime | None
    message_zh: str
    platform_off_not_switched: bool  # the platform switch is off but this merchant is never switched


@dataclass(frozen=True, slots=True)
class Message:
    at: datetime
    channel: str
    phase: str
    outcome: str
    title: str


async def _cashier_now(conn: AsyncConnection, merchant: Merchant, now: datetime, have: set[str]) -> CashierNow:
    if merchant.mode == "pinned_off":
        return CashierNow(True, "pinned", None, "", False)
    states = {}
    if state_table.name in have:
        rows = (await conn.execute(
            select(state_table.c.subject, state_table.c.data).where(state_table.c.subject.in_([PLATFORM, merchant.id]))
        )).all()
        states = {subject: effective(state_from_json(data), now) for subject, data in rows}
    platform, own = states.get(PLATFORM), states.get(merchant.id)
    platform_off = platform is not None and bool(platform.channels)
    if merchant.mode == "pinned_on":
        return CashierNow(False, "", None, "", platform_off)
    if own is not None and own.channels:
        return CashierNow(True, "merchant", own.expected_until or own.until, own.message_zh, False)
    if platform is not None and platform_off and merchant.mode == "auto":
        return CashierNow(True, "platform", platform.expected_until or platform.until, platform.message_zh, False)
    return CashierNow(False, "", None, "", platform_off)


async def _messages(conn: AsyncConnection, merchant_id: str, titles: dict[str, str]) -> list[Message]:
    t = notification_deliveries.c
    rows = (await conn.execute(
        select(t.dedupe_key, t.channel, t.state, t.attempts, t.last_error, t.updated_at)
        .where(t.recipient == merchant_id).order_by(t.updated_at.desc()).limit(RECENT_MESSAGES)
    )).all()
    out = []
    for key, channel, state, attempts, last_error, updated in rows:
        parts = key.split("|")
        incident_id, phase = (parts[1], parts[2]) if len(parts) == 4 else ("", "")
        out.append(Message(updated, channel, phase, outcome_of(state, int(attempts), last_error or ""),
                           titles.get(incident_id, "")))
    return out


def _advice(now_state: CashierNow, own: list[Incident], mode: str) -> list[str]:
    """What the merchant should do, most urgent first (short, plain, never claiming what did not happen)."""
    out = [i.advice_zh for i in own if i.advice_zh]
    if now_state.off and now_state.why in ("platform", "merchant"):
        out.append("花呗暂停期间，顾客可用余额、储蓄卡、信用卡或余额宝付款；恢复后收银台会自动重新开放花呗，无需操作。")
    elif now_state.off and now_state.why == "pinned":
        out.append("您的收银台设置为固定关闭花呗。如需开启，请联系平台运维。")
    elif now_state.platform_off_not_switched:
        out.append("花呗平台暂停中，您的收银台不会自动关闭花呗。请提醒顾客改用其他付款方式。")
    if mode == "notify_only":
        out.append("您选择了仅通知：维护时我们只提醒您，不会自动切换收银台。")
    if not out:
        out.append("目前无需操作。维护或故障时我们会提前通知您。")
    return out


def _app(request: web.Request) -> App[Settings]:
    app: App[Settings] = request.app[APP_KEY]
    return app


async def merchant_page(request: web.Request) -> web.Response:
    app = _app(request)
    merchant_id = request.match_info["merchant_id"]
    merchant, access = await merchant_access(request, app, merchant_id, signed_link=True)
    now = app.clock.now()
    async with app.db.engine.connect() as conn:
        have = await reads.present(conn, [state_table, notification_deliveries])
        cashier = await _cashier_now(conn, merchant, now, have)
        every = await reads.incidents(conn)
        titles = {i.incident_id: i.title for i in every}
        messages = await _messages(conn, merchant.id, titles) if notification_deliveries.name in have else []
    windows = [i for i in calendar_windows(every, now, merchant.id) if i.phase.is_open]
    own = [i for i in every if i.phase.is_open and i.scope.kind.value == "merchants" and merchant.id in i.scope.merchant_ids
           and i.kind in (IncidentKind.MERCHANT_ACCOUNT, IncidentKind.INTEGRATION)]
    html = render(
        "merchant.html.j2", now=now, m=merchant, cashier=cashier, windows=windows, own=own, messages=messages,
        advice=_advice(cashier, own, merchant.mode), calendar_url=_calendar_link(request, app, merchant, access),
        phase_zh=PHASE_ZH, outcome_zh=OUTCOME_ZH, channel_zh=CHANNEL_ZH,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _calendar_link(request: web.Request, app: App[Settings], merchant: Merchant, access: str) -> str | None:
    """A calendar subscription link when the page was opened by a signed link (a bearer caller
    already holds the token that ``?token=`` takes)."""
    path = f"/v1/merchants/{quote(merchant.id, safe='')}/calendar.ics"
    secret = app.settings.pages.link_secret
    if access == "link" and secret is not None:
        exp = int((app.clock.now() + timedelta(seconds=app.settings.pages.link_ttl)).timestamp())
        return path + "?" + urlencode({"exp": exp, "sig": link_signature(secret.get_secret_value(), merchant.id, exp)})
    return None
