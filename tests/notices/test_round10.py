"""Rules added in round 10: families of writing found by classifying the misses of the three tuned-on
sets and by the fact-keeping variants (``variants.py``). Each text is written for the test (not a
corpus notice)."""

from __future__ import annotations

from datetime import date, datetime

from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 12, 1)


def _spans(text: str, title: str = "", published: date = PUB) -> list[tuple[datetime, datetime | None]]:
    return [(w.start, w.end) for w in understand(text, published=published, title=title).windows]


def test_slash_month_days_with_a_leading_zero_or_ending_a_range_are_dates() -> None:
    text = "本中心将于12/25至01/09开展年度结算。01/01至01/09暂停贷款扣款业务，01/10恢复。"
    assert (_dt("2027-01-01 00:00"), _dt("2027-01-10 00:00")) in _spans(text)
    listed = "维护窗口日期为01/16、02/20，每次00:00开始、08:00前结束，期间网银暂停。"
    assert _spans(listed) == [(_dt("2027-01-16 00:00"), _dt("2027-01-16 08:00")),
                              (_dt("2027-02-20 00:00"), _dt("2027-02-20 08:00"))]


def test_a_fraction_is_still_no_date() -> None:
    assert _spans("12月5日0:00至6:00网银暂停服务，约1/3的用户会受影响。") == [
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))]


def test_a_chinese_hour_glued_to_a_dashed_date_is_read() -> None:
    text = "2026-12-14零时起暂停医保缴费业务，2026-12-20零时起恢复。"
    assert _spans(text) == [(_dt("2026-12-14 00:00"), _dt("2026-12-20 00:00"))]


def test_minutes_without_fen_before_a_range_word() -> None:
    text = "12月10日11时30至20时30分，跨机关信息系统暂停服务。"
    assert _spans(text) == [(_dt("2026-12-10 11:30"), _dt("2026-12-10 20:30"))]


def test_a_first_line_repeating_the_title_is_not_read_twice() -> None:
    title = "網關服務將於2026年12月25日(星期五) 02:00 至 03:30 進行維護"
    body = ("資訊科技部通知：因銀行升級系統，電子支付網關服務在2026年12月25日(星期五) 02:00 至 03:30 會短暫不穩定。"
            "受影響的支付功能包括網上繳費及報名費用。")
    for text in (body, f"{title}\n{body}"):
        u = understand(text, published=PUB, title=title)
        assert u.kind == "maintenance"
        assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-25 02:00"), _dt("2026-12-25 03:30"))], text


def test_a_call_off_with_a_new_time_gives_the_new_window_scheduled() -> None:
    text = "原定于12月12日的系统维护已取消，改在12月19日进行，维护时间为00:00至8:00，期间跨行支付暂停受理。"
    u = understand(text, published=PUB)
    assert [(w.start, w.end, w.status) for w in u.windows if w.status == "scheduled"] == [
        (_dt("2026-12-19 00:00"), _dt("2026-12-19 08:00"), "scheduled")]


def test_a_call_off_alone_stays_cancelled() -> None:  # guard
    text = "原定12月19日00:00至8:00的系统维护取消，届时各项业务正常办理。"
    u = understand(text, published=PUB)
    assert all(w.status == "cancelled" for w in u.windows)


def test_feng_before_a_weekday_repeats() -> None:
    text = ("本行每周维护系统，逢星期一03:00至06:00暂停网上银行。此外，12月9日02:30至06:30转数快暂停，"
            "届时转账至其他银行的功能暂停。")
    assert _spans(text) == [(_dt("2026-12-09 02:30"), _dt("2026-12-09 06:30"))]


def test_a_count_of_nights_after_a_list_of_dates() -> None:
    text = "将于12月11日及12月18日两晚的21:00至24:00进行系统维护，期间电子服务会不稳定。"
    assert _spans(text) == [(_dt("2026-12-11 21:00"), _dt("2026-12-12 00:00")),
                            (_dt("2026-12-18 21:00"), _dt("2026-12-19 00:00"))]


def test_a_zone_said_of_every_time_of_the_notice() -> None:
    text = ("本行将于12月13日升级系统：网上银行于01:45至08:30暂停；借记卡于03:10至07:50暂停。"
            "以上均为澳大利亚东部标准时间。")
    assert _spans(text) == [(_dt("2026-12-12 23:45"), _dt("2026-12-13 06:30")),
                            (_dt("2026-12-13 01:10"), _dt("2026-12-13 05:50"))]
    uk = "影响时间以英国当地时间计：网上银行——12月12日13:25至14:15暂停。"
    assert _spans(uk) == [(_dt("2026-12-12 21:25"), _dt("2026-12-12 22:15"))]


def test_a_local_zone_named_only_for_one_sentence_does_not_move_the_others() -> None:  # guard
    text = "12月5日0:00至2:00网银暂停。另，伦敦分行将于12月6日10:00至11:00（英国时间）暂停汇款。"
    assert _spans(text) == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 02:00")),
                            (_dt("2026-12-06 18:00"), _dt("2026-12-06 19:00"))]


def test_pictographs_between_points_are_spaces() -> None:
    text = "维护时间：📅 2026 / 12 / 19(六)21:00 至 📅 2026 / 12 / 20(日)08:00，期间暂停开票服务。"
    assert _spans(text) == [(_dt("2026-12-19 21:00"), _dt("2026-12-20 08:00"))]


def test_an_earlier_maintenance_said_done_does_not_hide_a_stop_of_the_notice() -> None:
    # the done clause is another window's: the notice still announces its own stop
    text = ("因系统升级，11月30日20:00至11月30日23:00暂停线上缴费，期间无法充值。"
            "11月28日00:00至06:00的系统维护已顺利完成，感谢支持。")
    u = understand(text, published=PUB)
    assert u.kind == "maintenance", u.reasons
    assert (_dt("2026-11-30 20:00"), _dt("2026-11-30 23:00")) in [(w.start, w.end) for w in u.windows]


def test_work_said_done_in_the_window_own_clause_is_still_completed_work() -> None:  # guard
    text = "12月1日00:00至06:00的系统维护已顺利完成，各项业务已恢复正常，感谢支持。"
    assert understand(text, published=PUB).kind != "maintenance"


def test_boilerplate_work_wording_does_not_make_a_holiday_arrangement_maintenance() -> None:
    body = ("据基金公司公告，春节期间部分货币基金暂停申购，2027年2月12日起恢复各项业务。"
            "2月5日15:00至2月12日9:00部分货币基金暂停申购。")
    for text in ("为提升服务质量，本公司持续优化升级系统。" + body, body + "如遇系统维护，请以页面提示为准。",
                 body + "系统维护期间可能影响部分功能，具体安排另行通知。"):
        u = understand(text, published=PUB)
        assert u.kind != "maintenance", text
        assert u.needs_review, u.reasons  # a range ahead and 暂停: a person looks


def test_work_with_a_date_over_a_holiday_stays_maintenance() -> None:  # guard
    text = ("春节期间本公司升级交易系统，2027年2月5日15:00至2月12日9:00暂停申购，如遇系统维护延长将另行通知。")
    u = understand(text, published=PUB)
    assert u.kind == "maintenance", u.reasons


def test_a_trial_run_from_a_time_is_no_open_stop() -> None:
    text = ("清算系统升级期间不受理跨行支付业务：小额支付系统自12月30日16:00至1月3日8:30停运，1月3日8:30起试运行，"
            "1月4日8:30正式运行。")
    assert _spans(text) == [(_dt("2026-12-30 16:00"), _dt("2027-01-03 08:30"))]


def test_a_customer_deadline_moved_is_no_postponed_window() -> None:
    text = ("我市社保信息系统定于12月10日0时至12月20日24时停机升级，期间部分业务暂停，将通过线下受理、延后办理时限等方式保障服务。"
            "12月21日至24日缴纳12月份社保费的不加收滞纳金。")
    u = understand(text, published=PUB)
    assert [(w.start, w.end, w.status) for w in u.windows] == [
        (_dt("2026-12-10 00:00"), _dt("2026-12-21 00:00"), "scheduled")]


def test_a_window_postponed_stays_postponed() -> None:  # guard
    text = "原定12月10日0:00至6:00的系统升级推迟至12月17日0:00至6:00进行，届时网银暂停服务。"
    statuses = sorted(w.status for w in understand(text, published=PUB).windows)
    assert statuses == ["postponed", "scheduled"]


def test_a_zone_after_a_start_written_in_dian() -> None:
    text = "计划维护时段：12月19日（周六）下午5点 GMT至12月20日（周日）凌晨1点 GMT，期间服务中断。"
    assert _spans(text) == [(_dt("2026-12-20 01:00"), _dt("2026-12-20 09:00"))]


def test_a_slash_month_day_after_zai_or_yu() -> None:
    text = "原定于12/12的系统维护已取消，改在12/19维护支付清算系统，维护时间为00:00至8:00，其间跨行业务暂停受理。"
    u = understand(text, published=PUB)
    assert [(w.start, w.end) for w in u.windows if w.status == "scheduled"] == [
        (_dt("2026-12-19 00:00"), _dt("2026-12-19 08:00"))]
