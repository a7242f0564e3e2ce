"""Rules added in round 7 after studying the misses of the development set and half A of the former
blind set (odd ids): each test is a family of wording, written for the test (not a corpus notice);
the guards check what must not change."""

from __future__ import annotations

from datetime import date, datetime

from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 12, 1)


def _ranges(u: object) -> list[tuple[datetime, datetime | None]]:
    return [(w.start, w.end) for w in u.windows]  # type: ignore[attr-defined]


def test_an_hour_followed_by_qijian_is_still_an_hour() -> None:
    for text, start, end in (
        ("我司将于12月5日0时至6时期间进行系统维护，届时支付服务暂停。", "2026-12-05 00:00", "2026-12-05 06:00"),
        ("12月5日中午12时至12月6日中午12时期间，部分缴费渠道暂停运作。", "2026-12-05 12:00", "2026-12-06 12:00"),
        ("12月5日22點至23點期間，網路銀行暫停服務。", "2026-12-05 22:00", "2026-12-05 23:00"),
    ):
        u = understand(text, published=PUB)
        assert u.kind == "maintenance", (text, u.kind)
        assert _ranges(u) == [(_dt(start), _dt(end))], (text, u.windows, u.reasons)
        assert not u.needs_review, (text, u.reasons)


def test_the_second_half_of_the_night_is_after_midnight() -> None:
    for text, start, end in (
        ("定于12月5日晚上11点至下半夜3点进行系统割接，期间暂停充值。", "2026-12-05 23:00", "2026-12-06 03:00"),
        ("今晚10点至后半夜2点做容灾演练，暂停刷卡消费。", "2026-12-01 22:00", "2026-12-02 02:00"),
    ):
        u = understand(text, published=PUB)
        assert _ranges(u) == [(_dt(start), _dt(end))], (text, u.windows, u.reasons)
        assert not any("check the day" in r for r in u.reasons), u.reasons


def test_a_service_answering_slower_is_a_disruption() -> None:
    for text in (
        "12月5日1:00至3:00，核心系统升级，网上银行等渠道服务响应时间将有多次短暂延长情况。",
        "12月5日22:00-23:00系统扩容，其间访问速度可能变慢。",
    ):
        u = understand(text, published=PUB)
        assert u.kind == "maintenance", (text, u.kind, u.reasons)
        assert len(u.windows) == 1, (text, u.windows, u.reasons)
        assert not any("not tied" in r or "no window is tied" in r for r in u.reasons), u.reasons


def test_a_limit_raised_is_not_a_slower_service() -> None:
    # guard: only a service answering slower is a disruption, not a limit or an amount raised
    u = understand("自12月5日起，单笔交易限额增加至5万元，到账时间不变。", published=PUB)
    assert not u.windows or u.kind != "maintenance", (u.kind, u.windows)


_LIST = (
    "我行定于12月6日升级系统，当天下列电子渠道功能将停用。安排如下：手机银行：12月6日00:00至03:00；"
    "积分查询、积分兑换：12月6日00:00至06:00；信用卡申请：12月5日21:00至6日06:15。微信银行全部服务："
    "12月5日23:00至6日04:00。经本行及卡组织转接的借记卡跨行业务：12月6日00:00至03:00。"
)


def test_rows_of_a_list_of_stops_are_windows_however_they_are_named_and_punctuated() -> None:
    u = understand(_LIST, published=PUB)
    assert u.kind == "maintenance"
    assert sorted(_ranges(u)) == sorted([
        (_dt("2026-12-06 00:00"), _dt("2026-12-06 03:00")),
        (_dt("2026-12-06 00:00"), _dt("2026-12-06 06:00")),
        (_dt("2026-12-05 21:00"), _dt("2026-12-06 06:15")),
        (_dt("2026-12-05 23:00"), _dt("2026-12-06 04:00")),
        # a long row name before its colon keeps a row apart from another with the same hours
        (_dt("2026-12-06 00:00"), _dt("2026-12-06 03:00")),
    ]), (u.windows, u.reasons)
    assert not any("no window is tied" in r for r in u.reasons), u.reasons


def test_a_heading_sentence_of_daily_slots_takes_the_stop_before_it() -> None:
    text = ("12月4日22:00-23:00网银暂停服务。因系统维护，部分网上服务将于12月5日及12月12日凌晨短暂停用。"
            "各日时段为：12月5日凌晨0时至上午9时；12月12日凌晨0时至凌晨3时。")
    u = understand(text, published=PUB)
    assert _ranges(u) == [
        (_dt("2026-12-04 22:00"), _dt("2026-12-04 23:00")),
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 09:00")),
        (_dt("2026-12-12 00:00"), _dt("2026-12-12 03:00")),
    ], (u.windows, u.reasons)


def test_something_else_after_the_list_is_not_a_row_of_it() -> None:
    # guard: a sentence that starts something else (另有……) does not join the list before it
    text = ("系统将全面升级，安排如下。12月5日18时起停止单据创建；12月6日08时-12月9日08时为升级期，单据不能提交。"
            "另有操作培训：12月5日14:30-16:00线下，12月9日19:00-20:30线上。")
    u = understand(text, published=PUB)
    assert (_dt("2026-12-05 14:30"), _dt("2026-12-05 16:00")) not in _ranges(u), (u.windows, u.reasons)
    assert (_dt("2026-12-09 19:00"), _dt("2026-12-09 20:30")) not in _ranges(u), (u.windows, u.reasons)


def test_a_branch_or_outlet_closed_is_not_a_service_window() -> None:
    for text in (
        "因天气原因，本行东门支行自下周一(7日)起暂停服务，直至另行通知。客户可使用手机银行或就近的自助设备办理业务。",
        "受疫情影响，旗下两家流动分行12月5日起停止服务，恢复日期另行公告。",
    ):
        u = understand(text, published=PUB)
        assert u.kind != "maintenance", (text, u.kind, u.reasons)
        assert any("outlet" in r for r in u.reasons), (text, u.reasons)


def test_an_outlet_stopped_for_a_system_upgrade_stays_maintenance() -> None:
    # guard: the counters stop because a system is upgraded
    u = understand("12月5日0:00起升级营帐系统，届时营业厅及网上营业厅暂停全部业务，12月6日8:30恢复。", published=PUB)
    assert u.kind == "maintenance"
    assert _ranges(u) == [(_dt("2026-12-05 00:00"), _dt("2026-12-06 08:30"))], (u.windows, u.reasons)


def test_an_online_counter_is_a_service_not_an_outlet() -> None:
    # guard: 网上营业厅 / 手机营业厅 stopping is a service window
    u = understand("12月5日0:00至6:00，网上营业厅暂停服务。", published=PUB)
    assert u.kind == "maintenance"
    assert _ranges(u) == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))]


def test_a_stop_for_accounts_in_arrears_is_a_rule_not_a_window() -> None:
    for text in (
        "自12月起推行智能交费：余额低于0元时发送提醒，当天未交费的，系统将于次日上午8时左右暂停供电，交费后自动恢复。",
        "温馨提示：欠费超过30天的用户，将于12月5日0:00起暂停通话服务，请及时充值。",
    ):
        u = understand(text, published=PUB)
        assert u.kind != "maintenance" and not u.windows, (text, u.kind, u.windows, u.reasons)
        assert not u.needs_review, (text, u.reasons)
        assert any("arrears" in r for r in u.reasons), u.reasons


def test_a_window_beside_an_arrears_rule_stays() -> None:
    # guard: only the sentence with the arrears rule is set aside
    text = "12月5日0:00至6:00系统升级，暂停缴费服务。另：欠费用户将于次日8时起停机，请及时缴费。"
    u = understand(text, published=PUB)
    assert u.kind == "maintenance"
    assert _ranges(u) == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))], (u.windows, u.reasons)


def test_something_else_moved_to_another_day_is_no_window() -> None:
    text = ("水务公司定于12月5日0:00起升级营业系统，届时暂停全部缴费业务，12月7日8:30恢复。"
            "原定12月6日抄表的用户顺延至12月8日。")
    u = understand(text, published=PUB)
    assert u.kind == "maintenance"
    assert [(w.start, w.end, w.status) for w in u.windows] == [
        (_dt("2026-12-05 00:00"), _dt("2026-12-07 08:30"), "scheduled")], (u.windows, u.reasons)


def test_work_moved_to_another_day_is_still_read_as_moved() -> None:
    # guard: the round-6 rule for a maintenance moved to another day
    u = understand("原定12月5日的系统升级推迟至12月12日，届时网银暂停0:00-4:00。", published=PUB)
    assert ("postponed" in [w.status for w in u.windows]), (u.windows, u.reasons)
    assert (_dt("2026-12-12 00:00"), _dt("2026-12-12 04:00")) in _ranges(u), (u.windows, u.reasons)


def test_a_window_of_more_than_300_days_has_a_slip_in_its_start_year() -> None:
    text = "本公司计划于2025年12月5日0:00起升级营业系统，届时暂停全部对外业务，计划2026年12月8日8:30恢复受理。"
    u = understand(text, published=PUB)
    assert _ranges(u) == [(_dt("2026-12-05 00:00"), _dt("2026-12-08 08:30"))], (u.windows, u.reasons)
    assert u.needs_review and any("slip" in r for r in u.reasons), u.reasons


def test_a_long_past_start_near_its_own_year_is_kept() -> None:
    # guard: a long stop that began months ago, ending within the year, is not moved
    text = "因场馆改造，自2026年3月1日起暂停线上预约服务，至2026年12月20日恢复。"
    u = understand(text, published=PUB)
    assert all(w.start.year == 2026 and w.start.month == 3 for w in u.windows), (u.windows, u.reasons)


def test_supplies_cut_and_sales_stopped_are_never_silent() -> None:
    for phrase in ("小区断网", "全校断电", "片区断水", "管道检修后断气", "专线断线", "终端频繁掉线", "机房停网",
                   "平台停售", "暂停营业厅业务", "全校斷電", "社區斷網", "暫停售票"):
        for text in (f"12月5日0:00至6:00，{phrase}。", f"12月5日0:00至6:00{phrase}。"):
            u = understand(text, published=PUB)
            assert u.kind == "maintenance" or u.needs_review, (text, u.kind, u.reasons)
            assert _ranges(u) == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))], (text, u.windows, u.reasons)


def test_a_hedged_risk_of_cuts_is_not_maintenance() -> None:
    # guard: "可能引发的断网断电风险" with no window is no maintenance
    u = understand("请各单位提前应对汛期可能引发的断网断电等风险，做好业务连续性保障。", published=PUB)
    assert u.kind != "maintenance", (u.kind, u.reasons)


def test_an_old_version_retired_with_its_successor_in_use_is_not_sent_to_review() -> None:
    for text in (
        "为提升服务质量，12月5日起新版APP上线，旧版将于12月31日停止使用，请及时更新。",
        "12月5日0時起，舊版網路銀行停止服務，請改用新版網路銀行。",
        "因系統升級，自12月5日起，客戶需使用新版App方可登入，舊版App將無法登入，請盡快更新。",
    ):
        u = understand(text, published=PUB)
        assert u.kind != "maintenance" and not u.windows, (text, u.kind, u.windows)
        assert not u.needs_review, (text, u.reasons)


def test_an_old_system_stopped_before_its_successor_still_goes_to_review() -> None:
    # guard: a gap between the old system and the new one may be a window
    u = understand("旧系统将于12月5日起停止使用，新系统待12月8日上线后启用，期间暂停办理。", published=PUB)
    assert u.kind == "maintenance" or u.needs_review, (u.kind, u.reasons)


def test_number_formats_of_hong_kong_and_taiwan_notices() -> None:
    for text, want in (
        # the next day with its number in brackets
        ("停水時間：12月5日(六)22時至翌(6)日6時，停水期間請儲水備用。", [("2026-12-05 22:00", "2026-12-06 06:00")]),
        # AM / PM written before the time
        ("12/5(六)PM10:00~12/6(日)AM06:00 系統維護，暫停服務。", [("2026-12-05 22:00", "2026-12-06 06:00")]),
        # 正: on the hour
        ("12月5日（星期六）凌晨零時正至上午六時正，網上銀行暫停服務。", [("2026-12-05 00:00", "2026-12-05 06:00")]),
        # days sharing 日 in a list, and their count after them
        ("12月5、6日0時至6時系統維護，暫停服務。",
         [("2026-12-05 00:00", "2026-12-05 06:00"), ("2026-12-06 00:00", "2026-12-06 06:00")]),
        ("12月5日、6日兩天0時至6時系統維護，暫停服務。",
         [("2026-12-05 00:00", "2026-12-05 06:00"), ("2026-12-06 00:00", "2026-12-06 06:00")]),
    ):
        u = understand(text, published=PUB)
        assert u.kind == "maintenance", (text, u.kind, u.reasons)
        assert sorted(_ranges(u)) == [(_dt(a), _dt(b)) for a, b in want], (text, u.windows, u.reasons)


def test_zheng_that_starts_a_word_is_not_on_the_hour() -> None:
    # guard: "8時正式上線" still reads 上线 as a resumption after 8:00
    u = understand("12月5日0時起系統暫停服務，新系統於12月5日8時正式上線。", published=PUB)
    assert _ranges(u) == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 08:00"))], (u.windows, u.reasons)


def test_a_direct_debit_stopped_is_a_pay_service_stopped() -> None:
    u = understand("12月5日22:00～12月6日08:00 电费代扣业务暂停。", published=PUB)
    assert u.kind == "maintenance", (u.kind, u.reasons)
    assert _ranges(u) == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 08:00"))]


def test_an_overall_period_before_an_impact_heading_frames_the_detailed_windows() -> None:
    for text in (
        "维护公告\n维护时间：12月5日 00:00-06:00\n维护影响：\n1、00:00-02:00 支付功能不可用；\n2、02:00-06:00 查询功能间断不可用。",
        "升级时间：12月5日0:00至6:00。影响范围：0:00至2:00暂停充值；2:00至6:00暂停提现。",
    ):
        u = understand(text, published=PUB)
        assert sorted(_ranges(u)) == [
            (_dt("2026-12-05 00:00"), _dt("2026-12-05 02:00")),
            (_dt("2026-12-05 02:00"), _dt("2026-12-05 06:00")),
        ], (text, u.windows, u.reasons)


def test_a_safety_drill_that_stops_nothing_is_no_confident_maintenance() -> None:
    for text in (
        "12月5日上午9点至11点将进行消防演练，期间可能有警报声，请勿惊慌。",
        "12月5日14:00-16:00进行停电应急演练，演练期间不影响正常用电。",
    ):
        u = understand(text, published=PUB)
        assert u.kind != "maintenance", (text, u.kind, u.reasons)
        assert any("safety drill" in r for r in u.reasons), u.reasons


def test_a_system_drill_with_a_stop_stays_maintenance() -> None:
    # guard: a disaster-recovery drill of a system that stops a service
    u = understand("12月5日22:00至次日2:00进行网银系统应急演练，演练期间网银暂停服务。", published=PUB)
    assert u.kind == "maintenance" and not u.needs_review, (u.kind, u.reasons)
    assert _ranges(u) == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 02:00"))]


def test_a_resumption_given_only_as_a_part_of_a_day_leaves_the_end_open() -> None:
    u = understand("12月5日20:00起暂停服务，预计于12月6日上午恢复。", published=PUB)
    assert _ranges(u) == [(_dt("2026-12-05 20:00"), None)], (u.windows, u.reasons)
    assert u.needs_review


def test_an_end_on_the_next_day_does_not_share_the_evening_of_its_start() -> None:
    for text in ("12月5日夜间（20:00-次日8:00）系统维护，暂停服务。", "12月5日晚上9点至次日7点，系统升级，暂停缴费。"):
        u = understand(text, published=PUB)
        assert [e for _, e in _ranges(u)] in ([_dt("2026-12-06 08:00")], [_dt("2026-12-06 07:00")]), (text, u.windows)


def test_rows_tied_through_their_intro_are_all_sent_to_review_in_a_notice_of_another_kind() -> None:
    u = understand("下列功能将停用：网银：12月6日00:00至01:30；手机银行：12月6日00:00至01:30。", published=PUB)
    assert u.kind == "maintenance" or u.needs_review
    assert len(u.windows) == 2, (u.windows, u.reasons)


def test_a_list_written_one_row_a_line_stays_tied() -> None:
    # guard: eight rows, one a line, after an intro on its own line
    names = ("网银", "手机银行", "积分查询", "信用卡申请", "转账汇款", "账户查询", "理财购买", "缴费")
    rows = "；\n".join(f"{name}：12月6日0{i % 5}:00至0{i % 5 + 1}:30" for i, name in enumerate(names))
    text = f"我行定于12月6日升级系统，下列功能将停用。\n安排如下：\n{rows}。\n微信银行：12月6日00:00至04:00。"
    u = understand(text, published=PUB)
    assert len(u.windows) == 9, (u.windows, u.reasons)
    assert not any("set aside" in r for r in u.reasons), u.reasons


def test_the_next_days_rows_on_a_new_line_stay_tied() -> None:
    text = ("计划于12月5日、6日分片区停电检修：12月5日8:00-12:00，东区；\n12:00-19:00，西区。\n"
            "12月6日8:00-12:00，南区；\n12:00-19:00，北区。")
    u = understand(text, published=PUB)
    assert len(u.windows) == 4, (u.windows, u.reasons)


def test_that_day_said_in_the_sentence_on_the_next_line_is_a_whole_day() -> None:
    text = "热线留言服务将于本周六(12月5日)停止提供。\n系统保养定于12月5日进行，当天留言服务暂停运作。"
    u = understand(text, published=PUB)
    assert _ranges(u) == [(_dt("2026-12-05 00:00"), _dt("2026-12-06 00:00"))], (u.windows, u.reasons)


def test_an_intro_on_a_line_of_its_own_takes_the_stop_before_it() -> None:
    text = ("12月5日22:00-23:00网银暂停服务。\n12月6日升级系统，下列功能将停用。\n安排如下：\n"
            "手机银行：12月6日00:00至03:00；\n积分查询：12月6日00:00至06:00。")
    u = understand(text, published=PUB)
    assert len(u.windows) == 3, (u.windows, u.reasons)


def test_an_earlier_window_told_as_done_beside_the_next_one_is_not_a_window() -> None:
    text = "12月31日22:00至1月1日2:00的系统维护已顺利完成。1月9日0:00-6:00将再次维护，暂停服务。"
    u = understand(text, published=date(2027, 1, 2))
    assert _ranges(u) == [(_dt("2027-01-09 00:00"), _dt("2027-01-09 06:00"))], (u.windows, u.reasons)


def test_a_count_of_days_before_the_daily_hours_keeps_one_window_a_day() -> None:
    u = understand("12月5日（周六）至12月6日（周日）两天，每天凌晨2:00-4:00系统升级，暂停服务。", published=PUB)
    assert _ranges(u) == [(_dt("2026-12-05 02:00"), _dt("2026-12-05 04:00")),
                          (_dt("2026-12-06 02:00"), _dt("2026-12-06 04:00"))], (u.windows, u.reasons)


def test_a_failure_cleared_at_a_time_is_a_recovery_and_the_time_is_its_end() -> None:
    text = "11月30日晚20:00-21:30，因运营商光缆被挖断，部分地区充值失败。故障已于21:30排除。"
    u = understand(text, published=PUB)
    assert u.kind == "recovery", (u.kind, u.reasons)
    assert _ranges(u) == [(_dt("2026-11-30 20:00"), _dt("2026-11-30 21:30"))], (u.windows, u.reasons)


def test_a_period_customers_act_in_is_no_window() -> None:
    for text in (
        "問卷填答期間為12月5日至12月12日，系統將於12月12日23:59關閉填答。",
        "对账确认时间：12月5日9:00至12月10日17:00，请商户登录后台核对。",
        "抽签时间为12月5日10:00-12:00，结果当日公布。",
    ):
        u = understand(text, published=PUB)
        assert u.kind != "maintenance" and not u.windows, (text, u.kind, u.windows, u.reasons)


def test_hours_with_no_date_in_the_body_are_on_the_one_date_of_the_title() -> None:
    for title, text in (
        ("【通知】12月5日系统维护", "维护时间为当日0:00至6:00，期间暂停服务。"),
        ("12月5日（周六）系统升级公告", "升级时间：凌晨0:00-6:00。升级期间暂停充值。"),
        ("系統維護公告(12/5)", "維護時間：凌晨0時至6時，維護期間暫停服務。"),
        ("关于12月5日暂停网银服务的通知", "因系统升级，我行网上银行将于当日0:00-6:00暂停服务。"),
    ):
        u = understand(text, published=PUB, title=title)
        assert _ranges(u) == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))], (title, u.windows, u.reasons)
        assert not any("assumed the publication date" in r for r in u.reasons), u.reasons


def test_a_title_with_several_dates_gives_no_day_to_the_body() -> None:
    # guard: two dates in the title, hours with no date in the body: the publication date, flagged
    u = understand("维护时间：0:00至6:00，期间暂停服务。", published=PUB, title="12月5日、12月12日系统维护")
    assert all(w.start.date() == PUB for w in u.windows) and u.needs_review, (u.windows, u.reasons)


def test_a_date_written_right_after_the_hours_is_their_date() -> None:
    for text in (
        "维护时间：00:00-06:00，2026年12月5日（星期六）。维护期间暂停服务。",
        "我行将于凌晨0点至6点（12月5日）进行系统升级，暂停服务。",
        "0:00-6:00 (12/5) 系统升级，暂停服务。",
    ):
        u = understand(text, published=PUB)
        assert _ranges(u) == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))], (text, u.windows, u.reasons)


def test_a_weekday_or_a_date_range_after_the_hours_is_not_their_date() -> None:
    # guard: "23:30~5:00，周三到周一为1:00~5:00" is a timetable, not hours on Wednesday
    u = understand("订票系统周二夜间维护时间为23:30~5:00，周三到周一为1:00~5:00，维护时段不能购票。", published=PUB)
    assert not u.windows or u.needs_review, (u.windows, u.reasons)
    u = understand("每日0:00-1:00，12月5日至12月7日，系统暂停服务。", published=PUB)
    assert (_dt("2026-12-05 00:00"), _dt("2026-12-05 01:00")) not in _ranges(u), (u.windows, u.reasons)


def test_a_day_of_next_or_this_month_is_read_from_publication() -> None:
    for text, day in (
        ("下月5日0:00-6:00系统升级，暂停服务。", "2027-01-05"),
        ("下个月5日0:00-6:00系统升级，暂停服务。", "2027-01-05"),
        ("本月5日0:00-6:00系统升级，暂停服务。", "2026-12-05"),
    ):
        u = understand(text, published=PUB)
        assert _ranges(u) == [(_dt(f"{day} 00:00"), _dt(f"{day} 06:00"))], (text, u.windows, u.reasons)


def test_a_cancellation_of_another_day_does_not_cancel_the_window() -> None:
    u = understand("12月5日0:00-6:00系统维护暂停服务。另，原定12月12日的维护取消。", published=PUB)
    assert [(w.start, w.status) for w in u.windows] == [(_dt("2026-12-05 00:00"), "scheduled")], (u.windows, u.reasons)


def test_a_cancellation_with_no_date_of_its_own_still_cancels_the_one_window() -> None:
    # guard: "本次维护取消" after the window's own sentence
    u = understand("原定12月5日0:00-6:00进行系统维护。现本次维护取消，业务照常办理。", published=PUB)
    assert [w.status for w in u.windows] == ["cancelled"], (u.windows, u.reasons)


def test_a_window_moved_to_the_same_hours_of_another_day() -> None:
    u = understand("12月5日0:00-6:00的系统维护延期至12月19日同一时段进行。", published=PUB)
    assert sorted((w.start, w.end, w.status) for w in u.windows) == [
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"), "postponed"),
        (_dt("2026-12-19 00:00"), _dt("2026-12-19 06:00"), "scheduled"),
    ], (u.windows, u.reasons)


def test_hours_written_with_xu_a_dot_or_a_trailing_shi() -> None:
    for text in (
        "12月5日22时许至次日6时许，系统维护，暂停服务。",
        "12月5日22.00-6.00系统维护，暂停服务。",
        "12月5日（星期六）22:00时至12月6日（星期日）06:00时，系统维护，暂停服务。",
    ):
        u = understand(text, published=PUB)
        assert _ranges(u) == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00"))], (text, u.windows, u.reasons)


def test_a_date_range_with_dots_is_not_read_as_hours() -> None:
    # guard: "12.05-12.06" after a label is a span of days, never 12:05-12:06
    u = understand("停机日期：12.05-12.06，期间暂停服务。", published=PUB)
    assert all(w.end is None or (w.end - w.start).total_seconds() > 60 for w in u.windows), (u.windows, u.reasons)
