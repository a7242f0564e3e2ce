"""Round 20: the grammar of maintenance sentences, exhaustively (``grammar_round20.py``), and the rules
it led to. Every text is built by the generator or written for the test, none taken from a notice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.notices.generated import forms_of
from tests.notices.grammar_round20 import PUBLISHED, fails, negatives, positives, shaped
from tests.notices.times import beijing as _dt
from watcher.notices import understand
from watcher.notices.corpus import parse_corpus
from watcher.notices.evaluate import score

PUB = date(2026, 11, 20)
CORPUS = Path(__file__).parent / "corpus"


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
    assert not wrong, forms_of(wrong)
    # the kind model beside the rules (docs/notices.md) sends 59 of the 3,000 sentences to review as
    # "other" (the check above: with exactly their window); a true maintenance notice lost to review.
    # 50 with the table fitted before blind10a was committed; the refit of round 29 adds 9
    by_model = [c for c in missed if any("kind model" in r for r in understand(c.text, published=PUBLISHED,
                                                                           title=c.title).reasons)]
    assert len(by_model) <= 59, forms_of(by_model)
    # the ones the rules leave in review name no service that stops and carry no kind word in the title
    # ("重要通知": "12月5日9:00至15:00，停止受理。"); at most 1 % of the sentences
    by_rules = [c for c in missed if c not in by_model]
    assert all(("subject", "none") in c.forms and ("title", "maintenance") not in c.forms for c in by_rules), (
        forms_of(by_rules))
    assert len(by_rules) <= len(cases) // 100, forms_of(by_rules)


def test_every_generated_window_of_another_shape_is_read_exactly() -> None:
    # a start and a length, a start and a resumption, whole days, a list of dates sharing the hours
    missed = [c for c in shaped() if fails(c) is not None]
    assert not missed, forms_of(missed)


def test_the_same_date_and_time_forms_in_look_alike_sentences_give_no_window() -> None:
    missed = [c for c in negatives() if fails(c) is not None]
    assert not missed, forms_of(missed)


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


def test_a_service_withdrawn_with_a_later_deadline_is_not_promoted() -> None:
    # guard: open starts closed by a deadline further on are no written range
    text = ("将停止对本地用户服务：\n1. 注册：2026年12月1日0点起停止开户。\n"
            "2. 交易：2026年12月1日0点起关闭全部交易功能。\n3. 提币功能截止至2027年5月31日，请于此前完成提币。")
    u = understand(text, published=PUB, title="关于本地用户的公告")
    assert u.kind != "maintenance", u.reasons


# --- phase 2: rules from the eighth set's half A, tested with texts written for them ----------------


def test_a_date_someone_must_act_by_frames_no_later_hours() -> None:
    # the hours after "须在12月10日前提交报告" are the day of the report (今天), not the 10th
    text = ("某银行今天发生系统故障，网银和ATM无法使用。监管部门表示，业者须在12月10日前提交报告。"
            "该行公告，上午9时30分到11时因机房设备故障，网银暂停服务，目前已恢复。")
    u = understand(text, published=PUB, title="某银行系统故障 网银停摆")
    assert u.kind in ("outage", "recovery")
    assert all(w.start.date() == PUB for w in u.windows)


def test_what_may_still_be_used_until_a_time_does_not_end_the_stop() -> None:
    text = "售票系统将进行维护：12月1日零时起暂停购票功能；此前已购买的船票可使用到12月1日24时。"
    assert _read(text) == ("maintenance", [(_dt("2026-12-01 00:00"), None)])


def test_a_set_time_of_work_starts_a_window() -> None:
    text = "学校决定将邮件服务迁至新系统。迁移时间定为2026年12月5日24时，届时邮件系统暂停服务。"
    assert _read(text, "邮件系统切换的通知") == ("maintenance", [(_dt("2026-12-06 00:00"), None)])


def test_the_same_stop_said_twice_with_the_same_times_is_one_window() -> None:
    text = ("票务系统因升级需要，从12月1日零时起，系统就会先停止购票功能。"
            "据介绍，系统将进行维护：12月1日零时起暂停购票功能，恢复时间另行通知。")
    assert _read(text)[1] == [(_dt("2026-12-01 00:00"), None)]


def test_the_same_times_under_two_headings_stay_two_windows() -> None:
    # guard: each heading's own service
    text = ("个人网银维护：12月5日00:00至08:00，个人网银暂停；同日00:00至18:00，投资服务暂停。"
            "企业网银维护：12月5日00:00至18:00投资服务暂停。")
    assert len(_read(text)[1]) == 3


def test_rows_of_fields_with_the_same_times_are_one_window_each() -> None:
    text = ("明日多区停水，请提前储水。\n"
            "停水时间：12/5 09:00~16:00；原因：管线汰换；区域：东区一街\n"
            "停水时间：12/5 09:00~16:00；原因：污水改管；区域：西区二街")
    assert _read(text, "明日停水公告")[1] == [(_dt("2026-12-05 09:00"), _dt("2026-12-05 16:00"))] * 2


def test_a_put_off_that_may_happen_postpones_no_window() -> None:
    text = "在线服务将在12月5日及6日两天暂停。已预约的按原定日期前往；在5日至6日期间面谈的，护照递送可能推迟。"
    u = understand(text, published=PUB, title="在线服务暂停")
    assert [(w.start, w.end, w.status) for w in u.windows] == [
        (_dt("2026-12-05 00:00"), _dt("2026-12-07 00:00"), "scheduled")]


def test_a_date_after_a_pointer_back_to_the_stop_starts_nothing() -> None:
    text = ("一、2026年12月1日0点至2026年12月14日24点，暂停所有医保实时报销，在线业务恢复时间另行通知。\n"
            "二、实时报销暂停期间发生的费用，自2027年1月15日起由经办机构主动报销。")
    assert _read(text)[1] == [(_dt("2026-12-01 00:00"), _dt("2026-12-15 00:00"))]


def test_a_list_headed_by_a_stop_still_starts_each_item() -> None:
    # guard: the stop before the colon is each item's own ("亦陆续停收：甲银行从21日起……")
    text = "系统将于12月30日起升级，期间暂停充值；代收机构亦陆续停收：甲银行从12月21日起，乙银行从12月28日起。12月31日升级完成后恢复。"
    starts = [w.start for w in understand(text, published=PUB, title="系统升级公告").windows]
    assert _dt("2026-12-21 00:00") in starts and _dt("2026-12-28 00:00") in starts


# round 21 raised recall and precision (round 20: 0.75, 0.76)
# the kind model beside the rules (docs/notices.md): 86.8 / 86.9 / 81.5 % -> 96.4 / 86.9 / 94.6 %
KIND_8A, RECALL_8A, PRECISION_8A = 0.96, 0.86, 0.94


def test_blind8a_scores_hold_their_floors() -> None:
    golds = parse_corpus((CORPUS / "blind8a.jsonl").read_text(encoding="utf-8").splitlines())
    assert len(golds) == 83
    m = score(golds).total.metrics()
    # main 8591237, scored before it was read: 85.5 / 67.2 / 66.1 %, 0 silent; round 20: docs/notices.md
    assert m["silent_misses"] == 0
    assert m["maintenance_or_not"] >= KIND_8A
    assert m["window_recall"] >= RECALL_8A and m["window_precision"] >= PRECISION_8A

