"""Round 23: windows written in another time zone (``grammar_round23.py``), the largest cause of
extra and missed windows on the blind sets as first scored. Every text is built by the generator or
written for the test, none taken from a notice."""

from __future__ import annotations

from datetime import date

from tests.notices.generated import forms_of
from tests.notices.grammar_round23 import (
    ZONES,
    fails,
    lookalikes,
    restated,
    rows_an_offset_apart,
    zoned,
)
from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 11, 20)


def _windows(text: str) -> list[tuple[object, object]]:
    u = understand(text, published=PUB, title="系统维护公告")
    assert u.kind == "maintenance"
    return [(w.start, w.end) for w in u.windows]


def test_generated_windows_in_another_zone_are_moved_to_beijing_time() -> None:
    cases = zoned()
    assert len({dict(c.forms)["zone"] for c in cases}) == len(ZONES)
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_a_window_restated_in_beijing_time_comes_out_once() -> None:
    cases = restated()
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_rows_an_offset_apart_under_one_zone_are_both_moved() -> None:
    failed = [c for c in rows_an_offset_apart() if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_a_restatement_keeps_its_line_break_and_the_sign_of_an_offset() -> None:
    # 北京时间 at the start of a row no longer joins the row to the one above it
    assert _windows("维护时间：\n美国中部标准时间：12月5日 10:00-14:00\n北京时间：12月6日 00:00-04:00\n"
                    "期间网上银行暂停服务。") == [(_dt("2026-12-06 00:00"), _dt("2026-12-06 04:00"))]
    # "23:00（UTC-5）" once read the minus of the offset as a range word
    assert _windows("2026-12-05 20:00至23:00（UTC-5），即北京时间2026-12-06 09:00至12:00，网上银行暂停服务。") == [
        (_dt("2026-12-06 09:00"), _dt("2026-12-06 12:00"))]
    # an offset as a row's label before a date with no year: "GMT+9：12月5日" once read "9:12" as a clock
    assert _windows("维护时间：\nGMT+9：12月5日 10:00-14:00\n北京时间：12月5日 09:00-13:00\n期间网上银行暂停服务。") == [
        (_dt("2026-12-05 09:00"), _dt("2026-12-05 13:00"))]
    assert _windows("北京时间2026年12月5日17:00至21:00（意大利时间10:00至14:00），网上银行暂停服务。") == [
        (_dt("2026-12-05 17:00"), _dt("2026-12-05 21:00"))]


def test_generated_times_of_beijing_offset_or_with_a_zone_aside_stay_as_written() -> None:
    failed = [c for c in lookalikes() if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_a_place_or_zone_area_with_standard_or_summer_time_names_its_zone() -> None:
    # winter: Rome UTC+1, New York UTC-5; summer: London UTC+1, Los Angeles UTC-7
    assert _windows("2026年12月5日10:00至14:00（意大利当地时间），网上银行暂停服务。") == [
        (_dt("2026-12-05 17:00"), _dt("2026-12-05 21:00"))]
    assert _windows("美国东部标准时间2026年12月5日10:00至14:00，网上银行暂停服务。") == [
        (_dt("2026-12-05 23:00"), _dt("2026-12-06 03:00"))]
    assert _windows("2026年7月5日10:00至14:00（英国夏令时），網上銀行暫停服務。") == [
        (_dt("2026-07-05 17:00"), _dt("2026-07-05 21:00"))]
    assert _windows("维护时间（太平洋夏令时间）：\n2026年7月5日10:00至14:00\n期间网上银行暂停服务。") == [
        (_dt("2026-07-06 01:00"), _dt("2026-07-06 05:00"))]


def test_a_name_written_as_a_whole_keeps_its_own_reading() -> None:
    # 澳大利亚东部标准时间 is AEST (Brisbane, no summer time), read before the place and its qualifier
    assert _windows("2027年1月5日10:00至14:00（澳大利亚东部标准时间），网上银行暂停服务。") == [
        (_dt("2027-01-05 08:00"), _dt("2027-01-05 12:00"))]
    assert _windows("2027年1月5日10:00至14:00（澳洲东部夏令时间），网上银行暂停服务。") == [
        (_dt("2027-01-05 07:00"), _dt("2027-01-05 11:00"))]


def test_an_offset_runs_into_the_date_without_breaking_the_notice() -> None:
    # "UTC-52026年" once read as an offset of 52 hours and 2 minutes: the notice failed to parse
    assert _windows("系统维护：UTC-52026年12月5日10:00至14:00，网上银行暂停服务。") == [
        (_dt("2026-12-05 23:00"), _dt("2026-12-06 03:00"))]
    assert _windows("2026年12月5日10:00至14:00（UTC−7），网上银行暂停服务。") == [
        (_dt("2026-12-06 01:00"), _dt("2026-12-06 05:00"))]
    assert _windows("2026年12月5日10:00至14:00（UTC+0800），网上银行暂停服务。") == [
        (_dt("2026-12-05 10:00"), _dt("2026-12-05 14:00"))]


def test_a_new_place_is_also_where_customers_are() -> None:
    # the places added for zone words are the same table as the customers' place (one mechanism)
    u = understand("致匈牙利客户：2026年12月5日10:00至14:00，网上银行暂停服务。", published=PUB, title="系统维护公告")
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 17:00"), _dt("2026-12-05 21:00"))]
