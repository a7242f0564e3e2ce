"""Issue 17 item 4: fan-out in batches -- SMS numbers with the same text share provider calls,
reservations and confirmations share statements, and each number is still told once."""

from __future__ import annotations

from pathlib import Path

from consumers.notify.store import CoalescingStore
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from tests.e2e.harness import post_json, role
from tests.notify.world import notify_world
from tests.support import eventually, notify_idle

ALIYUN, TENCENT = 250, 450


async def test_same_text_sms_go_in_batches_and_each_number_is_told_once(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    merchants = [{"id": f"a{i:03d}", "channels": ["aliyun_sms"], "contacts": {"phone": f"1390000{i:04d}"}}
                 for i in range(ALIYUN)]
    merchants += [{"id": f"t{i:03d}", "channels": ["tencent_sms"], "contacts": {"phone": f"1370000{i:04d}"}}
                  for i in range(TENCENT)]
    notify = {"aliyun_sms": {"default_template_code": "SMS_1"}, "tencent_sms": {"default_template_id": "1001"}}
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify=notify,
                            robots=set()) as w:
        status, _ = await post_json(w.app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用"})
        assert status == 201
        await eventually(lambda: len(w.aliyun.received) == ALIYUN and len(w.tencent.received) == TENCENT,
                         timeout=60, what="every number told")
        await notify_idle(role(w.app, "notify"))
        assert w.aliyun.count_by_recipient() == {f"1390000{i:04d}": 1 for i in range(ALIYUN)}
        assert w.tencent.count_by_recipient() == {f"1370000{i:04d}": 1 for i in range(TENCENT)}
        # Aliyun takes 100 numbers a call, Tencent 200: a handful of calls, not one per number.
        assert not w.aliyun.rejected, w.aliyun.rejected[:3]
        assert w.aliyun.requests <= 2 * (ALIYUN // 100 + 1) and w.aliyun.batch_calls >= ALIYUN // 100
        assert w.tencent.requests <= 2 * (TENCENT // 200 + 1) and w.tencent.batch_calls >= TENCENT // 200
        store = role(w.app, "notify").deliverer.store
        assert isinstance(store, CoalescingStore)  # what the role builds; it counts its statements
        assert store.batches <= (ALIYUN + TENCENT) // 20  # reservations and confirmations in batches


WECOM_MEMBERS = 1500


async def test_same_text_wecom_app_messages_go_in_batches_and_refused_members_are_recorded_failed(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    merchants = [{"id": f"w{i:04d}", "channels": ["wecom_app"], "contacts": {"wecom_userid": f"User{i:04d}"}}
                 for i in range(WECOM_MEMBERS)]
    known = {f"User{i:04d}" for i in range(WECOM_MEMBERS) if i % 100 != 0}  # every 100th left the corp
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify={"wecom_app": {}},
                            robots=set(), members=known) as w:
        status, _ = await post_json(w.app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用"})
        assert status == 201
        notify = role(w.app, "notify")
        await eventually(lambda: notify.deliverer.sent + notify.deliverer.failed == WECOM_MEMBERS,
                         timeout=60, what="every member told or recorded failed")
        await notify_idle(notify)
        assert w.wecom_app.count_by_recipient() == dict.fromkeys(known, 1)
        assert w.wecom_app.requests <= 2 * (WECOM_MEMBERS // 1000 + 1)  # up to 1,000 members a call
        dead = await notify.deliverer.store.dead_letters(100)
        assert sorted(d.recipient for d in dead) == [f"w{i:04d}" for i in range(0, WECOM_MEMBERS, 100)]
        assert all("invaliduser" in d.last_error for d in dead), dead[0].last_error
        # Re-planning the incident sends nothing again, to the told members or the refused ones.
        await notify.replan_open()
        await notify_idle(notify)
        assert w.wecom_app.count_by_recipient() == dict.fromkeys(known, 1)
