"""How a notice lays its windows out: the same window stated twice (a heading and a detail, a
summary and a reminder) against parallel items with the same times (each area, bank or system on
its own line), an overall period that only frames detailed windows, and times of past events
mentioned beside the windows ahead.

Pure functions over normalised text (see :mod:`watcher.notices.normalize`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from huabei_watch.events.common import Window
from watcher.notices import fields, vocab

if TYPE_CHECKING:  # windows.py uses this module; Span is only a type here
    from watcher.notices.span import Span

# What ends the segment a label is read from.
_SEGMENT_END = re.compile(r"[,;。!?\n|:]")
# List markers and punctuation around a label ("1. 中国银行:", "(2)", "一、", "【维护时间】").
_MARKERS = re.compile(r"^[\s\-*•·#>]*(?:\(?\d{1,2}[).、.]|[一二三四五六七八九十]+[、.]|\(\d{1,2}\))?|[\s:：\-|(\[【】\])]+$")
# A label that introduces the time rather than naming what it applies to.
_HEADING = re.compile(
    r"时间|时段|日期|期间|窗口|范围|影响|内容|安排|说明|提示|提醒|通知|公告|注意|备注|停机|维护|升级|割接|计划|具体|如下|以下"
)
# A segment that ends with a preposition or verb leads into the time ("我司将于", "订于", "同样为").
_LEADS_IN = re.compile(r"(?:于|在|自|从|由|为|是|将|定|拟|至|到|的|即|约)$")
_HEADING_BEFORE = re.compile(r"[:】]\s*$")
# A word that links the sentence to the one before ("所以", "同时"), or a news dateline ("本报讯",
# "崇明网讯", "据新华社消息"): it names nothing the time applies to, and heads no section.
_DATELINE = r"[^\s:,;。]{0,8}(?:讯|消息|报道)"
_CONNECTIVE = re.compile(r"所以|因此|因而|故而|于是|同时|另外|此外|并且|而且|但是|不过|然而|届时|随后|之后|然后|" + _DATELINE)
_DATELINE_RE = re.compile(_DATELINE)
# Only frames the windows after it: "……时间如下", "具体安排如下", "主要影响如下".
_POINTER = re.compile(r"如下|以下|具体|分别|安排|影响\s*(?:范围|业务|内容|说明|情况)?\s*:")
# Said of the past: an earlier incident or an earlier maintenance mentioned beside the windows ahead.
# ("……的系统维护已顺利完成。" beside the next one is the earlier one, told as done.)
_PAST = re.compile(r"曾|此前|之前|日前|前期|上次|近日|以往|去年|已于|发生|出现|故障|异常|遭|造成|导致|跳脱|跳闸|已(?:顺利)?(?:完成|结束)")
# Narrating an event that happened (not a stop that is planned): "6月24日15:18遭雷击跳脱，造成停电".
_EVENT = re.compile(r"曾|遭|造成|导致|发生|跳脱|跳闸")


_DIGIT_OR_END = re.compile(r"[\d,;。!?|]")
# A cell holding only a date ("7月21日", "2026-12-05", "12/5(周六)") in a row of cells split by "|".
_DATE_CELL = re.compile(
    r"(?:\d{4}\s*[年/.-]\s*)?\d{1,2}\s*[月/.-]\s*\d{1,2}\s*[日号]?\s*(?:\(?\s*(?:周|星期)[一二三四五六日天]\s*\)?)?"
)
# A name in brackets heading an item, with only its heading after it ("【台南市】停水时间").
_BRACKET_NAME = re.compile(r"[【\[]([^】\]\n]{1,12})[】\]][^【】\[\]\n]{0,12}$")


def label(norm: str, lo: int, pos: int) -> str:
    """The name written right before a time in its item ("中国银行", "东区", "个人网银"), or ""
    when the time is introduced by a heading ("维护时间："), a verb ("将于") or nothing."""
    before = norm[lo:pos].rstrip()
    # a name followed by a colon ("经银联……转接的借记卡业务：7月30日……") is a row's name even when long
    # so is one followed by a dash ("FAST转账及PayNow服务——11月16日凌晨12:00至5:00")
    longest = 40 if before.endswith((":", "—")) else 16
    while before.endswith((":", "】", "|", "(", "—")):
        before = before[:-1].rstrip()
    cut = max((m.end() for m in _SEGMENT_END.finditer(before)), default=0)
    seg = _MARKERS.sub("", before[cut:]).strip()
    if cut and before[cut - 1] == "|" and _DATE_CELL.fullmatch(seg):
        # a row of cells ("学校医院 | 7月21日 | 早上8点—17点"): the date is a cell of its own, the name the one before
        before = before[: cut - 1].rstrip()
        cut = max((m.end() for m in _SEGMENT_END.finditer(before)), default=0)
        seg = _MARKERS.sub("", before[cut:]).strip()
    if seg and _HEADING.search(seg):
        # "【雲林縣】停水時間：……": the item's name stands in brackets before its heading
        named = _BRACKET_NAME.search(before)
        if named:
            return named.group(1).strip()
        # "2.东区食堂：停电时间：……": or before a colon, at the head of its line
        if cut and before[cut - 1] == ":":
            line = before.rfind("\n", 0, cut - 1) + 1
            name = _MARKERS.sub("", before[line : cut - 1]).strip()
            if name and len(name) <= 16 and not _DIGIT_OR_END.search(name) and not _HEADING.search(name):
                return name
        return ""
    if not seg or len(seg) > longest or _LEADS_IN.search(seg) or _CONNECTIVE.fullmatch(seg):
        return ""
    return seg


def own_stop(norm: str, lo: int, hi: int, s: Span) -> bool:
    """Whether the sentence ``norm[lo:hi]`` holding ``s`` says something stops, apart from a heading
    before the time ("停机时间：……" says nothing by itself)."""
    before = norm[lo : s.pos]
    if _HEADING_BEFORE.search(before):
        cut = max((m.end() for m in _SEGMENT_END.finditer(before.rstrip()[:-1])), default=0)
        before = before[:cut]
    if vocab.STOP_RE.search(before) or vocab.STOP_RE.search(norm, s.end_pos, hi):
        return True
    # a numbered item whose parts, cut at "；", say what stops ("二、……，A恢复；B继续暂停。")
    return _in_item_stops(norm, s.pos, vocab.STOP_RE)


_FILLER_RE = re.compile(r"[\s,;:。、()]|起|开始|将|会|就|先|也|均|全部|所有|系统|服务|功能|业务|进行|期间|届时")


# a heading with a colon that is not an introduction ("……如下:")
_SECTION_RE = re.compile(r"(?<!如下)(?<!以下):")


def _section(norm: str, pos: int) -> str | None:
    """The heading (text before a colon, back to the sentence start) of the last section opened
    before ``pos``, or None when there is none."""
    colon = -1
    for m in _SECTION_RE.finditer(norm, 0, pos):
        colon = m.start()
    if colon < 0:
        return None
    lo = max(norm.rfind(c, 0, colon) for c in "。;\n") + 1
    head = norm[lo:colon].strip()
    return None if _DATELINE_RE.fullmatch(head) else head


# a field after a time in a row of fields ("停水时间：11/27 09:00~16:00；原因：……；区域：……")
_NEXT_FIELD_RE = re.compile(r"[;,][^;,:\n]{1,8}:")


def _field_rows(norm: str, a: Span, b: Span) -> bool:
    """Whether two spans with the same times head rows of fields on different lines that go on
    differently (each area's row of a table of cuts): parallel rows, not a restatement."""
    a_end, b_end = norm.find("\n", a.end_pos), norm.find("\n", b.end_pos)
    a_end, b_end = (len(norm) if e < 0 else e for e in (a_end, b_end))
    if a_end == b_end:  # the same line
        return False
    a_line, b_line = norm[a.end_pos : a_end], norm[b.end_pos : b_end]
    return a_line != b_line and bool(_NEXT_FIELD_RE.match(a_line) and _NEXT_FIELD_RE.match(b_line))


def _stopped(norm: str, s: Span, hi: int) -> str:
    """What the words after ``s`` to the end of its sentence say stops, stop and filler words left out."""
    return _FILLER_RE.sub("", vocab.STOP_RE.sub("", norm[s.end_pos : min(hi, s.end_pos + 40)]))


def _same_object(norm: str, a: Span, a_lo: int, a_hi: int, b: Span, b_lo: int, b_hi: int) -> bool:
    """Whether two sentences with the same times stop the same thing: what one says stops is written
    in the other ("……起,系统就会先停止购票功能" and "……起暂停购票功能"), or both name it
    ("……APP因系统切换暂停服务" and "……期间APP无法使用")."""
    ha, hb = _section(norm, a.pos), _section(norm, b.pos)
    if ha is not None and hb is not None and ha != hb:
        # each under its own heading ("个人网银维护：……投资服务暂停。企业网银维护：……投资服务暂停")
        return False
    x, y = _stopped(norm, a, a_hi), _stopped(norm, b, b_hi)
    short, long_ = sorted((x, y), key=len)
    if len(short) >= 2 and short in long_:
        return True
    # both name the same thing that stops ("……APP因系统切换暂停服务。再次提醒：……期间APP无法使用"):
    # a whole name of two or more letters in both, before or after the times, generic words left out
    # (个人网银 and 企业网银, 东区 and 西区, 网上银行 and 手机银行 are different names)
    return bool(_names(norm, a, a_lo, a_hi) & _names(norm, b, b_lo, b_hi))


# Words any sentence of a notice may use, which name nothing that stops.
_GENERIC_RE = re.compile(
    r"本行|我行|本公司|我司|本司|本中心|客户|用户|广大|各位|期间|届时|办理|受理|使用|提供|正常|相关|提前|安排|"
    r"敬请|谅解|不便|请|您|的|对|因|由于|为了|为|于|在|将|至|到|和|及|与|或|等|时间|时段|日期|今日|今天|明天|"
    r"凌晨|上午|下午|中午|晚上|早上|夜间|次日|当日|北京|星期.|周.|年|月|日|号|时|分|点|半|起|止|前|后|内|"
    # the work, not what it stops
    r"维护|升级|切换|切转|割接|迁移|检修|维修|施工|改造|优化|调整|更新|上线|停机|作业|工程|演练|故障|原因|需要"
)
_CAUSE_RE = re.compile(r"(?:因|由于|为了|为|配合)[^|,;。]*")
_LETTERS_RE = re.compile(r"[\u4e00-\u9fffA-Za-z]+")


def _names(norm: str, s: Span, lo: int, hi: int) -> set[str]:
    """The names (runs of two or more letters) in the clause before ``s`` and the words after it (to
    the end of its sentence, at most 40 characters), stop, filler and generic words cut out."""
    clause = max((m.end() for m in _SEGMENT_END.finditer(norm, lo, s.pos)), default=lo)
    text = norm[clause : s.pos] + "|" + norm[s.end_pos : min(hi, s.end_pos + 40)]
    # the cause of the stop names no thing that stops ("东区因管道改造停水")
    for rx in (vocab.STOP_RE, _CAUSE_RE, _FILLER_RE, _GENERIC_RE):
        text = rx.sub("|", text)
    return {run for run in _LETTERS_RE.findall(text) if len(run) >= 2}


# Before the times of a later sentence: it speaks of the work already announced ("本次预计停水24小时，
# 停水时间自……", "本次系统切换时间为……"), so the same times are the same window.
_REFERS_BACK_RE = re.compile(r"本次|此次|这次|该次|上述")


def merge_restated(
    norm: str, windows: list[Window], spans: list[Span], bounds: list[tuple[int, int]]
) -> list[Window]:
    """One window per (start, end, status), except parallel items: the same times for items with
    different names ("东区……；南区……", "个人网银 ……；企业网银 ……"), or in different sentences that
    each say what stops ("4月21日3:00至5:50，借记卡……停办。……4月21日3:00至5:50，商户受理……暂停").
    A heading and a detail, a summary and its reminder are one window; its products are joined."""
    out: list[Window] = []
    kept: list[int] = []  # index into ``spans`` of each window kept
    for i, (w, s) in enumerate(zip(windows, spans, strict=True)):
        lo, hi = bounds[i]
        twin = None
        for k, j in enumerate(kept):
            o = out[k]
            if (o.start, o.end, o.status) != (w.start, w.end, w.status):
                continue
            a, b = label(norm, bounds[j][0], spans[j].pos), label(norm, lo, s.pos)
            if a and b and a != b:
                continue
            if (bounds[j] != bounds[i] and norm[bounds[j][0] : bounds[j][1]] != norm[lo:hi]
                    and own_stop(norm, *bounds[j], spans[j]) and own_stop(norm, lo, hi, s)
                    and not _same_object(norm, spans[j], *bounds[j], s, lo, hi)
                    and not _REFERS_BACK_RE.search(norm, lo, s.pos)):
                # each sentence stops something of its own; one that stops the same thing again
                # ("10月7日零时起,系统先停止购票功能……10月7日零时起暂停购票功能") restates it
                continue
            if _field_rows(norm, spans[j], s):
                continue
            twin = k
            break
        if twin is None:
            out.append(w)
            kept.append(i)
            continue
        o = out[twin]
        products = (*o.products, *(p for p in w.products if p not in o.products))
        channels = (*o.channels, *(c for c in w.channels if c not in o.channels))
        out[twin] = Window(start=o.start, end=o.end, products=products, channels=channels, status=o.status)
    return out


def drop_frames(norm: str, spans: list[Span]) -> list[Span]:
    """A timed range that contains windows written after it, says no stop of its own and leads
    into them ("系统升级时间为12月5日22:00至12月6日08:00，各项业务暂停时间如下：……") is the notice's
    overall period, not a window."""
    out: list[Span] = []
    for s in spans:
        # "A，2月8日02:00开始，预计2小时50分钟；B，2月8日02:00开始，持续1小时": starts plus durations
        # that share their start are parallel items, none of them the frame of the others
        inner = [t for t in spans if t is not s and t.pos > s.end_pos and s.end is not None and t.end is not None
                 and s.start <= t.start and t.end <= s.end and (t.start, t.end) != (s.start, s.end)
                 and not (s.how == t.how == "duration" and s.start == t.start)]
        first = min((t.pos for t in inner), default=-1)
        # "[A]\n1. 作业时间：……00:00~08:00 ……[B]\n1. 作业时间：……00:00~06:00": rows under the same label
        # are parallel items, whatever their hours
        label = _row_label(norm, s.pos)
        parallel = label is not None and any(_row_label(norm, t.pos) == label for t in inner)
        if inner and not parallel and not any(s.end_pos <= t.pos < first for t in spans) and _frames(norm, s, first):
            continue
        inner_dur = [t for t in inner if t.how == "duration"]
        first_dur = min((t.pos for t in inner_dur), default=-1)
        if inner_dur and not _clause_stops(norm, s) and not _ROW_NAME_RE.search(norm, max(0, s.pos - 40), s.pos) \
                and not any(s.end_pos <= t.pos < first_dur for t in spans if t not in inner_dur):
            # "凌晨1时至7时办理切转演练，……凌晨2时及4时30分各暂停15至30分钟": the period of the work,
            # with the stops themselves (a start plus a duration) right after it; a row of a list with
            # other rows between it and the durations ("信用卡申请：21:00至06:15；……E融汇：00:00开始，
            # 约3小时") is one more window
            continue
        out.append(s)
    return out


_LABEL_AT_RE = re.compile(r"(?:\d{1,2}[.、]|[一二三四五六七八九十]+、)?\s*([^\W\d_][^:\n\d]{0,15}):\s*$")


def _row_label(norm: str, pos: int) -> str | None:
    """The label a range is written after on its own line ("1. 作业时间："), or None."""
    m = _LABEL_AT_RE.search(norm, norm.rfind("\n", 0, pos) + 1, pos)
    return m.group(1).strip() if m else None


# a row of a list named before its colon ("微信银行所有服务：12月4日23:00至5日04:00")
_ROW_NAME_RE = re.compile(r"[^,;。\n:]{2,40}:\s*$")


def _clause_stops(norm: str, s: Span) -> bool:
    """Whether the clause holding the range ``s`` says something stops."""
    lo, _ = vocab.sentence_bounds(norm, s.pos)
    clause_lo = max((m.end() for m in re.finditer(r"[,;。\n]", norm[lo : s.pos])), default=0) + lo
    m_hi = re.compile(r"[,;。\n]").search(norm, s.end_pos)
    clause_hi = m_hi.start() if m_hi else len(norm)
    return bool(vocab.STOP_RE.search(norm, clause_lo, s.pos) or vocab.STOP_RE.search(norm, s.end_pos, clause_hi))


def _frames(norm: str, s: Span, first_inner: int) -> bool:
    lo, _ = vocab.sentence_bounds(norm, s.pos)
    clause_lo = max((m.end() for m in re.finditer(r"[,;。\n]", norm[lo : s.pos])), default=0) + lo
    m_hi = re.compile(r"[,;。\n]").search(norm, s.end_pos)
    clause_hi = m_hi.start() if m_hi else len(norm)
    if vocab.STOP_RE.search(norm, clause_lo, s.pos) or vocab.STOP_RE.search(norm, s.end_pos, clause_hi):
        return False
    between = norm[clause_hi:first_inner]
    for part in re.split(r"[,;。\n]", between):
        if vocab.STOP_RE.search(part) and not _POINTER.search(part):
            return False
    return len(between) <= 60 and bool(_POINTER.search(between))


def drop_past_mentions(norm: str, spans: list[Span], published: date) -> tuple[list[Span], int]:
    """Windows that ended before publication in a sentence that tells of the past ("11月20日
    14:00-14:40，部分用户曾出现支付失败"), when the notice also has a window ahead: an earlier event,
    not a window. Returns the spans kept and how many were dropped."""
    if not any((s.end or s.start).date() >= published for s in spans):
        return spans, 0
    ahead = any(s.start.date() >= published for s in spans)
    keep = [s for s in spans if not (
        ((s.end or s.start).date() < published and _PAST.search(norm, *vocab.sentence_bounds(norm, s.pos)))
        # began before publication in a sentence narrating an event, beside windows that start
        # ahead: the event's time, even when a resumption written later was taken as its end
        or (ahead and s.start.date() < published and _EVENT.search(norm, *vocab.sentence_bounds(norm, s.pos)))
    )]
    return keep, len(spans) - len(keep)


_MAX_ROWS = 24
# A sentence after a list that says what the listed times do ("维护期间……无法使用").
_AFTER_POINTER = re.compile(r"^\W*(?:\S{0,4}期间|届时|其间|此期间|上述|该时段|以上时段|维护时|停机时)")
_DIGIT = re.compile(r"\d")
_LINE_END_RE = re.compile(r"。?(?:\n|$)")
# A heading line inside a list: a few word characters, maybe in brackets, at most a colon after them.
_SUBHEAD_RE = re.compile(r"[-*•]?\s*[【\[]?\s*[^\W\d_][^\W_]{0,7}\s*[】\]]?\s*:?")
_INTRO_THEN_DATE = re.compile(r"[:：][\s(（]*(?:\d{4}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*[日号]")
_LEADING_DATE = re.compile(r"[\s(（]*(?:\d{4}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*[日号]")


def tied(norm: str, s: Span) -> bool:
    """Whether the range ``s`` is tied to a disruption: wording of one in its sentence, in the
    line that introduces the list or table it is a row of, or in the sentence right after that
    list when it points back ("维护期间……"). Hours in a sentence that says nothing of the sort
    ("如有疑问，可于12月7日9:00-17:00致电") are not."""
    return tied_at(norm, s.pos)


def tied_at(norm: str, pos: int, depth: int = 0) -> bool:
    """:func:`tied` for the range written at ``pos``. A list whose rows run on as sentences that are
    only a named row ("E融汇APP：7月30日00:00至03:00。") or a heading ("各日时段为：……") goes on the
    list or sentence before it (up to 12 sentences back)."""
    return _tied_here(norm, pos, depth)


# A sentence that is only a named row or a heading: a short name, a colon, then a date or time;
# "另有操作培训：……" starts something else.
_ROW_SENTENCE = re.compile(r"[\s(（]*(?!另|此外|其他|其它|此外)[^\W\d_][^:。;!?\n\d]{0,40}:\s*\(?\d")


_SENTENCE_OR_LINE_END = re.compile(r"[。\n]")
# only a date and time range: digits, separators and the words of dates and times
_RANGE_ALONE_RE = re.compile(r"[\d\s:/.()~\-—年月日号时点分半至到起止周星期礼拜一二三四五六天凌晨早上午中下晚夜间次隔翌]*")
_ITEM_START_RE = re.compile(r"\s*(?:[一二三四五六七八九十]+、|\d{1,2}(?:、|\.(?!\d))|[(（]\d{1,2}[)）])")


def _in_item_stops(norm: str, pos: int, words: re.Pattern[str] = vocab.DISRUPTION_RE) -> bool:
    """Whether ``pos`` is in a numbered item of a list ("二、……6:00-24:00，A恢复；B继续暂停。") whose
    part after a "；" following ``pos`` (up to the end of its line or sentence) words a disruption:
    the item's parts, cut at "；", say together what its range does."""
    start = norm.rfind("\n", 0, pos) + 1
    item = _ITEM_START_RE.match(norm, start)
    if not item:
        return False
    m = _SENTENCE_OR_LINE_END.search(norm, pos)
    end = m.start() if m else len(norm)
    semi = norm.find(";", pos, end)
    if semi >= 0 and words.search(norm, semi + 1, end) is not None:
        return True
    # an item whose first sentence is its range alone, what it does in the next sentence of its line
    # ("2、2024年10月3日08:00-10月4日24:00。对A组团进行停电。"), which starts no item of its own
    if m is None or norm[end] != "。" or norm[item.end() : pos].strip() or not _RANGE_ALONE_RE.fullmatch(norm, pos, end):
        return False
    nxt = _SENTENCE_OR_LINE_END.search(norm, end + 1)
    nxt_end = nxt.start() if nxt else len(norm)
    return not _ITEM_START_RE.match(norm, end + 1) and words.search(norm, end + 1, nxt_end) is not None


def _before_disrupts(norm: str, lo: int) -> bool:
    """Whether the sentence before offset ``lo`` (line breaks between skipped) words a disruption."""
    j = lo - 1
    while j > 0 and norm[j] in " \n":
        j -= 1
    plo, phi = vocab.sentence_bounds(norm, j)
    return vocab.DISRUPTION_RE.search(norm, plo, phi) is not None


def _tied_here(norm: str, pos: int, depth: int) -> bool:
    lo, hi = vocab.sentence_bounds(norm, pos)
    if vocab.DISRUPTION_RE.search(norm, lo, hi) or fields.stop_in_next_field(norm, pos):
        return True
    if _in_item_stops(norm, pos):
        return True
    k = lo
    below_heading: int | None = None
    # up to 12 rows back; a row ended by ";" and a line break counts the empty gap between them too
    for _ in range(_MAX_ROWS):  # back over the rows of a list (";" or a line each) to what introduces it
        if k <= 0 or norm[k - 1] not in ";\n":
            break
        plo, phi = vocab.sentence_bounds(norm, k - 1)
        seg = norm[plo:phi]
        if vocab.DISRUPTION_RE.search(seg):
            return True
        if seg.strip() and not _DIGIT.search(seg):
            # a short heading line that groups the rows ("生产环境", "测试环境:") sits inside the
            # list: the walk goes on to what introduces it
            if not (norm[phi:phi + 1] == "\n" and _SUBHEAD_RE.fullmatch(seg.strip())):
                break
            if below_heading is None:
                below_heading = k
        k = plo
    # the first row of the run this range belongs to; when the rows sit under heading lines, the run
    # is read both from above the headings (as if they were rows) and from under them
    for first in dict.fromkeys((k, k if below_heading is None else below_heading)):
        if _tied_before(norm, first, hi, depth):
            return True
    k = hi
    for _ in range(_MAX_ROWS):  # forward over the rows to the sentence after the list
        if k >= len(norm):
            break
        nlo, nhi = vocab.sentence_bounds(norm, k + 1)
        seg = norm[nlo:nhi]
        if _AFTER_POINTER.search(seg) and vocab.DISRUPTION_RE.search(seg):
            return True
        # the last row may say it itself, after its times ("……；第二阶段：X，两阶段期间均暂停下单")
        if any(_AFTER_POINTER.search(c) and vocab.DISRUPTION_RE.search(c) for c in seg.split(",")[1:]):
            return True
        # a clause after ";" that ends the row's line is still the row ("……预计30分钟;X会借此……。")
        if seg.strip() and not _DIGIT.search(seg) and not (norm[nlo - 1:nlo] == ";" and _LINE_END_RE.match(norm, nhi)):
            break
        k = nhi
    return False


def _tied_before(norm: str, first: int, hi: int, depth: int) -> bool:
    """Whether the run of rows starting at ``first`` (the range's sentence ends at ``hi``) is tied by
    what comes before it: a pointing intro, the list a row sentence goes on, a list of the day before."""
    # "……服务功能将停用。安排如下：网银：0:00至3:00；……": an intro that only points at the list
    # takes the sentence before it
    colon = norm.find(":", first, hi)
    if (first > 1 and colon != -1 and _POINTER.search(norm, first, colon) and not _DIGIT.search(norm, first, colon)
            and _before_disrupts(norm, first)):
        return True
    # a sentence that is only a row or a heading goes on the list or sentence before it
    if (depth < 12 and first > 1 and norm[first - 1] in "。\n" and _ROW_SENTENCE.match(norm, first)
            and tied_at(norm, first - 2, depth + 1)):
        return True
    if first > 1 and norm[first - 1] == "。" and _LEADING_DATE.match(norm, first):
        # the next day's rows written as a new sentence after a list introduced with a colon
        # ("……停电检修：10月3日8:00-12:00，……。10月4日8:00-12:00，……"): tied like those rows
        k = first - 1
        for _ in range(_MAX_ROWS):  # back over that list's rows to its intro
            plo, phi = vocab.sentence_bounds(norm, k - 1)
            intro = _INTRO_THEN_DATE.search(norm, plo, phi)
            if intro is not None:
                if vocab.DISRUPTION_RE.search(norm, plo, intro.end()):
                    return True
                break
            if plo <= 0 or norm[plo - 1] not in ";\n":
                break
            k = plo - 1
    return False


def drop_untied(norm: str, spans: list[Span]) -> tuple[list[Span], int]:
    """The ranges tied to a disruption, when there are any; else all of them (a notice whose every
    range is untied is left to the other rules rather than emptied)."""
    keep = [s for s in spans if tied(norm, s)]
    if not keep:
        return spans, 0
    return keep, len(spans) - len(keep)
