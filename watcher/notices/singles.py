"""A lone time point: the start of an open window, a start plus a duration, a whole day, or a
resumption that closes what is open. Pure helper for :mod:`watcher.notices.windows`."""

from __future__ import annotations

import re
from datetime import date, timedelta

from watcher.notices import advice, closure, ends, vocab
from watcher.notices.lasting import for_good, retired, terms_from
from watcher.notices.resolve import Resolver, at, own_date, period_of
from watcher.notices.span import Span
from watcher.notices.timeparse import RawPoint, find_duration

# A numbered list item's head right before a point ("2. ", "二、", "(3)").
_ITEM_HEAD_RE = re.compile(r"(?:^|[\n。;:])[^\S\n]*(?:\d{1,2}\s*[.、)]|[一二三四五六七八九十]{1,3}、|\(\d{1,2}\))[^\S\n]*$")
# "2020年1月1日前已经暂停的用户": a day that bounds something else, not the day itself.
_NOT_THAT_DAY_RE = re.compile(r"[^\S\n]*(?:前|以前|之前|后|以后|之后|止|为止|以来|至今|期间)")


def _item_day(norm: str, p: RawPoint) -> bool:
    """Whether the date ``p`` (no time) heads a list item whose sentence has no hours, starts
    nothing from it (起, 开始) and words a stop: the item is that whole day."""
    if (not _ITEM_HEAD_RE.search(norm, max(0, p.start - 8), p.start) or vocab.OPEN_AFTER_RE.match(norm, p.end)
            or _NOT_THAT_DAY_RE.match(norm, p.end)):
        return False
    hi = vocab.sentence_bounds(norm, p.end)[1]
    return ends.HOURS_RE.search(norm, p.end, hi) is None and vocab.STOP_RE.search(norm, p.end, hi) is not None

# Two times joined as items of a list ("分别在12月5日17:00、12月9日17:00前完成"): never a start and
# its end.
_LIST_OF_TWO_RE = re.compile(r"\s*(?:、|和|及|与|以及)\s*")
# a request to the reader right before the time ("请开发者于", "请您在", "请各单位"): what follows is their task
_ASKED_RE = re.compile(r"请[^,。;\n]{0,10}?(?:于|在)?\s*$")
_WHOLE_DAY_AFTER_RE = re.compile(r"[^\S\n]*(?:的)?(?:全天|全日|一整天|整天|整日)")


# A line that is only a date and an hour ("2026年1月25日 | 晚上11点", "1月25日(周日) 23:00"), and a
# heading line that names work with no digits ("服务器维护", "【停机更新】").
_DATE_HOUR_LINE_RE = re.compile(r"[\d\s年月日号时点分:|/.\-()\[\]周星期一二三四五六天凌晨早上中下午晚间夜]*")
_HEADING_RE = re.compile(r"[^\d\n]{2,16}")


def _under_work_heading(norm: str, p: RawPoint) -> bool:
    """Whether the time ``p`` is on a line of nothing but a date and an hour, right under a heading
    line that names work ("服务器维护\n2026年1月25日 | 晚上11点"): the work's start, as a label would say."""
    lo = norm.rfind("\n", 0, p.start) + 1
    hi = norm.find("\n", p.start)
    hi = len(norm) if hi < 0 else hi
    if lo == 0 or not _DATE_HOUR_LINE_RE.fullmatch(norm, lo, hi):
        return False
    head_lo = norm.rfind("\n", 0, lo - 1) + 1
    head = norm[head_lo : lo - 1].strip()
    return _HEADING_RE.fullmatch(head) is not None and vocab.DISRUPTION_RE.search(head) is not None


_ZONE_TAG_RE = re.compile(r"\s*\((?:UTC|GMT)\s*(?:[+-]\s*\d{1,2}(?::?\d{2})?)?\)")
_CHANGE = r"(?:提前|推迟|延后|延迟|调整|更改|变更|改)(?:为|至|到|成)"
_CHANGED_FROM_RE = re.compile(r"由\s*$")
_CHANGED_TO_RE = re.compile(r"\s*" + _CHANGE)
_CHANGED_TO_BEFORE_RE = re.compile(r"由\s*\d{1,2}:\d{2}\s*" + _CHANGE + r"\s*$")


def take_single(
    r: Resolver, norm: str, p: RawPoint, nxt: int, spans: list[Span], *, allow_open: bool, allow_recovery: bool
) -> None:
    if not own_date(p):
        # "逢星期一03:00开始，持续3小时" / "每日6:00恢复": a lone time that repeats is a timetable
        clause_lo = max(norm.rfind(c, 0, p.start) for c in "。;\n,:")
        if vocab.RECURRING_BEFORE_RE.search(norm, max(0, clause_lo + 1, p.start - 24), p.start):
            r.recurring += 1
            return
    d = r.date_of(p, None) if p.has_date else None
    # a zone tag right after the time is the time's ("08:40:00(UTC)恢复全部交易"): the words after it
    # say what happens at that time
    tag = _ZONE_TAG_RE.match(norm, p.end)
    tail = tag.end() if tag is not None else p.end
    resume = vocab.RESUME_AFTER_RE.match(norm, tail, min(max(nxt, tail), tail + 30)) if allow_recovery else None
    if resume is not None and resume.group("done") and _ASKED_RE.search(norm, max(0, p.start - 16), p.start):
        resume = None  # "请开发者于11月21日前完成迁移": the customer's deadline, not a resumption
    if resume is not None and resume.group("by") and not resume.group("done") and not any(
        s.end is None and s.pos < p.start and ends.HOURS_RE.search(norm, s.pos, s.end_pos) for s in spans
    ):
        # "今天上午起……正在抢修，预计今晚20:00前恢复": "by then" ends only a start written with its hour
        resume = None
    weak = resume is not None and (resume.group("weak") or resume.group("kick")) is not None
    kick = resume is not None and resume.group("kick") is not None  # 启动: closes, or else starts
    labelled = False
    if allow_recovery and resume is None:
        resume = vocab.RESUME_BEFORE_RE.search(norm, max(0, p.start - 12), p.start)
        labelled = resume is not None
        if resume is None and ends.has_open(spans, p.start) and not ends.MOVED_TO_RE.search(norm, max(0, p.start - 8), p.start) \
                and not vocab.ALLOWED_UNTIL_RE.search(norm, max(0, p.start - 10), p.start):
            resume = vocab.END_BEFORE_RE.search(norm, max(0, p.start - 8), p.start)
    if (_CHANGED_FROM_RE.search(norm, max(0, p.start - 4), p.start) and _CHANGED_TO_RE.match(norm, p.end)) or (
        _CHANGED_TO_BEFORE_RE.search(norm, max(0, p.start - 30), p.start)
    ):
        # "结算时间由18:00提前至16:30", "营业时间由9:00调整为8:30": a time of a schedule changed for
        # good, neither a start nor an end of a stop
        r.set_aside.append("time set aside: a schedule's time changed from one hour to another")
        return
    if resume is None:
        before = norm[max(0, p.start - 14) : p.start]
        before = before[max(before.rfind(c) for c in "。!?\n") + 1 :]
        if vocab.OTHER_PERIOD_BEFORE_RE.search(before):
            # "生效时间：8月15日10点开始灰度": the time something takes effect (or a campaign starts),
            # labelled as such, is no start of a stop (as a range so labelled is no window)
            r.set_aside.append(f"time set aside: labelled as the time of something else ({before.strip()})")
            return
    stop_m = vocab.STOP_AFTER_RE.match(norm, tail, min(max(nxt, tail), tail + 16))
    # "复电时间:17:00,停电期间电梯停止运转": the label says what the time is; the next clause's stop
    # is not this time's
    stop = stop_m is not None and not (labelled and "," in stop_m.group())
    if not stop and resume is None and p.has_time and _under_work_heading(norm, p):
        stop = True
    if not p.has_time:
        if d is None:
            return
        if not advice.told_by(norm, p):  # "须在2月26日前提交报告": the later hours are not that day's
            r.last = d
        same = vocab.SAME_HOURS_AFTER_RE.match(norm, p.end)
        if same is not None and r.last_range is not None:
            # "12月5日0:00-2:00暂停网银；12月6日同一时段暂停手机银行": the hours of the range before.
            a, b = r.last_range
            start = at(d, a.hour, a.minute)
            spans.append(Span(start, start + (b - a), p.start, same.end(), "range", own_date(p)))
            return
        if ends.MOVED_TO_RE.search(norm, max(0, p.start - 8), p.start) and ends.moved_day(r, norm, p, d, spans):
            return
        if resume is not None and not stop and p.period is not None:
            # "预计于12月6日上午恢复": a part of a day, no hour; no end is guessed (review)
            r.flag(f"a resumption given only as {p.period}, no time")
        elif resume is not None and not stop:
            r.resumptions.append(at(d, 0, 0))
            ends.close_open(r, spans, p, d, p.start)
        elif allow_open and stop_m is not None and stop_m.group("onward") is None and (
            _one_day(norm, p.end) or _lone_day(norm, p, stop_m.group())
        ):
            # "本周六停止提供……当天暂停运作", "将于12月6日暂停服务": that whole day.
            spans.append(Span(at(d, 0, 0), at(d, 24, 0), p.start, p.end, "days", own_date(p)))
            r.note("whole-day window (no times written)")
        elif allow_open and _WHOLE_DAY_AFTER_RE.match(norm, p.end) and vocab.DISRUPTION_RE.search(
            norm, *vocab.sentence_bounds(norm, p.end)
        ):
            # "12月5日(六)全日系统维护，线上缴费暂停": the whole day written out.
            spans.append(Span(at(d, 0, 0), at(d, 24, 0), p.start, p.end, "days", own_date(p)))
            r.note("whole-day window (no times written)")
        elif allow_open and (n_days := _days_from(norm, p)) is not None:
            # "自12月4日起暂停服务3天", "自2月4日起闭馆12天进行岁修": a day the stop starts on and a
            # count of whole days
            spans.append(Span(at(d, 0, 0), at(d, 0, 0) + timedelta(days=n_days), p.start, p.end, "days", own_date(p)))
            r.note("whole-day window (a start day and a count of days)")
        elif allow_open and _item_day(norm, p):
            # "2. 12月5日（星期一），加装计量设备，6号楼停电": a list item headed by a day with no
            # hours in its sentence and a stop in it is that whole day.
            spans.append(Span(at(d, 0, 0), at(d, 24, 0), p.start, p.end, "days", own_date(p)))
            r.note("whole-day window (no times written)")
        elif allow_open and not advice.act_by(norm, p) and (stop or (
            (vocab.OPEN_AFTER_RE.match(norm, p.end) or vocab.ORIGINAL_BEFORE_RE.search(norm, max(0, p.start - 6), p.start))
            # the stop after the day: "暂停期间……的费用，自3月15日起由医保机构报销" points back at a
            # period and starts a service, not a stop
            and vocab.disruption_near(norm, p.end, own=True)
        )):
            if retired(norm, p.start):
                # "7月1日起，原薪酬申报系统停止使用，请在新的系统重新填报": retired for good, its
                # successor already there; a later launch of something else does not end a window
                r.set_aside.append("open start set aside: an old version or system retired for good, not a window")
                return
            spans.append(Span(at(d, 0, 0), None, p.start, p.end, "dayopen", own_date(p)))
        return
    if ends.extension_before(norm, p.start) and ends.extend_last(r, spans, p, d):
        return
    if resume is not None and not stop:
        day = d or r.last or r.published
        r.resumptions.append(r.moment(p, day, end=True))
        if not kick or ends.has_open(spans, p.start):
            # "20:00起暂停开户，22:00起暂停交易；6:00恢复开户，8:00恢复交易": one resumption per
            # stop, in order, when more follow and this one does not say everything is back.
            one = (not kick and sum(1 for s in spans if s.end is None) > 1
                   and not vocab.UNIVERSAL_RE.search(norm, resume.start(), min(len(norm), resume.end() + 6))
                   and vocab.RESUME_AGAIN_RE.search(norm, resume.end(), vocab.sentence_bounds(norm, p.end)[1]) is not None)
            closed = ends.close_open(r, spans, p, d or day, p.start, rolls=d is None, only_first=one)
            if not closed and not kick:
                # 重启服务 / 开机 are weak resumptions, but still say when a closed range's service is back
                closed = ends.restart_after(r, norm, spans, p, d)
            if not closed and r.pending is not None and not weak and not _LIST_OF_TWO_RE.fullmatch(
                norm, r.pending[0].end, p.start
            ):
                # "约3:15 ... 出现异常，约3:40恢复": the last lone time before a recovery is its start.
                first, first_day = r.pending
                start = r.moment(first, first_day)
                end = ends.end_at(r, p, d or first_day, period_of(first), start)
                if end < start and d is None:
                    end += timedelta(days=1)
                if end >= start:
                    spans.append(Span(start, end, first.start, p.end, "range", own_date(first) or own_date(p),
                                      period_of(first)))
            r.pending = None
            if d is not None:
                r.last = d
            return
    seconds = find_duration(norm, p.end, min(_reach(norm, p.end, 40), nxt - p.end + 12))
    if seconds is None:
        # "凌晨2:00……，凌晨4:30……，每次暂停15~30分钟": one duration shared by the times before it.
        stop_m = vocab.SENTENCE_END_RE.search(norm, p.end)
        seconds = find_duration(norm, p.end, min(80, (stop_m.start() if stop_m else len(norm)) - p.end),
                                shared_only=True)
    if seconds is None and (kick or vocab.OPEN_AFTER_RE.match(norm, p.end)):
        # "第一阶段凌晨2时启动；第二阶段凌晨4时30分启动。切转期间各暂停15至30分钟": a duration said
        # to hold for each start, written after the starts that share it.
        seconds = find_duration(norm, p.end, 160, shared_only=True)
    deadline = vocab.DEADLINE_AFTER_RE.match(norm, p.end) is not None  # "10月10日23:59前处理完"
    deadline = deadline or vocab.DEADLINE_BEFORE_RE.search(norm, max(0, p.start - 8), p.start) is not None
    deadline = deadline or terms_from(norm, p.end) or advice.act_after(norm, p) or advice.act_by(norm, p)
    # "分别在12月5日17:00、12月9日17:00前完成": the first item of a list of times shares the
    # predicate written after the last; it starts nothing by itself
    listed = not stop and nxt < len(norm) and _LIST_OF_TWO_RE.fullmatch(norm, p.end, nxt) is not None
    open_start = allow_open and not deadline and not listed and (stop or (
        (kick
         or bool(vocab.OPEN_AFTER_RE.match(norm, p.end))
         or bool(vocab.OPEN_BEFORE_RE.search(norm, max(0, p.start - 4), p.start))
         or bool(vocab.START_LABEL_RE.search(norm, max(0, p.start - 10), p.start)))
        and vocab.disruption_near(norm, p.end)
    ))
    if seconds is None and open_start:
        # "预计停机2小时，自12月1日凌晨1点开始"
        line_start = max(0, p.start - 30, norm.rfind("\n", 0, p.start) + 1)
        seconds = find_duration(norm, line_start, p.start - line_start)
        if seconds is None:
            # "凌晨2:00启动切换。……切转期间预计暂停15分钟到30分钟": a duration in the next sentence.
            _, hi = vocab.sentence_bounds(norm, p.end)
            _, hi2 = vocab.sentence_bounds(norm, min(len(norm), hi + 1))
            seconds = find_duration(norm, p.end, min(nxt, hi2, p.end + 160) - p.end)
        if seconds is None:
            # "……今日14:00左右进入维护状态。……（no time）……预计维护时间为1小时。": the length of the
            # work named further on, with no other time written before it
            seconds = next((sec for far in _WORK_LENGTH_RE.finditer(norm, p.end, min(nxt, p.end + 300))
                            if (sec := find_duration(norm, far.start(), far.end() - far.start() + 12)) is not None), None)
    if seconds is None and not open_start:
        if d is not None:
            r.last = d
        r.pending = (p, d or r.last or r.published)
        return
    day = d or r.last or _assumed_day(r)
    start = r.moment(p, day)
    r.last = day
    if seconds is not None:
        spans.append(Span(start, start + timedelta(seconds=seconds), p.start, p.end, "duration", own_date(p)))
    else:
        spans.append(Span(start, None, p.start, p.end, "open", own_date(p), period_of(p)))


# A sentence that names how long the work lasts ("预计维护时间为1小时", "本次停机时长约30分钟").
_WORK_LENGTH_RE = re.compile(r"(?:维护|升级|停机|迁移|割接|切换)(?:时间|时长|过程)?\s*(?:预计|约|大约)?\s*(?:为|需|需要|持续)")


def _assumed_day(r: Resolver) -> date:
    r.flag("no date given for a window; assumed the publication date")
    return r.published


# After a day with no time: it starts there (起/开始), then in the same clause a stop and a count
# of days ("起暂停服务3天", "起闭馆12天", "起停止服务2天", "起闭馆维修，为期12天", "……，共7日").
_DAYS_FROM_RE = re.compile(
    r"[^\S\n]*(?:\([^()\d]{0,6}\))?[^\S\n]*(?:起|开始)[^\S\n]*,?[^\S\n]*(?:将|会)?[^\S\n]*"
    r"(?:[^\d,。;!?\n]{0,12}?)(?:暂停|停止|停机|停运|停用|停服|中断|关闭|闭馆|闭园|休馆|停业|封闭)"
    r"[^\d。;!?\n]{0,8}?(?:,?[^\S\n]*(?:为期|共)[^\S\n]*(?P<n2>\d{1,2})[^\S\n]*[天日]|(?P<n>\d{1,2})[^\S\n]*天)(?![\d内后前])"
)


def _days_from(norm: str, p: RawPoint) -> int | None:
    """The count of days of a stop that starts on the day ``p`` ("自12月4日起暂停服务3天"), or None."""
    m = _DAYS_FROM_RE.match(norm, p.end)
    if m is None:
        return None
    # a bare "N日" is a day of the month ("预计10日恢复"); only 为期/共 make it a count
    n = int(m.group("n") or m.group("n2"))
    return n if 1 <= n <= 31 else None


# A pause right after a date (not 停止/停用/下线, which may be for good).
_PAUSE_RE = re.compile(r"暂停|停机|停运|停服|中断|临时|暂时")
# Before a date: the day something starts from ("自12月6日暂停").
_FROM_BEFORE_RE = re.compile(r"(?:自|从|由)[^\S\n]*$")
# In the rest of the sentence: the stop goes on from that day or ends at another time.
_NOT_ONE_DAY_RE = re.compile(r"起|开始|至|到|直至|直到|止|以后|之后|另行通知|恢复|期间")


def _lone_day(norm: str, p: RawPoint, stop: str) -> bool:
    """Whether the date ``p`` (no time) is followed by a pause ("将于12月6日暂停服务", "2026年12月3日系统停机维护")
    whose sentence names work, has no hours, starts nothing from the day and names no end: a stop on
    that day is that whole day (FORMAT.md: a whole day ends at the next day's 00:00), unless it is for
    good ("将于1月1日暂停发行旧版卡" names no work: not a window)."""
    if not _PAUSE_RE.search(stop) or _FROM_BEFORE_RE.search(norm, max(0, p.start - 3), p.start):
        return False
    lo, hi = vocab.sentence_bounds(norm, p.end)
    return (closure.work_named(norm[lo:hi]) and ends.HOURS_RE.search(norm, p.end, hi) is None and _NOT_ONE_DAY_RE.search(norm, p.end, hi) is None
            and not for_good(norm, p.end) and not retired(norm, p.end))


def _one_day(norm: str, pos: int) -> bool:
    """Whether the sentence at ``pos`` or the next one says the stop lasts that day only."""
    lo, hi = vocab.sentence_bounds(norm, pos)
    nxt = hi + 1
    while nxt < len(norm) and norm[nxt] in " \n":  # "。\n": the next sentence, not the empty gap
        nxt += 1
    _, hi2 = vocab.sentence_bounds(norm, min(len(norm), nxt))
    return vocab.WHOLE_DAY_RE.search(norm, lo, hi2) is not None


_LATIN_RE = re.compile(r"[A-Za-z]")
_LATIN_RUN_RE = re.compile(r"[A-Za-z][A-Za-z .&/-]*[A-Za-z]")


def _reach(norm: str, start: int, chars: int) -> int:
    """How far after ``start`` ``chars`` characters go when a run of Latin words (a product name:
    "将更新 Cloud Internet Services 后端系统") counts as one."""
    if not _LATIN_RE.search(norm, start, start + chars):
        return chars
    pos, left = start, chars
    while left > 0 and pos < len(norm):
        m = _LATIN_RUN_RE.match(norm, pos)
        pos = m.end() if m else pos + 1
        left -= 1
    return pos - start
