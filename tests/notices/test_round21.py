"""Round 21: look-alike notices and maintenance notices with extra times around their window
(``grammar_round21.py``), and the rules they led to. Every text is built by the generator or
written for the test, none taken from a notice."""

from __future__ import annotations

from collections import Counter
from datetime import date

from tests.notices.grammar_round21 import Case, fails, lookalikes, reports, with_extras
from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 11, 20)


def _forms_of(failed: list[Case]) -> str:
    counts: Counter[str] = Counter(f"{dim}={form}" for case in failed for dim, form in case.forms)
    return ", ".join(f"{k} {v}" for k, v in counts.most_common(12))


def test_no_generated_lookalike_is_maintenance_or_has_a_window() -> None:
    cases = lookalikes()
    assert len({dict(c.forms)["family"] for c in cases}) >= 25
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, _forms_of(failed)


def test_no_report_after_the_fact_is_maintenance_or_has_a_window_other_than_its_period() -> None:
    failed = [c for c in reports() if fails(c) is not None]
    assert not failed, _forms_of(failed)


def test_a_maintenance_notice_with_extra_times_has_its_window_once_and_nothing_else() -> None:
    cases = with_extras()
    failed = [c for c in cases if fails(c) is not None]
    assert not failed, _forms_of(failed)


def test_a_publication_time_is_no_start_of_a_stop() -> None:
    text = ("尊敬的客户：\n本行将于2026-12-05 0:00-4:00进行系统升级，届时网上银行暂停服务。\n"
            "发布时间：2026-11-20 10:30\n本次维护预计持续4小时。")
    u = understand(text, published=PUB, title="系统维护公告")
    assert u.kind == "maintenance"
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 04:00"))]
    # and with a resumption after it
    text2 = ("系统将于12月5日22:00至次日6:00升级，期间手机银行无法使用。\n发文日期：11月20日9:00\n预计12月6日6:00恢复服务。")
    u2 = understand(text2, published=PUB, title="升级通知")
    assert [(w.start, w.end) for w in u2.windows] == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00"))]


def test_a_start_time_of_work_is_still_a_start() -> None:
    # guard: labels of the work's own time still start a window
    text = "尊敬的客户：\n停机时间：2026年12月5日22:00\n预计停机4小时，期间网上银行暂停服务。"
    u = understand(text, published=PUB, title="系统维护公告")
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 02:00"))]
