"""Who a merchant is to the planner: its endpoints on the channels configured here, and its mode.

A merchant's SMS entries (``sms``: the deployment's provider order ``notify.sms_provider``;
``aliyun_sms`` / ``tencent_sms``: that provider) form one route: one endpoint on the first
configured provider, the others as fallbacks tried in order when it fails for good. The route's
first provider names the channel in the dedupe key, so the number is told once whichever provider
carries the message.
"""

from __future__ import annotations

from collections.abc import Callable

from consumers.notify.channels.config import SMS_PROVIDERS
from consumers.notify.plan import Endpoint, Recipient
from huabei_watch.merchants.model import Merchant

SmsRoute = Callable[[tuple[str, ...]], tuple[str, ...]]


def merchant_recipient(m: Merchant, configured: set[str], sms_route: SmsRoute) -> Recipient:
    """The merchant's listed channels that are configured here and have an address.

    ``sms_route`` maps the merchant's SMS entries to the configured providers in order
    (:meth:`consumers.notify.settings.NotifySettings.sms_route`).
    """
    addresses = {
        "wecom": m.contacts.wecom_robot_key,
        "wecom_app": m.contacts.wecom_userid,
        "wechat_oa": m.contacts.wechat_openid,
        "dingtalk": m.contacts.dingtalk_access_token,
        "feishu": m.contacts.feishu_hook,
        "webhook": m.contacts.webhook_url,
        "console": m.id,
        "file": m.id,
    }
    sms_names = tuple(c for c in m.channels if c == "sms" or c in SMS_PROVIDERS)
    endpoints: list[Endpoint] = []
    for name in m.channels:
        if name in sms_names:
            if name != sms_names[0]:
                continue
            route = sms_route(sms_names)
            if route and m.contacts.phone:
                endpoints.append(Endpoint(route[0], m.contacts.phone, route[1:]))
            continue
        address = addresses.get(name)
        if name in configured and address:
            endpoints.append(Endpoint(name, address))
    return Recipient(id=m.id, channels=tuple(endpoints), mode=m.mode)
