"""Rules added in round 18 (precision: a window needs a stop of its own). Each text is written for
the test, not taken from a corpus notice; the round-18 frames check the same ideas around every
tuned-on maintenance notice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.notices.frames_round18 import framed_maintenance_r18
from tests.notices.times import beijing as _dt
from watcher.notices import understand
from watcher.notices.corpus import parse_corpus
from watcher.notices.evaluate import score

PUB = date(2026, 1, 20)
CORPUS = Path(__file__).parent / "corpus"


def _read(text: str, title: str = "") -> tuple[str, list[tuple[object, object]]]:
    u = understand(text, published=PUB, title=title)
    return u.kind, [(w.start, w.end) for w in u.windows]


# --- a period in which something is open, usable or free is no window ------------------------------


def test_a_channel_opened_for_a_period_is_no_window() -> None:
    kind, windows = _read("因业务调整，平台即日起至3月31日开放资产迁移通道，用户可自行提现。")
    assert windows == [] and kind != "maintenance"


def test_a_fee_waived_for_a_period_beside_a_window_adds_none() -> None:
    text = "缴费平台于1月25日01:00-05:00升级，期间暂停缴费；1月26日至1月31日补缴免收滞纳金。"
    assert _read(text) == ("maintenance", [(_dt("2026-01-25 01:00"), _dt("2026-01-25 05:00"))])


def test_both_versions_usable_in_a_period_is_no_window() -> None:
    text = "客户端将于1月25日02:00-04:00停服更新，期间无法登录。2月1日至2月15日新旧两版均可使用，2月16日起旧版停止服务。"
    assert _read(text) == ("maintenance", [(_dt("2026-01-25 02:00"), _dt("2026-01-25 04:00"))])


def test_what_still_works_in_the_window_keeps_the_window() -> None:
    # guard: the stop is in the same sentence with no time of its own, so the range is its window
    text = "1月25日0:00至6:00期间仍可查询余额，暂停转账和提现。"
    assert _read(text)[1] == [(_dt("2026-01-25 00:00"), _dt("2026-01-25 06:00"))]


def test_a_possible_stop_is_no_opening() -> None:
    # guard: 可能 is no "can"; the range stays (sent to review or maintenance, never dropped)
    u = understand("1月25日0:00-6:00可能无法访问官网，敬请谅解。", published=PUB)
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-01-25 00:00"), _dt("2026-01-25 06:00"))]


def test_a_reopening_after_the_work_stays_the_end() -> None:
    # guard: "完成后重新开放" is the window's end (round 17), not an opening period
    text = "选课系统将停机更新。\n时段：1月25日18:00-22:00，更新完成后重新开放选课。"
    assert _read(text)[1] == [(_dt("2026-01-25 18:00"), _dt("2026-01-25 22:00"))]


# --- a named campaign sentence after a plain one starts something else ------------------------------


def test_a_campaign_with_daily_hours_after_a_window_adds_none() -> None:
    text = "积分商城于1月25日01:00-03:00维护，期间无法兑换。春节兑换活动：1月26日至2月5日，每日10:00-22:00。"
    assert _read(text) == ("maintenance", [(_dt("2026-01-25 01:00"), _dt("2026-01-25 03:00"))])


def test_a_campaign_row_after_a_list_of_stops_adds_none() -> None:
    text = ("以下渠道将暂停服务：\n一、网银：1月25日0:00至3:00。\n二、手机银行：1月25日1:00至4:00。\n"
            "新春促销：2月1日至2月10日，每天9:00-20:00。")
    assert _read(text)[1] == [(_dt("2026-01-25 00:00"), _dt("2026-01-25 03:00")),
                              (_dt("2026-01-25 01:00"), _dt("2026-01-25 04:00"))]


def test_the_daily_hours_of_a_period_set_aside_make_no_timetable() -> None:
    # the campaign's "每日" hours are its own: the weekday window before is not turned into a timetable
    text = ("水务处将于本周六晚上10时至周日早上8时暂停供水，以便接驳新水管。\n"
            "节水宣传活动：2月3日至2月17日，每日9:00-17:00。")
    u = understand(text, published=PUB)
    assert u.kind == "maintenance"
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-01-24 22:00"), _dt("2026-01-25 08:00"))]


def test_rows_continuing_a_list_with_an_intro_stay_windows() -> None:
    # guard: named rows written as sentences after a list introduced with a colon are still rows
    text = "因系统升级，以下渠道将暂停服务，时间如下：网银：1月25日0:00至3:00。手机银行：1月25日1:00至4:00。"
    assert _read(text)[1] == [(_dt("2026-01-25 00:00"), _dt("2026-01-25 03:00")),
                              (_dt("2026-01-25 01:00"), _dt("2026-01-25 04:00"))]


# --- the frames around every tuned-on maintenance notice ----------------------------------------------


def test_round18_frames_add_no_window() -> None:
    golds = [g for name in ("dev", "blind6a", "blind4b")
             for g in parse_corpus((CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())]
    for second in (False, True):
        framed = list(framed_maintenance_r18(golds, second=second))
        m = score(framed).total.metrics()
        plain = score([g for g in golds if g.kind == "maintenance" and any(f.id.startswith(g.id + "~") for f in framed)])
        base = plain.total.metrics()
        # c25d6f6: 55 % precision with the campaign frames (each campaign's days read as windows)
        assert m["silent_misses"] == 0
        assert m["window_recall"] >= base["window_recall"] - 0.005
        assert m["window_precision"] >= base["window_precision"] - 0.005


# --- round 18, after reading the sixth set's half B (rules by category, texts of our own) -----------


def test_a_month_day_written_again_is_the_same_day() -> None:
    # a report published in September about February: the second 2月10日 is the same day, not next year's
    text = ("监管机构今日公布调查结果：某电视平台今年2月10日至2月14日期间节目中断。"
            "事故源于编码设备故障，2月10日上午起多个频道中断，11日至14日期间陆续恢复。")
    u = understand(text, published=date(2026, 9, 8))
    assert u.kind != "maintenance"
    assert all(w.start.year == 2026 for w in u.windows)


def test_work_with_every_service_running_is_no_maintenance() -> None:
    text = ("数据同步功能维护通知\n维护窗口\n- 开始时间：2026-01-25 02:00\n- 结束时间：2026-01-25 03:00\n"
            "影响：窗口内将更新同步组件。更新过程中控制台与同步任务均可照常使用，任务持续运行、不会中断。")
    u = understand(text, published=PUB, title="数据同步功能维护通知")
    # as work said to leave services running (test_lookalikes): other, no window, nothing to review
    assert (u.kind, u.windows, u.needs_review) == ("other", (), False), u.reasons


def test_work_with_a_stop_beside_a_negated_one_stays_maintenance() -> None:
    # guard: a real stop next to a service said not to stop
    text = ("1月25日02:00-03:00升级数据库，期间控制台照常使用、不会中断，但同步任务暂停。")
    assert _read(text) == ("maintenance", [(_dt("2026-01-25 02:00"), _dt("2026-01-25 03:00"))])


def test_a_time_labelled_as_taking_effect_starts_no_window() -> None:
    text = ("开放平台订单查询接口下线调整：\n生效时间：2月3日9点开始分批切量，2月10日18点全部切换完成；"
            "届时旧接口停用，请改用新版接口。")
    u = understand(text, published=PUB)
    assert u.windows == () or u.kind != "maintenance"


def test_hours_in_a_sentence_that_says_it_repeats_are_a_timetable() -> None:
    text = "信息中心每季度会安排一次例行维护，时间为上午9:00至下午6:00，具体日期请查看维护日历页面。"
    u = understand(text, published=PUB, title="例行维护日历上线")
    assert u.windows == ()


def test_a_maintenance_title_with_an_hour_ahead_is_never_silent() -> None:
    text = "游戏服务器维护\n2026年1月25日 | 晚上11点\n预计时长：待定\n本次更新：新增副本、修复已知问题。"
    u = understand(text, published=PUB, title="服务器维护公告")
    assert u.kind == "maintenance" or u.needs_review


def test_a_schedule_time_changed_starts_no_window() -> None:
    # the sentence words work (升级), so the old hour was read as an open start on the day of publication
    text = ("平台将升级理财结算流程，结算时间由 18:00 提前至 16:30，自2026年1月26日起生效。\n"
            "- 系统升级窗口：2026年1月26日 10:00 至 10:30，期间服务可能短暂不可用。")
    assert _read(text) == ("maintenance", [(_dt("2026-01-26 10:00"), _dt("2026-01-26 10:30"))])
    # guard: a range with a stop written after 由 ("由12月5日0:00至6:00暂停") is not a change of hours
    assert _read("网银由1月25日0:00至6:00暂停服务。")[1] == [(_dt("2026-01-25 00:00"), _dt("2026-01-25 06:00"))]


def test_a_zone_tag_after_a_time_does_not_hide_its_resumption() -> None:
    text = "交易系统将于2026年1月25日03:00(UTC)起停机升级，预计05:00(UTC)恢复全部交易。"
    assert _read(text)[1] == [(_dt("2026-01-25 11:00"), _dt("2026-01-25 13:00"))]


def test_am_and_pm_in_mixed_case_before_a_time() -> None:
    text = "执行日期：2026/01/25\n影响范围：点数充值暂停服务\n影响时间：Pm1:30～Pm3:00"
    assert _read(text)[1] == [(_dt("2026-01-25 13:30"), _dt("2026-01-25 15:00"))]


def test_a_time_followed_by_after_and_the_period_starts_a_window() -> None:
    text = "机房搬迁时间为1月25日晚上10点后，期间网站无法访问，预计1月26日早上7点前恢复。"
    assert _read(text)[1] == [(_dt("2026-01-25 22:00"), _dt("2026-01-26 07:00"))]


def test_after_a_time_without_a_period_starts_nothing() -> None:
    # guard: "18:00后提交的申请" and "……后恢复" are no starts
    u = understand("1月25日18:00后提交的申请将于次日处理。", published=PUB)
    assert u.kind != "maintenance"


def test_a_date_and_hour_line_under_a_work_heading_is_its_start() -> None:
    text = "停机更新\n2026年1月25日(周日) 23:30\n预计时长：待定\n本次更新：新增赛季、修复已知问题。"
    u = understand(text, published=PUB, title="停机更新公告")
    assert u.kind == "maintenance"
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-01-25 23:30"), None)]


def test_a_date_and_hour_line_under_another_heading_starts_nothing() -> None:
    # guard: a heading that names no work ("新赛季开启") makes the line no stop
    u = understand("新赛季开启\n2026年1月25日 10:00\n奖励内容：限定皮肤。", published=PUB)
    assert u.windows == ()


# --- the sixth set's half B, tuned on from round 18 ----------------------------------------------------


def test_blind6b_scores_hold_their_floors() -> None:
    golds = parse_corpus((CORPUS / "blind6b.jsonl").read_text(encoding="utf-8").splitlines())
    assert len(golds) == 89
    m = score(golds).total.metrics()
    # c25d6f6 and round 18's phase one (f78a894), scored once before it was read: 86.5 / 74.4 / 64.0 %,
    # 1 silent; round 18 (tuned on it): see docs/notices.md
    assert m["silent_misses"] == 0
    assert m["maintenance_or_not"] >= KIND_6B
    assert m["window_recall"] >= RECALL_6B and m["window_precision"] >= PRECISION_6B


# the kind model beside the rules (docs/notices.md): 93.3 / 81.4 / 77.8 % -> 96.6 / 81.4 / 81.4 %
KIND_6B, RECALL_6B, PRECISION_6B = 0.96, 0.81, 0.81
