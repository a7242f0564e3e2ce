"""Written variants of dates and times rewritten to the forms the time scanner reads.

Pure, called at the end of :func:`watcher.notices.normalize.normalize`:

* Japanese 午前/午后 before a time are the morning and the afternoon ("午前2时" -> "上午2时");
* a month/day/year date with a four-digit year ("3/25/2016") becomes "2016-3-25", and a
  day/month/year one ("25/3/2016") "2016-3-25"; when both numbers could be the month
  ("3/4/2016") the date is left as written (no date is guessed);
* 中午/正午 right after a day with no time of its own ("周六中午至周日中午") is 12:00;
* Japanese 翌 before a time is the next day ("22:30～翌6:00"), 早朝 the early morning;
* month/day dates in a list ("10/24、10/31、11/10") are written 10月24日 ..., so each is a date
  (a lone "10/24" is read by the time scanner only before a time or a weekday); so are dotted or
  dashed ones ("10.24、10.31三晚") before a count of days, an "every day" word or a colon;
* a Japanese weekday in brackets after a date ("6月5日(木)", "6/5(金・祝)") is written as the
  Chinese one ("(周四)"), so the date and the time after it stay one point; so is an English one
  ("10月5日(Sat)") and a Chinese one in square brackets ("10月5日[周六]", "【星期六】");
* a month-day written with two digits each and a dot ("09.30", "03.20至03.23") is a date when a
  time, a part of the day, a range word, 进行/的, a list of such dates or a weekday follows it, or
  when it ends a range or a list of dates (a decimal
  amount or a dotted clock time, "08.30-17.00", is not: the day must be 01-31 and no dotted
  number ending in .00 may stand beside it);
* an English label between a Chinese label and its colon ("停机时间 Maintenance Window：") is
  dropped, so the label still introduces its times;
* an eight-digit date ("20250317-20250407", "20250317 22:00") is written 2025年3月17日 when it is
  in a range of two such dates or right before a time (a lone eight-digit number stays a number);
* an hour with AM/PM after it and no minutes ("10 PM", "2am") is written with its part of the day
  ("晚上10点", "凌晨2点");
* an English range word between two times ("6 PM to 8 PM", "22:00 until 02:00") is 至;
* a four-digit clock time ("下午1800", "于1900恢复") is written 18:00 after a part of the day, or
  after 于/至/到 when a start, an end or a resumption follows (:func:`four_digit_clocks`, run by
  normalisation before zone markers are placed);
* the time stamp of an update in brackets ("(18:44 更新)", "【更新于12月5日 09:30】") is dropped: it
  says when the notice was edited, not when anything stops or comes back.
"""

from __future__ import annotations

import re

from watcher.notices.fragments import DAY, DAY2, MONTH, MONTH2

_AM_PM_JA_RE = re.compile(r"午(前|后)(?=\s*\d)")
_MDY_RE = re.compile(r"(?<![\d/.:-])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")
_JA_WEEKDAY_RE = re.compile(r"(?<=[日\d])(\s*)\(\s*([月火水木金土日])\s*(?:[・･/]\s*祝\s*)?\)")
_JA_WEEKDAYS = {"月": "一", "火": "二", "水": "三", "木": "四", "金": "五", "土": "六", "日": "日"}
_NEXT_DAY_RE = re.compile(r"翌(?=\s*\d{1,2}\s*[:点时])")
# (after a colon too, "升级:12/7、12/9", but not after a time's "22:")
_SLASH_MD = rf"(?<![\d/.-])(?<!\d:){MONTH}/{DAY}(?![\d/.%])"
_SLASH_LIST_RE = re.compile(rf"{_SLASH_MD}(?:\s*(?:、|和|及|与)\s*{_SLASH_MD})+")
_SLASH_ONE_RE = re.compile(r"(\d{1,2})/(\d{1,2})")
# "10.24、10.31、11.10三晚" / "10-24、10-31两天": dotted or dashed month-days in a list are dates only
# before a count of days, an "every day" word or a colon (a list of version numbers is not).
_SEP_MD = rf"(?<![\d/.:-]){MONTH}([.-]){DAY}(?![\d/.%:-])"
_SEP_LIST_RE = re.compile(
    rf"{_SEP_MD}(?:\s*(?:、|和|及|与)\s*{MONTH}\1{DAY}(?![\d/.%:-]))+"
    r"(?=\s*(?:(?:\d{1,2}|[两二三四五六七八九十])\s*个?\s*(?:晚|天|日|夜)|每晚|每天|每日|:"
    # or the hours they share ("12.5、12.12 22:00至次日6:00")
    r"|(?:凌晨|上午|中午|下午|晚上?|夜间|早上)?\s*\d{1,2}\s*(?::\d\d|[点时])))"
)
_SEP_ONE_RE = re.compile(r"(\d{1,2})[.-](\d{1,2})")
# "12/5-12/7", "从12.5到12.7,": a range of two month-days written with the same slash or dot, in
# date order (or over new year), is two dates; a dotted one only when no unit, percent or version
# follows ("12.5-12.7%" and "1.2-1.5版" are numbers).
_MD_RANGE_RE = re.compile(
    rf"(?<![\d/.:-])(?P<m1>{MONTH})(?P<s>[./])(?P<d1>{DAY})(?P<mid>\s*(?:起|开始)?\s*(?:-+|—+|~|至|到)\s*)"
    rf"(?P<m2>{MONTH})(?P=s)(?P<d2>{DAY})(?![\d/.%:])(?!\s*(?:[元倍版个万亿米%]|[A-Za-z]))"
)
_EN_WEEKDAYS = {"mon": "一", "tue": "二", "wed": "三", "thu": "四", "fri": "五", "sat": "六", "sun": "日"}
_EN_WEEKDAY_RE = re.compile(r"(?<=[日\d])(\s*)\(\s*(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?\s*\)", re.IGNORECASE)
_SQUARE_WEEKDAY_RE = re.compile(r"(?<=[日\d])(\s*)[\[【]\s*((?:周|星期|礼拜)[一二三四五六日天])\s*[\]】]")
_PAD_MD = rf"(?<![\d./-])(?<!\d:){MONTH2}\.{DAY2}(?![\d.%:])"
_PAD_DOT_RE = re.compile(
    rf"{_PAD_MD}(?=\s*(?:\d{{1,2}}\s*[:点时]|\(|零|凌晨|上午|中午|下午|晚|早|夜|全天|全日|当日|当天|起|至|到|止|~|-|—|进行|的"
    rf"|[、,;]\s*{_PAD_MD}))"
)
# the end of a range of them, the last of a list
_PAD_END_RE = re.compile(rf"(?<=日[至到~—、-]){_PAD_MD}|(?<=日 [至到~—-] ){_PAD_MD}")
_DOT_CLOCK_NEAR_RE = re.compile(r"\d{1,2}\.00(?!\d)|(?:1[3-9]|2[0-4])\.[0-5]\d(?!\d)")
_EN_LABEL_RE = re.compile(
    r"(?<=[\u4e00-\u9fff])\s*(?:(?:Maintenance|Service|Services|System|Scheduled|Planned|Downtime|Suspension"
    r"|Outage|Upgrade|Window|Date|Time|Period|Schedule|Impact|Scope|Affected|Hours|and|&|/)\s*)+(?=:)",
    re.IGNORECASE,
)
# "20250317-20250407", "20250317 22:00": eight-digit dates, read only in a range or a list of two such dates
# or right before a weekday or a time, also in the next cell of a table row (an order or phone
# number alone is no date).
_COMPACT = rf"((?:19|20)\d\d)({MONTH2})({DAY2})"
_COMPACT_RE = re.compile(
    rf"(?<![\d.])(?:{_COMPACT}(?=\s*(?:(?:起|开始)?\s*(?:[-~—]+|至|到)|、|和|及|与)\s*{_COMPACT}(?![\d.]))|(?<=[-~—至到、和及与])\s*{_COMPACT}|{_COMPACT}(?=\s*(?:\(\s*(?:[一二三四五六日]\s*\)|周|星期)|(?:周|星期)[一二三四五六日天]|\)?\s*(?:凌晨|上午|中午|下午|晚上?|夜间|早上)\s*\d)|(?:\s+|\s*\)\s*)\d{{1,2}}\s*(?::\d\d|[点时]|[AaPp][Mm])|\s*\|\s*[自从]?\s*(?:凌晨|上午|中午|下午|晚上?|夜间|早上)?\s*\d{{1,2}}\s*(?::|[点时]|[AaPp][Mm])))(?![\d.])"
)
# "下午1800", "于1900恢复", "下午1800至2000": four-digit clock times, after a part of the day, or
# after 于/至/到 when a start, an end or a resumption follows, and the end of a range started by one
# (a year is followed by 年 or a date separator, an amount by its unit).
_NOT_DATE = r"(?![\d年月日号元%]|\s*[/.:]\s*\d|\s*-\s*\d{1,2}\s*[-/.])"
_MILITARY_RE = re.compile(
    r"(?:(?P<w1>凌晨|上午|中午|下午|晚上|早上|傍晚|夜间)(?P<s1>\s*)(?P<h1>[01]\d|2[0-4])(?P<m1>[0-5]\d)"
    + _NOT_DATE +
    r"|(?P<w2>[于至到])(?P<s2>\s*)(?P<h2>[01]\d|2[0-4])(?P<m2>[0-5]\d)(?=\s*(?:恢复|开始|结束|完成|进行|起|止|前|时?(?:左右|许))))"
    r"(?:(?P<sep>\s*(?:至|到|-|~)\s*)(?P<h3>[01]\d|2[0-4])(?P<m3>[0-5]\d)" + _NOT_DATE + ")?"
)
# "10 PM - 11 PM", "2am": an hour with AM/PM after it and no minutes, as English pages write it.
_HOUR_AMPM_RE = re.compile(r"(?<![\d:.])(1[0-2]|0?[1-9])\s*(?:(AM|am|a\.m\.)|(PM|pm|p\.m\.))(?![A-Za-z])")
# "6 PM to 8 PM", "22:00 until 02:00": an English range word between two times.
_EN_TO_RE = re.compile(r"(?<=[\d点时])\s+(?:to|until|till|through)\s+(?=(?:凌晨|上午|中午|下午|晚上)?\d)", re.IGNORECASE)
_STAMP = r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}月\d{1,2}日)?\s*\d{1,2}:\d{2}(?::\d{2})?"
_UPDATE_STAMP_RE = re.compile(
    rf"[(\[【]\s*(?:{_STAMP}\s*(?:更新|补充|追记)|(?:更新|最后更新|补充)(?:于|时间)?\s*:?\s*{_STAMP})\s*[)\]】]"
)
# "9月22日至25日(星期一至星期四)": the weekdays of a span of days, in brackets after it, only repeat
# the span (read as points they would be a range of their own); dropped.
_WEEKDAY_SPAN_RE = re.compile(
    r"(?<=日)\s*\(\s*(?:周|星期|礼拜)[一二三四五六日天]\s*(?:至|到|-|~|—)\s*(?:周|星期|礼拜)?[一二三四五六日天]\s*\)"
)
_NOON_RE = re.compile(r"(?<=[日天一二三四五六])(\s*(?:\)\s*)?)(中午|正午)(?![\d\s]*[\d点时:])")


def _ymd(m: re.Match[str]) -> str:
    a, b, year = int(m.group(1)), int(m.group(2)), m.group(3)
    if 1 <= a <= 12 < b <= 31:
        month, day = a, b
    elif 1 <= b <= 12 < a <= 31:
        month, day = b, a
    else:
        return m.group()
    return f"{year}-{month}-{day}"


# "至早10点": a bare 早 right before an hour is the morning, as 早上 ("最早10点", "提早1小时" are not).
_BARE_MORNING_RE = re.compile(r"(?<![最提尽较稍过太趁早上明今昨次翌隔当])早(?=\s*\d{1,2}\s*(?:[点时]|:\d))")


def rewrite(t: str) -> str:
    """``t`` (already normalised otherwise) with the variants above rewritten."""
    if "午" in t:
        t = _AM_PM_JA_RE.sub(lambda m: "上午" if m.group(1) == "前" else "下午", t)
        t = _NOON_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}12:00", t)
    if _DIGIT8_RE.search(t):
        t = _COMPACT_RE.sub(_compact_date, t)
    if "M" in t or "m" in t:
        t = _HOUR_AMPM_RE.sub(_hour_ampm, t)
    if "t" in t or "T" in t:
        t = _EN_TO_RE.sub("至", t)
    if "/" in t:
        t = _MDY_RE.sub(_ymd, t)
        t = _SLASH_LIST_RE.sub(lambda m: _SLASH_ONE_RE.sub(r"\1月\2日", m.group()), t)
    if "/" in t or "." in t:
        t = _MD_RANGE_RE.sub(_md_range, t)
    if "." in t or "-" in t:
        t = _SEP_LIST_RE.sub(lambda m: _SEP_ONE_RE.sub(r"\1月\2日", m.group()), t)
    if "翌" in t:
        t = _NEXT_DAY_RE.sub("次日", t)
    if "早" in t:
        t = t.replace("早朝", "早上")
        t = _BARE_MORNING_RE.sub("早上", t)
    if "(" in t:
        t = _WEEKDAY_SPAN_RE.sub("", t)
        t = _JA_WEEKDAY_RE.sub(lambda m: f"{m.group(1)}(周{_JA_WEEKDAYS[m.group(2)]})", t)
        t = _EN_WEEKDAY_RE.sub(lambda m: f"{m.group(1)}(周{_EN_WEEKDAYS[m.group(2)[:3].lower()]})", t)
    if "[" in t or "【" in t:
        t = _SQUARE_WEEKDAY_RE.sub(r"\1(\2)", t)
    if "." in t:
        t = _PAD_END_RE.sub(_padded_date, _PAD_DOT_RE.sub(_padded_date, t))
    if ":" in t:
        t = _EN_LABEL_RE.sub("", t)
        if "更新" in t or "补充" in t or "追记" in t:
            t = _UPDATE_STAMP_RE.sub(" ", t)
    return t


_DIGIT8_RE = re.compile(r"\d{8}")
_DIGIT4_RE = re.compile(r"(?<!\d)\d{4}(?!\d)")


def four_digit_clocks(t: str) -> str:
    """``t`` with four-digit clock times written with a colon (see the module docstring); called by
    :func:`watcher.notices.normalize.normalize` before zone markers are placed."""
    return _MILITARY_RE.sub(_clock, t) if _DIGIT4_RE.search(t) else t


def _hour_ampm(m: re.Match[str]) -> str:
    hour = int(m.group(1))
    if m.group(2):  # 12 AM is midnight
        return f"凌晨{hour % 12}点" if hour == 12 or hour < 6 else f"上午{hour}点"
    return "中午12点" if hour == 12 else f"下午{hour}点" if hour < 6 else f"晚上{hour}点"


def _clock(m: re.Match[str]) -> str:
    g = m.groupdict()
    out = f"{g['w1'] or g['w2']}{g['s1'] or g['s2'] or ''}{int(g['h1'] or g['h2'] or '0')}:{g['m1'] or g['m2']}"
    if g["h3"]:
        out += f"{g['sep']}{int(g['h3'])}:{g['m3']}"
    return out


def _md_range(m: re.Match[str]) -> str:
    m1, d1, m2, d2 = (int(m.group(g)) for g in ("m1", "d1", "m2", "d2"))
    if not ((m1, d1) < (m2, d2) or (m1 == 12 and m2 == 1)):
        return m.group()
    return f"{m1}月{d1}日{m.group('mid')}{m2}月{d2}日"


def _compact_date(m: re.Match[str]) -> str:
    groups = [g for g in m.groups() if g is not None]
    year, month, day = groups[0], groups[1], groups[2]
    lead = m.group()[: len(m.group()) - len(m.group().lstrip())]
    return f"{lead}{year}年{int(month)}月{int(day)}日"


def _padded_date(m: re.Match[str]) -> str:
    near = m.string[max(0, m.start() - 8) : m.end() + 8]
    if _DOT_CLOCK_NEAR_RE.search(near):  # "08.30-17.00": dotted clock times, not days
        return m.group()
    month, day = m.group().split(".")
    return f"{int(month)}月{int(day)}日"
