"""Status of a window: cancelled, postponed, or scheduled at a new time, from the words of its own
sentence and of the notice. Pure helpers for :mod:`watcher.notices.understand`."""

from __future__ import annotations

import re

from watcher.notices.span import Span
from watcher.notices.vocab import DISRUPTION_RE, ORIGINAL_RE, sentence_bounds

CLAUSE_END = re.compile(r"[,，、]")
CANCEL_RE = re.compile(
    r"取消[^。;\n,，]{0,40}?(?:维护|升级|停机|割接|迁移|计划|安排|演练)"
    r"|(?:维护|升级|停机|割接|迁移|计划|安排|演练)(?:工作|计划|安排)?(?:已|将|现)?(?:被)?取消|取消进行|不再进行|暂不进行|不再需要|无需进行"
)
# A row of a timetable marked called off right after its times ("……01:00 GMT(*已取消*)", "(取消)",
# "【中止】": a bracketed mark, as translated timetables write it).
_CANCELLED_AFTER_RE = re.compile(
    r"[^\S\n]*(?:[A-Z]{3}(?:[+-]\d{1,2})?[^\S\n]*)?(?:[(*][^\S\n*]*\*?(?:已经?|现已)?取消|[(\[【]\s*(?:已经?)?(?:取消|中止)\s*[)\]】])"
)
DATE_WORD_RE = re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{1,2}\s*[日号]")
POSTPONE_RE = re.compile(r"延期|推迟|顺延|延后|改期|暂缓|调整至|调整为|改至|改为|变更为|变更至")
# What a postponement word moves when it is a customer's deadline, not the work.
_DEADLINE_AFTER_RE = re.compile(r"\s*(?:办理|缴费|申报|还款|扣款|交费|缴纳)?\s*(?:时限|期限|截止|到期|期)")
# After a call-off: the work moved to another time rather than dropped.
_MOVED_TO_RE = re.compile(r"改在|改于|改为|改至|改到|改期至|改期到|调整至|调整到|调整为")
_IF_RE = re.compile(r"如|若|可能|或将|视情况|如遇|如有|一旦|必要时|倘|相应|将视|遇(?!到)|逢雨")
_LATER_RE = re.compile(r"另行通知|另行公告|另行告知|待定")


def original_work(text: str) -> bool:
    """Whether ``text`` tells of an original plan that is work or a stop ("原定12月5日的系统升级推迟"),
    not of something else moved ("原定5月1日抄表的用户顺延至5月2日")."""
    for m in ORIGINAL_RE.finditer(text):
        _, hi = sentence_bounds(text, m.end())
        moved = POSTPONE_RE.search(text, m.end(), hi)
        if moved is None or DISRUPTION_RE.search(text, m.end(), moved.start()):
            return True
    return False


def put_off(text: str) -> bool:
    """Whether ``text`` says something is put off, not only that it may be ("护照递送可能推迟",
    "如遇特殊情况，维护时间可能顺延" are caveats)."""
    for m in POSTPONE_RE.finditer(text):
        lo = max(text.rfind(c, 0, m.start()) for c in ",;。!?\n") + 1
        if not _IF_RE.search(text, lo, m.start()):
            return True
    return False


def status_of(norm: str, s: Span, lo: int, hi: int) -> str | None:
    """Status from the window's own sentence: cancelled, postponed, scheduled (new time) or None."""
    sent = norm[lo:hi]
    called_off = CANCEL_RE.search(sent)
    moved = _MOVED_TO_RE.search(sent, called_off.end()) if called_off else None
    if moved is not None and s.pos - lo >= moved.start():
        # "原定于10月21日的维护已取消，改在10月28日维护": the time after 改在 is the new one
        return "scheduled"
    if called_off or _CANCELLED_AFTER_RE.match(norm, s.end_pos):
        return "cancelled"
    rel = s.pos - lo
    for m in POSTPONE_RE.finditer(sent):
        # "如遇特殊情况，维护时间可能顺延" / "如未能按时完成，恢复时间将相应顺延": a caveat, not a
        # postponement: a condition in the clause holding the word or the clause before it.
        clause_lo = 0
        for c in CLAUSE_END.finditer(sent, 0, m.start()):
            clause_lo = c.end()
        prev_lo = 0
        for c in CLAUSE_END.finditer(sent, 0, max(0, clause_lo - 1)):
            prev_lo = c.end()
        if _IF_RE.search(sent, prev_lo if clause_lo else clause_lo, m.start()):
            continue
        if _DEADLINE_AFTER_RE.match(sent, m.end()):
            # "通过线下受理、延后办理时限等方式保障服务": a customer's deadline moved, not the work
            continue
        return "postponed" if rel < m.start() else "scheduled"
    if ORIGINAL_RE.search(sent, 0, rel) and _LATER_RE.search(sent):
        return "postponed"
    return None


_MD_RE = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_WORK_BEFORE_RE = re.compile(r"(?:维护|升级|停机|割接|迁移|演练|切换|作业)(?:工作|计划|安排|时间)?\s*(?:将|须|需|需要|拟)?\s*$")


def cancelled_days(norm: str) -> set[tuple[int, int]]:
    """Month-days that a dated call-off names ("原定于12月5日的维护已取消"): the windows starting on
    them are cancelled (a call-off followed by a new time, "……已取消，改在12月12日", names the old day only)."""
    days: set[tuple[int, int]] = set()
    for m in CANCEL_RE.finditer(norm):
        lo, hi = sentence_bounds(norm, m.start())
        if _IF_RE.search(norm, lo, m.start()):
            continue
        moved = _MOVED_TO_RE.search(norm, m.end(), hi)
        for d in _MD_RE.finditer(norm, lo, moved.start() if moved else hi):
            days.add((int(d.group(1)), int(d.group(2))))
    return days


def postponed_for_now(norm: str) -> bool:
    """Whether the notice says its work is put off with no new time yet ("本次维护推迟，具体时间另行通知"):
    a postponement word right after the work, not a condition, with the new time left to a later notice."""
    for m in POSTPONE_RE.finditer(norm):
        lo, hi = sentence_bounds(norm, m.start())
        clause_lo = max((c.end() for c in CLAUSE_END.finditer(norm, lo, m.start())), default=lo)
        if (_WORK_BEFORE_RE.search(norm[clause_lo:m.start()]) and not _IF_RE.search(norm, clause_lo, m.start())
                and _LATER_RE.search(norm, m.end(), hi + 20) and not DATE_WORD_RE.search(norm, m.end(), hi)):
            return True
    return False


_WHOLE_RE = re.compile(r"本次|此次|该次|上述|以上|全部|所有")


def whole_notice(norm: str) -> str | None:
    """"cancelled" or "postponed" when a sentence with no date of its own calls off or puts off the
    notice's work as a whole ("因故，本次维护取消", "上述升级推迟，具体时间另行通知"), so every window
    of a notice with several; None otherwise."""
    for m in CANCEL_RE.finditer(norm):
        lo, hi = sentence_bounds(norm, m.start())
        if (_WHOLE_RE.search(norm, lo, m.end()) and not DATE_WORD_RE.search(norm, lo, hi)
                and not _IF_RE.search(norm, lo, m.start()) and not _MOVED_TO_RE.search(norm, m.end(), hi)):
            return "cancelled"
    for m in POSTPONE_RE.finditer(norm):
        lo, hi = sentence_bounds(norm, m.start())
        if _WHOLE_RE.search(norm, lo, m.start()) and postponed_for_now(norm[lo:hi + 1]):
            return "postponed"
    return None
