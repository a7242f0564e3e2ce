"""Misleading frames around annotated notices: look-alike wording that must not hide a window nor
make one up.

* :func:`framed_maintenance`: every annotated maintenance notice with a window not yet over, inside frames of the
  look-alike families (a card campaign, a fee change, a feature launched after an upgrade, an
  earlier maintenance said to be done, holiday opening hours, a hedged "如遇系统维护"). The
  annotation is unchanged: the frames add no window, so the windows and the kind stay those
  annotated, and a notice read as another kind must go to review (never silent).
* :func:`framed_negatives`: every annotated look-alike negative inside frames that add wording of
  work or upgrades but no window ("我行持续升级系统", "如遇系统维护，请以页面提示为准", a
  notice-title line and a signature with the publication date). Read as maintenance without review
  is a confident false alarm.

Round 13 adds frames real notices use (:func:`framed_maintenance_more`, :func:`framed_negatives_more`):
a completed-upgrade report with its past times, a reminder of a past window, a holiday service-hours
table (flattened rows), a trading-hours table, a marketing period, a fee change's effective date, an
interface's retirement date, a lottery's sign-up and draw times; and a maintenance notice that says
its window is called off or put off with no new time (the annotation's status becomes cancelled or
postponed: the frame changes that fact on purpose, and only for notices whose windows are all
scheduled).

Dates in the frames are drawn relative to the publication date so that they are the same kind of
date for every notice (a campaign running from publication, a maintenance three days before it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta

from watcher.notices.corpus import GoldNotice


def _md(d: date) -> str:
    return f"{d.month}月{d.day}日"


def _maintenance_frames(pub: date) -> list[tuple[str, str, str]]:
    a, b = pub + timedelta(days=1), pub + timedelta(days=30)
    done = pub - timedelta(days=3)
    return [
        ("campaign", f"【优惠活动】即日起至{_md(b)}，使用本行信用卡消费满100元立减10元，每日限量。", ""),
        ("fee", "", f"另：自{_md(b)}起，个人账户管理费标准调整，详见官网公告。"),
        ("launch", "系统升级完成后，手机银行将上线新版界面，支持更多便捷功能。", ""),
        ("done", "", f"{_md(done)}00:00至06:00的系统维护已顺利完成，感谢您的支持。"),
        ("holiday", f"{_md(a)}至{_md(b)}期间各营业网点照常营业，客服热线24小时为您服务。", ""),
        ("hedge", "", "如遇系统维护，请以页面提示为准。"),
    ]


def _negative_frames(pub: date) -> list[tuple[str, str, str]]:
    return [
        ("upgrade", "为提升服务质量，我行持续优化升级系统。", ""),
        ("hedge", "", "如遇系统维护，请以页面提示为准。"),
        ("later", "", "系统维护期间可能影响部分功能，具体安排另行通知。"),
        ("signed", "重要通知\n", f"\n客户服务中心\n{pub.year}年{pub.month}月{pub.day}日"),
    ]


def _more_frames(pub: date) -> list[tuple[str, str, str]]:
    a, b, done = pub + timedelta(days=2), pub + timedelta(days=40), pub - timedelta(days=4)
    return [
        ("done_upgrade", "", f"我行已于{_md(done)}00:00-06:00完成核心系统升级，相关服务已恢复正常。"),
        ("past_reminder", f"温馨提示：{_md(done)}00:00至06:00的系统维护已结束，各项服务均已恢复。\n", ""),
        ("holiday_table", "", f"\n节假日服务时间\n日期 | 时间 | 服务\n{_md(a)} | 9:00-17:00 | 网点营业\n"
                              f"{_md(b)} | 9:00-12:00 | 网点营业"),
        ("trading_hours", "", "\n交易时间：每个交易日9:30-11:30、13:00-15:00。"),
        ("marketing", f"活动时间：{_md(a)} 00:00至{_md(b)} 23:59，绑卡支付立减5元。\n", ""),
        ("fee_effective", "", f"自{_md(b)}起，跨行转账手续费调整为每笔2元。"),
        ("deprecation", "", f"旧版支付接口将于{_md(b)}下线，请开发者于{_md(b)}前完成迁移。"),
        ("lottery", "", f"年终抽奖报名时间：{_md(a)}9:00至{_md(b)}17:00，开奖时间：{_md(b)}20:00。"),
    ]


_STATUS_FRAMES = (
    ("cancelled", "因故，本次维护取消，给您带来的不便敬请谅解。"),
    ("postponed", "接上级通知，本次维护推迟，具体时间另行通知。"),
)


def framed_maintenance_more(notices: list[GoldNotice]) -> Iterator[GoldNotice]:
    """Every maintenance notice with a window not yet over in each round-13 frame, and, when all its
    windows are scheduled, with a call-off or a postponement after it (statuses changed to match)."""
    for n in notices:
        if n.kind == "maintenance" and ahead(n):
            for name, head, tail in _more_frames(n.published):
                yield _frame(n, name, head, tail)
            if all(w.status == "scheduled" for w in n.windows):
                for status, tail in _STATUS_FRAMES:
                    moved = tuple(replace(w, status=status) for w in n.windows)
                    yield replace(_frame(n, status, "", tail), windows=moved)


def framed_negatives_more(notices: list[GoldNotice]) -> Iterator[GoldNotice]:
    """Every look-alike negative in each round-13 frame (none of which adds a window)."""
    for n in notices:
        if n.category == "negative":
            for name, head, tail in _more_frames(n.published):
                yield _frame(n, name, head, tail)


def _frame(notice: GoldNotice, name: str, head: str, tail: str) -> GoldNotice:
    return replace(notice, id=f"{notice.id}~{name}", text=f"{head}{notice.text}{tail}")


def ahead(notice: GoldNotice) -> bool:
    """Whether an annotated window ends after the day of publication (or has no end): the notices
    the never-silent contract covers (issue 16: ranges not already past)."""
    return any(w.end is None or w.end.date() > notice.published for w in notice.windows)


def framed_maintenance(notices: list[GoldNotice]) -> Iterator[GoldNotice]:
    """Every maintenance notice with windows, in each maintenance look-alike frame."""
    for n in notices:
        if n.kind == "maintenance" and ahead(n):
            for name, head, tail in _maintenance_frames(n.published):
                yield _frame(n, name, head, tail)


def framed_negatives(notices: list[GoldNotice]) -> Iterator[GoldNotice]:
    """Every look-alike negative, in each frame of work wording without a window."""
    for n in notices:
        if n.category == "negative":
            for name, head, tail in _negative_frames(n.published):
                yield _frame(n, name, head, tail)


def main() -> None:
    """Print the frame scores on the five corpora (``python -m tests.notices.lookalike_frames``)."""
    from pathlib import Path

    from watcher.notices.corpus import parse_corpus
    from watcher.notices.evaluate import predict, score

    corpus = Path(__file__).parent / "corpus"
    sets = {name: parse_corpus((corpus / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())
            for name in ("dev", "blind", "blind2", "blind3", "blind4a")}
    for label, names in (("dev+blind+blind2", ("dev", "blind", "blind2")), ("blind3", ("blind3",)),
                         ("blind4a", ("blind4a",))):
        golds = [g for n in names for g in sets[n]]
        for kind, maint, neg in (("round 10", framed_maintenance, framed_negatives),
                                 ("round 13", framed_maintenance_more, framed_negatives_more)):
            framed = list(maint(golds))
            m = score(framed).total.metrics()
            negs = list(neg(golds))
            alarms = sum(1 for n in negs if (p := predict(n)).kind == "maintenance" and not p.needs_review)
            print(f"{label:<17}{kind:<9} maintenance {m['notices']:>5}: {100 * m['maintenance_or_not']:.1f} / "
                  f"{100 * m['window_recall']:.1f} / {100 * m['window_precision']:.1f} %, silent {m['silent_misses']}; "
                  f"look-alikes {len(negs)}: confident alarms {alarms}")


if __name__ == "__main__":
    main()
