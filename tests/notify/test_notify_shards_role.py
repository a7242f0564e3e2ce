"""Issue 17: the notify role with ``notify.fanout.shards`` > 1 tells a platform-wide incident through
shards of the board -- everyone once, the phase marked once every shard is done, re-planning
redoing nothing -- while an incident for a few merchants still goes through one lane as before."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Table, select, text

from consumers.notify.progress import notify_fanout_done
from consumers.notify.shard_board import notify_fanout_shards
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from tests.e2e.harness import post_json, role
from tests.notify.world import notify_world
from tests.support import eventually, notify_idle

MERCHANTS = 30
SHARDS = 4


async def test_platform_incident_is_told_once_through_every_shard_and_replanning_redoes_nothing(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    merchants = [{"id": f"m{i:02d}", "mode": "auto", "token": f"t{i}", "channels": ["wecom"],
                  "contacts": {"wecom_robot_key": f"robot-{i}"}} for i in range(MERCHANTS)]
    notify = {"wecom": {}, "ops": [{"channel": "wecom", "address": "ops"}], "replan_every": 3600,
              "fanout": {"shards": SHARDS, "min_shard_merchants": 1, "shards_per_process": 2, "claim_every": "100ms"}}
    robots = {f"robot-{i}" for i in range(MERCHANTS)} | {"ops"}
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify=notify,
                            robots=robots) as w:
        status, _ = await post_json(w.app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用"})
        assert status == 201
        notify_role = role(w.app, "notify")
        db = w.app.db

        async def rows(table: Table) -> list[tuple[object, ...]]:
            async with db.engine.connect() as conn:
                return [tuple(r) for r in await conn.execute(select(table))]

        async def marked() -> bool:
            return bool(await rows(notify_fanout_done))

        await eventually(marked, timeout=30, what="the phase marked done")
        shards = await rows(notify_fanout_shards)
        assert len({r[2] for r in shards}) == SHARDS and all(r[8] is not None for r in shards)  # every shard done
        assert set(w.wecom.count_by_recipient()) == robots and not w.wecom.duplicates()
        await notify_idle(notify_role)
        reserved = notify_role.deliverer.reservations
        assert reserved == MERCHANTS + 1

        await notify_role.replan_open()
        await notify_idle(notify_role)
        assert notify_role.deliverer.reservations == reserved  # nothing planned again
        assert len(w.wecom.received) == MERCHANTS + 1


def _sharded(merchants: int) -> tuple[list[dict[str, object]], dict[str, object], set[str]]:
    rows: list[dict[str, object]] = [
        {"id": f"m{i:02d}", "mode": "auto", "token": f"t{i}", "channels": ["wecom"],
         "contacts": {"wecom_robot_key": f"robot-{i}"}} for i in range(merchants)]
    notify = {"wecom": {}, "ops": [{"channel": "wecom", "address": "ops"}], "replan_every": 3600,
              "fanout": {"shards": SHARDS, "min_shard_merchants": 1, "shards_per_process": 2, "claim_every": "100ms"}}
    return rows, notify, {f"robot-{i}" for i in range(merchants)} | {"ops"}


async def test_incident_for_a_few_merchants_goes_through_one_lane_and_never_to_the_board(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    merchants, notify, robots = _sharded(MERCHANTS)
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify=notify,
                            robots=robots) as w:
        status, _ = await post_json(w.app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用",
                                                             "merchants": ["m03", "m17"]})
        assert status == 201
        notify_role = role(w.app, "notify")
        await eventually(lambda: {"robot-3", "robot-17"} <= set(w.wecom.count_by_recipient()),
                         what="both merchants told")
        await notify_idle(notify_role)
        assert set(w.wecom.count_by_recipient()) <= {"robot-3", "robot-17", "ops"} and not w.wecom.duplicates()
        assert notify_role.planner.passes == 1  # one lane in this process
        async with w.app.db.engine.connect() as conn:
            assert (await conn.execute(select(notify_fanout_shards))).all() == []  # nothing split


async def test_replanning_goes_on_past_an_incident_whose_plan_raised(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    merchants, notify, robots = _sharded(4)
    async with notify_world(tmp_path, bus.topics.prefix, broker, merchants=merchants, notify=notify,
                            robots=robots) as w:
        for who in (["m01"], ["m02"]):
            status, _ = await post_json(w.app, "/v1/incidents", {"title": "花呗异常", "summary_zh": "花呗暂时不可用",
                                                                 "merchants": who})
            assert status == 201
        notify_role = role(w.app, "notify")
        await eventually(lambda: {"robot-1", "robot-2"} <= set(w.wecom.count_by_recipient()), what="both told")
        await notify_idle(notify_role)
        considered = notify_role.planner.considered
        async with w.app.db.begin() as conn:  # the marks cannot be read: every incident's plan raises
            await conn.execute(text("ALTER TABLE notify_fanout_done RENAME TO notify_fanout_done_away"))
        await notify_role.replan_open()
        assert notify_role.planner.considered == considered + 2  # the second was tried after the first raised
        assert notify_role.replan_failures == 2
        async with w.app.db.begin() as conn:
            await conn.execute(text("ALTER TABLE notify_fanout_done_away RENAME TO notify_fanout_done"))
        await notify_role.replan_open()
        assert (notify_role.planner.considered, notify_role.replan_failures) == (considered + 4, 2)
