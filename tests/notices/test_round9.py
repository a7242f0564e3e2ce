"""Rules added in round 9 for look-alikes read as maintenance: announcements with dates but no
service stop are not confident maintenance; when a range ahead and wording of a stop remain, they
go to review (never silent). Each text is written for the test (not a corpus notice)."""

from __future__ import annotations

from datetime import date

from tests.notices.times import beijing as _dt
from watcher.notices import understand

PUB = date(2026, 12, 1)


def test_branches_closed_while_remote_channels_keep_running_are_not_maintenance() -> None:
    text = ("受台风影响，本澳各银行于12月8日至12月10日暂停开放全部营业网点。期间网上银行、手机银行及自动柜员机"
            "照常运作，金管局将维持各支付系统运作；贷款及信用卡到期还款日顺延至下一个工作日。")
    u = understand(text, published=PUB, title="银行营业网点暂停开放安排")
    assert u.kind != "maintenance", u.reasons
    assert u.needs_review, u.reasons  # a range ahead and 暂停: a person looks


def test_a_customer_centre_closed_is_an_outlet() -> None:
    text = ("为配合防疫，本公司客户中心自12月3日起暂停服务，直至另行通知。客户可致电客服热线或登入网站办理账户事宜，"
            "热线服务时间为周一至周五上午9时至下午6时。")
    u = understand(text, published=PUB, title="客户服务特别安排")
    assert u.kind != "maintenance", u.reasons
    assert u.needs_review, u.reasons


def test_a_holiday_closure_with_work_done_in_the_break_is_not_maintenance() -> None:
    text = ("按主管部门通知，2027年2月5日0时至2月11日24时，全国门票预约、兑换一律暂停。各机构须利用停售间隙对"
            "售票系统进行检修，为节后恢复做好准备。")
    u = understand(text, published=PUB, title="春节期间暂停预约的通知")
    assert u.kind != "maintenance", u.reasons
    assert u.needs_review, u.reasons


def test_work_planned_over_a_holiday_with_a_stop_stays_maintenance() -> None:
    # guard: 利用 + a holiday is how real notices announce work; only a gap in a closure is set aside
    text = "我行将利用元旦假期进行核心系统升级，2027年1月1日0:00至6:00期间暂停办理业务。"
    u = understand(text, published=PUB, title="元旦假期系统升级公告")
    assert u.kind == "maintenance", u.reasons
    assert [(w.start, w.end) for w in u.windows] == [(_dt("2027-01-01 00:00"), _dt("2027-01-01 06:00"))]


def test_news_of_interruptions_that_happened_is_not_maintenance() -> None:
    text = ("监管机构11月28日宣布，要求某银行暂缓非必要的系统变更三个月，起因是该行今年先后于4月2日、8月19日发生"
            "大规模服务中断。该行回应称现有业务和客户均不受影响，并已制定技术恢复路线图。")
    u = understand(text, published=PUB, title="监管机构暂缓某银行系统变更")
    assert u.kind != "maintenance", u.reasons


def test_an_announced_interruption_is_still_maintenance() -> None:
    # guard: 将发生 announces; only an interruption told as having happened is a report
    text = "因网络设备更换，12月9日凌晨2:00至3:00期间将发生短暂中断，请合理安排支付时间。"
    u = understand(text, published=PUB, title="网络设备更换公告")
    assert u.kind == "maintenance", u.reasons


def test_something_stopped_for_good_is_no_open_window() -> None:
    text = ("为提供更多乘车方式，本市公交自2026年12月15日零时起停用旧式刷卡机，不再受理储值卡刷卡乘车，相关刷卡机"
            "之后将陆续拆除。公交公司已建成一卡通互联互通平台，提供扫码支付等新的乘车支付渠道。")
    u = understand(text, published=PUB, title="公交停用刷卡机")
    assert u.kind != "maintenance", u.reasons
    assert u.windows == ()


def test_a_temporary_stop_from_a_time_stays_a_window() -> None:
    # guard: 暂停 + the end announced later is a stop that ends, even beside 不再
    text = "自12月6日22:00起暂停受理跨行转账，期间不再受理新的预约，恢复时间另行通知。"
    u = understand(text, published=PUB, title="暂停受理跨行转账公告")
    assert u.kind == "maintenance", u.reasons
    assert [w.start for w in u.windows] == [_dt("2026-12-06 22:00")]


def test_days_tied_to_no_stop_are_not_confident_maintenance() -> None:
    text = ("铁路12月5日凌晨0时起开售2027年1月20日至2月8日共20天的春运车票。为此售票系统已完成扩容，可同时容纳更多"
            "旅客在线购票，开售初期可能排队。旅客可经网站、App或车站窗口购票。")
    u = understand(text, published=PUB, title="春运车票开售 售票系统扩容")
    assert u.kind != "maintenance", u.reasons
    assert u.needs_review, u.reasons


def test_a_switch_over_at_a_time_with_nothing_said_to_stop_goes_to_review() -> None:
    text = ("全校统一身份认证系统升级，计划于12月10日21:00切换门户登录方式。切换后：账号不变，可用手机号登录；"
            "首次登录会提示绑定手机。")
    u = understand(text, published=PUB, title="门户登录认证升级通知")
    assert u.kind != "maintenance", u.reasons
    assert u.needs_review, u.reasons


def test_a_switch_over_with_a_stop_stays_maintenance() -> None:
    # guard: a stop worded next to the start keeps it a window
    text = "12月10日21:00起系统切换，切换期间暂停网上缴费，恢复时间另行通知。"
    u = understand(text, published=PUB, title="缴费系统切换公告")
    assert u.kind == "maintenance", u.reasons
    assert [w.start for w in u.windows] == [_dt("2026-12-10 21:00")]
