"""Rules added in round 12 (the third blind set, all of it tuned on): windows around dated moments
("节点的前30分钟和后2小时", "前后各15分钟"), a customer's jobs put after a time. Each text is
written for the test (not a corpus notice)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from tests.notices.lookalike_frames import framed_maintenance
from tests.notices.times import beijing as _dt
from watcher.notices import understand
from watcher.notices.corpus import parse_corpus
from watcher.notices.evaluate import score

CORPUS = Path(__file__).parent / "corpus"

PUB = date(2026, 11, 20)


def _ws(text: str, title: str = "", pub: date = PUB) -> list[tuple[datetime, datetime | None]]:
    u = understand(text, published=pub, title=title)
    assert u.kind == "maintenance", u.reasons
    return sorted((w.start, w.end) for w in u.windows)


def test_minutes_before_and_after_listed_moments_are_windows_for_each_moment() -> None:
    text = ("年终促销的流量高峰预计在2026年12月12日 00:00:00 和 12-24 21:00:00。两个时间点的前20分钟和后1小时，"
            "商品查询接口响应可能变慢，部分字段不返回，请开发者做好重试。")
    assert _ws(text, title="年终促销接口调整说明") == [
        (_dt("2026-12-11 23:40"), _dt("2026-12-12 01:00")),
        (_dt("2026-12-24 20:40"), _dt("2026-12-24 22:00")),
    ]


def test_minutes_on_both_sides_of_one_moment_are_its_window() -> None:
    text = "12月6日 23:30前后各15分钟，因数据库主备切换，会员充值暂停。"
    assert _ws(text) == [(_dt("2026-12-06 23:15"), _dt("2026-12-06 23:45"))]


def test_a_span_around_moments_ahead_is_never_silent() -> None:
    # read as an interface notice before round 12, with nothing sent to a person
    text = ("开放平台调整公告：2026-12-18 20:00:00、12-19 20:00:00 访问量大，将触发系统流控。节点前10分钟和后30分钟，"
            "订单列表接口不返回物流字段。")
    u = understand(text, published=PUB)
    assert u.kind == "maintenance" or u.needs_review
    assert sorted((w.start, w.end) for w in u.windows) == [
        (_dt("2026-12-18 19:50"), _dt("2026-12-18 20:30")),
        (_dt("2026-12-19 19:50"), _dt("2026-12-19 20:30")),
    ]


def test_a_moment_with_no_span_around_it_gives_no_window() -> None:
    # guard: a moment alone ("前30分钟" with nothing after, a deadline) is not a window
    text = "请于2026年12月12日 00:00前30分钟完成对账，届时系统不返回历史账单。"
    u = understand(text, published=PUB)
    assert all(w.start != _dt("2026-12-11 23:30") for w in u.windows)


def test_jobs_put_after_a_time_start_nothing() -> None:
    text = ("12月5日20:00至22:00订单接口限流，建议降低调用频率或凌晨2点后再调用，对账任务放在凌晨3点以后。")
    assert _ws(text) == [(_dt("2026-12-05 20:00"), _dt("2026-12-05 22:00"))]


def test_a_schedule_with_the_hours_of_a_zoned_range_is_in_that_zone() -> None:
    text = ("收款服务商将于2026年12月3日(周四)AM 01:30 ~ AM 03:00(东京时间)维护服务器，期间无法付款。"
            "明年预定：01月14日(周四)、02月11日(周四)，每次均为01:30~03:00。")
    assert _ws(text) == [
        (_dt("2026-12-03 00:30"), _dt("2026-12-03 02:00")),
        (_dt("2027-01-14 00:30"), _dt("2027-01-14 02:00")),
        (_dt("2027-02-11 00:30"), _dt("2027-02-11 02:00")),
    ]


def test_other_hours_on_other_days_keep_beijing_time() -> None:  # guard
    text = ("海外通道将于12月3日01:30~03:00(东京时间)维护。国内网银12月5日01:00~03:00暂停。")
    assert _ws(text) == [
        (_dt("2026-12-03 00:30"), _dt("2026-12-03 02:00")),
        (_dt("2026-12-05 01:00"), _dt("2026-12-05 03:00")),
    ]


def test_a_count_of_moments_picks_the_run_it_points_back_at() -> None:
    text = ("大促期间的流量节点为12-01 00:00、12-05 20:00、12-12 00:00。其中12-01 00:00、12-12 00:00 的前30分钟和后1小时，"
            "退款查询接口可能延时；上述三个节点的前1小时到后2小时，发票字段不返回。")
    assert _ws(text) == [
        (_dt("2026-11-30 23:00"), _dt("2026-12-01 02:00")),
        (_dt("2026-11-30 23:30"), _dt("2026-12-01 01:00")),
        (_dt("2026-12-05 19:00"), _dt("2026-12-05 22:00")),
        (_dt("2026-12-11 23:00"), _dt("2026-12-12 02:00")),
        (_dt("2026-12-11 23:30"), _dt("2026-12-12 01:00")),
    ]


def test_a_moment_at_the_last_second_of_a_day_is_the_next_midnight() -> None:
    text = "2026-12-09 23:59:59、2026-12-19 23:59:59前1.5小时到后2小时，订单字段不返回。"
    assert _ws(text) == [
        (_dt("2026-12-09 22:30"), _dt("2026-12-10 02:00")),
        (_dt("2026-12-19 22:30"), _dt("2026-12-20 02:00")),
    ]


def test_a_zone_heading_ending_in_wei_and_a_colon_reaches_its_rows() -> None:
    text = ("本行海外分行将升级系统，具体时段（越南时间）为：网上银行12月5日22:00至12月6日04:00；"
            "ATM 12月5日23:00至12月6日05:00。")
    assert _ws(text) == [
        (_dt("2026-12-05 23:00"), _dt("2026-12-06 05:00")),
        (_dt("2026-12-06 00:00"), _dt("2026-12-06 06:00")),
    ]


def test_a_zone_after_a_range_and_zhijian_is_that_ranges() -> None:
    text = "商户平台将于2026年12月8日(周二)1:00至2:00之间(日本时间,时间可能前后调整)进行系统维护，期间无法创建优惠券。"
    assert _ws(text) == [(_dt("2026-12-08 00:00"), _dt("2026-12-08 01:00"))]


def test_no_longer_offered_until_a_launch_is_a_window_sent_to_review() -> None:
    text = ("原会员积分系统已于2026年12月1日0:00起不再对外提供服务；新的积分平台计划在2026年12月4日10:00上线。"
            "新旧系统交接期间，积分兑换业务顺延办理。")
    u = understand(text, published=PUB)
    assert u.kind == "maintenance" or u.needs_review
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-01 00:00"), _dt("2026-12-04 10:00"))]


def test_no_longer_offered_with_nothing_coming_back_is_no_window() -> None:  # guard
    text = "自2026年12月1日0:00起，本行不再对外提供纸质对账单服务，请改用电子对账单。"
    assert understand(text, published=PUB).windows == ()


def test_a_range_named_a_migration_period_is_no_window() -> None:
    text = ("2026年12月1日至2027年1月15日为推送服务的平台迁移期，开发者需按迁移手册下载新的SDK并更换接口地址。")
    u = understand(text, published=PUB)
    assert u.kind != "maintenance" and u.windows == ()


def test_a_migration_period_with_a_stop_stays_a_window() -> None:  # guard
    text = "2026年12月5日22:00至12月6日02:00为数据迁移期，期间推送服务暂停。"
    assert _ws(text) == [(_dt("2026-12-05 22:00"), _dt("2026-12-06 02:00"))]


def test_a_broker_holiday_arrangement_around_the_new_year_close_is_no_maintenance() -> None:
    text = ("期货公司春节前提示：2月13日15:00起至2月23日08:00暂停电子平台入金申请、线上变更交易权限等服务；"
            "2月13日封关日收盘后提交的开户资料一律次年审核，2月23日开红盘日起恢复。期权部分，2月13日15:00起至"
            "2月23日08:30暂停网络出金。")
    u = understand(text, published=date(2026, 2, 6))
    assert u.kind != "maintenance"
    assert u.needs_review  # a stop ahead is never silent


def test_a_state_written_after_its_country_gives_the_local_zone() -> None:
    text = "加拿大BC省车辆登记处提示：12月4日晚9:00至12月5日早6:00期间，网上续期将无法用信用卡付款。"
    u = understand(text, published=PUB)
    assert u.needs_review  # the zone is not written: a person checks
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-05 13:00"), _dt("2026-12-05 22:00"))]


def test_stops_announced_inside_a_stated_period_are_the_windows() -> None:
    text = ("收款系统计划停机时间为12月14日1:00~6:00，其间会有2次各约1小时的停止：第1次预定1:00~2:00，"
            "第2次预定4:30~5:30；作业完成即提前恢复。")
    assert _ws(text) == [
        (_dt("2026-12-14 01:00"), _dt("2026-12-14 02:00")),
        (_dt("2026-12-14 04:30"), _dt("2026-12-14 05:30")),
    ]


def test_a_bare_weekday_listed_after_a_weekday_timetable_is_a_timetable() -> None:
    text = ("12月5日0:00至6:00系统切换，期间网银暂停；切换后营业时间统一为周一至周五9:00 am - 5:00 pm、"
            "周六9:00 am - 1:00 pm。")
    assert _ws(text) == [(_dt("2026-12-05 00:00"), _dt("2026-12-05 06:00"))]


def test_a_reserve_date_is_no_window_of_its_own() -> None:
    text = ("因结算基础维护，全部在线缴费暂停。影响期间：2026年12月7日(周一)22:00~12月8日(周二)06:00"
            "(预备日:2026年12月14日(周一)22:00~12月15日(周二)06:00)。")
    u = understand(text, published=PUB)
    assert u.kind == "maintenance"
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2026-12-07 22:00"), _dt("2026-12-08 06:00"))]
    assert any("reserve date" in r for r in u.reasons)


def test_a_branch_closure_for_a_system_switch_inside_a_campaign_frame_is_never_silent() -> None:
    text = ("【优惠活动】即日起至12月31日，刷本行信用卡满200元减20元。本行将在12月12日至12月14日上线新核心系统。"
            "全部分行将于12月12日至12月13日暂停营业，并于12月14日按正常营业时间重新开门；系统切换后账号不变。")
    u = understand(text, published=PUB)
    assert u.kind == "maintenance" or u.needs_review


def test_look_alike_frames_around_the_third_blind_set_are_never_silent() -> None:
    golds = parse_corpus((CORPUS / "blind3.jsonl").read_text(encoding="utf-8").splitlines())
    framed = list(framed_maintenance(golds))
    assert len(framed) >= 200
    assert score(framed).total.metrics()["silent_misses"] == 0
