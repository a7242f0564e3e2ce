"""Rules added in round 7 after studying the misses of the development set and half A of the former
blind set (odd ids): each test is a family of wording, written for the test (not a corpus notice);
the guards check what must not change."""

from __future__ import annotations

from datetime import date, datetime

from huabei_watch.clock import SHANGHAI
from watcher.notices import understand

PUB = date(2026, 12, 1)


def _dt(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


def _ranges(u: object) -> list[tuple[datetime, datetime | None]]:
    return [(w.start, w.end) for w in u.windows]  # type: ignore[attr-defined]


def test_an_hour_followed_by_qijian_is_still_an_hour() -> None:
    for text, start, end in (
        ("我司将于12月5日0时至6时期间进行系统维护，届时支付服务暂停。", "2026-12-05 00:00", "2026-12-05 06:00"),
        ("12月5日中午12时至12月6日中午12时期间，部分缴费渠道暂停运作。", "2026-12-05 12:00", "2026-12-06 12:00"),
        ("12月5日22點至23點期間，網路銀行暫停服務。", "2026-12-05 22:00", "2026-12-05 23:00"),
    ):
        u = understand(text, published=PUB)
        assert u.kind == "maintenance", (text, u.kind)
        assert _ranges(u) == [(_dt(start), _dt(end))], (text, u.windows, u.reasons)
        assert not u.needs_review, (text, u.reasons)


def test_the_second_half_of_the_night_is_after_midnight() -> None:
    for text, start, end in (
        ("定于12月5日晚上11点至下半夜3点进行系统割接，期间暂停充值。", "2026-12-05 23:00", "2026-12-06 03:00"),
        ("今晚10点至后半夜2点做容灾演练，暂停刷卡消费。", "2026-12-01 22:00", "2026-12-02 02:00"),
    ):
        u = understand(text, published=PUB)
        assert _ranges(u) == [(_dt(start), _dt(end))], (text, u.windows, u.reasons)
        assert not any("check the day" in r for r in u.reasons), u.reasons
