"""Rules added in round 19 (the seventh set's half A). Each text is written for the test, not taken
from a corpus notice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.notices.times import beijing as _dt
from watcher.notices import understand
from watcher.notices.corpus import parse_corpus
from watcher.notices.evaluate import score

PUB = date(2026, 1, 20)
CORPUS = Path(__file__).parent / "corpus"


def _read(text: str, title: str = "") -> tuple[str, list[tuple[object, object]]]:
    u = understand(text, published=PUB, title=title)
    return u.kind, [(w.start, w.end) for w in u.windows]


# --- game servers merged: a stop of those servers ---------------------------------------------------


def test_a_labelled_merge_time_is_the_start_of_a_window() -> None:
    text = "各位玩家：\n为提升体验，以下区服将进行合服。\n合服时间：2026年2月1日 10:00\n合服范围：12-18服"
    u = understand(text, published=PUB, title="《星海》2月1日合服公告")
    assert u.kind == "maintenance" and [(w.start, w.end) for w in u.windows] == [(_dt("2026-02-01 10:00"), None)]


def test_a_merge_range_in_traditional_script_is_a_window() -> None:
    text = "伺服器合併：2026年2月1日上午10時至下午2時，屆時相關伺服器將無法登入。"
    assert _read(text) == ("maintenance", [(_dt("2026-02-01 10:00"), _dt("2026-02-01 14:00"))])


def test_servers_joined_with_a_duration_are_a_window() -> None:
    text = "部分区服将于2026年2月1日9:00起进行数据互通，预计持续4小时。"
    assert _read(text) == ("maintenance", [(_dt("2026-02-01 09:00"), _dt("2026-02-01 13:00"))])


def test_a_service_centre_that_holds_the_same_characters_is_no_merge() -> None:
    # guard: "综合服务" holds 合服; longer desk hours are no window
    text = "综合服务大楼由即日起至3月31日延长服务时间，每天早上9时至晚上9时提供柜台服务。"
    u = understand(text, published=PUB)
    assert u.kind != "maintenance" and u.windows == ()


# --- dotted ranges whose end leaves out the year ---------------------------------------------------


def test_a_dotted_range_with_a_short_end_is_a_window() -> None:
    text = "2026.2.1~2.4系统升级，期间暂停网银服务。"
    assert _read(text) == ("maintenance", [(_dt("2026-02-01 00:00"), _dt("2026-02-05 00:00"))])


def test_a_dotted_range_over_new_year_ends_in_the_next_year() -> None:
    u = understand("2025.12.30-1.2 核心系统切换，期间暂停转账。", published=date(2025, 12, 1))
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2025-12-30 00:00"), _dt("2026-01-03 00:00"))]


def test_a_dotted_short_end_with_hours_is_read() -> None:
    text = "2026.2.1 22:00~2.2 06:00 系统升级，期间暂停网银服务。"
    assert _read(text)[1] == [(_dt("2026-02-01 22:00"), _dt("2026-02-02 06:00"))]


def test_version_numbers_after_a_dotted_date_make_no_window() -> None:
    # guard: nothing stops, so the rewritten range stays set aside
    u = understand("本说明适用于2026.1.1-2.4发布的各版本。", published=PUB)
    assert u.windows == () and not u.needs_review


# --- never silent: a firm stop on a day not yet past -----------------------------------------------


def test_a_stop_of_days_with_no_keyword_goes_to_review() -> None:
    u = understand("本行将于2026年2月1日起停止清算业务两天。", published=PUB)
    assert u.kind == "maintenance" or u.needs_review


def test_a_temporary_stop_on_a_day_ahead_goes_to_review() -> None:
    u = understand("经研究决定，2026年2月3日全天暂停对外办理出入境证件。", published=PUB)
    assert u.kind == "maintenance" or u.needs_review


def test_a_stop_for_customers_who_let_a_plan_lapse_sends_no_review() -> None:
    # guard: the customer's own stop (逾期) is a rule, not a window
    u = understand("您的套餐将于2026年2月1日到期，请及时续费，逾期自动停机。", published=PUB)
    assert u.kind != "maintenance" and not u.needs_review


def test_a_fund_pausing_subscriptions_sends_no_review() -> None:
    # guard: a fund's business paused is no service stop
    u = understand("本基金自2026年2月1日起暂停大额申购及定期定额投资业务。", published=PUB)
    assert u.kind != "maintenance" and not u.needs_review


def test_a_service_closed_for_good_sends_no_review() -> None:
    # guard: a lasting closure with nothing that comes back stays what it is
    u = understand("本游戏将于2026年2月1日关闭账号注册，感谢各位玩家一路相伴。", published=PUB)
    assert not u.needs_review


# --- zones ------------------------------------------------------------------------------------------


def test_a_zone_name_followed_by_its_abbreviation_moves_the_times() -> None:
    text = "系统将于2026年1月29日下午5点（美国东部时间EST）起暂停使用，预计至下午7点结束。"
    assert _read(text)[1] == [(_dt("2026-01-30 06:00"), _dt("2026-01-30 08:00"))]


def test_a_zone_closing_a_label_line_holds_for_the_rows_below() -> None:
    text = "■维护时段（欧洲中部时间 CET）\n2026年1月29日 1:00 至 6:00 暂停服务"
    assert _read(text)[1] == [(_dt("2026-01-29 08:00"), _dt("2026-01-29 13:00"))]


def test_a_label_line_without_a_zone_moves_nothing() -> None:
    # guard
    text = "■维护时段（请留意）\n2026年1月29日 1:00 至 6:00 暂停服务"
    assert _read(text)[1] == [(_dt("2026-01-29 01:00"), _dt("2026-01-29 06:00"))]


# --- the seventh set's half A, tuned on from this round ----------------------------------------------

# the kind model beside the rules (docs/notices.md) sends one true maintenance notice to review as
# "other": recall 87.0 -> 85.2 %; kind 97.0 -> 98.0 % and precision 85.5 -> 88.5 % rise
KIND_7A, RECALL_7A, PRECISION_7A = 0.98, 0.85, 0.88


def test_blind7a_scores_hold_their_floors() -> None:
    golds = parse_corpus((CORPUS / "blind7a.jsonl").read_text(encoding="utf-8").splitlines())
    assert len(golds) == 100
    m = score(golds).total.metrics()
    # main 393f06c, scored before it was read: 90.0 / 64.8 / 68.6 %, 3 silent; round 19: docs/notices.md
    assert m["silent_misses"] == 0
    assert m["maintenance_or_not"] >= KIND_7A
    assert m["window_recall"] >= RECALL_7A and m["window_precision"] >= PRECISION_7A


def test_work_planned_for_a_later_day_is_no_report() -> None:
    # read as an outage by its words (异常), but planned for a day after publication: a person checks
    u = understand("本行将于2026年2月1日凌晨进行系统调整，届时服务可能出现异常，敬请见谅。", published=PUB)
    assert u.kind == "maintenance" or u.needs_review


def test_a_report_of_the_day_sends_no_review() -> None:
    # guard: a failure of the day of publication, back already
    u = understand("今日上午9时起网上银行出现异常，已于10时全部恢复，不便之处敬请见谅。", published=PUB)
    assert u.kind in ("outage", "recovery") and not u.needs_review


# --- 12 a.m. ---------------------------------------------------------


def test_twelve_in_the_morning_is_midnight() -> None:
    text = "本行将于2026年2月1日星期日上午12:00至上午6:00进行系统维护，期间暂停网上银行。"
    assert _read(text)[1] == [(_dt("2026-02-01 00:00"), _dt("2026-02-01 06:00"))]


def test_twelve_at_noon_stays_noon() -> None:
    # guard
    text = "2026年2月1日上午9时至中午12时系统维护，暂停服务。"
    assert _read(text)[1] == [(_dt("2026-02-01 09:00"), _dt("2026-02-01 12:00"))]


def test_a_day_written_alone_again_is_the_same_day() -> None:
    text = ("图书馆在平安夜(24日)提早于下午5时休馆，元旦日(2027年1月1日)休馆。\n"
            "另外，电脑系统会在24日下午6时至27日早上7时进行维护，期间网上续借服务暂停。")
    u = understand(text, published=date(2026, 12, 17))
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-24 18:00"), _dt("2026-12-27 07:00"))]


def test_a_day_alone_after_a_later_month_still_takes_that_month() -> None:
    # guard: a day not written before follows the month just named
    text = "系统升级安排（2026年2月3日发布）：第二批于10日0:00至6:00暂停服务。"
    assert _read(text)[1] == [(_dt("2026-02-10 00:00"), _dt("2026-02-10 06:00"))]


def test_numbered_buildings_are_no_days() -> None:
    text = "因电力检修，学校计划于2026年2月3日23:30至次日凌晨01:30停电。停电范围：17号-20号楼、24号楼、3号线站厅。"
    assert _read(text)[1] == [(_dt("2026-02-03 23:30"), _dt("2026-02-04 01:30"))]


def test_days_written_with_hao_stay_days() -> None:
    # guard
    assert _read("2026年2月3号至5号系统升级，暂停服务。")[1] == [(_dt("2026-02-03 00:00"), _dt("2026-02-06 00:00"))]


def test_a_library_closed_over_a_holiday_is_no_window() -> None:
    text = ("春节年初一至年初三(2月17日至19日)，各区图书馆休馆。\n"
            "另外，借阅系统将于2月16日晚上6时至2月19日晚上11时59分进行维护，期间网上续借暂停。")
    assert _read(text)[1] == [(_dt("2026-02-16 18:00"), _dt("2026-02-19 23:59"))]


def test_a_library_closed_for_system_work_keeps_its_window() -> None:
    # guard: a closure for work on a system is a window
    text = "春节期间，图书馆将于2月20日至21日闭馆进行系统升级，暂停借还服务。"
    assert _read(text)[1] == [(_dt("2026-02-20 00:00"), _dt("2026-02-22 00:00"))]


# --- a span of days in an item of its own after timed windows -------------------------------------


def test_a_span_of_days_on_a_later_line_is_a_window_of_its_own() -> None:
    text = ("一、场地工程：甲站于2月10日上午9时至下午6时暂停服务。\n"
            "二、例行保养：流动服务车于2月6日至18日暂停服务。")
    assert _read(text)[1] == [(_dt("2026-02-10 09:00"), _dt("2026-02-10 18:00")),
                              (_dt("2026-02-06 00:00"), _dt("2026-02-19 00:00"))]


def test_a_span_of_days_written_first_is_still_a_summary() -> None:
    # guard: the overall period written before its timed windows is no window of its own
    text = "升级期间（2月6日至2月8日）：\n2月6日22:00至23:00暂停转账；\n2月7日22:00至23:00暂停缴费。"
    assert _read(text)[1] == [(_dt("2026-02-06 22:00"), _dt("2026-02-06 23:00")),
                              (_dt("2026-02-07 22:00"), _dt("2026-02-07 23:00"))]


def test_a_latest_time_to_reschedule_is_no_start() -> None:
    text = ("维护时段为 2026-02-11 08:00 至 10:00，期间实例将无法使用并会被重启。"
            "改期时可选择不晚于 2026-02-27 06:00 的任一时间，届时系统会对实例执行维护。")
    assert _read(text)[1] == [(_dt("2026-02-11 08:00"), _dt("2026-02-11 10:00"))]


def test_a_latest_start_of_a_stop_still_goes_to_a_person() -> None:
    # never silent: "最迟" makes no window, but the stop on a day ahead is not dropped silently
    u = understand("系统最迟于2026年2月27日06:00起暂停服务。", published=PUB)
    assert u.kind == "maintenance" or u.needs_review


def test_the_period_a_benefit_applies_in_is_no_window() -> None:
    # guard (passes on 393f06c too, by other rules); blind7a's floor holds the label (适用期间) itself
    text = ("本卡2026年起停止受理新申请。\n停车礼遇：当月消费满1万元，次月可享10次免费停车"
            "（每日限1次，适用期间2026/3/1~3/31）。")
    u = understand(text, published=PUB)
    assert u.windows == () and u.kind != "maintenance"


# --- a pause from a day on whose end is said only roughly ------------------------------------------


def test_a_pause_from_a_day_with_a_rough_end_is_an_open_window() -> None:
    text = "该服务站因改善工程，将由2月3日起暂停服务，工程预计2026年6月下旬完成。"
    u = understand(text, published=PUB)
    assert u.kind == "maintenance" and [(w.start, w.end) for w in u.windows] == [(_dt("2026-02-03 00:00"), None)]


def test_a_change_from_a_day_with_a_rough_date_stays_no_window() -> None:
    # guard: nothing paused, so a day a change takes effect stays no window
    u = understand("自2月3日起停止受理纸质申请，预计年底前完成系统切换。", published=PUB)
    assert u.windows == ()


def test_a_deadline_period_on_a_later_line_stays_no_window() -> None:
    # guard: the days of a later line that words no stop are not a window of their own
    text = ("1. 缴费系统将于2月6日晚间9点起至7日凌晨2点止进行系统维护，期间线上缴费服务暂停；\n"
            "2. 缴费期限落在2月6日至7日者，可于维护后再缴，不会逾期。")
    assert _read(text)[1] == [(_dt("2026-02-06 21:00"), _dt("2026-02-07 02:00"))]


def test_a_service_not_provided_for_a_while_goes_to_review() -> None:
    u = understand("本周日（2月1日）网上理财服务将暂时未能提供，不便之处，敬请原谅。", published=PUB)
    assert u.kind == "maintenance" or u.needs_review


def test_a_system_drill_that_may_affect_services_goes_to_review() -> None:
    u = understand("2026年2月1日（星期日）本行将进行年度系统演习，部分服务可能受到影响。", published=PUB)
    assert u.kind == "maintenance" or u.needs_review


def test_a_lasting_unavailability_with_nothing_coming_back_sends_no_review() -> None:
    # guard: "无法使用" from a day on, with nothing that comes back and no work named, is a lasting change
    u = understand("自2026年2月1日起，旧版会员卡将无法使用，请到柜台换领新卡。", published=PUB)
    assert not u.needs_review
