"""Round 27: extra windows on first sight, by shape (``grammar_round27.py``): a period for users to
prepare read as a stop, the same window stated twice counted twice; recovery reports and the true
maintenance counterparts of each shape keep their answers. Every text is built by the generator or
written for the test, none taken from a notice."""

from __future__ import annotations

from datetime import date

from tests.notices.generated import forms_of
from tests.notices.grammar_round27 import (
    fails,
    parallels,
    preparation_counterparts,
    preparations,
    recoveries,
    recovery_counterparts,
    restated,
)
from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 6, 10)


def _windows(text: str) -> list[tuple[object, object]]:
    u = understand(text, published=PUB, title="系统升级通知")
    assert u.kind == "maintenance"
    return [(w.start, w.end) for w in u.windows]


def test_generated_preparation_periods_are_no_windows() -> None:
    # 233 of 600 read as windows at the branch point (b6ddd6d)
    failed = [c for c in preparations() if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_generated_windows_asked_of_users_or_labelled_stay() -> None:
    failed = [c for c in preparation_counterparts() if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_generated_restatements_come_out_once() -> None:
    # 421 of 600 came out twice at the branch point (b6ddd6d)
    failed = [c for c in restated() if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_generated_parallel_items_with_the_same_times_stay_two() -> None:
    failed = [c for c in parallels() if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_generated_recovery_reports_give_no_window_and_maintenance_ahead_keeps_it() -> None:
    failed = [c for c in (*recoveries(), *recovery_counterparts()) if fails(c) is not None]
    assert not failed, forms_of(failed)


def test_whoever_is_asked_to_act_in_a_range_makes_it_their_period() -> None:
    window = (_dt("2026-06-20 22:00"), _dt("2026-06-21 06:00"))
    text = "请全体教职工于6月15日至6月17日备份邮件。\n邮箱将于6月20日22:00至次日06:00迁移，届时无法登录。"
    assert _windows(text) == [window]
    # the work's own verb after 请 is no one asked: "请注意本行将于……"
    assert _windows("请注意本行将于6月20日22:00至次日06:00进行系统切换，届时网银无法登录。") == [window]
    # no one asked in words, what users do right after the range ("各部门于……下载并填写")
    assert _windows("各部门于6月15日至6月17日下载并填写登记表。\n邮箱将于6月20日22:00至次日06:00迁移，届时无法登录。") == [
        window]
    # asked to stop something in the range: still the window
    assert _windows("请各网点于6月20日22:00至次日06:00暂停办理跨行汇款。") == [window]


def test_a_range_labelled_after_it_as_a_preparation_period_is_no_window() -> None:
    window = (_dt("2026-06-20 00:00"), _dt("2026-06-21 00:00"))
    text = "6月15日至6月17日是数据迁移准备阶段，请核对账户信息。\n6月20日全天，系统暂停服务。"
    assert _windows(text) == [window]
    # labelled as the stop itself: a window
    assert _windows("6月20日00:00至24:00为系统停机期，网上银行暂停服务。") == [window]


def test_a_later_sentence_naming_the_same_thing_restates_the_window() -> None:
    window = (_dt("2026-06-20 02:00"), _dt("2026-06-20 06:00"))
    text = ("2026年6月20日02:00至06:00，医保结算系统因切换暂停服务。\n"
            "6月20日02:00至06:00医保结算系统不受理业务，请合理安排。")
    assert _windows(text) == [window]
    # the cause named in both ("管道改造") is no thing that stops: two areas, two windows
    assert _windows("6月20日02:00至06:00，东区因管道改造停水。6月20日02:00至06:00，西区因管道改造停水。") == [window, window]
    # a row of a list under its own name beside the overall period: two windows, as annotated
    assert _windows("部分业务暂停时间为6月20日02:00至06:00。其中：\n养老保险业务：6月20日02:00至06:00暂停；") == [
        window, window]


def test_a_connective_or_a_dateline_before_the_times_names_nothing() -> None:
    window = (_dt("2026-06-20 00:00"), _dt("2026-06-23 00:00"))
    # "所以" and "本报讯" once read as two different names: two parallel items, the window twice
    text = ("本报讯：6月20日至6月22日，全市出入境办证大厅将停止服务。\n"
            "因系统切换，所以6月20日至22日全市出入境办证大厅不受理证件申请。")
    assert _windows(text) == [window]


def test_work_right_after_the_range_with_a_stop_in_its_sentence_stays_a_window() -> None:
    window = (_dt("2026-06-20 22:00"), _dt("2026-06-21 06:00"))
    # 备份 right after the range is the work here: the sentence says what stops
    assert _windows("网上银行将于6月20日22:00至次日06:00备份数据库，期间暂停服务。") == [window]
    # a desk named as the subject of the work ahead is no label of its hours
    assert _windows("客服热线将于6月20日22:00至次日06:00备份数据库，期间暂停服务。") == [window]
