"""Rules added in round 18 (precision: a window needs a stop of its own). Each text is written for
the test, not taken from a corpus notice; the round-18 frames check the same ideas around every
tuned-on maintenance notice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.notices.frames_round18 import framed_maintenance_r18
from tests.notices.times import beijing as _dt
from watcher.notices import understand
from watcher.notices.corpus import parse_corpus
from watcher.notices.evaluate import score

PUB = date(2026, 1, 20)
CORPUS = Path(__file__).parent / "corpus"


def _read(text: str, title: str = "") -> tuple[str, list[tuple[object, object]]]:
    u = understand(text, published=PUB, title=title)
    return u.kind, [(w.start, w.end) for w in u.windows]


# --- a period in which something is open, usable or free is no window ------------------------------


def test_a_channel_opened_for_a_period_is_no_window() -> None:
    kind, windows = _read("因业务调整，平台即日起至3月31日开放资产迁移通道，用户可自行提现。")
    assert windows == [] and kind != "maintenance"


def test_a_fee_waived_for_a_period_beside_a_window_adds_none() -> None:
    text = "缴费平台于1月25日01:00-05:00升级，期间暂停缴费；1月26日至1月31日补缴免收滞纳金。"
    assert _read(text) == ("maintenance", [(_dt("2026-01-25 01:00"), _dt("2026-01-25 05:00"))])


def test_both_versions_usable_in_a_period_is_no_window() -> None:
    text = "客户端将于1月25日02:00-04:00停服更新，期间无法登录。2月1日至2月15日新旧两版均可使用，2月16日起旧版停止服务。"
    assert _read(text) == ("maintenance", [(_dt("2026-01-25 02:00"), _dt("2026-01-25 04:00"))])


def test_what_still_works_in_the_window_keeps_the_window() -> None:
    # guard: the stop is in the same sentence with no time of its own, so the range is its window
    text = "1月25日0:00至6:00期间仍可查询余额，暂停转账和提现。"
    assert _read(text)[1] == [(_dt("2026-01-25 00:00"), _dt("2026-01-25 06:00"))]


def test_a_possible_stop_is_no_opening() -> None:
    # guard: 可能 is no "can"; the range stays (sent to review or maintenance, never dropped)
    u = understand("1月25日0:00-6:00可能无法访问官网，敬请谅解。", published=PUB)
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-01-25 00:00"), _dt("2026-01-25 06:00"))]


def test_a_reopening_after_the_work_stays_the_end() -> None:
    # guard: "完成后重新开放" is the window's end (round 17), not an opening period
    text = "选课系统将停机更新。\n时段：1月25日18:00-22:00，更新完成后重新开放选课。"
    assert _read(text)[1] == [(_dt("2026-01-25 18:00"), _dt("2026-01-25 22:00"))]


# --- a named campaign sentence after a plain one starts something else ------------------------------


def test_a_campaign_with_daily_hours_after_a_window_adds_none() -> None:
    text = "积分商城于1月25日01:00-03:00维护，期间无法兑换。春节兑换活动：1月26日至2月5日，每日10:00-22:00。"
    assert _read(text) == ("maintenance", [(_dt("2026-01-25 01:00"), _dt("2026-01-25 03:00"))])


def test_a_campaign_row_after_a_list_of_stops_adds_none() -> None:
    text = ("以下渠道将暂停服务：\n一、网银：1月25日0:00至3:00。\n二、手机银行：1月25日1:00至4:00。\n"
            "新春促销：2月1日至2月10日，每天9:00-20:00。")
    assert _read(text)[1] == [(_dt("2026-01-25 00:00"), _dt("2026-01-25 03:00")),
                              (_dt("2026-01-25 01:00"), _dt("2026-01-25 04:00"))]


def test_the_daily_hours_of_a_period_set_aside_make_no_timetable() -> None:
    # the campaign's "每日" hours are its own: the weekday window before is not turned into a timetable
    text = ("水务处将于本周六晚上10时至周日早上8时暂停供水，以便接驳新水管。\n"
            "节水宣传活动：2月3日至2月17日，每日9:00-17:00。")
    u = understand(text, published=PUB)
    assert u.kind == "maintenance"
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-01-24 22:00"), _dt("2026-01-25 08:00"))]


def test_rows_continuing_a_list_with_an_intro_stay_windows() -> None:
    # guard: named rows written as sentences after a list introduced with a colon are still rows
    text = "因系统升级，以下渠道将暂停服务，时间如下：网银：1月25日0:00至3:00。手机银行：1月25日1:00至4:00。"
    assert _read(text)[1] == [(_dt("2026-01-25 00:00"), _dt("2026-01-25 03:00")),
                              (_dt("2026-01-25 01:00"), _dt("2026-01-25 04:00"))]


# --- the frames around every tuned-on maintenance notice ----------------------------------------------


def test_round18_frames_add_no_window() -> None:
    golds = [g for name in ("dev", "blind6a", "blind4b")
             for g in parse_corpus((CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())]
    for second in (False, True):
        framed = list(framed_maintenance_r18(golds, second=second))
        m = score(framed).total.metrics()
        plain = score([g for g in golds if g.kind == "maintenance" and any(f.id.startswith(g.id + "~") for f in framed)])
        base = plain.total.metrics()
        # c25d6f6: 55 % precision with the campaign frames (each campaign's days read as windows)
        assert m["silent_misses"] == 0
        assert m["window_recall"] >= base["window_recall"] - 0.005
        assert m["window_precision"] >= base["window_precision"] - 0.005
