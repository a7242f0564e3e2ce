"""Rules added in round 8 after the one silent miss of the second blind set and the misses of its
half A (odd ids): each test is a family of wording, written for the test (not a corpus notice)."""

from __future__ import annotations

import itertools
from datetime import date

from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 12, 1)


# What makes a notice look like something else: fees, card terms, a merger, marketing, an SDK.
_FRAMES = (
    "尊敬的持卡人：自2027年1月1日起，本行信用卡年费标准调整，透支利率及违约金按新约定条款执行，如有异议可申请销户。{stop}",
    "親愛的卡友：兩行合併後，信用卡權益及約定條款自基準日起調整，年費按持卡月份比例退還。{stop}",
    "会员权益升级：新开户客户可享首年免年费及积分加倍活动，单笔消费满100元返现5元。{stop}",
    "接口变更说明：旧版SDK签名方式将于明年起不再推荐，请商户尽快接入新版接口并完成联调。{stop}",
)
# A stop ahead, worded in several ways, with and without an end.
_STOPS = (
    ("另为配合系统整并升级作业，本行预计自12月30日23:00起暂停网络刷卡验证服务，直至作业完成为止。", "2026-12-30 23:00", None),
    ("另因系统升级，12月12日00:00至06:00期间手机银行暂停服务。", "2026-12-12 00:00", "2026-12-12 06:00"),
    ("此外，受主機遷移影響，12月20日凌晨1時至5時網路銀行將無法登入。", "2026-12-20 01:00", "2026-12-20 05:00"),
    ("另：12月8日22:00起快捷支付暂停，恢复时间另行通知。", "2026-12-08 22:00", None),
)


def test_a_stop_ahead_is_never_dropped_silently_whatever_the_rest_of_the_notice_is_about() -> None:
    for frame, (stop, start, end) in itertools.product(_FRAMES, _STOPS):
        text = frame.format(stop=stop)
        u = understand(text, published=PUB)
        assert u.kind == "maintenance" or u.needs_review, (text, u.kind, u.reasons)
        assert (_dt(start), _dt(end) if end else None) in [(w.start, w.end) for w in u.windows], (text, u.windows)


def test_work_on_a_system_with_a_stop_inside_a_fee_notice_is_maintenance() -> None:
    text = ("親愛的卡友：兩行合併後，信用卡權益及約定條款自基準日起調整，如有異議可終止契約並請求退還部分年費，"
            "現有信用卡可繼續使用。另為配合系統整併升級作業，本行自12月30日23:00起暫停網路刷卡驗證服務，直到作業完成為止。")
    u = understand(text, published=PUB, title="信用卡年費及約定條款調整說明")
    assert u.kind == "maintenance", u.reasons
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-30 23:00"), None)]
    assert u.needs_review  # no end: a person decides when it is over


def test_a_service_closed_for_good_is_no_window_to_review() -> None:
    # a shutdown decided for good, not a pause with an end to wait for
    text = "本游戏将停止运营。2027年1月5日00:00关闭充值服务；2027年2月1日23:59停止全部运营。"
    u = understand(text, published=PUB)
    assert u.kind != "maintenance"
    assert not u.windows and not u.needs_review, u.reasons


def test_a_pause_from_a_time_on_with_no_end_in_a_policy_notice_goes_to_review() -> None:
    # no work on a system named: not confidently maintenance, but never silent
    text = "本行信用卡分期手续费率自2027年1月1日起调整。自12月15日10:00起暂停受理账单分期申请，直至新费率生效。"
    u = understand(text, published=PUB)
    assert u.kind == "maintenance" or u.needs_review, (u.kind, u.reasons)
    assert _dt("2026-12-15 10:00") in [w.start for w in u.windows]


def test_a_possible_extension_does_not_move_the_end() -> None:
    for text in (
        "本行将于12月5日22:00至12月7日12:00升级核心系统，期间网上银行暂停。如有需要，升级时段或延长至12月7日16:00。",
        "12月5日22:00至12月7日12:00系统升级，网银暂停服务；必要时可延长至12月7日18:00，届时另行通知。",
    ):
        u = understand(text, published=PUB)
        assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 22:00"), _dt("2026-12-07 12:00"))], (
            text, u.windows, u.reasons)


def test_an_extension_that_happens_still_moves_the_end() -> None:
    text = "12月5日22:00至12月6日6:00系统升级，网银暂停服务。因工作量增加，维护时间延长至12月6日8:00。"
    u = understand(text, published=PUB)
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 08:00"))], u.reasons


def test_days_written_with_an_english_month_name() -> None:
    for text in (
        "测试环境于以下时段不提供文件提交渠道：05-Dec (Sat) 09:00-20:00；12-Dec (Sat) 09:00-20:00。",
        "测试环境系统维护，以下时段暂停提交：5 Dec 2026 09:00-20:00；Dec 12, 2026 09:00-20:00。",
    ):
        u = understand(text, published=PUB)
        assert u.kind == "maintenance" or u.needs_review, (text, u.reasons)
        assert [(w.start, w.end) for w in u.windows] == [
            (_dt("2026-12-05 09:00"), _dt("2026-12-05 20:00")), (_dt("2026-12-12 09:00"), _dt("2026-12-12 20:00"))
        ], (text, u.windows, u.reasons)


def test_a_word_that_starts_like_a_month_is_no_day() -> None:
    u = understand("Mayday 5 Maybe：12月5日22:00至23:00系统维护，网银暂停。", published=PUB)
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 22:00"), _dt("2026-12-05 23:00"))]


def test_a_zone_marker_after_the_start_keeps_the_range_and_is_converted() -> None:
    for text, start, end in (
        ("维护时段：12月5日（周六）18:00 GMT至12月6日（周日）02:00 GMT，网银暂停。", "2026-12-06 02:00", "2026-12-06 10:00"),
        ("维护时段：12月5日18:00 UTC至12月6日02:00，网银暂停。", "2026-12-06 02:00", "2026-12-06 10:00"),
    ):
        u = understand(text, published=PUB)
        assert [(w.start, w.end) for w in u.windows] == [(_dt(start), _dt(end))], (text, u.windows, u.reasons)


def test_a_row_marked_cancelled_after_its_times_is_cancelled() -> None:
    text = ("未来维护时段如下：12月5日22:00至12月6日02:00（*已取消*）；12月12日22:00至12月13日02:00；"
            "12月19日22:00至12月20日02:00（取消）。期间网上银行暂停服务。")
    u = understand(text, published=PUB)
    assert [w.status for w in u.windows] == ["cancelled", "scheduled", "cancelled"], (u.windows, u.reasons)


def test_services_named_before_a_dash_with_the_same_hours_are_one_window_each() -> None:
    text = ("本行将于12月6日进行系统升级，下列服务可能出现间歇性延迟或不可用：网上银行及手机银行（含短信服务）——"
            "12月6日凌晨12:00至2:00（间歇性不可用，每次最长4分钟）；电话银行、ATM服务——12月6日凌晨12:00至2:00"
            "（每次最长4分钟）；全部信用卡交易及服务——12月6日凌晨12:00至2:00（每次最长5分钟）。")
    u = understand(text, published=PUB)
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-06 00:00"), _dt("2026-12-06 02:00"))] * 3, (
        u.windows, u.reasons)


def test_terms_changed_from_a_time_on_are_no_window() -> None:
    text = ("本行将于12月5日18:00至12月7日8:00升级核心系统，期间网上银行暂停。升级完成后，自12月7日上午8:00起，"
            "部分产品及服务条款将作修订。")
    u = understand(text, published=PUB)
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 18:00"), _dt("2026-12-07 08:00"))], (
        u.windows, u.reasons)


def test_a_stop_from_a_time_on_next_to_new_terms_is_still_a_window() -> None:
    text = "因系统切换，自12月7日上午8:00起暂停信用卡分期服务，新费率调整完成后恢复。"
    u = understand(text, published=PUB)
    assert [w.start for w in u.windows] == [_dt("2026-12-07 08:00")], (u.windows, u.reasons)


def test_times_with_no_zone_in_a_notice_for_customers_elsewhere_go_to_review() -> None:
    u = understand("本行提醒英国客户：12月6日（周日）01:00至02:15网上银行无法登录。", published=PUB)
    assert u.windows and u.needs_review, u.reasons
    for text in (
        "本行提醒新加坡客户：12月6日（周日）01:00至02:15网上银行无法登录。",  # Singapore keeps Beijing's clock
        "本行提醒英国客户：12月6日（周日）01:00至02:15 GMT网上银行无法登录。",  # the zone is written
    ):
        u = understand(text, published=PUB)
        assert u.windows and not u.needs_review, (text, u.reasons)


def test_tongri_after_a_date_is_that_date_even_beside_a_weekly_timetable() -> None:
    text = ("除每星期一03:00至06:00的定期维护外，本行于以下时段暂停部分服务：12月6日00:00至06:00，网银转账暂停；"
            "同日01:00至10:30，手机银行另有一段暂停；12月13日02:00至07:00，ATM暂停。")
    u = understand(text, published=PUB)
    assert [(w.start, w.end) for w in u.windows] == [
        (_dt("2026-12-06 00:00"), _dt("2026-12-06 06:00")), (_dt("2026-12-06 01:00"), _dt("2026-12-06 10:30")),
        (_dt("2026-12-13 02:00"), _dt("2026-12-13 07:00")),
    ], (u.windows, u.reasons)


def test_an_old_day_moved_to_a_timed_range_is_that_whole_day_postponed() -> None:
    text = "重要通知：原定于12月6日进行的计费系统升级已改期至12月10日23:00至12月11日6:00，届时计费系统将不可用。"
    u = understand(text, published=PUB, title="12月10日计费系统升级，服务短暂中断")
    assert [(w.start, w.end, w.status) for w in u.windows] == [
        (_dt("2026-12-06 00:00"), _dt("2026-12-07 00:00"), "postponed"),
        (_dt("2026-12-10 23:00"), _dt("2026-12-11 06:00"), "scheduled"),
    ], (u.windows, u.reasons)


def test_rows_of_stops_in_a_notice_read_as_something_else_are_never_silent() -> None:
    # the stop is worded in the sentence before the rows, each row in a sentence of its own
    rows = ("因合作银行升级系统，以下支付工具将在下列时间停用。VISA信用卡：2026年12月6日(星期日) 00:00至04:40。"
            "银联支付网关：2026年12月6日(星期日) 02:00至07:30。")
    for title, frame in (
        ("信用卡年费及约定条款调整说明", "尊敬的持卡人：本行信用卡年费标准及约定条款自明年起调整，透支利率按新条款执行。另，{t}"),
        ("SDK接口变更说明", "旧版SDK签名方式将不再推荐，请商户尽快接入新版接口并完成联调。另外，{t}"),
    ):
        u = understand(frame.format(t=rows), published=PUB, title=title)
        assert u.kind == "maintenance" or u.needs_review, (title, u.kind, u.reasons)
        assert _dt("2026-12-06 00:00") in [w.start for w in u.windows], (title, u.windows)


def test_a_fee_notice_with_periods_to_apply_in_stays_quiet() -> None:
    text = ("本行信用卡年费标准自2027年1月1日起调整。如需申请减免，申请时间：12月5日9:00至17:00；"
            "12月6日9:00至12:00。")
    u = understand(text, published=PUB, title="信用卡年费调整说明")
    assert u.kind != "maintenance" and not u.needs_review and not u.windows, (u.kind, u.reasons)
