"""Rules added in round 13 (generality: forms and frames found by the wider variants check and the
round-13 look-alike frames, not by a corpus notice). Each text is written for the test."""

from __future__ import annotations

from datetime import date, datetime

from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 12, 1)


def _read(text: str, title: str = "", pub: date = PUB) -> list[tuple[datetime, datetime | None, str]]:
    u = understand(text, published=pub, title=title)
    assert u.kind == "maintenance", u.reasons
    return sorted((w.start, w.end, w.status) for w in u.windows)


def test_padded_dotted_month_days_are_dates() -> None:
    text = "停机时间：12.05 0时至12.07 24时，期间社保业务暂停办理，12.08 0时全面恢复。"
    assert _read(text) == [(_dt("2026-12-05 00:00"), _dt("2026-12-08 00:00"), "scheduled")]


def test_a_list_of_padded_dotted_days_gives_a_window_each() -> None:
    text = "全年维护窗口为12.05、12.19、01.09，均为00:00开始、08:00前结束，窗口开启时网银暂停服务。"
    assert [w[:2] for w in _read(text)] == [
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 08:00")),
        (_dt("2026-12-19 00:00"), _dt("2026-12-19 08:00")),
        (_dt("2027-01-09 00:00"), _dt("2027-01-09 08:00")),
    ]


def test_dotted_clock_times_are_not_days() -> None:
    u = understand("各网点营业时间调整为08.30-17.00，节假日照常。", published=PUB)
    assert u.windows == () and u.kind != "maintenance"


def test_english_and_square_bracket_weekdays_keep_the_date_with_its_time() -> None:
    for a, b in (("(Sat)", "(Sun)"), ("[周六]", "[周日]"), ("【星期六】", "【星期日】")):
        text = f"维护时间：12月5日{a}22:00至12月6日{b}02:00，期间网银暂停服务。"
        assert [w[:2] for w in _read(text)] == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 02:00"))], a


def test_an_english_label_before_the_colon_keeps_the_label() -> None:
    text = ("一、停机时间 Maintenance Window：本周六22:00（2026-12-5）至周日6:00（2026-12-6）。"
            "二、影响范围：停机期间办公系统全部功能暂停使用。")
    assert [w[:2] for w in _read(text, title="办公系统升级通知")] == [
        (_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00"))
    ]


def test_a_slash_date_after_yuanding_is_a_date() -> None:
    u = understand("原定12/8的圈存系统切换时间推迟，新时间另行通知。期间圈存机暂停使用。", published=PUB)
    assert u.needs_review or u.kind == "maintenance", u.reasons
    assert [(w.start, w.status) for w in u.windows] == [(_dt("2026-12-08 00:00"), "postponed")]


def test_on_the_hour_and_a_zone_after_chinese_numeral_hours() -> None:
    text = "HSBCnet维护时段：十二月五日（周六）下午五点整 GMT至十二月六日（周日）凌晨一点 GMT，期间网上理财暂停。"
    assert [w[:2] for w in _read(text)] == [(_dt("2026-12-06 01:00"), _dt("2026-12-06 09:00"))]


def test_parallel_items_with_one_start_and_their_own_durations_are_one_window_each() -> None:
    text = ("暂停个人电子渠道部分服务：个人网银转账，12月8日02:00开始，预计2小时50分钟；手机银行理财专区，12月8日"
            "02:00开始，持续1小时40分钟；信用卡申请，12月8日02:00开始，预计持续1小时。")
    assert [w[:2] for w in _read(text)] == [
        (_dt("2026-12-08 02:00"), _dt("2026-12-08 03:00")),
        (_dt("2026-12-08 02:00"), _dt("2026-12-08 03:40")),
        (_dt("2026-12-08 02:00"), _dt("2026-12-08 04:50")),
    ]


def test_a_list_row_is_no_frame_of_durations_further_on() -> None:
    text = ("系统升级期间以下服务暂停，安排如下：信用卡申请：12月4日21:00至5日06:15；资料上传：12月4日21:00至5日07:00；微信银行所有服务："
            "12月4日23:00至5日04:00；E融汇APP：12月5日00:00开始，预计3小时。")
    assert [w[:2] for w in _read(text)] == [
        (_dt("2026-12-04 21:00"), _dt("2026-12-05 06:15")),
        (_dt("2026-12-04 21:00"), _dt("2026-12-05 07:00")),
        (_dt("2026-12-04 23:00"), _dt("2026-12-05 04:00")),
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 03:00")),
    ]


def test_the_work_as_a_whole_called_off_cancels_every_window() -> None:
    text = "12月5日0:00至2:00网银暂停；12月6日0:00至2:00手机银行暂停。因故，本次维护取消，给您带来的不便敬请谅解。"
    assert [w[2] for w in _read(text)] == ["cancelled", "cancelled"]


def test_the_work_put_off_with_no_new_time_is_postponed() -> None:
    text = "我行定于12月5日0:00至6:00进行系统维护，期间网上银行暂停服务。接上级通知，本次维护推迟，具体时间另行通知。"
    assert [w[2] for w in _read(text)] == ["postponed"]


def test_a_dated_call_off_cancels_the_window_of_that_day() -> None:
    text = "我行定于12月5日0:00至6:00进行系统维护，期间网上银行暂停服务。原定于12月5日的维护已取消。"
    assert [w[2] for w in _read(text)] == ["cancelled"]


def test_a_window_moved_to_the_same_hours_elsewhere_leaves_the_old_one_postponed() -> None:
    text = "我行定于12月5日0:00至6:00进行系统维护，期间网上银行暂停服务。本次维护延期至12月12日同一时段进行。"
    assert _read(text) == [
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"), "postponed"),
        (_dt("2026-12-12 00:00"), _dt("2026-12-12 06:00"), "scheduled"),
    ]


def test_an_old_interface_retired_with_integrators_told_to_migrate_is_no_window() -> None:
    text = "我行定于12月5日0:00至6:00系统维护，期间网银暂停。旧版支付接口将于1月10日下线，请开发者于1月10日前完成迁移。"
    assert [w[:2] for w in _read(text)] == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))]


def test_an_undated_stop_row_after_a_dated_one_survives_a_trading_timetable() -> None:
    text = "维护时间：12月5日0:00至2:00网银暂停；4:00至6:00手机银行暂停。\n交易时间：每个交易日9:30-11:30、13:00-15:00。"
    assert [w[:2] for w in _read(text)] == [
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 02:00")),
        (_dt("2026-12-05 04:00"), _dt("2026-12-05 06:00")),
    ]


def test_work_told_as_done_does_not_make_a_holiday_closure_maintenance() -> None:
    text = ("春节连续假期期间，为避免突发状况，各大楼电梯暂停使用，12月10日17:30起至12月15日上午8:00期间暂不开放电梯。"
            "我行已于11月27日00:00-06:00完成核心系统升级，相关服务已恢复正常。")
    u = understand(text, published=PUB)
    assert not (u.kind == "maintenance" and not u.needs_review), (u.kind, u.reasons)


def test_a_recovery_reading_with_a_window_not_over_goes_to_review() -> None:
    text = ("受系统网络调整影响，11月28日至12月10日期间学生缴费可能失败，请暂缓缴费。"
            "我行已于11月27日00:00-06:00完成核心系统升级，相关服务已恢复正常。")
    u = understand(text, published=PUB)
    assert u.kind == "maintenance" or u.needs_review, (u.kind, u.reasons)


def test_round_13_frames_around_the_third_set_are_never_silent() -> None:
    from pathlib import Path

    from tests.notices.lookalike_frames import framed_maintenance_more
    from watcher.notices.corpus import parse_corpus
    from watcher.notices.evaluate import score

    golds = parse_corpus((Path(__file__).parent / "corpus" / "blind3.jsonl").read_text(encoding="utf-8").splitlines())
    framed = list(framed_maintenance_more(golds))
    assert len(framed) >= 300
    assert score(framed).total.metrics()["silent_misses"] == 0


def test_a_stop_from_a_time_inside_the_stated_period_lasts_to_its_end() -> None:
    text = ("我行将于12月5日20:00至12月7日20:00升级系统，期间部分业务受影响：1、自12月5日23:30开始，暂停个人账户的"
            "资金交易类服务；2、自12月6日02:00开始，暂停信用卡还款服务。")
    # the stated period itself only frames the stops inside it (round 7)
    assert [w[:2] for w in _read(text)] == [
        (_dt("2026-12-05 23:30"), _dt("2026-12-07 20:00")),
        (_dt("2026-12-06 02:00"), _dt("2026-12-07 20:00")),
    ]


def test_a_task_the_reader_is_asked_to_finish_by_a_day_ends_no_window() -> None:
    text = ("因系统迁移，12月5日0:00起暂停旧版商户后台的提现功能。旧版支付接口将于2027年1月10日下线，"
            "请开发者于1月10日前完成迁移。")
    u = understand(text, published=PUB)
    # the open stop is not closed by the developers' deadline (it stays open, sent to review)
    assert all(w.end is None for w in u.windows if w.start == _dt("2026-12-05 00:00")), u.windows
    assert any(w.start == _dt("2026-12-05 00:00") for w in u.windows)


def test_a_weekly_start_plus_duration_is_a_timetable_not_a_dated_window() -> None:
    text = "本行每星期进行系统维护，逢星期一03:00开始，持续3小时，暂停网上银行服务。此外，12月6日00:00至06:00转数快暂停。"
    assert [w[:2] for w in _read(text)] == [(_dt("2026-12-06 00:00"), _dt("2026-12-06 06:00"))]
