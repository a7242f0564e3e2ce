"""Round 24 (issue 16 item 1, never silent): maintenance wording and a date still ahead, with no window
the grammar could read, go to a person. docs/notices.md, "Round 24"."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from watcher.notices import understand

PUB = date(2026, 12, 10)
REASON = "maintenance wording and a date not yet past, but no window could be read: check the notice"

# maintenance wording and a stop in one sentence, the date in another with no word of a stop next to it
WORDING = ("为提升系统性能，我们将对平台进行维护，维护期间网上银行暂停服务。", "本行核心系统将进行升级维护，期间部分功能无法使用。",
           "我司计划对支付系统进行系统升级，升级时交易可能中断。", "網上銀行系統將進行維護作業，屆時暫停提供服務。")
DATE_LINES = ("本次安排在{d}，具体时段另行公布。", "安排日期：{d}。", "请于{d}前留意后续公告。", "相关工作预计{d}开展。")
AHEAD = ("2026年12月20日", "12月20日", "2027年1月3日", "2026-12-20")
PAST = ("2026年11月20日", "11月20日", "2025年12月20日")


def _notice(wording: str, line: str, day: str) -> str:
    return f"各位用户：\n{wording}\n{line.format(d=day)}\n感谢您的理解与支持。"


def _cases(days: tuple[str, ...]) -> list[str]:
    return [_notice(w, ln, d) for w, ln, d in itertools.product(WORDING, DATE_LINES, days)]


def test_maintenance_wording_and_a_date_ahead_with_no_window_read_go_to_review() -> None:
    silent = []
    for text in _cases(AHEAD):
        u = understand(text, published=PUB)
        if u.kind != "maintenance" and not u.needs_review:
            silent.append(text)
    assert silent == [], f"{len(silent)} of {len(_cases(AHEAD))} silent, e.g. {silent[:2]}"


def test_the_reason_says_what_the_person_should_check() -> None:
    u = understand(_notice(WORDING[0], DATE_LINES[0], AHEAD[0]), published=PUB)
    assert u.kind == "other" and u.needs_review and REASON in u.reasons, u.reasons


@pytest.mark.parametrize("text", _cases(PAST))
def test_a_date_already_past_sends_nothing_to_review(text: str) -> None:
    u = understand(text, published=PUB)
    assert REASON not in u.reasons, u.reasons


def test_the_publication_line_alone_is_no_date_ahead() -> None:
    # the day of publication without an hour is the notice's own date line, not a window to look for
    for line in ("发布日期：{d}。", "{d}"):
        u = understand(_notice(WORDING[0], line, "2026年12月10日"), published=PUB)
        assert REASON not in u.reasons, u.reasons
    u = understand(_notice(WORDING[0], "本次安排在{d}，具体时段另行公布。", "2026年12月10日22时"), published=PUB)
    assert u.needs_review or u.kind == "maintenance", u.reasons


def test_a_date_ahead_without_maintenance_wording_is_left_as_it_was() -> None:
    u = understand("各位客户：\n本中心将于2026年12月20日举办客户答谢会，欢迎参加。", published=PUB)
    assert REASON not in u.reasons and not u.needs_review, u.reasons


@pytest.mark.parametrize("text", [
    "各位用户：\n为提升系统性能，我们将对平台进行升级，升级期间业务正常办理，不受影响。\n安排日期：2026年12月20日。",
    "会员等级体系升级：\n自2026年12月20日起，消费满1000元即可升级为金卡会员。",
    "各位用户：\n收银台新功能升级上线，支持更多支付方式。\n上线日期：2026年12月20日。",
])
def test_upgrades_that_stop_nothing_are_left_as_they_were(text: str) -> None:
    u = understand(text, published=PUB)
    assert REASON not in u.reasons, u.reasons
