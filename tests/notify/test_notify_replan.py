"""Issue 14 item 7: re-planning never multiplies work, and is scheduled for when it matters."""

from __future__ import annotations

from pathlib import Path

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from tests.e2e.harness import post_json, role
from tests.notify.world import notify_world
from tests.support import eventually, notify_idle

MERCHANTS = 30


async def test_reasserted_and_replanned_incident_reserves_nothing_again_and_next_pass_is_at_the_next_repeat(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    merchants = [{"id": f"m{i:02d}", "mode": "auto", "token": f"t{i}", "channels": ["wecom"],
                  "contacts": {"wecom_robot_key": f"robot-{i}"}} for i in range(MERCHANTS)]
    notify = {"wecom": {}, "ops": [{"channel": "wecom", "address": "ops"}], "replan_every": 3600,
              "plan": {"outage_repeat": 1800}}
    robots = {f"robot-{i}" for i in range(MERCHANTS)} | {"ops"}
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify=notify,
                            robots=robots) as w:
        status, _ = await post_json(w.app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用"})
        assert status == 201
        await eventually(lambda: len(w.wecom.received) == MERCHANTS + 1, what="everyone told")
        notify_role, incidents = role(w.app, "notify"), role(w.app, "incidents")
        await notify_idle(notify_role)
        reserved = notify_role.deliverer.reservations
        assert reserved == MERCHANTS + 1
        passes, considered = notify_role.planner.passes, notify_role.planner.considered

        for _ in range(3):  # the incidents role re-asserts open incidents; the notify timer fires
            await incidents.republish()
            await notify_role.replan_open()
        await eventually(lambda: notify_role.planner.considered >= considered + 6, what="re-assertions consumed")
        await notify_idle(notify_role)
        assert notify_role.deliverer.reservations == reserved
        assert notify_role.planner.passes == passes
        assert len(w.wecom.received) == MERCHANTS + 1

        job = w.app.scheduler.get_job("notify:replan")
        assert job.trigger.interval.total_seconds() == 1800  # the next "still ongoing" message, not a poll
