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


def test_rows_of_cells_with_the_same_date_and_hours_are_one_window_each() -> None:
    for (hours, sh, eh), (day, iso), head in product(_HOURS, _DATES, _HEADS):
        rows = "\n".join(f"{p} | {day} | {hours}" for p in _PLACES)
        got = _ranges(f"{head}\n{rows}\n注：提前完成则提前恢复。")
        want = (_dt(f"{iso} {sh:02d}:00"), _dt(f"{iso} {eh:02d}:00"))
        assert got == [want] * len(_PLACES), (hours, day, head, got)


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
