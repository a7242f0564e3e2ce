"""Rules added in round 14 (causes found in the fourth blind set's half A: utility works, years and
days written the Taiwan way, zones of translated notices, starts with a length in days). Each text is
written for the test, not taken from a corpus notice."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from tests.notices.lookalike_frames import framed_maintenance, framed_maintenance_more
from tests.notices.times import beijing as _dt
from watcher.notices import understand
from watcher.notices.corpus import GoldNotice, parse_corpus
from watcher.notices.evaluate import score

PUB = date(2026, 12, 1)


def _read(text: str, title: str = "", pub: date = PUB) -> list[tuple[datetime, datetime | None]]:
    u = understand(text, published=pub, title=title)
    assert u.kind == "maintenance", u.reasons
    return sorted((w.start, w.end) for w in u.windows)


def test_repairs_tonight_with_a_length_as_a_range_are_a_window() -> None:
    # 維修 is work on a supply; "7至8小時" lasts the longer bound; "水壓或不穩" is a hedge, not a failure
    text = ("自來水公司將於今晚11時，就本區一條受損的輸水管道進行第二階段的維修工作，工程預計需時7至8小時。"
            "維修期間部分路段用戶或會出現水壓不穩。")
    assert _read(text, title="今晚維修輸水管 部分路段水壓或不穩") == [
        (_dt("2026-12-01 23:00"), _dt("2026-12-02 07:00"))
    ]


def test_the_sentence_after_a_range_that_opens_on_its_period_words_its_stop() -> None:
    # the range's own sentence says nothing; "工程期間……" says what the works do to the supply
    text = ("水務公司將於本月3日進行管網併接工程，時間為當晚11時至翌日凌晨4時。"
            "工程期間周邊地區水質可能出現波動，請用戶先放水。")
    assert _read(text, title="周四進行併網工程 部分地段水質或波動") == [
        (_dt("2026-12-03 23:00"), _dt("2026-12-04 04:00"))
    ]


def test_a_two_digit_year_decades_away_is_the_roc_year_and_nian_is_twenty() -> None:
    text = "本處訂於九十年四月十七日至廿三日進行機組試運轉，試運轉期間可能出現電壓不穩或瞬間跳電。"
    assert _read(text, pub=date(2001, 4, 16)) == [(_dt("2001-04-17 00:00"), _dt("2001-04-24 00:00"))]


def test_nian_and_sa_in_a_date() -> None:
    text = "本區預定於五月廿八日（週六）上午八時至十一時實施工作停電，請用戶事先準備。"
    assert _read(text, pub=date(2011, 5, 26)) == [(_dt("2011-05-28 08:00"), _dt("2011-05-28 11:00"))]
    text2 = "本區預定於一月卅日上午八時至十一時實施工作停電。"
    assert _read(text2, pub=date(2012, 1, 20)) == [(_dt("2012-01-30 08:00"), _dt("2012-01-30 11:00"))]


def test_a_two_digit_year_near_publication_stays_this_century() -> None:
    text = "系統將於26年12月5日22:00至23:00維護，期間暫停服務。"
    assert _read(text) == [(_dt("2026-12-05 22:00"), _dt("2026-12-05 23:00"))]


def test_a_supply_cut_with_no_system_named_is_maintenance() -> None:
    # 冲厕水供应 is a supply: "stops named, but no system" does not hold
    text = "因须更换水掣，本区全部楼宇的冲厕水供应将由十二月三日晚上十时起暂停，至十二月四日早上七时恢复。"
    assert _read(text) == [(_dt("2026-12-03 22:00"), _dt("2026-12-04 07:00"))]


def test_polish_time_is_moved_to_beijing_time() -> None:
    text = "12月9日 01:00 至 05:00（波兰时间），平台将进行技术维护，期间API可能无法访问。"
    assert _read(text) == [(_dt("2026-12-09 08:00"), _dt("2026-12-09 12:00"))]


def test_a_zone_after_a_duration_in_the_same_bracket() -> None:
    text = "■ 暂停时间：2026年12月6日（周日）01:00 ~ 10:00（共9小时，韩国时间）\n■ 影响：账户支付暂停"
    assert _read(text) == [(_dt("2026-12-06 00:00"), _dt("2026-12-06 09:00"))]


def test_a_start_with_a_length_in_days() -> None:
    text = "镜像站存储阵列将于2026-12-05 20:00起重新构建，预计3日后完成；维护期间全部请求会被重定向。"
    assert _read(text) == [(_dt("2026-12-05 20:00"), _dt("2026-12-08 20:00"))]
    text2 = "论坛将于12月5日20:00起停机维护，预计持续2天。"
    assert _read(text2) == [(_dt("2026-12-05 20:00"), _dt("2026-12-07 20:00"))]


def test_a_bare_day_after_a_length_word_is_a_date_not_days() -> None:
    # "预计3日完成" may be the 3rd; it is never read as three days (guard)
    u = understand("系统将于12月5日20:00起停机维护，预计3日完成。", published=PUB)
    assert all(w.end != _dt("2026-12-08 20:00") for w in u.windows), u.windows


def test_a_start_whose_length_cannot_be_read_still_goes_to_review() -> None:
    # never silent: the next clause opens on the period and words work
    u = understand("数据阵列将于2026-12-05 20:00起重新构建；届时若未构建完成，维护时间相应顺延。",
                   published=PUB, title="镜像站维护")
    assert u.kind == "maintenance" or u.needs_review, u.reasons


def test_an_outage_reading_with_a_window_after_publication_goes_to_review() -> None:
    # worded like a failure (跳电, 故障) but dated after publication: a person checks
    u = understand("12月5日10:00至12:00，本区线路抢修，请用户留意。", published=PUB)
    assert u.kind == "maintenance" or u.needs_review, u.reasons


def test_a_failure_in_a_list_after_or_is_still_told() -> None:
    # "或" hedges only the word right after it; "故障" before it is told
    u = understand("昨日14:00至15:00系统出现故障或异常，已于15:00恢复正常。", published=PUB)
    assert u.kind in ("outage", "recovery"), u.reasons


def test_prices_that_waver_are_no_disruption() -> None:
    u = understand("12月5日至12月12日期间基金净值可能出现波动，请投资者留意风险。", published=PUB)
    assert u.kind != "maintenance", u.reasons


def test_an_update_stamp_is_no_point_of_a_window() -> None:
    # "(18:44 更新)" is when the page was edited; the outage ran 16:16 to 18:35 and is over
    text = ("（18:44 更新）全区已于18点35分全部恢复供电。\n"
            "今日下午4点16分全区无预警停电，初步研判为输电线路故障，电力公司全力抢修。")
    u = understand(text, published=PUB, title="全区大停电 18点35分全部复电")
    assert u.kind in ("outage", "recovery"), u.reasons
    assert all(w.start.hour != 18 or w.start.minute != 44 for w in u.windows)


def test_trouble_told_as_past_is_a_report() -> None:
    # "出现……缓慢" told of last week, back at a time: a report, not a window
    text = ("交易所今日说明，上周三早盘交易系统出现委托回报缓慢。系统于9点4分起收到大量委托单，导致回报延迟，"
            "暂停该券商线路的服务后，系统于上午10:30恢复正常。")
    u = understand(text, published=date(2026, 12, 7), title="交易所说明交易系统回报缓慢原因")
    assert u.kind in ("outage", "recovery"), u.reasons


def test_a_failure_of_the_day_of_publication_back_by_then_is_a_report() -> None:
    text = ("今天凌晨三点本区停电，电厂恢复供电时负载过重，造成发电机故障。"
            "本区已于下午四点陆续恢复供电，其他地区将轮流停电。")
    u = understand(text, published=PUB, title="本区复电 其他地区停电")
    assert u.kind in ("outage", "recovery"), u.reasons


def test_planned_work_told_with_a_hedged_trouble_stays_maintenance() -> None:
    # guard: "可能出现……缓慢" is hedged, and the window is ahead
    text = "系统将于12月5日22:00至23:00升级，期间可能出现交易缓慢。"
    assert _read(text) == [(_dt("2026-12-05 22:00"), _dt("2026-12-05 23:00"))]


def test_an_effective_period_is_no_window() -> None:
    # "生效时间：……至……" is when a change takes effect; integrators adapt to new field values
    text = ("平台将自动升级早期创建的集群的底层架构。\n生效时间：2026年12月7日 20:00:00 至 2026年12月10日 23:59:59，"
            "此期间系统自动完成升级。\n升级后，查询接口返回的 cluster_type 字段值会相应变化，请开发者检查依赖该字段的程序。")
    u = understand(text, published=PUB, title="【产品变更】集群架构自动升级公告")
    assert u.kind != "maintenance" and not u.windows, u.reasons


def test_a_completed_upgrade_with_no_failure_is_other() -> None:
    text = ("本站已于台北时间 2026/12/01(星期二) 上午10:00 完成系统升级。新版在效能与稳定度上都优于旧版，"
            "也解决了过去网页上传不稳定的问题。")
    u = understand(text, published=PUB, title="新版本站已上线")
    assert u.kind == "other" and not u.needs_review, u.reasons


def test_a_sudden_power_cut_back_the_same_day_is_a_report() -> None:
    text = "今日上午9時許，北區一帶突然停電，約3000戶受影響。電力公司隨即派員搶修，至上午11時30分全部恢復供電。"
    u = understand(text, published=PUB)
    assert u.kind in ("outage", "recovery"), u.reasons


def test_a_burst_main_with_the_water_back_is_a_report() -> None:
    text = "北區今早停水 下午已復水。水務署表示，今日早上6時北區一條水管爆裂，須暫停供水，於下午3時恢復供水。"
    u = understand(text, published=PUB)
    assert u.kind in ("outage", "recovery"), u.reasons


def test_a_cut_still_being_repaired_is_an_outage() -> None:
    text = "因颱風影響，本區於今日下午2時起停電，電力公司正全力搶修中，恢復時間未定。"
    u = understand(text, published=PUB)
    assert u.kind == "outage", u.reasons


def test_power_not_yet_back_is_no_recovery() -> None:
    text = "今天上午9時許機房電力中斷，系統全面癱瘓，系統商正在全力搶修，尚未復電。"
    u = understand(text, published=PUB, title="動態系統當機 廠商搶修中")
    assert u.kind == "outage", u.reasons


def test_a_planned_cut_tomorrow_after_a_fault_stays_maintenance() -> None:
    # guard: a fault is the reason, but the cut is planned for the next day
    text = "因線路故障需更換設備，本區定於12月2日上午9時至12時停電，請用戶預作準備。"
    assert _read(text) == [(_dt("2026-12-02 09:00"), _dt("2026-12-02 12:00"))]


def test_a_cause_found_and_service_back_the_same_day_is_a_report() -> None:
    text = "12月1日 09:30-10:15 部分用戶無法登入，原因為認證伺服器負載過高，工程師已處理完畢，服務已恢復正常。"
    u = understand(text, published=PUB)
    assert u.kind in ("outage", "recovery"), u.reasons


def test_an_attack_told_with_the_time_service_came_back_is_a_report() -> None:
    u = understand("網站今日凌晨遭受攻擊，自02:10起無法瀏覽，工程人員處理後於05:40恢復。", published=PUB)
    assert u.kind in ("outage", "recovery"), u.reasons


def test_a_blackout_with_the_time_power_came_back_is_a_report() -> None:
    text = "今(1)日下午3時10分，台北地區發生大範圍停電，影響約5萬戶，台電表示於4時05分全數復電。"
    u = understand(text, published=PUB)
    assert u.kind in ("outage", "recovery"), u.reasons


def test_a_cut_of_the_day_said_to_be_back_is_a_report() -> None:
    u = understand("今晚8時起本區停電，電力公司於9時10分已全部復電。", published=PUB)
    assert u.kind in ("outage", "recovery"), u.reasons


def test_emergency_work_announced_for_tonight_is_never_silent() -> None:
    # a fault is the cause, the work is tonight: whatever the kind, a person looks
    u = understand("因系统故障需紧急检修，今晚22:00开始，23:00恢复。", published=PUB)
    assert u.kind == "maintenance" or u.needs_review, u.reasons


def test_a_resumption_that_is_a_plan_keeps_the_window() -> None:
    # guard: "预计……恢复" is a plan, so the window stays maintenance
    text = "因设备故障，今日14:00至16:00对网银系统进行检修，预计16:00恢复服务。"
    u = understand(text, published=PUB)
    assert u.kind == "maintenance" or u.needs_review, u.reasons


def test_a_zone_heading_ending_its_line_reaches_the_rows_of_its_table() -> None:
    # rows of a flattened table under "暂停时间（韩国时间）："; the rows marked 正常提供 are no windows
    text = ("四、暂停时间（韩国时间）：\n日期 | 作业时间 | 状态 | 暂停服务\n"
            "2026-12-5(周六) | 23:55 ~ 00:05 | 服务暂停 | 账户转账\n"
            " | 00:05 ~ 00:30 | 正常提供 |\n | 00:30 ~ 01:30 | 服务暂停 | 账户转账\n"
            "五、影响：账户转账将暂时中断。")
    assert _read(text) == [
        (_dt("2026-12-05 22:55"), _dt("2026-12-05 23:05")),
        (_dt("2026-12-05 23:30"), _dt("2026-12-06 00:30")),
    ]


def test_a_zone_heading_does_not_reach_past_the_next_section() -> None:
    # guard: the Beijing-time rows of the next numbered section stay as written
    text = ("一、日本时间：\n12月5日 01:00 ~ 03:00 停止服务\n"
            "二、国内渠道：\n12月6日 04:00 ~ 05:00 暂停服务")
    assert _read(text) == [
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 02:00")),
        (_dt("2026-12-06 04:00"), _dt("2026-12-06 05:00")),
    ]


def test_work_finished_early_told_in_the_next_clause_is_no_window_ahead() -> None:
    text = "原訂今日上午9時至下午5時之停水作業，已提前於下午3時完工並恢復供水，感謝用戶配合。"
    u = understand(text, published=PUB, title="停水通知(已恢復)")
    assert u.kind != "maintenance", u.reasons


def test_work_that_resumes_the_supply_once_finished_stays_maintenance() -> None:
    # guard: "完工後即恢復供水" is what will happen
    text = "今日上午9時至下午5時停水作業，屆時請用戶儲水。工程完工後即恢復供水。"
    assert _read(text, title="停水通知") == [(_dt("2026-12-01 09:00"), _dt("2026-12-01 17:00"))]


def test_a_holiday_closure_first_read_as_recovery_gets_the_holiday_check() -> None:
    # "恢復正常辦公時間" tipped the words to recovery; the second look still sees a holiday arrangement
    text = ("本公司客戶服務中心於2月16日至2月18日暫停服務，2月19日起恢復正常辦公時間（上午9時至下午6時）。"
            "期間如遇供電故障，請致電24小時緊急熱線。")
    u = understand(text, published=PUB, title="春節期間客戶服務安排")
    assert u.kind != "maintenance", u.reasons


def test_an_extension_told_as_a_fact_moves_the_end_even_when_the_new_end_is_hedged() -> None:
    text = ("2026年12月5日0:00 - 07:00（CET），所有站点的测试环境将因维护作业暂停使用。\n\n"
            "【更新】（2026-12-05）测试环境的维护作业有所延长，可能持续到11:00。")
    assert _read(text) == [(_dt("2026-12-05 07:00"), _dt("2026-12-05 18:00"))]


def test_a_hedged_extension_that_is_only_a_caveat_moves_nothing() -> None:
    # guard (round 7): "如遇特殊情况，维护时间可能延长至8点" is a caveat
    text = "12月5日0:00至6:00系统维护，期间暂停服务。如遇特殊情况，维护时间可能延长至8点。"
    assert _read(text) == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))]


def test_a_label_is_read_in_the_range_s_own_sentence() -> None:
    # "……热线24小时为您服务。时间：……" : the hotline's hours end with the sentence before the label
    text = ("12月1日至12月31日期间各营业网点照常营业，客服热线24小时为您服务。时间：2026/12/5 (六) 上午 9:00 至 下午 5:00\n"
            "事由：主机迁入新机房，搬迁期间所有服务将暂停。")
    u = understand(text, published=PUB, title="系统暂停服务公告")
    assert u.kind == "maintenance" or u.needs_review, u.reasons
    assert (_dt("2026-12-05 09:00"), _dt("2026-12-05 17:00")) in [(w.start, w.end) for w in u.windows]


def test_a_weekday_range_on_a_day_the_notice_names_survives_a_timetable() -> None:
    text = ("水公司將於本月3日（周四）進行併網工程。時間為周四晚上11時至翌日凌晨4時。工程期間周邊地區水質可能出現波動。\n"
            "交易时间：每个交易日9:30-11:30、13:00-15:00。")
    assert (_dt("2026-12-03 23:00"), _dt("2026-12-04 04:00")) in _read(text, title="周四進行供水併網工程")


def test_a_weekday_range_in_a_timetable_sentence_stays_in_the_timetable() -> None:
    # guard: "另设定期维护：星期一至五……、星期日02:30至06:30" repeats, even on a named Sunday
    text = ("12月6日（星期日）00:00至08:00，个人网银服务暂停。"
            "另设定期维护：星期一至五21:00至21:30之间个人网银服务暂停5分钟、星期日02:30至06:30等。")
    assert _read(text) == [(_dt("2026-12-06 00:00"), _dt("2026-12-06 08:00"))]


def test_rows_under_the_same_label_are_parallel_items_not_a_frame() -> None:
    text = ("以下各支付服务在对应时段内无法完成付款。\n[A支付服务]\n1. 作业时间：2026年12月5日 00:00~08:00\n"
            "2. 影响：作业期间支付服务停止\n[B支付服务]\n1. 作业时间：2026年12月5日 00时00分 ~ 06时00分\n"
            "2. 影响：检修期间可能间歇性无法付款")
    assert _read(text, title="12月5日部分支付服务检修说明") == [
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00")),
        (_dt("2026-12-05 00:00"), _dt("2026-12-05 08:00")),
    ]


def test_an_overall_period_before_its_stops_is_still_a_frame() -> None:
    # guard (round 7): the overall period leads into the stops inside it
    text = ("系统升级时间为12月5日22:00至12月6日08:00，各项业务暂停时间如下：\n网银：12月5日22:00至12月6日02:00暂停；\n"
            "手机银行：12月6日00:00至04:00暂停。")
    assert _read(text) == [
        (_dt("2026-12-05 22:00"), _dt("2026-12-06 02:00")),
        (_dt("2026-12-06 00:00"), _dt("2026-12-06 04:00")),
    ]


def test_a_cut_whose_cause_is_still_looked_for_is_an_outage() -> None:
    text = "今日下午2時40分北區多條街道停電，約1200戶受影響，電力公司已派員到場處理，停電原因仍在調查。"
    u = understand(text, published=PUB, title="北區停電 原因調查中")
    assert u.kind == "outage", u.reasons


def test_a_numbered_item_cut_at_a_semicolon_says_its_stop_in_its_later_part() -> None:
    # item 二 first says what comes back, then (after "；") what stays stopped: its own window,
    # not a restatement of item 三's same hours
    text = ("我局定于12月5日0:00至12月6日24:00对电子发票服务平台实施停机维护，停用安排如下：\n"
            "一、12月5日0:00-6:00，跨省开具及所有用票功能均暂停。\n"
            "二、12月5日6:00-12月6日24:00，跨省开具功能恢复；所有用票功能继续暂停。\n"
            "三、12月5日6:00-12月6日24:00，发票自动交付服务停用。")
    assert _read(text).count((_dt("2026-12-05 06:00"), _dt("2026-12-07 00:00"))) == 2


# The fourth blind set's half A, tuned on in round 14 (docs/notices.md, "Fourth blind set").
_BLIND4A = Path(__file__).parent / "corpus" / "blind4a.jsonl"
_OTHERS = ("dev", "blind", "blind2", "blind3")


def _blind4a() -> list[GoldNotice]:
    return parse_corpus(_BLIND4A.read_text(encoding="utf-8").splitlines())


def test_blind4a_is_well_formed_and_shares_no_notice_with_the_other_sets() -> None:
    golds = _blind4a()
    assert len(golds) == 83 and sum(g.kind == "maintenance" for g in golds) == 32
    others = [json.loads(line) for name in _OTHERS
              for line in (_BLIND4A.parent / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    mine = [json.loads(line) for line in _BLIND4A.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert not {d["source"] for d in mine} & {d["source"] for d in others}
    assert not {d["text"] for d in mine} & {d["text"] for d in others}
    assert not {d["id"] for d in mine} & {d["id"] for d in others}


def test_blind4a_scores_hold_their_floors() -> None:
    m = score(_blind4a()).total.metrics()
    # round 14 after: 100.0 / 94.4 / 94.4 %, 0 silent (before: 87.9 / 74.7 / 75.7 %, 4 silent)
    assert m["silent_misses"] == 0
    assert m["maintenance_or_not"] >= 0.98
    assert m["window_recall"] >= 0.90 and m["window_precision"] >= 0.92


def test_look_alike_frames_around_blind4a_are_never_silent() -> None:
    golds = _blind4a()
    for frames in (framed_maintenance, framed_maintenance_more):
        framed = list(frames(golds))
        assert len(framed) >= 100
        assert score(framed).total.metrics()["silent_misses"] == 0, frames.__name__


# Half B of the fourth blind set: read only as a summary during round 14, committed after it with
# the score it had then (docs/notices.md, "Fourth blind set"). Its floors are that score, so a
# change that loses ground on it fails; it is tuned on from here on.
_BLIND4B = Path(__file__).parent / "corpus" / "blind4b.jsonl"


def test_blind4b_is_well_formed_and_shares_no_notice_with_the_other_sets() -> None:
    golds = parse_corpus(_BLIND4B.read_text(encoding="utf-8").splitlines())
    assert len(golds) == 83 and sum(g.kind == "maintenance" for g in golds) == 28
    others = [json.loads(line) for name in (*_OTHERS, "blind4a")
              for line in (_BLIND4B.parent / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    mine = [json.loads(line) for line in _BLIND4B.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert not {d["source"] for d in mine} & {d["source"] for d in others}
    assert not {d["text"] for d in mine} & {d["text"] for d in others}
    assert not {d["id"] for d in mine} & {d["id"] for d in others}


def test_blind4b_scores_hold_the_score_it_had_when_committed() -> None:
    m = score(parse_corpus(_BLIND4B.read_text(encoding="utf-8").splitlines())).total.metrics()
    # after round 14, read only as a summary: 89.2 / 90.4 / 75.8 %, 0 silent
    # (before round 14: 87.9 / 82.7 / 68.2 %, 0 silent); round 15 (tuned on it): 96.4 / 94.2 / 90.7 %;
    # the kind model beside the rules (docs/notices.md): 100.0 / 94.2 / 96.1 %
    assert m["silent_misses"] == 0
    assert m["maintenance_or_not"] >= 0.99
    assert m["window_recall"] >= 0.94 and m["window_precision"] >= 0.96
