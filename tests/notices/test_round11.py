"""Rules added in round 11 (the third blind set, half A): zones written as a heading or after a
chain of ranges, more named zones, Japanese 午前/午后, month/day/year dates, noon with no time,
dates listed once with several rows of hours, interface notices that carry service windows, and
times local to a place named as the notice's issuer. Each text is written for the test (not a
corpus notice)."""

from __future__ import annotations

from datetime import date, datetime

from tests.notices.times import beijing as _dt
from watcher.notices import understand
from watcher.notices.normalize import normalize

PUB = date(2026, 11, 20)


def _ws(text: str, title: str = "", pub: date = PUB) -> list[tuple[datetime, datetime | None]]:
    u = understand(text, published=pub, title=title)
    assert u.kind == "maintenance", u.reasons
    return sorted((w.start, w.end) for w in u.windows)


def test_a_zone_heading_reaches_every_row_after_it() -> None:
    text = ("本店网上收款服务维护安排如下。时段（24小时制，东京时间）：12月3日（周四）23:00~12月4日（周五）04:00；"
            "12月10日（周四）23:00~12月11日（周五）04:00。维护期间无法付款。")
    assert _ws(text) == [
        (_dt("2026-12-03 22:00"), _dt("2026-12-04 03:00")),
        (_dt("2026-12-10 22:00"), _dt("2026-12-11 03:00")),
    ]


def test_a_zone_written_after_the_last_of_several_ranges_reaches_them_all() -> None:
    text = "会员卡扣款将暂停：12月2日 01:00 ~ 05:00 和 12月9日 02:00 ~ 04:00（日本时间，可能提前结束）。"
    assert _ws(text) == [
        (_dt("2026-12-02 00:00"), _dt("2026-12-02 04:00")),
        (_dt("2026-12-09 01:00"), _dt("2026-12-09 03:00")),
    ]


def test_a_restatement_in_beijing_time_is_not_moved() -> None:
    # guard: a marker before a later range does not reach back to the range before it
    text = "网关将于12月2日22:00-23:00暂停服务，即UTC 14:00-15:00。"
    assert _ws(text) == [(_dt("2026-12-02 22:00"), _dt("2026-12-02 23:00"))]


def test_more_named_zones_are_moved() -> None:
    text = "雅加达分行网银将于2026年12月5日21:00（雅加达时间）起暂停，至2026年12月6日03:00（雅加达时间）恢复。"
    assert _ws(text) == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 04:00"))]


def test_cst_is_not_read_as_a_foreign_zone() -> None:
    # guard: CST is China Standard Time as often as US Central
    text = "系统将于12月5日02:00-04:00 CST维护，期间暂停转账。"
    assert _ws(text) == [(_dt("2026-12-05 02:00"), _dt("2026-12-05 04:00"))]


def test_japanese_morning_and_afternoon_words_are_read() -> None:
    text = "结算系统将于2026年12月7日午前1时~午前3时30分维护，期间刷卡付款会失败。"
    assert _ws(text) == [(_dt("2026-12-07 01:00"), _dt("2026-12-07 03:30"))]
    assert "下午2时" in normalize("午后2时")


def test_month_day_year_dates_are_read_when_unambiguous() -> None:
    text = "网上银行自12/14/2026晚9:00至12/15/2026早6:00暂停服务。"
    assert _ws(text) == [(_dt("2026-12-14 21:00"), _dt("2026-12-15 06:00"))]
    assert "2026-12-14" in normalize("14/12/2026")
    assert "3/4/2027" in normalize("3/4/2027")  # either could be the month: left as written


def test_noon_with_no_time_after_a_day_is_twelve() -> None:
    text = "为配合系统迁移，手机银行将由周六中午至周日中午暂停服务。"
    # published on a Friday: the coming weekend
    assert _ws(text, pub=date(2026, 11, 20)) == [(_dt("2026-11-21 12:00"), _dt("2026-11-22 12:00"))]


def test_dates_listed_once_with_rows_of_hours_are_a_window_each() -> None:
    text = ("大促期间开放接口将分时降级，涉及2026-12-02、2026-12-09两晚。每晚20:00:00 ~ 22:30:00 订单详情接口会被限流；"
            "20:15:00 到次日 00:30:00 退款查询接口不可用。")
    u = understand(text, published=PUB, title="大促接口调整公告")
    assert u.kind == "maintenance", u.reasons
    assert sorted((w.start, w.end) for w in u.windows) == [
        (_dt("2026-12-02 20:00"), _dt("2026-12-02 22:30")),
        (_dt("2026-12-02 20:15"), _dt("2026-12-03 00:30")),
        (_dt("2026-12-09 20:00"), _dt("2026-12-09 22:30")),
        (_dt("2026-12-09 20:15"), _dt("2026-12-10 00:30")),
    ]


def test_an_interface_notice_published_after_its_windows_is_still_maintenance() -> None:
    # an update published after the windows: they are past, but they are service windows, not an
    # interface change, so the notice is never silent
    text = ("开放平台接口调整回顾：2026-11-03、2026-11-10两晚，每晚21:00:00 ~ 23:00:00 商品查询接口限流，"
            "部分字段不返回；请开发者调整调用时间。")
    u = understand(text, published=PUB, title="接口调整公告（更新）")
    assert u.kind == "maintenance", u.reasons
    assert len(u.windows) == 2


def test_an_interface_change_with_only_deadlines_stays_interface() -> None:
    # guard: a past period for integrators to act in, with nothing said to stop, is no window
    text = "新版签名接口已发布，各商户须于2026年11月1日至11月15日期间完成SDK升级并更换证书，逾期请联系技术支持。"
    u = understand(text, published=PUB, title="签名接口升级通知")
    assert u.kind == "interface", u.reasons


def test_a_time_customers_are_advised_to_act_after_starts_nothing() -> None:
    for text in ("12月8日21:00至23:00结算接口将降级，期间可能调用失败，对账任务建议放在凌晨3点以后执行。",
                 "12月8日21:00至23:00结算接口将降级，期间无法缴费，请在次日上午6:00之后再来缴费。"):
        assert _ws(text) == [(_dt("2026-12-08 21:00"), _dt("2026-12-08 23:00"))], text


def test_a_stop_from_a_time_is_still_a_window() -> None:
    # guard: "起暂停" with no advice around it still opens a window
    text = "为配合系统迁移，12月9日22:00起暂停充值服务，恢复时间另行通知。"
    u = understand(text, published=PUB)
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-09 22:00"), None)]


def test_times_of_a_branch_abroad_with_no_zone_are_read_as_local_time_and_reviewed() -> None:
    text = "本行（新西兰）将于12月12日08:00至12:00升级核心系统，期间网上银行及借记卡暂停服务。"
    u = understand(text, published=PUB, title="某银行（新西兰）系统升级通知")
    assert u.kind == "maintenance", u.reasons
    # December is summer time in Auckland (UTC+13): five hours ahead of Beijing
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-12 03:00"), _dt("2026-12-12 07:00"))]
    assert u.needs_review


def test_a_country_with_several_zones_is_not_converted() -> None:
    text = "提醒美国客户：12月12日08:00至12:00升级网上银行，期间暂停转账。"
    u = understand(text, published=PUB)
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-12 08:00"), _dt("2026-12-12 12:00"))]
    assert u.needs_review


def test_a_notice_written_with_kana_is_read_in_japan_time() -> None:
    text = "「ぽけっと払い」12月15日1:00~5:00系统维护，期间无法付款。"
    assert _ws(text) == [(_dt("2026-12-15 00:00"), _dt("2026-12-15 04:00"))]


def test_a_mainland_notice_is_not_moved() -> None:
    # guard: no place elsewhere, no zone: Beijing time
    text = "本行将于12月12日08:00至12:00升级核心系统，期间网上银行暂停服务。"
    assert _ws(text) == [(_dt("2026-12-12 08:00"), _dt("2026-12-12 12:00"))]


def test_a_japanese_weekday_after_a_date_keeps_date_and_time_together() -> None:
    text = "付款维护（JST）：12/3(木) 23:00～12/4(金) 4:00，期间无法付款。"
    assert _ws(text) == [(_dt("2026-12-03 22:00"), _dt("2026-12-04 03:00"))]


def test_a_row_marked_called_off_in_square_brackets_is_cancelled() -> None:
    text = ("充值通道停机维护（东京时间）：12月3日23:00~12月4日02:00【中止】；12月10日23:00~12月11日02:00；"
            "期间无法充值。")
    u = understand(text, published=PUB)
    assert sorted((w.start, w.status) for w in u.windows) == [
        (_dt("2026-12-03 22:00"), "cancelled"),
        (_dt("2026-12-10 22:00"), "scheduled"),
    ]


def test_two_times_listed_before_one_predicate_are_no_range() -> None:
    text = ("12月5日01:00至05:00系统升级，期间暂停提现；到账数据会延后，预计分别在12月6日17:00、12月12日17:00前"
            "补齐。")
    assert _ws(text) == [(_dt("2026-12-05 01:00"), _dt("2026-12-05 05:00"))]


def test_a_window_restated_in_another_zone_elsewhere_in_the_notice_is_one_window() -> None:
    text = "服务将于2026年12月6日02:00至06:00升级，期间无法登录。英文版写作“12月5日 18:00 至 22:00 UTC 服务不可用”。"
    assert _ws(text) == [(_dt("2026-12-06 02:00"), _dt("2026-12-06 06:00"))]


def test_rows_of_hours_one_a_line_after_listed_dates() -> None:
    text = ("接口降级安排，涉及12月2日、12月9日两晚：\n1. 20:00-22:00 订单接口限流\n2. 20:30-23:30 退款接口不可用\n"
            "如有问题请联系技术支持。")
    assert _ws(text) == [
        (_dt("2026-12-02 20:00"), _dt("2026-12-02 22:00")),
        (_dt("2026-12-02 20:30"), _dt("2026-12-02 23:30")),
        (_dt("2026-12-09 20:00"), _dt("2026-12-09 22:00")),
        (_dt("2026-12-09 20:30"), _dt("2026-12-09 23:30")),
    ]


def test_the_affected_period_inside_a_work_period_is_the_window() -> None:
    text = ("刷卡结算维护期间可能短暂中断。日程：(1)12月3日 作业时间0:30~6:00，影响时段1:00~3:30；"
            "(2)12月10日 作业时间1:00~5:00。")
    assert _ws(text) == [
        (_dt("2026-12-03 01:00"), _dt("2026-12-03 03:30")),
        (_dt("2026-12-10 01:00"), _dt("2026-12-10 05:00")),
    ]


def test_services_closed_for_a_market_closure_are_no_maintenance_but_reviewed() -> None:
    for title, text in (
        ("国庆节休市期间业务安排", "国庆休市安排：银证转账自2026年9月30日15:30起暂停，至2026年10月8日9:00恢复；休市期间基金申购款暂不划转。"),
        ("交易所休市业务安排", "交易所休市，银证转账自2026年9月30日15:30起暂停，至2026年10月8日9:00恢复；基金申购款暂不划转。"),
    ):
        u = understand(text, published=date(2026, 9, 20), title=title)
        assert u.kind != "maintenance", u.reasons
        assert u.needs_review, u.reasons  # a range ahead with a stop: never silent


def test_work_during_a_market_closure_stays_maintenance() -> None:
    # guard: a system upgrade done while the market is closed is maintenance
    text = "利用国庆休市，本公司将于2026年10月3日8:00至18:00升级交易系统，期间网上交易暂停。"
    u = understand(text, published=date(2026, 9, 20))
    assert u.kind == "maintenance", u.reasons


def test_a_period_for_participants_to_switch_by_a_latest_date_is_no_window() -> None:
    text = ("新版报文接口分批切换：发起机构自2026年12月1日起、最迟于2026年12月20日前切换；接收机构自2027年1月4日起、"
            "最迟于2027年1月25日前切换。旧版接口的下线时间另行通知。")
    u = understand(text, published=PUB, title="报文接口切换安排")
    assert u.kind != "maintenance", u.reasons
    assert not u.windows


def test_listed_dates_followed_right_by_several_rows_of_hours() -> None:
    text = "大促期间12月2日、12月9日20:00-22:00 订单接口限流；20:30-23:30 退款字段不返回。"
    assert _ws(text) == [
        (_dt("2026-12-02 20:00"), _dt("2026-12-02 22:00")),
        (_dt("2026-12-02 20:30"), _dt("2026-12-02 23:30")),
        (_dt("2026-12-09 20:00"), _dt("2026-12-09 22:00")),
        (_dt("2026-12-09 20:30"), _dt("2026-12-09 23:30")),
    ]


def test_month_day_dates_with_slashes_in_a_list_are_dates() -> None:
    text = "涉及12/2、12/9两晚。每晚20:00-22:00 订单接口限流。"
    assert _ws(text) == [
        (_dt("2026-12-02 20:00"), _dt("2026-12-02 22:00")),
        (_dt("2026-12-09 20:00"), _dt("2026-12-09 22:00")),
    ]


def test_japanese_next_day_and_early_morning_words() -> None:
    assert _ws("结算维护（日本时间）：12月5日（土）23:00～翌5:00，期间无法付款。") == [
        (_dt("2026-12-05 22:00"), _dt("2026-12-06 04:00"))
    ]
    assert "早上6" in normalize("早朝6時")


def test_a_zone_after_a_reference_mark_reaches_the_range_before_it() -> None:
    assert _ws("结算维护：12月5日 2:00～6:00 ※日本时间，期间无法付款。") == [
        (_dt("2026-12-05 01:00"), _dt("2026-12-05 05:00"))
    ]


def test_a_span_of_days_with_several_rows_of_hours_every_day() -> None:
    text = "12月2日至12月4日期间，每晚20:00-22:00 订单接口限流；20:30-23:00 退款字段不返回。"
    got = _ws(text)
    assert len(got) == 6
    assert (_dt("2026-12-04 20:30"), _dt("2026-12-04 23:00")) in got


def test_a_time_field_with_the_stop_in_the_next_field_is_tied_and_never_silent() -> None:
    text = "调整时间：2026年12月2日、12月9日 20:00-22:00\n调整内容：订单查询接口限流，部分字段不返回"
    u = understand(text, published=PUB, title="开放平台接口调整")
    assert u.kind == "maintenance" or u.needs_review, u.reasons
    assert len(u.windows) == 2
    # and after the windows (an update): still maintenance, not an interface change
    u = understand(text, published=date(2026, 12, 20), title="开放平台接口调整")
    assert u.kind == "maintenance", u.reasons


def test_rows_moved_from_one_zone_with_the_same_times_stay_apart() -> None:
    # guard: two services with the same hours, both in Tokyo time, are two windows
    text = "维护（日本时间）：12月5日 ATM于2:00至4:00暂停；借记卡于2:00至4:00暂停。"
    u = understand(text, published=PUB)
    assert len(u.windows) == 2, u.windows


def test_dotted_month_days_before_a_count_of_nights_are_dates() -> None:
    text = "涉及12.2、12.9两晚。每晚20:00-22:00 订单接口限流；20:30-23:00 退款字段不返回。"
    assert len(_ws(text)) == 4
    assert "1.5、2.0" in normalize("版本1.5、2.0两个版本将下线")  # version numbers stay as written


def test_a_count_of_days_then_evenings_closes_a_list() -> None:
    text = "12月2日、12月9日两天晚上20:00-22:00 订单接口限流；20:30-23:00 退款字段不返回。"
    assert len(_ws(text)) == 4


def test_listed_dates_with_the_evening_of_each_written_as_dang_wan() -> None:
    text = "调整时段：12月2日、12月9日当晚20:00 ~ 22:00，订单查询接口不返回收货地址。"
    assert _ws(text) == [
        (_dt("2026-12-02 20:00"), _dt("2026-12-02 22:00")),
        (_dt("2026-12-09 20:00"), _dt("2026-12-09 22:00")),
    ]


def test_japan_standard_time_is_a_zone_and_letters_inside_a_word_are_not() -> None:
    assert _ws("结算维护：12月5日2:00～6:00（日本標準時），期间无法付款。") == [
        (_dt("2026-12-05 01:00"), _dt("2026-12-05 05:00"))
    ]
    # "XEST" is no zone: the letters of a zone name inside a longer word name nothing
    assert _ws("XEST网关将于12月5日2:00-6:00维护，期间暂停支付。") == [
        (_dt("2026-12-05 02:00"), _dt("2026-12-05 06:00"))
    ]
