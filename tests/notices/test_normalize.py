"""Normalisation before any rule: Traditional characters, full-width forms, the never-silent rule."""

from __future__ import annotations

from datetime import date

import pytest

from watcher.notices import understand
from watcher.notices.lunar import SPRING_FESTIVAL, lunar_new_year_day
from watcher.notices.normalize import normalize, to_simplified


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("系統維護時段", "系统维护时段"),
        ("暫停服務，網上銀行", "暂停服务，网上银行"),
        ("关于系统维护的公告", "关于系统维护的公告"),
        ("網上繳費中斷", "网上缴费中断"),
        ("系统停機", "系统停机"),
    ],
    ids=["maintenance_period", "suspension", "already_simplified", "few_traditional_characters", "one_character"],
)
def test_traditional_becomes_simplified_with_the_same_length(text: str, want: str) -> None:
    out = to_simplified(text)
    assert out == want and len(out) == len(text)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("０２：３０～０５：００", "02:30~05:00"),
        ("00∶00开始", "00:00开始"),
        ("凌晨一時至三時三十分", "凌晨1时至3时30分"),
        ("北京时间 12月1日", " 12月1日"),
    ],
    ids=["full_width", "ratio_colon", "chinese_numerals_traditional", "beijing_time_dropped"],
)
def test_normalize(text: str, want: str) -> None:
    assert normalize(text) == want


def test_spring_festival_table_gives_the_eve_and_the_second_day() -> None:
    assert lunar_new_year_day(date(2015, 2, 17), 2) == date(2015, 2, 20)
    assert lunar_new_year_day(date(2025, 12, 20), 0) == date(2026, 2, 16)
    assert lunar_new_year_day(date(1999, 1, 1), 2) is None
    assert all(d.year == y and d.month in (1, 2) for y, d in SPRING_FESTIVAL.items())


def test_ranges_with_disruption_wording_in_an_other_notice_go_to_review_with_the_ranges() -> None:
    u = understand("温馨提示：12月5日1:00至3:00，积分商城兑换功能暂停。", published=date(2026, 12, 1))
    assert u.kind == "maintenance" or (u.needs_review and u.windows)


def test_a_set_aside_range_says_why() -> None:
    u = understand("双十二活动：12月10日至12月12日参与抽奖，奖品丰厚。", published=date(2026, 12, 1))
    assert u.kind == "other" and not u.windows
    assert any("set aside" in r for r in u.reasons)


def test_past_ranges_are_set_aside_as_past() -> None:
    u = understand("双十一抽奖：11月1日至11月11日参与抽奖，期间暂停积分兑换。", published=date(2026, 12, 1))
    assert u.kind != "maintenance"
    assert any("already past" in r for r in u.reasons)


def test_counter_labels_are_kind_and_needs_review() -> None:
    u = understand("12月5日1:00至3:00花呗系统维护，花呗暂停服务。", published=date(2026, 12, 1))
    assert u.metric_labels() == ("maintenance", "false")


def test_the_opencc_dictionary_loads_only_for_traditional_text(python_exe: str) -> None:
    import subprocess

    code = (
        "import sys; from datetime import date; from watcher.notices import understand;"
        "understand('12月5日1:00至3:00花呗系统维护', published=date(2026, 12, 1));"
        "a = 'opencc' in sys.modules;"
        "understand('12月5日1:00至3:00系統維護', published=date(2026, 12, 1));"
        "print(a, 'opencc' in sys.modules)"
    )
    out = subprocess.run([python_exe, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "True"]
