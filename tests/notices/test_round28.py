"""Round 28: whole days left by round 26 (``grammar_round26.py``'s "whole days" family): a single date with
a pause and no hours, a whole-day word 整日, a branch closed (暂停营业) for work. Every text is built by the
generator or written for the test, none taken from a notice."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial

from tests.notices.generated import forms_of, maintenance_ranges
from tests.notices.grammar_round26 import fails, generated
from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 11, 20)
_ranges = partial(maintenance_ranges, published=PUB)


def _windows(text: str, title: str = "系统维护公告") -> list[tuple[datetime, datetime | None]]:
    u = understand(text, published=PUB, title=title)
    return [(w.start, w.end) for w in u.windows]


def test_generated_whole_days_and_day_ranges() -> None:
    cases = generated("whole days")
    assert {dict(c.forms)["days"] for c in cases} == {"1", "2", "3", "4", "5", "6"}
    assert any(dict(c.forms)["pred"] == "暂停营业" for c in cases)
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_a_single_date_with_a_pause_and_no_hours_is_that_whole_day() -> None:
    assert _ranges("因系统升级，快捷支付将于12月6日暂停服务。给您带来的不便，敬请谅解。") == [
        (_dt("2026-12-06 00:00"), _dt("2026-12-07 00:00"))]
    assert _ranges("因机房搬迁，网上银行将于2026年12月3日系统停机维护。") == [
        (_dt("2026-12-03 00:00"), _dt("2026-12-04 00:00"))]


def test_a_single_date_that_starts_a_pause_or_ends_a_service_is_no_whole_day() -> None:
    # from that day on (自/起), or until another day, or a service ended for good: not one day
    assert (_dt("2026-12-06 00:00"), _dt("2026-12-07 00:00")) not in _windows("网上银行自12月6日暂停服务，恢复时间另行通知。")
    assert (_dt("2026-12-06 00:00"), _dt("2026-12-07 00:00")) not in _windows("网上银行将于12月6日暂停服务，直至12月9日。")
    assert _windows("旧版App将于12月31日停止服务，请及时升级至新版。", title="温馨提示") == []
    # a pause on a day with no work named is no window ("暂停发行" a card: a lasting change)
    assert _windows("本行将于1月1日暂停发行旧版借记卡，请客户知悉。", title="温馨提示") == []


def test_the_whole_day_word_zhengri_is_that_whole_day() -> None:
    assert _ranges("网上银行于12月5日整日暂停服务，敬请谅解。") == [(_dt("2026-12-05 00:00"), _dt("2026-12-06 00:00"))]
    # 停止 alone may be for good; 整日 in the sentence says it is that day only
    assert _ranges("网上银行将于12月5日停止对外服务，整日不能登录。") == [(_dt("2026-12-05 00:00"), _dt("2026-12-06 00:00"))]


def test_a_branch_closed_for_work_is_a_window_and_closed_for_a_holiday_is_not() -> None:
    assert _ranges("因系统升级，网上银行将于12月3日至12月6日暂停营业。") == [
        (_dt("2026-12-03 00:00"), _dt("2026-12-07 00:00"))]
    assert _windows("春节期间，本行各网点于2月1日至2月6日暂停营业，自助设备照常使用。", title="春节营业安排") == []


def test_generated_yearly_day_pairs_with_hours_after_the_list_or_as_numbered_rows() -> None:
    # four numbered-row cases under a header end in "其他服务不受影响" and word no stop: read as other (left)
    cases = [c for c in generated("yearly day pairs")
             if not (dict(c.forms)["style"] == "rows" and dict(c.forms)["place"] == "before")]
    assert {dict(c.forms)["place"] for c in cases} == {"before", "after"}
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_generated_header_hours_before_iso_slash_and_year_dates() -> None:
    cases = [c for c in generated("date list sharing hours") if dict(c.forms)["layout"] == "before"]
    assert {dict(c.forms)["date"] for c in cases} >= {"iso", "slash", "md_slash", "ymd_cn"}
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_hours_after_a_yearly_list_hold_on_each_pair_in_the_labels_year() -> None:
    text = "2027年维护日期：1月9日-10日、2月20日-21日，维护时间为星期六下午1时至星期日晚上11时，期间网上银行暂停服务。"
    assert _ranges(text) == [(_dt("2027-01-09 13:00"), _dt("2027-01-10 23:00")),
                             (_dt("2027-02-20 13:00"), _dt("2027-02-21 23:00"))]


def test_numbered_rows_of_day_pairs_with_weekdays_take_the_hours_after_them() -> None:
    text = ("2027年系统维护日期如下：\n1. 1月2日（周六）至1月3日（周日）\n2. 2月20日（周六）至2月21日（周日）\n"
            "每次维护时间均为周六22:00至周日06:00，期间网上银行暂停服务。")
    assert _ranges(text) == [(_dt("2027-01-02 22:00"), _dt("2027-01-03 06:00")),
                             (_dt("2027-02-20 22:00"), _dt("2027-02-21 06:00"))]


def test_a_header_before_iso_slash_or_year_dates_holds_on_each_date() -> None:
    assert _ranges("本行定期维护时段(19:45:00 ~ 22:00:00):2026-12-08 2026-12-15。维护期间手机银行暂停服务。") == [
        (_dt("2026-12-08 19:45"), _dt("2026-12-08 22:00")), (_dt("2026-12-15 19:45"), _dt("2026-12-15 22:00"))]
    assert _ranges("本行定期维护时段(23:50至隔日00:30):2026/12/09,2026/12/10。维护期间电话银行暂停服务。") == [
        (_dt("2026-12-09 23:50"), _dt("2026-12-10 00:30")), (_dt("2026-12-10 23:50"), _dt("2026-12-11 00:30"))]
    assert _ranges("本行定期维护时段(22:00-06:00):12/1;12/3。维护期间对公网银暂停服务。") == [
        (_dt("2026-12-01 22:00"), _dt("2026-12-02 06:00")), (_dt("2026-12-03 22:00"), _dt("2026-12-04 06:00"))]
    assert _ranges("本行定期维护时段(2:00至6:00):2026年12月7日、8日及9日。维护期间手机银行暂停服务。") == [
        (_dt("2026-12-07 02:00"), _dt("2026-12-07 06:00")), (_dt("2026-12-08 02:00"), _dt("2026-12-08 06:00")),
        (_dt("2026-12-09 02:00"), _dt("2026-12-09 06:00"))]


def test_a_list_after_a_label_with_no_hours_after_it_stays_as_written() -> None:
    # a label and a list of dates, then a clause with no hours: no hours are invented for the dates
    text = "2027年维护日期：1月9日、2月20日，具体时间另行通知。"
    u = understand(text, published=PUB, title="系统维护公告")
    assert all(w.start.hour == 0 and w.start.minute == 0 for w in u.windows)


def test_generated_date_lists_with_month_slash_day_dates() -> None:
    cases = [c for c in generated("date list sharing hours") if dict(c.forms)["date"] == "md_slash"]
    assert len(cases) > 150
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_month_slash_day_dates_after_a_colon_or_joined_by_he_ji_are_dates() -> None:
    text = "本行将于以下日期进行系统升级：12/7、12/9及12/11。各日安排如下：\n2:00至6:00 手机银行暂停服务"
    assert _ranges(text) == [(_dt("2026-12-07 02:00"), _dt("2026-12-07 06:00")),
                             (_dt("2026-12-09 02:00"), _dt("2026-12-09 06:00")),
                             (_dt("2026-12-11 02:00"), _dt("2026-12-11 06:00"))]
    text = "本行将于以下日期进行系统升级：12/8和12/15。各日安排如下：\n傍晚6点至晚上9点 自助终端暂停服务"
    assert _ranges(text) == [(_dt("2026-12-08 18:00"), _dt("2026-12-08 21:00")),
                             (_dt("2026-12-15 18:00"), _dt("2026-12-15 21:00"))]


def test_a_month_slash_day_date_under_a_date_label_holds_for_the_rows_below() -> None:
    text = "维护日期：12/5\n网上银行暂停时段：凌晨1点至5点\n短信通知暂停时段：中午12:00至下午2:00\n给您带来的不便，敬请谅解。"
    assert _ranges(text) == [(_dt("2026-12-05 01:00"), _dt("2026-12-05 05:00")),
                             (_dt("2026-12-05 12:00"), _dt("2026-12-05 14:00"))]


def test_a_row_whose_hours_hold_the_next_rows_hours_is_still_its_own_window() -> None:
    # the next row's range is no "affected period" of this row's range, though its label words a stop
    text = "维护日期：2026-12-08\n跨行转账暂停时段：上午9点至下午3点\n缴费服务暂停时段：中午12:00至下午2:00\n维护结束后服务将自动恢复。"
    assert _ranges(text) == [(_dt("2026-12-08 09:00"), _dt("2026-12-08 15:00")),
                             (_dt("2026-12-08 12:00"), _dt("2026-12-08 14:00"))]
    # in one row, the affected period inside the work period is the window
    assert _ranges("2026年12月8日作业时间1:30~6:00，影响时段2:00~4:30，网上银行暂停服务。") == [
        (_dt("2026-12-08 02:00"), _dt("2026-12-08 04:30"))]


def test_a_month_slash_day_date_before_bangwan_hours_is_a_date() -> None:
    text = "停服安排：\n停服时间：12/5 傍晚6点至晚上9点；范围：对公网银\n停服时间：12/5 傍晚6点至晚上9点；范围：微信银行\n其他服务不受影响。"
    assert _ranges(text) == [(_dt("2026-12-05 18:00"), _dt("2026-12-05 21:00"))] * 2
