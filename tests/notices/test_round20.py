"""Round 20: the grammar of maintenance sentences, exhaustively (``grammar_round20.py``), and the rules
it led to. Every text is built by the generator or written for the test, none taken from a notice."""

from __future__ import annotations

from collections import Counter
from datetime import date

from tests.notices.grammar_round20 import PUBLISHED, Generated, fails, negatives, positives, shaped
from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 11, 20)


def _forms_of(failed: list[Generated]) -> str:
    counts: Counter[str] = Counter(f"{dim}={form}" for case in failed for dim, form in case.forms)
    return ", ".join(f"{k} {v}" for k, v in counts.most_common(12))


def test_every_generated_maintenance_sentence_is_read_exactly_or_sent_to_review_with_its_window() -> None:
    cases = positives()
    missed = [c for c in cases if fails(c) is not None]
    # never silent and never a wrong window: a sentence not read as maintenance is in review with
    # exactly the window it states
    wrong = []
    for c in missed:
        u = understand(c.text, published=PUBLISHED, title=c.title)
        if not (u.needs_review and tuple((w.start, w.end) for w in u.windows) == c.windows):
            wrong.append(c)
    assert not wrong, _forms_of(wrong)
    # the ones left in review name no service that stops and carry no kind word in the title
    # ("重要通知": "12月5日9:00至15:00，停止受理。"); at most 1 % of the sentences
    assert all(("subject", "none") in c.forms and ("title", "maintenance") not in c.forms for c in missed), _forms_of(missed)
    assert len(missed) <= len(cases) // 100, _forms_of(missed)


def test_every_generated_window_of_another_shape_is_read_exactly() -> None:
    # a start and a length, a start and a resumption, whole days, a list of dates sharing the hours
    missed = [c for c in shaped() if fails(c) is not None]
    assert not missed, _forms_of(missed)


def test_the_same_date_and_time_forms_in_look_alike_sentences_give_no_window() -> None:
    missed = [c for c in negatives() if fails(c) is not None]
    assert not missed, _forms_of(missed)


# --- the rules, with texts written for them -----------------------------------------------------------


def _read(text: str, title: str = "系统维护公告") -> tuple[str, list[tuple[object, object]]]:
    u = understand(text, published=PUB, title=title)
    return u.kind, [(w.start, w.end) for w in u.windows]


def test_a_short_weekday_in_brackets_after_the_time_tags_the_date() -> None:
    want = [(_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00"))]
    assert _read("12月5日22点(六)至次日6点，网上银行暂停服务。") == ("maintenance", want)
    assert _read("2026-12-05 22:00(六)-次日06:00，网上银行暂停服务。") == ("maintenance", want)


def test_a_dotted_month_day_before_a_weekday_or_an_hour_in_words_is_a_date() -> None:
    assert _read("12.5(六) 晚10点至次日6点，手机银行暂停服务。") == (
        "maintenance", [(_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00"))])
    assert _read("星期六（12.5）9时至15时，手机银行暂停服务。") == (
        "maintenance", [(_dt("2026-12-05 09:00"), _dt("2026-12-05 15:00"))])


def test_an_eight_digit_date_before_a_weekday_or_in_a_list_is_a_date() -> None:
    assert _read("20261205 周六 22点至次日6点，网银暂停服务。") == (
        "maintenance", [(_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00"))])
    assert _read("20261205和20261212 22:00至次日6:00，网银暂停服务。")[1] == [
        (_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00")), (_dt("2026-12-12 22:00"), _dt("2026-12-13 06:00"))]


def test_a_date_cell_of_a_table_row_before_a_time_cell_is_a_date() -> None:
    text = "维护安排如下：\n日期 | 时间 | 影响\n12/5 | 22:00-次日6:00 | 网银暂停服务\n12.12 | 22:00-次日6:00 | 网银暂停服务"
    assert _read(text)[1] == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00")),
                              (_dt("2026-12-12 22:00"), _dt("2026-12-13 06:00"))]


def test_a_start_and_an_end_clause_ended_by_a_bare_qian_is_a_range() -> None:
    assert _read("12月5日22:00起，次日6:00前，快捷支付暂停服务。") == (
        "maintenance", [(_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00"))])


def test_month_day_ranges_with_slashes_or_dots_are_whole_days() -> None:
    want = [(_dt("2026-12-05 00:00"), _dt("2026-12-08 00:00"))]
    assert _read("12/5——12/7，网上银行暂停服务。") == ("maintenance", want)
    assert _read("从12.5到12.7，网上银行暂停服务。") == ("maintenance", want)


def test_dotted_number_ranges_stay_numbers() -> None:
    # guard: a rate and a version range are no dates
    for text in ("12月起贷款利率调整为3.5-4.2%。", "支持1.2-1.5版本的客户端，请及时升级。"):
        u = understand(text, published=PUB, title="通知")
        assert u.windows == () and u.kind != "maintenance", text


def test_a_notice_with_no_kind_words_and_a_stop_in_its_windows_sentence_is_maintenance_in_review() -> None:
    u = understand("2026年12月5日22:00至次日6:00，网上银行无法使用。", published=PUB, title="重要通知")
    assert u.kind == "maintenance" and u.needs_review
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 06:00"))]


def test_a_notice_with_no_kind_words_whose_range_is_no_stop_stays_other() -> None:
    # guard: a period in which something is open is no window, whatever the date forms
    u = understand("2026年12月5日9:00至17:00，网上银行可正常使用，欢迎办理。", published=PUB, title="重要通知")
    assert u.kind != "maintenance" and u.windows == ()


def test_a_range_reported_as_past_with_no_kind_words_is_not_promoted() -> None:
    # guard: a range before publication is no announced window
    u = understand("2026年11月1日22:00至次日6:00，网上银行无法使用。", published=PUB, title="重要通知")
    assert u.kind != "maintenance"
