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
