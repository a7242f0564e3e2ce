"""Round 21: look-alike notices and maintenance notices with extra times around their window
(``grammar_round21.py``), and the rules they led to. Every text is built by the generator or
written for the test, none taken from a notice."""

from __future__ import annotations

from datetime import date

from tests.notices.generated import forms_of
from tests.notices.grammar_round21 import day_counts, fails, lookalikes, nights, reports, with_extras
from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 11, 20)


def test_no_generated_lookalike_is_maintenance_or_has_a_window() -> None:
    cases = lookalikes()
    assert len({dict(c.forms)["family"] for c in cases}) >= 25
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_no_report_after_the_fact_is_maintenance_or_has_a_window_other_than_its_period() -> None:
    failed = [c for c in reports() if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_a_maintenance_notice_with_extra_times_has_its_window_once_and_nothing_else() -> None:
    cases = with_extras()
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_a_publication_time_is_no_start_of_a_stop() -> None:
    text = ("尊敬的客户：\n本行将于2026-12-05 0:00-4:00进行系统升级，届时网上银行暂停服务。\n"
            "发布时间：2026-11-20 10:30\n本次维护预计持续4小时。")
    u = understand(text, published=PUB, title="系统维护公告")
    assert u.kind == "maintenance"
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 04:00"))]
    # and with a resumption after it
    text2 = ("系统将于12月5日22:00至次日6:00升级，期间手机银行无法使用。\n发文日期：11月20日9:00\n预计12月6日6:00恢复服务。")
    u2 = understand(text2, published=PUB, title="升级通知")
    assert [(w.start, w.end) for w in u2.windows] == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00"))]


def test_a_start_time_of_work_is_still_a_start() -> None:
    # guard: labels of the work's own time still start a window
    text = "尊敬的客户：\n停机时间：2026年12月5日22:00\n预计停机4小时，期间网上银行暂停服务。"
    u = understand(text, published=PUB, title="系统维护公告")
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 02:00"))]


def test_generated_nights_and_day_counts_are_read_exactly() -> None:
    for cases in (nights(), day_counts()):
        failed = [c for c in cases if fails(c) is not None]
        assert not failed, forms_of(failed)


def _windows(text: str, published: date = PUB) -> list[tuple[str, str | None]]:
    u = understand(text, published=published, title="公告")
    return [(w.start.strftime("%m-%d %H:%M"), w.end.strftime("%m-%d %H:%M") if w.end else None) for w in u.windows]


def test_a_span_of_days_with_hours_ending_the_next_day_is_one_window_a_night() -> None:
    assert _windows("12月5日至7日23:00至次日5:00，手机银行暂停服务。") == [
        ("12-05 23:00", "12-06 05:00"), ("12-06 23:00", "12-07 05:00"), ("12-07 23:00", "12-08 05:00")]
    # guard: a range across days written with both dates stays one window
    assert _windows("12月5日23:00至12月7日5:00，手机银行暂停服务。") == [("12-05 23:00", "12-07 05:00")]


def test_the_hours_after_a_list_of_spans_hold_for_every_span() -> None:
    assert _windows("12月1日至2日、12月8日至9日，每晚23:00至次日5:00，手机银行暂停服务。") == [
        ("12-01 23:00", "12-02 05:00"), ("12-02 23:00", "12-03 05:00"),
        ("12-08 23:00", "12-09 05:00"), ("12-09 23:00", "12-10 05:00")]
    # guard: spans with no hours stay whole days
    assert _windows("12月1日至2日、12月8日至9日，手机银行暂停服务。") == [
        ("12-01 00:00", "12-03 00:00"), ("12-08 00:00", "12-10 00:00")]


def test_the_weekdays_of_a_span_in_brackets_are_no_range() -> None:
    assert _windows("12月7日至9日（周一至周三）1:00-5:00，网上银行暂停服务。") == [
        ("12-07 01:00", "12-07 05:00"), ("12-08 01:00", "12-08 05:00"), ("12-09 01:00", "12-09 05:00")]


def test_an_evening_word_before_midnight_hours_keeps_them_in_the_morning() -> None:
    assert _windows("12月7日至8日每晚0:00至4:00，网上银行暂停服务。") == [
        ("12-07 00:00", "12-07 04:00"), ("12-08 00:00", "12-08 04:00")]
    # guard: an evening start still makes its end the evening
    assert _windows("12月7日晚上8点至10点，网上银行暂停服务。") == [("12-07 20:00", "12-07 22:00")]


def test_a_start_day_and_a_count_of_days_is_a_window_of_whole_days() -> None:
    assert _windows("自12月7日起，网上银行暂停服务4天，进行系统升级。") == [("12-07 00:00", "12-11 00:00")]
    u = understand("博物馆将自12月7日起闭馆10天进行修缮。", published=PUB, title="闭馆公告")
    assert u.kind == "maintenance" or u.needs_review
    # guards: days within which something happens, and a closing hour, are no window
    assert _windows("自12月7日起，退款将在3天内原路退回。") == []
    # a bare "N日" after the stop is a day of the month, its resumption
    assert _windows("自12月4日起网上银行暂停服务，预计10日恢复。") == [("12-04 00:00", "12-10 00:00")]
    u2 = understand("12月24日图书馆下午5时提早休馆，12月25日照常开放。", published=PUB, title="开放时间")
    assert [(w.start, w.end) for w in u2.windows] == []


def test_a_later_sentence_about_this_work_with_the_same_times_is_the_same_window() -> None:
    assert _windows("12月7日0:00至12月8日0:00，网上银行停止服务。本次系统切换时间为12月7日0:00至12月8日0:00，"
                    "期间自助终端也不能办理。") == [("12-07 00:00", "12-08 00:00")]
    # guard: two sentences that each stop something of their own, with no word pointing back, stay two
    assert _windows("12月7日3:00至5:50，借记卡交易停办。12月7日3:00至5:50，商户受理业务暂停。") == [
        ("12-07 03:00", "12-07 05:50"), ("12-07 03:00", "12-07 05:50")]
