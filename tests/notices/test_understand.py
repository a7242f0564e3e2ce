"""Table-driven tests of notice understanding, plus properties that hold for any text."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huabei_watch.clock import SHANGHAI
from tests.notices.cases import CASES, Case
from tests.notices.cases_families import FAMILY_CASES, INSTITUTION_CASES
from tests.notices.cases_round3 import (
    FORMAT_CASES,
    LAST_CASES,
    LAST_LOOKALIKES,
    LOOKALIKE_CASES,
    MORE_CASES,
    MORE_LOOKALIKES,
    NEVER_SILENT_CASES,
    ROUND3_CASES,
    TRADITIONAL_CASES,
    TRADITIONAL_LOOKALIKES,
)
from watcher.notices import NoticeUnderstanding, parse_notice_json, understand


def _dt(s: str | None) -> datetime | None:
    return None if s is None else datetime.strptime(s, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


ALL_CASES = (CASES + FAMILY_CASES + INSTITUTION_CASES + ROUND3_CASES + FORMAT_CASES + MORE_CASES + LAST_CASES
             + TRADITIONAL_CASES)


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_notice_table(case: Case) -> None:
    u = understand(case.text, published=case.published, title=case.title)
    assert u.kind == case.kind, u.reasons
    got = [(w.start, w.end, w.status) for w in u.windows]
    want = [(_dt(w.start), _dt(w.end), w.status) for w in case.windows]
    assert got == want, u.to_json()
    for w_got, w_want in zip(u.windows, case.windows, strict=True):
        if w_want.channels is not None:
            assert set(w_got.channels) == set(w_want.channels), u.to_json()
    if case.channels is not None:
        assert set(u.channels) == set(case.channels), u.to_json()
    if case.huabei is not None:
        assert u.huabei_affected is case.huabei, u.reasons
    if case.review is not None:
        assert u.needs_review is case.review, u.reasons
    if case.extra:
        assert u.interface_change is not None
        if "names" in case.extra:
            assert case.extra["names"] in u.interface_change.names
        if "minimum" in case.extra:
            assert u.interface_change.minimum_version == case.extra["minimum"]
        if "deadline" in case.extra:
            assert u.interface_change.deadline == date.fromisoformat(case.extra["deadline"])


@pytest.mark.parametrize("case", NEVER_SILENT_CASES, ids=[c.id for c in NEVER_SILENT_CASES])
def test_future_range_with_any_disruption_wording_is_never_silent(case: Case) -> None:
    u = understand(case.text, published=case.published, title=case.title)
    assert u.kind == "maintenance" or u.needs_review, u.reasons
    got = [(w.start, w.end, w.status) for w in u.windows]
    assert got == [(_dt(w.start), _dt(w.end), w.status) for w in case.windows], u.to_json()


_LOOKALIKES = LOOKALIKE_CASES + LAST_LOOKALIKES + MORE_LOOKALIKES + TRADITIONAL_LOOKALIKES


@pytest.mark.parametrize("case", _LOOKALIKES, ids=[c.id for c in _LOOKALIKES])
def test_lookalike_is_not_maintenance_and_needs_no_review(case: Case) -> None:
    u = understand(case.text, published=case.published, title=case.title)
    assert u.kind != "maintenance", u.reasons
    assert u.windows == () and not u.needs_review, u.to_json()


def test_table_is_broad() -> None:
    assert len(CASES) >= 80
    assert {c.kind for c in CASES} == {"maintenance", "outage", "recovery", "interface", "fee_policy", "other"}
    every = ALL_CASES + NEVER_SILENT_CASES + _LOOKALIKES
    assert len({c.id for c in every}) == len(every)


def test_to_json_has_exactly_the_documented_shape() -> None:
    out = parse_notice_json("支付宝将于2026年11月28日凌晨2:00至4:00进行系统维护，期间花呗暂停服务。", date(2026, 11, 26))
    assert set(out) == {"kind", "windows", "channels", "products", "huabei_affected", "confidence",
                        "needs_review", "reasons"}
    assert out["windows"] == [{
        "start": "2026-11-28T02:00:00+08:00", "end": "2026-11-28T04:00:00+08:00",
        "products": ["花呗"], "channels": ["pcredit", "pcreditpayInstallment"], "status": "scheduled",
    }]
    assert out["kind"] == "maintenance" and out["huabei_affected"] is True and out["needs_review"] is False
    assert 0.0 <= out["confidence"] <= 1.0


def test_window_end_is_as_written_not_rounded() -> None:
    u = understand("12月1日01:00-03:59花呗系统维护", published=date(2026, 11, 26))
    assert u.windows[0].end == datetime(2026, 12, 1, 3, 59, tzinfo=SHANGHAI)


def test_published_datetime_is_read_in_shanghai_time() -> None:
    # 2026-11-26 17:00 UTC is already 27 November in Shanghai, so 明天 is the 28th.
    pub = datetime(2026, 11, 26, 17, 0, tzinfo=SHANGHAI).replace(tzinfo=None)
    from datetime import UTC
    u = understand("明天凌晨2:00-4:00花呗系统维护", published=pub.replace(tzinfo=UTC))
    assert u.windows[0].start == datetime(2026, 11, 28, 2, 0, tzinfo=SHANGHAI)


def test_huabei_through_broad_service_is_recorded_in_reasons() -> None:
    u = understand("11月28日01:00-02:00支付宝暂停全部支付服务进行系统维护", published=date(2026, 11, 26))
    assert u.huabei_affected
    assert any("全部支付服务" in r for r in u.reasons)


def test_marketing_with_huabei_does_not_mark_huabei_affected() -> None:
    u = understand("花呗分期免息活动，12月10日至12月12日参与抽奖", published=date(2026, 11, 26))
    assert u.kind == "other" and not u.huabei_affected and u.windows == ()


def test_interface_change_lists_versions() -> None:
    u = understand("Python SDK 2.0.1 将于2027年1月31日停止支持，请升级至2.1.0以上版本。", published=date(2026, 11, 26))
    assert u.interface_change is not None
    assert u.interface_change.versions == ("2.0.1", "2.1.0")
    assert u.interface_change.minimum_version == "2.1.0"


_PIECES = st.sampled_from([
    "11月28日", "2026年", "12月31日", "凌晨", "晚上", "下午", "2:00", "4点", "半", "至", "-", "次日", "今天", "明天",
    "本周六", "（周五）", "花呗", "信用卡", "维护", "取消", "延期", "约2小时", "持续30分钟", "二十二点", "二十四点",
    "24:00", "99:99", "2月30日", "13月1日", "~", "——", "，", "。", "\n", "北京时间", "除", "外", "不受影响",
    "SDK", "3.2.0", "下线", "故障", "已恢复", "每日", "12月1日至12月3日", "0时", "31日", "1月1日",
])


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    u = understand(text, published=date(2026, 11, 26))
    _check_invariants(u)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join), st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_never_raises_on_notice_like_text(text: str, published: date) -> None:
    u = understand(text, published=published, title=text[:10])
    _check_invariants(u)


def _check_invariants(u: NoticeUnderstanding) -> None:
    assert "internal error while reading the notice" not in u.reasons
    assert 0.0 <= u.confidence <= 1.0
    for w in u.windows:
        assert w.start.utcoffset() is not None
        assert w.end is None or w.start <= w.end
        assert w.status in ("scheduled", "postponed", "cancelled")
    u.to_json()


@pytest.mark.parametrize(
    "text",
    [
        " " * 20_000, "二十" * 10_000, "1" * 20_000, "2:00-3:00，" * 2_000, "维护花呗不受影响除外" * 2_000,
        "SDK接口下线 " + "a" * 20_000 + "插件", "10:00起异常，10:30已恢复。" * 1_000, "(" * 20_000,
        "11月28日2:00开始维护约2小时" * 1_000,
    ],
    ids=["spaces", "cn_numerals", "digits", "ranges", "negations", "letters", "recoveries", "parens", "durations"],
)
def test_long_repetitive_text_keeps_invariants(text: str) -> None:
    u = understand(text, published=date(2026, 11, 26))
    _check_invariants(u)
    assert len(u.windows) <= 64


def test_many_ranges_are_capped_and_flagged_for_review() -> None:
    text = "".join(f"12月{d}日02:00-03:00花呗系统维护。" for d in range(1, 32)) * 3
    u = understand(text, published=date(2026, 11, 26))
    assert u.kind == "maintenance"
    assert len(u.windows) == 31  # identical windows collapse; the cap keeps the first 64 ranges
    assert u.needs_review


_RANGES = ("12月5日01:00-03:00", "12月5日凌晨1点至3点", "2026-12-05 22:00至2026-12-06 06:00", "12月5日22时至次日6时",
           "12月5日至12月6日", "12/5 01:00~03:00")
_STOPS = ("暂停", "停止", "中断", "无法使用", "不能使用", "不可用", "受影响", "延迟", "维护", "升级", "割接", "切换", "迁移",
          "停机", "停运", "停服", "关闭", "下线", "暫停", "中斷", "無法使用", "受影響", "延遲", "維護", "升級", "切換", "遷移",
          "停機", "停運", "關閉", "下線")
_SUBJECTS = ("网上缴费", "APP", "線上服務")


@pytest.mark.parametrize("stop", _STOPS)
def test_any_future_range_with_any_disruption_word_is_never_silent(stop: str) -> None:
    for rng in _RANGES:
        for subject in _SUBJECTS:
            for text in (f"{rng}{subject}{stop}。", f"{subject}将于{rng}{stop}，敬请留意。"):
                u = understand(text, published=date(2026, 11, 26))
                assert u.kind == "maintenance" or u.needs_review, (text, u.reasons)
                assert u.windows, (text, u.reasons)


def test_a_range_tied_to_no_disruption_beside_windows_is_set_aside() -> None:
    u = understand("12月5日01:00-03:00系统升级，暂停充值。12月8日10:00-12:00，新版本介绍会在线上举行。",
                   published=date(2026, 11, 26))
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 01:00"), _dt("2026-12-05 03:00"))]
    assert any("no wording of a disruption" in r for r in u.reasons)


def test_rows_of_a_list_are_tied_through_the_line_introducing_them() -> None:
    u = understand("各区停水安排如下：\n东区 12月5日8:00-12:00；\n西区 12月6日8:00-12:00；", published=date(2026, 11, 26))
    assert len(u.windows) == 2


def test_a_date_span_with_hours_on_its_last_day_is_one_window_a_day() -> None:
    u = understand("12月5日至12月7日0:00-6:00，缴费系统升级，暂停缴费。", published=date(2026, 11, 26))
    assert [(w.start, w.end) for w in u.windows] == [
        (_dt(f"2026-12-0{d} 00:00"), _dt(f"2026-12-0{d} 06:00")) for d in (5, 6, 7)
    ]


def test_a_window_announced_by_a_service_desk_is_kept() -> None:
    u = understand("客服中心通知：12月5日0:00-6:00系统维护，暂停在线缴费。", published=date(2026, 11, 26))
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))]


def test_a_window_worded_as_a_request_to_merchants_is_kept() -> None:
    u = understand("系统升级通知：请商户于12月5日0:00-6:00期间暂停发起退款。", published=date(2026, 11, 26))
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))]


def test_hours_after_a_window_across_midnight_that_start_earlier_are_on_its_end_day() -> None:
    u = understand("12月5日23:00至12月6日1:00暂停网上缴费；1:00至3:00暂停自助终端。", published=date(2026, 11, 26))
    assert [(w.start, w.end) for w in u.windows] == [
        (_dt("2026-12-05 23:00"), _dt("2026-12-06 01:00")), (_dt("2026-12-06 01:00"), _dt("2026-12-06 03:00"))]


def test_a_notice_published_after_its_window_that_only_warns_of_failures_stays_maintenance() -> None:
    u = understand("12月5日0:00-6:00系统升级，期间可能出现交易异常，暂停提现。", published=date(2026, 12, 6))
    assert u.kind == "maintenance"


def test_a_date_with_the_same_hours_as_the_range_before_is_a_window() -> None:
    u = understand("12月5日0:00-2:00暂停网银；12月6日同一时段暂停手机银行。", published=date(2026, 11, 26))
    assert [(w.start, w.end) for w in u.windows] == [
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 02:00")), (_dt("2026-12-06 00:00"), _dt("2026-12-06 02:00"))]


def test_labelled_stop_and_resumption_lines_are_one_window() -> None:
    for text in ("停机时间：12月5日22:00\n恢复时间：12月6日06:00\n停机期间暂停缴费。",
                 "停机开始：12月5日22:00；停机结束：12月6日06:00。停机期间暂停缴费。"):
        u = understand(text, published=date(2026, 11, 26))
        assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00"))], text


def test_windows_tied_to_nothing_are_kept_for_review() -> None:
    u = understand("时间：12月5日0:00-6:00。内容：核心数据库扩容。", published=date(2026, 11, 26), title="重要通知")
    assert u.windows and u.needs_review
    assert any("no window is tied" in r for r in u.reasons)


def test_a_transition_period_is_no_window() -> None:
    u = understand("新系统12月5日上线，12月5日至12月31日为过渡期，期间新旧系统并行，业务正常办理。",
                   published=date(2026, 11, 26), title="新系统上线公告")
    assert u.kind != "maintenance" and not u.windows


def test_an_end_given_only_as_a_part_of_the_day_is_no_end_and_is_reviewed() -> None:
    u = understand("12月5日22:00至次日凌晨，缴费系统升级，暂停缴费。", published=date(2026, 11, 26))
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 22:00"), None)]
    assert u.needs_review


def test_all_transactions_in_a_banks_notice_are_not_huabei() -> None:
    u = understand("我行定于12月5日00:00至03:00升级系统，届时B2C网关业务暂停全部交易；借记卡快捷支付暂停。",
                   published=date(2026, 11, 26))
    assert not u.huabei_affected
    assert "pcredit" not in u.channels and "pcredit" not in u.windows[0].channels


def test_a_product_said_unaffected_in_one_sentence_leaves_the_others_affected() -> None:
    u = understand("12月12日01:00至07:00核心系统升级，届时暂停：\n1.个人网上银行（01:00-07:00）；\n"
                   "2.借记卡快捷支付（01:00-06:00）。\nATM取款不受影响。", published=date(2026, 11, 26))
    assert {"bankPay", "debitCardExpress"} <= set(u.channels)


@pytest.mark.parametrize("written", ["115.12.05(六)00:00~06:00", "115-12-05 00:00 至 115-12-05 06:00", "115/12/05 00:00-06:00"])
def test_roc_years_with_any_separator(written: str) -> None:
    u = understand(f"本行訂於{written}進行系統維護，暫停網路銀行服務。", published=date(2026, 11, 26))
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))]


@pytest.mark.parametrize("text", ["维护期间（12月5日至12月7日）每日0:00-6:00暂停缴费。",
                                  "12月5日-12月7日期间，每天凌晨0:00-6:00系统升级，暂停缴费。"])
def test_a_date_span_in_parentheses_or_with_qijian_then_daily_hours(text: str) -> None:
    u = understand(text, published=date(2026, 11, 26))
    assert [(w.start, w.end) for w in u.windows] == [
        (_dt(f"2026-12-0{d} 00:00"), _dt(f"2026-12-0{d} 06:00")) for d in (5, 6, 7)]


def test_a_date_list_with_a_shared_weekday_note_shares_the_hours() -> None:
    u = understand("12月5日、12日、19日（均为周六）0:00-6:00系统维护，暂停服务。", published=date(2026, 11, 26))
    assert [w.start.day for w in u.windows] == [5, 12, 19]
