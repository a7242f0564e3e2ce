"""Round 26: whole schedules missed with "nothing near" on first sight (``grammar_round26.py``): a list of
dates sharing hours written further on, on rows below or on named rows; a second daily line (另每晚) over a
daily range; a header's list with ; or spaces. Every text is built by the generator or written for the
test, none taken from a notice."""

from __future__ import annotations

from datetime import date
from functools import partial

from tests.notices.generated import forms_of, maintenance_ranges
from tests.notices.grammar_round26 import fails, generated, lookalikes
from tests.notices.times import beijing as _dt

PUB = date(2026, 11, 20)
_ranges = partial(maintenance_ranges, published=PUB)


def test_generated_date_lists_share_every_hours_line_after_them() -> None:
    # hours in a header before the list and month/day with a slash are left out: see docs/notices.md round 26
    cases = [c for c in generated("date list sharing hours")
             if dict(c.forms)["layout"] != "before" and dict(c.forms)["date"] != "md_slash"]
    assert len(cases) > 800
    assert {dict(c.forms)["layout"] for c in cases} == {"after", "field_lines", "rows_below", "nights_word"}
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_generated_daily_ranges_with_a_second_daily_line_hold_on_every_day() -> None:
    cases = generated("range with daily hours")
    assert any(dict(c.forms)["second"] == "True" for c in cases)
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_generated_lookalike_lists_gain_no_window() -> None:
    failed = [c for c in lookalikes() if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_the_hours_after_the_rest_of_the_sentence_hold_on_every_listed_date() -> None:
    got = _ranges("为提升服务质量，本行将于12月2日、12月9日和12月16日进行系统维护：01:00-05:00网上银行暂停服务。")
    assert got == [(_dt(f"2026-12-{d:02d} 01:00"), _dt(f"2026-12-{d:02d} 05:00")) for d in (2, 9, 16)]


def test_rows_below_a_sentence_ending_in_a_colon_hold_on_every_listed_date() -> None:
    got = _ranges("本行将于以下日期进行系统升级：2026年12月6日、2026年12月13日。各日安排如下：\n"
                  "01:00-05:00 手机银行暂停服务\n22:00至次日02:00 网上银行暂停服务\n")
    assert got == sorted([(_dt("2026-12-06 01:00"), _dt("2026-12-06 05:00")),
                          (_dt("2026-12-06 22:00"), _dt("2026-12-07 02:00")),
                          (_dt("2026-12-13 01:00"), _dt("2026-12-13 05:00")),
                          (_dt("2026-12-13 22:00"), _dt("2026-12-14 02:00"))])


def test_named_rows_under_a_heading_hold_on_every_listed_date() -> None:
    got = _ranges("维护日期：12月9日、16日\n暂停时段：\n缴费服务：每日凌晨1点至5点\n电话银行：每日晚上11点至翌日凌晨3点\n"
                  "其他服务不受影响。")
    assert got == sorted([(_dt("2026-12-09 01:00"), _dt("2026-12-09 05:00")),
                          (_dt("2026-12-09 23:00"), _dt("2026-12-10 03:00")),
                          (_dt("2026-12-16 01:00"), _dt("2026-12-16 05:00")),
                          (_dt("2026-12-16 23:00"), _dt("2026-12-17 03:00"))])


def test_dates_apart_by_spaces_or_commas_with_a_slash_are_one_list() -> None:
    got = _ranges("系统将于2026-12-07 2026-12-14两个晚上的22:00至次日02:00进行升级，届时手机银行暂停使用。")
    assert got == [(_dt("2026-12-07 22:00"), _dt("2026-12-08 02:00")), (_dt("2026-12-14 22:00"), _dt("2026-12-15 02:00"))]
    for listed in ("12/2,12/9,12/16", "12/2 12/9 12/16"):
        got = _ranges(f"本行将于{listed}进行系统维护：01:00-05:00网上银行暂停服务。")
        assert got == [(_dt(f"2026-12-{d:02d} 01:00"), _dt(f"2026-12-{d:02d} 05:00")) for d in (2, 9, 16)], listed


def test_a_second_daily_line_holds_on_each_day_of_the_range_before() -> None:
    got = _ranges("为提升订票系统效能，12月5日至12月6日每日20:00至隔日00:30，订票页面暂停服务。"
                  "另每晚23:50至隔日00:30，网络付款亦暂停服务。")
    assert got == sorted([(_dt("2026-12-05 20:00"), _dt("2026-12-06 00:30")),
                          (_dt("2026-12-06 20:00"), _dt("2026-12-07 00:30")),
                          (_dt("2026-12-05 23:50"), _dt("2026-12-06 00:30")),
                          (_dt("2026-12-06 23:50"), _dt("2026-12-07 00:30"))])


def test_a_header_list_with_semicolons_or_hao_takes_the_header_hours_and_year() -> None:
    got = _ranges("2027年维护时段（星期六下午1时至星期日晚上11时）：1月9-10日；2月20-21日；12月11-12日。"
                  "维护期间网上银行暂停服务。")
    assert got == sorted([(_dt("2027-01-09 13:00"), _dt("2027-01-10 23:00")),
                          (_dt("2027-02-20 13:00"), _dt("2027-02-21 23:00")),
                          (_dt("2027-12-11 13:00"), _dt("2027-12-12 23:00"))])
    got = _ranges("本行定期维护时段（01:00-05:00）：12月1号、12月3号。维护期间手机银行暂停服务。")
    assert got == [(_dt("2026-12-01 01:00"), _dt("2026-12-01 05:00")), (_dt("2026-12-03 01:00"), _dt("2026-12-03 05:00"))]


def test_hours_across_midnight_then_their_date_in_brackets() -> None:
    got = _ranges("维护时间：23:50至隔日00:30（2026年12月9日），期间网上银行暂停服务。")
    assert got == [(_dt("2026-12-09 23:50"), _dt("2026-12-10 00:30"))]


def test_a_campaign_list_beside_a_window_gains_no_window() -> None:
    # guard: the hours a list of dates shares in a campaign's sentence are the campaign's
    got = _ranges("手机银行将于12月23日01:00-05:00进行系统维护，届时暂停服务。\n"
                  "信用卡积分加倍活动日期：12/6、12/8，每日中午12:00至下午2:00消费可享双倍积分。")
    assert got == [(_dt("2026-12-23 01:00"), _dt("2026-12-23 05:00"))]


def test_a_dated_row_after_a_list_and_more_words_is_its_own_day() -> None:
    # guard: after more words, a first row with a date of its own is no row shared by the list
    got = _ranges("因系统维护，部分网上服务将于12月5日及12月12日凌晨短暂停用。"
                  "各日时段为：12月5日凌晨0时至上午9时；12月12日凌晨0时至凌晨3时。")
    assert got == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 09:00")), (_dt("2026-12-12 00:00"), _dt("2026-12-12 03:00"))]
