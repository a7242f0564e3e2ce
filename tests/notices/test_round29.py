"""Round 29: layouts of the tenth set's half A whose date and time the parser read apart but did not put
together. Every text is written for the test in the layout, none taken from a notice."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from itertools import product

from tests.notices.generated import maintenance_ranges
from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 11, 20)
_ranges = partial(maintenance_ranges, published=PUB)


def _windows(text: str, title: str = "系统维护公告") -> list[tuple[datetime, datetime | None]]:
    u = understand(text, published=PUB, title=title)
    return sorted(((w.start, w.end) for w in u.windows), key=lambda r: (r[0], r[1] or r[0]))


# --- a table flattened to rows of cells split by "|": name | date | hours --------------------------------

_PLACES = ("学校医院", "机电楼", "大学生活动中心", "2号教学楼水池", "北区学生宿舍10栋", "3号楼")
_HOURS = (("早上8点—17点", 8, 17), ("8:00-17:00", 8, 17), ("上午9时至下午5时", 9, 17), ("8点-22点", 8, 22))
_DATES = (("12月5日", "2026-12-05"), ("12/5", "2026-12-05"), ("2026-12-05", "2026-12-05"), ("12月5日(周六)", "2026-12-05"))
_HEADS = ("为做好水箱清洗，以下地点暂停供水：\n(地点 | 日期 | 停水时间)", "停电时间表(楼栋 | 日期 | 停电时间)")


_ROWS = ("{} | {} | {}", "{}｜{}｜{}", "| {} | {} | {} |")


def test_rows_of_cells_with_the_same_date_and_hours_are_one_window_each() -> None:
    for (hours, sh, eh), (day, iso), head, row in product(_HOURS, _DATES, _HEADS, _ROWS):
        rows = "\n".join(row.format(p, day, hours) for p in _PLACES)
        got = _ranges(f"{head}\n{rows}\n注：提前完成则提前恢复。")
        want = (_dt(f"{iso} {sh:02d}:00"), _dt(f"{iso} {eh:02d}:00"))
        assert got == [want] * len(_PLACES), (hours, day, head, row, got)


def test_rows_of_cells_on_different_days_keep_each_row_on_its_own_day() -> None:
    # a row's hours end the line; a name starting with a number on the next row ("2号教学楼") is no date
    text = "停水安排(地点 | 日期 | 停水时间)\n南区水池 | 12月4日 | 8点-22点\n2号教学楼水池 | 12月2日 | 8点-21点\n15号楼 | 12月3日 | 早上8点—17点"
    assert _ranges(text) == [
        (_dt("2026-12-02 08:00"), _dt("2026-12-02 21:00")),
        (_dt("2026-12-03 08:00"), _dt("2026-12-03 17:00")),
        (_dt("2026-12-04 08:00"), _dt("2026-12-04 22:00")),
    ]


def test_a_date_written_after_hours_on_the_same_line_is_still_their_date() -> None:
    # the guard of the row rule: "凌晨0点至6点（12月5日）" is one window on that date
    assert _ranges("网上银行系统升级，暂停服务，时间为凌晨0点至6点（12月5日）。") == [
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))]


def test_the_same_hours_stated_twice_without_row_names_stay_one_window() -> None:
    # a summary and its detail, no name cell: restated, one window
    text = "维护时间：12月5日 | 0:00-6:00\n届时网上银行暂停服务。\n再次提醒：12月5日 | 0:00-6:00，暂停服务。"
    assert _ranges(text) == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))]


def test_a_campaign_is_still_set_aside_but_a_place_named_after_activities_is_not() -> None:
    assert _windows("会员答谢活动：12月5日10:00至12月7日22:00，消费满100元可抽奖。", title="活动公告") == []
    for place in ("大学生活动中心", "老年活动室", "社区活动场所"):
        assert _ranges(f"停水安排：\n{place} | 12月5日 | 8点-17点\n机电楼 | 12月6日 | 8点-17点") == [
            (_dt("2026-12-05 08:00"), _dt("2026-12-05 17:00")), (_dt("2026-12-06 08:00"), _dt("2026-12-06 17:00"))]


# --- clock times typed with letters or a wrong dash: "oo:oo", "08:00一10:00" -------------------------------


def test_letters_o_typed_for_zeros_in_a_clock_are_zeros() -> None:
    for start, end in (("oo:oo", "08:00"), ("OO:OO", "O6:OO"), ("2o:3o", "23:oo"), ("0o:00", "o8:00")):
        sh, sm = (int(x.translate(str.maketrans("oO", "00"))) for x in start.split(":"))
        eh, em = (int(x.translate(str.maketrans("oO", "00"))) for x in end.split(":"))
        got = _ranges(f"系统维护窗口日期为1月9日、2月6日，均于{start}开始、{end}前结束，届时暂停受理业务。")
        assert got == [(_dt(f"2027-01-09 {sh:02d}:{sm:02d}"), _dt(f"2027-01-09 {eh:02d}:{em:02d}")),
                       (_dt(f"2027-02-06 {sh:02d}:{sm:02d}"), _dt(f"2027-02-06 {eh:02d}:{em:02d}"))], (start, end, got)
    # a word with o's around a colon stays a word ("Foo:oo" is no time)
    assert _windows("Foo:oo 仅为示例文字，与本次维护无关。", title="说明") == []


def test_yi_typed_for_a_dash_between_clock_times_is_a_dash() -> None:
    for dash in ("一", " 一 "):
        assert _ranges(f"因线路改造，2026年12月5日08:00{dash}12月5日10:00全校停电。") == [
            (_dt("2026-12-05 08:00"), _dt("2026-12-05 10:00"))]
        assert _ranges(f"网上银行将于12月6日22:00{dash}23:30暂停服务。") == [
            (_dt("2026-12-06 22:00"), _dt("2026-12-06 23:30"))]
    # 一 as a number stays a number ("一小时")
    assert _ranges("网上银行将于12月6日22:00开始维护，暂停服务一小时。") == [
        (_dt("2026-12-06 22:00"), _dt("2026-12-06 23:00"))]


# --- a year heading a sentence or an item, then months and days without a year -----------------------------


def test_a_year_heading_a_sentence_as_a_period_or_a_label_is_the_year_of_its_dates() -> None:
    # published late in 2027, about 2027: the dates stay in 2027, not the next occurrence
    late = date(2027, 8, 24)
    texts = (
        "一、2027年全年共设3次支付系统维护窗口，日期为1月23日、2月6日、3月20日，均于00:00开始、08:00结束，届时暂停受理业务。",
        "二、2027年春节期间停运支付系统一次：2月5日16:00至2月8日16:00，暂停运行网上支付跨行清算系统。",
        "2027年度维护安排：1月23日00:00至08:00暂停受理业务；2月6日00:00至08:00暂停受理业务。",
        "- 2027年维护日期：3月20日00:00至06:00，网上银行暂停服务。",
    )
    for text in texts:
        got = maintenance_ranges(text, published=late)
        assert got and all(s.year == 2027 for s, _ in got), (text, got)


def test_a_year_of_something_done_then_is_not_the_year_of_the_dates_after_it() -> None:
    late = date(2027, 11, 24)
    for text in ("2018年上线的网上银行将于1月5日00:00至06:00升级，暂停服务。",
                 "自2018年上线以来运行稳定，网上银行将于1月5日00:00至06:00升级，暂停服务。",
                 "2026年度报告已发布，网上银行将于1月5日00:00至06:00升级，暂停服务。"):
        assert maintenance_ranges(text, published=late) == [(_dt("2028-01-05 00:00"), _dt("2028-01-05 06:00"))], text


# --- an item headed by its range alone, what it does in the next sentence of the item ------------------------


def test_an_item_headed_by_its_range_is_tied_by_the_next_sentence_of_its_line() -> None:
    for marker in ("1、", "2、", "1. ", "(2)"):
        text = (f"停电安排如下：\n{marker.replace('1', '3').replace('2', '3')}2026年12月5日08:00至10:00。对食品楼进行停电。\n"
                f"{marker}2026年12月5日08:00至12月6日18:00。对A组团进行停电。\n请相关单位提前准备。")
        assert _ranges(text) == [(_dt("2026-12-05 08:00"), _dt("2026-12-05 10:00")),
                                 (_dt("2026-12-05 08:00"), _dt("2026-12-06 18:00"))], marker


def test_an_item_headed_by_its_range_with_no_disruption_after_it_stays_untied() -> None:
    text = "安排如下：\n1. 2026年12月5日08:00-10:00。对食品楼进行停电。\n2. 2026年12月7日09:00-17:00。如有疑问请致电客服。"
    assert _ranges(text) == [(_dt("2026-12-05 08:00"), _dt("2026-12-05 10:00"))]


def test_a_year_and_month_heading_a_line_is_the_month_of_the_days_alone_after_it() -> None:
    # the line before names December; the heading's June holds for its own days
    for head in ("- 2026年6月多次割接：", "2026年6月份系统升级：", "2. 2026年6月计划停机："):
        text = f"升级时段如下：\n- 2026年12月24日22:00至次日8:00：业务受理中断\n{head}6日、11日23:00至次日7:00暂停业务办理"
        got = maintenance_ranges(text, published=date(2026, 12, 30))
        assert got == [(_dt("2026-06-06 23:00"), _dt("2026-06-07 07:00")), (_dt("2026-06-11 23:00"), _dt("2026-06-12 07:00")),
                       (_dt("2026-12-24 22:00"), _dt("2026-12-25 08:00"))], (head, got)


# --- rows "name: heading: hours": the name before the heading tells the rows apart ------------------------


def test_rows_named_before_their_heading_keep_the_same_window_once_each() -> None:
    for heading in ("停电时间", "停水時間", "维护时段"):
        text = (f"因施工需要，部分楼宇停电：\n1.东区食堂：{heading}：12月5日—6日，每日晚21:00至次日早4:00。\n"
                f"2.西区食堂：{heading}：12月6日—7日，每日晚21:00至次日早4:00。")
        got = _ranges(text)
        nights = [(_dt(f"2026-12-{d:02d} 21:00"), _dt(f"2026-12-{d + 1:02d} 04:00")) for d in (5, 6, 6, 7)]
        assert got == sorted(nights), (heading, got)
    # no name before the heading: the same night stated twice is one window
    text = "停电时间：12月5日晚21:00至次日早4:00，东区停电。\n再次提醒，停电时间：12月5日晚21:00至次日早4:00。"
    assert _ranges(text) == [(_dt("2026-12-05 21:00"), _dt("2026-12-06 04:00"))]


def test_an_item_whose_next_sentence_starts_another_item_is_not_tied_by_it() -> None:
    # rows of ranges, then items "三、……四、……全面停电" on the last row's line: every row is read alike
    text = ("一、施工原因：配电设备更换。二、施工日期：12月4日~5日及12月11日。12/4(五)晚上18:00至20:00；\n"
            "(2) 12/5(六)上午8:00~17:00；\n(3) 12/11(五)上午8:00~17:00。三、施工地点：地下室。四、停电范围：教学区全面停电。")
    assert _ranges(text, title="停电公告") == [(_dt("2026-12-04 18:00"), _dt("2026-12-04 20:00")),
                             (_dt("2026-12-05 08:00"), _dt("2026-12-05 17:00")),
                             (_dt("2026-12-11 08:00"), _dt("2026-12-11 17:00"))]
