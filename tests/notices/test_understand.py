"""Table-driven tests of notice understanding, plus properties that hold for any text."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huabei_watch.clock import SHANGHAI
from tests.notices.cases import CASES, Case
from tests.notices.cases_families import FAMILY_CASES, INSTITUTION_CASES
from watcher.notices import NoticeUnderstanding, parse_notice_json, understand


def _dt(s: str | None) -> datetime | None:
    return None if s is None else datetime.strptime(s, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


ALL_CASES = CASES + FAMILY_CASES + INSTITUTION_CASES


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


def test_table_is_broad() -> None:
    assert len(CASES) >= 80
    assert {c.kind for c in CASES} == {"maintenance", "outage", "recovery", "interface", "fee_policy", "other"}
    every = ALL_CASES
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
