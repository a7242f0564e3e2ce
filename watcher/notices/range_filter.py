"""Time ranges that are not disruption windows: service hours, the customer's own period to act,
a clause that says something runs as usual, timetables repeating every day or week. Pure helpers
for :mod:`watcher.notices.windows`."""

from __future__ import annotations

import re
from datetime import datetime, time

from watcher.notices import closure, layout, vocab
from watcher.notices.resolve import Resolver, own_date
from watcher.notices.span import Span
from watcher.notices.timeparse import RawPoint
from watcher.notices.transition import reserve_date, transition_period

_CLAUSE_END_RE = re.compile(r"[,;。!?\n]")
_WILL_BEFORE_RE = re.compile(r"(?:将|拟|定|计划)(?:于|在)\s*$")


def skip_range(r: Resolver, norm: str, p: RawPoint, q: RawPoint) -> bool:
    """Ranges that are not disruption windows: service hours, the customer's own period to act,
    and (counted in ``r.recurring``) timetables repeating every day or week."""
    before = norm[max(0, p.start - 14) : p.start]
    # a label is in the range's own sentence ("……热线24小时为您服务。时间：8月31日9:00至17:00")
    before = before[max(before.rfind(c) for c in "。!?") + 1 :]
    # or labelled after it ("6月13日至6月14日为数据迁移准备期")
    if vocab.OTHER_PERIOD_BEFORE_RE.search(before) or vocab.OTHER_PERIOD_AFTER_RE.match(norm, q.end) or (
        # "客服中心通知：12月5日0:00-6:00系统维护" is a window; "客服热线：9:00-21:00" is not
        vocab.SERVICE_HOURS_RE.search(before) and not vocab.DISRUPTION_RE.search(_clause_outside(norm, p.start, q.end))
        # "客服热线将于6月24日22:00至次日06:00备份数据库": the desk is the subject of work ahead, not a label
        and not _WILL_BEFORE_RE.search(before)
    ):
        r.set_aside.append(f"time range set aside: labelled as the hours or period of something else ({before.strip()})")
        _keep_aside(r, p, q)
        return True
    if _other_clause(norm, p.start, q.end):
        r.set_aside.append("time range set aside: its clause names hours of a desk or a campaign, or a service "
                           "running as usual, and no disruption")
        _keep_aside(r, p, q)
        return True
    if _open_in_range(norm, q.end):
        r.set_aside.append("time range set aside: what it governs is open or free in that period, and its clause "
                           "words no stop")
        _keep_aside(r, p, q)
        return True
    if vocab.SUBMISSION_AFTER_RE.match(norm, q.end) or (vocab.ACTION_BEFORE_RE.search(before) and not (
        # "请商户于12月5日0:00-6:00期间暂停发起退款" is still a window
        vocab.STOP_RE.search(_clause_outside(norm, p.start, q.end))
    )) or (vocab.ACTION_AFTER_RE.match(norm, q.end) and not vocab.STOP_RE.search(norm, *vocab.sentence_bounds(norm, p.start))):
        # what is done right after the range may be the work ("……备份数据库，期间暂停服务"): a stop
        # anywhere in its sentence keeps it a window
        r.set_aside.append("time range set aside: a period for customers to act in")
        return True
    if reserve_date(norm, p):
        r.set_aside.append("time range set aside: a reserve date, used only if the work cannot be done as announced")
        return True
    if transition_period(norm, q):
        r.set_aside.append("time range set aside: a transition period to switch in, and nothing said to stop")
        return True
    lo, hi = vocab.sentence_bounds(norm, p.start)
    if vocab.NORMAL_RE.search(norm, lo, hi) and not vocab.DISRUPTION_RE.search(norm, lo, hi):
        return True
    if not own_date(p) and not own_date(q):
        clause_lo = max(norm.rfind(c, 0, p.start) for c in "。;\n,:")
        s_lo, _ = vocab.sentence_bounds(norm, p.start)
        if vocab.RECURRING_BEFORE_RE.search(norm, max(0, clause_lo + 1, p.start - 24), p.start) or (
            # "每月均会安排一次预防性维护，时间为上午9:00至晚上8:00": the sentence says it repeats, and
            # names no day before the hours
            _EVERY_RE.search(norm, s_lo, p.start) and not _DIGIT_RE.search(norm, s_lo, p.start)
        ) or (
            # "周一至周五9:00-17:00、周六9:00-14:00": a bare weekday listed after a timetable row
            p.week is not None and p.week[0] is None
            and _WEEKDAY_SPAN_RE.search(norm, max(0, max(norm.rfind(c, 0, p.start) for c in "。;\n,") + 1, p.start - 60),
                                        p.start)
        ):
            r.recurring += 1
            return True
    return False

# Right after a range, what the range governs is open, allowed or free of a charge ("即日起至3月31日开放
#迁移通道", "1月21日至2月10日两版均可使用", "……期间仍可正常登录", "26日至31日缴费免收滞纳金"): the period
# of something that runs, not a stop, whatever work another clause names.
_OPEN_AFTER_RE = re.compile(
    r"\s*(?:\([^)\n]{0,12}\))?\s*(?:期间|之间|以内|内)?\s*[^\W\d_]{0,6}?(?:均|仍|仍然|依然|照样|皆|都)?\s*"
    r"(?:(?<![不未停暂])开放|可(?!能|疑)|照常|正常(?!化)|继续|免收|免征|不收|不加收|免除)"
)


def other_hours(r: Resolver, norm: str, listed: int, p: RawPoint, q: RawPoint) -> bool:
    """Whether the hours ``p`` to ``q`` a list of dates (written at ``listed``) shares are those of something
    else: the list's sentence words no disruption, and the hours' clause names hours of a desk or a campaign
    or says what they govern is open ("活动日期：12/6、12/8，每日12:00至14:00消费可享双倍积分"; the clause
    tests of :func:`skip_range`, without its tests of timetables and labels)."""
    lo, hi = vocab.sentence_bounds(norm, listed)
    if vocab.DISRUPTION_RE.search(norm, lo, hi):
        return False
    if _other_clause(norm, p.start, q.end) or _open_in_range(norm, q.end):
        r.set_aside.append("time range set aside: the hours a list of dates shares are those of a desk, a "
                           "campaign or an opening, and no disruption")
        return True
    return False


def _open_in_range(norm: str, end: int) -> bool:
    """Whether the words right after a range ending at ``end`` say that what it governs is open,
    allowed or free in that period, with no stop worded in the rest of its clause."""
    m = _OPEN_AFTER_RE.match(norm, end)
    if m is None:
        return False
    stop = _CLAUSE_END_RE.search(norm, m.end())
    c_hi = stop.start() if stop else len(norm)
    if vocab.STOP_RE.search(norm, end, c_hi) or _REOPEN_RE.search(norm, end, c_hi):
        return False
    # "1月25日0:00至6:00期间仍可查询余额，暂停转账": what stops in that period is in a clause of the
    # same sentence with no time of its own; the range is still that stop's window
    _, hi = vocab.sentence_bounds(norm, end)
    for w in vocab.STOP_RE.finditer(norm, c_hi, hi):
        w_lo = max((x.end() for x in _CLAUSE_END_RE.finditer(norm, c_hi, w.start())), default=c_hi)
        w_end = _CLAUSE_END_RE.search(norm, w.end())
        if not _DIGIT_RE.search(norm, w_lo, w_end.start() if w_end else len(norm)):
            return False
    return True


_DIGIT_RE = re.compile(r"\d")
_EVERY_RE = re.compile(r"每(?:个)?(?:月|周|星期|礼拜|日|天|晚|年|季度?)")


def _keep_aside(r: Resolver, p: RawPoint, q: RawPoint) -> None:
    """Remember the days of a range set aside as the hours of something else, so that a notice
    whose only ranges were set aside is still sent to a person when it words a stop (never silent)."""
    first = r.date_of(p, None) or r.last or r.published
    last = r.date_of(q, first) or first
    r.aside.append(Span(datetime.combine(first, time()), datetime.combine(last, time()), p.start, q.end, "range"))


_WEEKDAY_SPAN_RE = re.compile(
    r"(?:星期|周|礼拜)[一二三四五六日天1-7]\s*(?:至|到|-|~)\s*(?:星期|周|礼拜)?[一二三四五六日天1-7][^。;\n]{0,30}?、\s*$"
)
_CONTRAST_RE = re.compile(r"但是?|却|惟|唯|然而|不过|只是")
_WORD_RE = re.compile(r"[^\W\d_]")


def _clause_outside(norm: str, lo: int, hi: int) -> str:
    """The words of the clause holding the range ``norm[lo:hi]``, without the range; a clause that
    is nothing but the range is read as the clause after it."""
    c_lo = max((m.end() for m in _CLAUSE_END_RE.finditer(norm, max(0, lo - 40), lo)), default=max(0, lo - 40))
    m = _CLAUSE_END_RE.search(norm, hi)
    c_hi = m.start() if m else len(norm)
    outside = norm[c_lo:lo] + norm[hi:c_hi]
    if not _WORD_RE.search(outside) and m is not None:
        m2 = _CLAUSE_END_RE.search(norm, c_hi + 1)
        outside = norm[c_hi + 1 : m2.start() if m2 else len(norm)]
    return outside


# A clause that is only the name of a row before its times ("积分查询、积分兑换：", as a bullet or
# numbered too), or after them ("- 10月4日(周日)上午9时至下午1时：Moodle及选课报名应用程式").
_ROW_NAME_RE = re.compile(
    r"(?:[-*•]\s*|\d{1,2}[.、)]\s*)?(?:[^\W\d_][^,;。:!?\n]{0,30}:\s*"
    r"|(?:\d{1,2}月\d{1,2}日(?:\([^)\n]{1,4}\))?\s*)?:\s*[^\W\d_][^,;。:!?\n]{0,40})"
)


# A campaign's name ("会员答谢活动：……", "新春促销：……"): its period, never a function that stops.
_CAMPAIGN_RE = re.compile(vocab.CAMPAIGN)


_POINTS_BACK_RE = re.compile(r"\s*(?:期间|其间|届时|此期间|该期间|在此期间)")
_REOPEN_RE = re.compile(
    r"(?:视|依|按|待|随)[^,;。!?\n()]{0,8}?(?:进度|情况|进展|完成|结束)[^,;。!?\n()]{0,6}?开放"
    r"|(?:完成|结束|完毕|竣工)(?:后|之后|以后)[^,;。!?\n()]{0,6}?开放|(?:重新|再次|再度|恢复)开放"
)


def _other_clause(norm: str, lo: int, hi: int) -> bool:
    """Whether the clause holding the range ``norm[lo:hi]`` says, with no disruption wording, that
    something keeps running or names hours of a desk or a campaign."""
    # "17:30~21:30(视作业进度开放服务)", "……(完成后重新开放)": an opening after the work is the
    # window's end, not opening hours
    outside = _REOPEN_RE.sub("", _clause_outside(norm, lo, hi))
    if vocab.DISRUPTION_RE.search(outside) or closure.closed_for_work(norm[slice(*vocab.sentence_bounds(norm, lo))]):
        return False
    if (_ROW_NAME_RE.fullmatch(outside) and not vocab.SERVICE_HOURS_RE.search(outside)
            and not _CAMPAIGN_RE.search(outside) and layout.tied_at(norm, lo)):
        # "……暂停服务，安排如下：网银：0:00至3:00；积分查询、积分兑换：0:00至6:00": a row of a list of
        # stops, named by what it stops (兑换 is a function here, not a campaign)
        return False
    if not (vocab.NORMAL_RE.search(outside) or vocab.OTHER_CLAUSE_RE.search(outside)):
        return False
    # "双十一抽奖：11月1日至11月11日参与抽奖，期间暂停积分兑换": the next clause points back at the
    # period with a stop; the period is that stop's window
    m = _CLAUSE_END_RE.search(norm, hi)
    if m is not None and _POINTS_BACK_RE.match(norm, m.end()):
        n = _CLAUSE_END_RE.search(norm, m.end())
        if vocab.STOP_RE.search(norm, m.end(), n.start() if n else len(norm)):
            return False
    # "期间各馆照常开放，但不能外借": what runs as usual is set against what stops in that period
    _, s_hi = vocab.sentence_bounds(norm, lo)
    but = _CONTRAST_RE.search(norm, hi, s_hi)
    return not (but and vocab.DISRUPTION_RE.search(norm, but.end(), s_hi))

