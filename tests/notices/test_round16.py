"""Rules added in round 16 (the fifth set's and the fourth set's misses by category: dates and hours
written as bare digits, schedules with their hours in a header, rows under heading lines, labelled
start and end fields, zones of translated notices). Each text is written for the test, not taken
from a corpus notice; the fifth set itself is held to floors at the end."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tests.notices.times import beijing as _dt
from tests.notices.variants import variants
from watcher.notices import understand
from watcher.notices.corpus import GoldNotice, parse_corpus
from watcher.notices.evaluate import predict, score
from watcher.notices.normalize import normalize

PUB = date(2026, 3, 5)


def _ranges(text: str, title: str = "") -> list[tuple[object, object]]:
    u = understand(text, published=PUB, title=title)
    assert u.kind == "maintenance", u.reasons
    return [(w.start, w.end) for w in u.windows]


# --- dates and hours as bare digits -------------------------------------------------------------


def test_a_stop_given_as_a_range_of_eight_digit_dates_is_whole_days() -> None:
    # no hours: from the first day's 00:00 to the 00:00 after the last day (FORMAT.md: whole days)
    text = "依机房托管方安排，本站将停机搬迁。\n停机期间：20260316-20260320\n期间网站暂停服务，敬请见谅。"
    assert _ranges(text) == [(_dt("2026-03-16 00:00"), _dt("2026-03-21 00:00"))]


def test_an_eight_digit_date_before_a_time_is_a_date() -> None:
    text = "系统将于20260310 22:00至20260311 02:00升级，期间无法登录。"
    assert _ranges(text) == [(_dt("2026-03-10 22:00"), _dt("2026-03-11 02:00"))]


def test_a_lone_eight_digit_number_is_no_date() -> None:
    # guard: an order or reference number stays a number
    assert "20260316" in normalize("您的工单号为20260316，请妥善保存。")
    assert "20260316" in normalize("退款单20260316已受理")


def test_four_digit_clock_times_after_a_part_of_the_day_or_before_a_resumption() -> None:
    text = "本处订于3月10日(星期二)下午1800进行系统更新，更新期间网络暂停连线，预计于1930恢复服务。"
    assert _ranges(text) == [(_dt("2026-03-10 18:00"), _dt("2026-03-10 19:30"))]
    text = "本行定于3月12日晚上2330-0130进行数据库维护，期间网银暂停服务。"
    assert _ranges(text) == [(_dt("2026-03-12 23:30"), _dt("2026-03-13 01:30"))]


def test_four_digit_clock_times_before_a_zone_word() -> None:
    text = "全面维护时段：2026年3月14日（周六）晚上1800 GMT至3月15日（周日）凌晨0200 GMT，期间服务中断。"
    assert _ranges(text) == [(_dt("2026-03-15 02:00"), _dt("2026-03-15 10:00"))]


def test_years_amounts_and_dashed_dates_stay_as_written() -> None:
    # guards: a year after 于/至, an amount after a part of the day, a dashed date after a time
    assert normalize("本项目于2016年完成") == "本项目于2016年完成"
    assert "1800元" in normalize("下午1800元的套餐")
    assert normalize("22:30 - 2026-03-19 05:00") == "22:30 - 2026-03-19 05:00"
    assert "2026 / 01 / 18" in normalize("晚上21:00 至 2026 / 01 / 18(日)上午08:00")


def test_an_end_said_as_back_before_a_time() -> None:
    text = "镜像站计划于2026年3月8日上午10时30分停机维护，维护期间镜像服务暂停，预计 12:00 前恢复正常。"
    assert _ranges(text) == [(_dt("2026-03-08 10:30"), _dt("2026-03-08 12:00"))]


# --- schedules and lists --------------------------------------------------------------------------


def test_hours_in_a_header_hold_on_each_listed_day_span() -> None:
    text = ("为集中维护工作，本中心把每月第一个周末定为维护时段，期间各项服务或会中断。\n"
            "2026年维护时段(星期六下午2时至星期日晚上10时)：4月4-5日、5月2-3日及6月6-7日。")
    assert _ranges(text) == [
        (_dt("2026-04-04 14:00"), _dt("2026-04-05 22:00")),
        (_dt("2026-05-02 14:00"), _dt("2026-05-03 22:00")),
        (_dt("2026-06-06 14:00"), _dt("2026-06-07 22:00")),
    ]


def test_hours_in_a_header_hold_on_each_listed_day() -> None:
    text = "查询系统将分三晚停机维护，维护时间每晚22:00至次日6:00：3月9日、3月16日及3月23日。"
    assert _ranges(text) == [
        (_dt("2026-03-09 22:00"), _dt("2026-03-10 06:00")),
        (_dt("2026-03-16 22:00"), _dt("2026-03-17 06:00")),
        (_dt("2026-03-23 22:00"), _dt("2026-03-24 06:00")),
    ]


def test_a_header_without_a_list_after_it_is_left_alone() -> None:
    # guard: a range then a colon and a sentence is no schedule
    assert normalize("维护时间(22:00至次日6:00)：届时网银暂停服务。") == "维护时间(22:00至次日6:00):届时网银暂停服务。"


def test_rows_under_heading_lines_belong_to_the_list_they_are_in() -> None:
    text = ("本平台服务于2026年3月以下时段暂停：\n生产环境\n- 3月14日(星期六)：09:00-18:00\n"
            "- 3月15日(星期日)：12:00-00:30(星期一)\n- 3月21日(星期六)：07:00-23:00\n"
            "测试环境\n- 3月10日(星期二)：09:00-20:00")
    assert _ranges(text) == [
        (_dt("2026-03-14 09:00"), _dt("2026-03-14 18:00")),
        (_dt("2026-03-15 12:00"), _dt("2026-03-16 00:30")),
        (_dt("2026-03-21 07:00"), _dt("2026-03-21 23:00")),
        (_dt("2026-03-10 09:00"), _dt("2026-03-10 20:00")),
    ]


def test_a_pointing_intro_above_heading_lines_ties_the_rows_under_them() -> None:
    text = ("本行定于3月8日升级系统，个人电子渠道服务功能将停用。安排如下：\n【个人业务】\n- 网银：3月8日00:00至03:00；\n"
            "- 手机银行：3月8日00:00至05:00；\n【企业业务】\n- 企业网银：3月8日01:00至04:00。")
    assert _ranges(text) == [
        (_dt("2026-03-08 00:00"), _dt("2026-03-08 03:00")),
        (_dt("2026-03-08 00:00"), _dt("2026-03-08 05:00")),
        (_dt("2026-03-08 01:00"), _dt("2026-03-08 04:00")),
    ]


def test_a_numbered_field_after_a_time_field_says_what_stops() -> None:
    text = ("以下支付服务在对应时段内检修。\n【A服务】\n1. 作业时间：2026年3月8日 00:00~08:00\n2. 影响：作业期间支付服务停止\n"
            "【B服务】\n1. 作业时间：2026年3月8日 00:00~06:00\n2. 影响：作业期间可能间歇性无法付款")
    assert _ranges(text) == [
        (_dt("2026-03-08 00:00"), _dt("2026-03-08 08:00")),
        (_dt("2026-03-08 00:00"), _dt("2026-03-08 06:00")),
    ]


def test_a_row_named_by_a_service_with_a_campaign_word_is_still_a_row_of_stops() -> None:
    # 报名 / 兑换 name a function of the service here (a bullet row, its name after or before the times)
    text = ("以下维护工作将于3月7日至8日进行，主要受影响服务如下：\n- 3月8日(周日)上午8时至下午1时：网络及互联网服务\n"
            "- 3月8日(周日)上午9时至下午1时：课程平台及选课报名应用程式\n- 积分查询、积分兑换：3月8日0:00至6:00")
    assert _ranges(text) == [
        (_dt("2026-03-08 08:00"), _dt("2026-03-08 13:00")),
        (_dt("2026-03-08 09:00"), _dt("2026-03-08 13:00")),
        (_dt("2026-03-08 00:00"), _dt("2026-03-08 06:00")),
    ]


def test_a_campaign_period_beside_a_window_is_still_set_aside() -> None:
    # guard: a sign-up period in a sentence of its own is no row of the list of stops
    text = ("本平台定于3月8日0:00至6:00升级，期间暂停服务。\n另：春季活动报名时间为3月9日9:00至17:00，欢迎参加。")
    assert _ranges(text) == [(_dt("2026-03-08 00:00"), _dt("2026-03-08 06:00"))]


def test_a_weekday_after_an_end_time_is_no_date_for_the_next_row() -> None:
    text = ("本平台服务于以下时段暂停：\n- 3月15日(星期日)：12:00-00:30(星期一)\n"
            "- 3月21日(星期六)：09:00-19:00")
    assert _ranges(text)[-1] == (_dt("2026-03-21 09:00"), _dt("2026-03-21 19:00"))


def test_bare_start_and_end_fields_make_a_range() -> None:
    text = ("维护时间窗口\n- 开始：2026-03-11 08:00 (UTC+0)\n- 结束：2026-03-11 09:00 (UTC+0)\n- 持续：1 小时\n"
            "期间数据迁移控制台不可用。")
    assert _ranges(text) == [(_dt("2026-03-11 16:00"), _dt("2026-03-11 17:00"))]


def test_start_and_end_of_a_campaign_make_no_window() -> None:
    # guard: "活动开始/活动结束" are a campaign's, and nothing stops
    u = understand("活动开始：2026-03-11 08:00，活动结束：2026-03-12 09:00，期间可领取优惠。", published=PUB)
    assert u.kind != "maintenance" and not u.windows


def test_several_starts_with_durations_and_one_sentence_after_them() -> None:
    # a product name in Latin letters before the duration, a clause after ";" ending the row's line,
    # then "以上两段期间" saying what stops in both
    text = ("自 2026 年 3 月 10 日世界标准时间 2:00 开始，将更新 Cloud Edge Services 后端订阅系统，预估需时 30 分钟；"
            "供应商会借此提升备援。\n自 2026 年 3 月 17 日世界标准时间 2:00 开始，将再次更新后端订阅系统，预估需时一小时。\n"
            "以上两段期间内，您无法建立或删除实例。")
    assert _ranges(text, title="排程维护") == [
        (_dt("2026-03-10 10:00"), _dt("2026-03-10 10:30")),
        (_dt("2026-03-17 10:00"), _dt("2026-03-17 11:00")),
    ]


def test_one_window_written_in_two_us_zones_is_one_window() -> None:
    # 2026-03-10 is after the US switch to summer time (2026-03-08): PDT = UTC-7, CDT = UTC-5
    text = "计划停机\n- 时间：2026年3月10日 太平洋时间上午7点至11点 / 中部时间上午9点至下午1点\n- 影响：维护期间系统无法使用。"
    assert _ranges(text) == [(_dt("2026-03-10 22:00"), _dt("2026-03-11 02:00"))]


# --- the variants check and the fifth set -----------------------------------------------------------


_CORPUS = Path(__file__).parent / "corpus"
_OTHERS = ("dev", "blind", "blind2", "blind3", "blind4a", "blind4b")


def _blind5() -> list[GoldNotice]:
    return parse_corpus((_CORPUS / "blind5.jsonl").read_text(encoding="utf-8").splitlines())


def test_the_compact_recipe_is_read_as_its_originals() -> None:
    golds = [g for name in ("dev", "blind", "blind2")
             for g in parse_corpus((_CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())
             if g.kind == "maintenance" and g.windows]
    compact = [(g, v) for g in golds for v in variants(g) if v.recipe == "compact"]
    assert sum(v.notice.text != g.text for g, v in compact) >= 0.4 * len(compact)
    same = sum(predict(v.notice) == predict(g) for g, v in compact)
    # round 16: 201 of 201 (main before it: 188)
    assert same >= 0.99 * len(compact)


def test_blind5_is_well_formed_and_shares_no_notice_with_the_other_sets() -> None:
    golds = _blind5()
    assert len(golds) == 49 and sum(g.kind == "maintenance" for g in golds) == 21
    assert sum(len(g.windows) for g in golds if g.kind == "maintenance") == 48
    others = [json.loads(line) for name in _OTHERS
              for line in (_CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    mine = [json.loads(line) for line in (_CORPUS / "blind5.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    assert not {d["source"] for d in mine} & {d["source"] for d in others}
    assert not {d["text"] for d in mine} & {d["text"] for d in others}
    assert not {d["id"] for d in mine} & {d["id"] for d in others}


def test_blind5_scores_hold_their_floors() -> None:
    m = score(_blind5()).total.metrics()
    # scored once on fb46c7f: 91.8 / 35.4 / 46.0 %, 1 silent; round 16 (tuned on it): 95.9 / 97.9 / 90.4 %;
    # the kind model beside the rules (docs/notices.md): 100.0 / 97.9 / 95.9 %
    assert m["silent_misses"] == 0
    assert m["maintenance_or_not"] >= 0.99
    assert m["window_recall"] >= 0.97 and m["window_precision"] >= 0.95


def test_hours_with_am_pm_and_no_minutes_and_an_english_range_word() -> None:
    text = "维护时间：Tue, Mar 10, 2026 10 PM - 11 PM UTC，期间服务暂停。"
    assert _ranges(text) == [(_dt("2026-03-11 06:00"), _dt("2026-03-11 07:00"))]
    text = "维护时间：3月10日 6 PM to 8 PM，期间服务暂停。"
    assert _ranges(text) == [(_dt("2026-03-10 18:00"), _dt("2026-03-10 20:00"))]
    text = "维护时间：3月10日 10pm至次日2am，期间服务暂停。"
    assert _ranges(text) == [(_dt("2026-03-10 22:00"), _dt("2026-03-11 02:00"))]


def test_sizes_and_versions_are_no_hours() -> None:
    # guards: "10 MB" is a size, a decimal before PM is no hour
    assert "10 MB" in normalize("升级包大小为10 MB。")
    assert "下午" not in normalize("倍率为1.5 PM值")
