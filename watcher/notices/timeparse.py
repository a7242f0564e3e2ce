"""Lexical layer for Chinese dates and times: normalisation, Chinese numerals, raw time points.

Nothing here resolves a point to a calendar date; :mod:`watcher.notices.windows` does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from watcher.notices.normalize import cn_to_int, normalize

__all__ = ["PERIODS", "RawPoint", "cn_to_int", "find_duration", "find_points", "normalize"]


PERIODS = (
    "下半夜", "后半夜", "凌晨", "早上", "早晨", "清晨", "上午", "中午", "正午", "午间", "下午", "傍晚",
    "晚上", "晚间", "夜间", "夜里", "深夜", "午夜", "晚", "夜", "早", "晨",
)
_REL_WORDS = (
    "今天", "今日", "即日", "今(?=起)", "今晚", "今早", "今晨", "明天", "明日", "明晚", "明早", "明晨", "后天",
    "次日", "翌日", "次晨", "翌晨", "第二天", "隔天", "隔日", "当天", "当日", "当晚", "同日", "同一天", "昨天", "昨日", "昨晚", "昨早", "昨晨",
    "前天",
    "除夕",
)
_LUNAR_DAYS = {c: i for i, c in enumerate("一二三四五六七八九十", 1)}
_WEEKDAY = "一二三四五六日天1234567"

# A month/day with a slash and nothing after it that marks a date is still one when written with a
# leading zero ("01/09开展", "09/30。"), as the end of a range or an item of a list ("至1/9暂停") or
# after 于/在/定 ("改在10/28维护", "原定10/8的切换") or a date label ("维护日期：12/5").
# A month/day cell of a table row is a date when the next cell starts with a time ("12/5 | 22:00-24:00").
# "17号-20号楼", "3号线", "5号窗口": numbered buildings, lines and desks, not days of a month.
_NUMBERED = r"(?=\s*(?:楼|栋|幢|座|馆|门|线|厅|室|院|窗|仓|库|房|厂|机|台|柜|车|位|场|泊位|码头))"
_SLASH_MD_BEHIND = "|".join(
    [rf"(?<={a}/{b})" for a in (r"0\d", r"[至到~、于在定,; ]\d", r"[至到~、于在定,; ]\d\d", r"日期:\d", r"日期:\d\d")
     for b in (r"\d", r"\d\d")]
    + [r"(?<=[^\d]\d/0\d)", r"(?<=\d\d/0\d)"]
)

# The look-ahead lets the scanner skip, cheaply, every position where no point can start.
_POINT_RE = re.compile(
    rf"""
    (?=(?<!\d)\d|[周星礼(凌清傍晚夜深昨除]|今[天日晚早晨(年起]|[去明前]年|即日|明[天日晚早晨(]|后天|次[日晨(]|翌[日晨(]|隔\(|第二天|隔[天日]|当[天日晚]|同[日一]
       |本[周星礼月]|这[周个月]|[上下][周个礼星午月]|当月|次月|[下后]半夜|早[上晨]|中午|正午|午[间夜]|前天|大年|正月|初[一二三四五六七八九十]|民国|中华民国)
    (?P<date>
        (?<![\d/.])(?P<iy>\d{{4}}|1[0-2]\d(?=\s*[/.-]\s*\d{{1,2}}\s*[/.-]))\s*(?P<isep>[-/.])\s*(?P<im>\d{{1,2}})\s*(?P=isep)\s*(?P<id>\d{{1,2}})(?:(?!\d)|(?=\d{{2}}:\d{{2}}))(?:\s*日)?
      | (?:(?P<ry>去年|今年|明年|前年)\s*(?=\d{{1,2}}\s*月)|(?P<roc>(?:中华)?民国)?\s*(?P<cy>\d{{4}}|\d{{2,3}})\s*年\s*(?=\d{{1,2}}\s*月))?(?:(?P<cm>\d{{1,2}})\s*月\s*|(?P<rm>本|这个?|当|下个?|次|上个?)\s*月\s*(?=\d))?(?P<cd>\d{{1,2}})\s*(?:日|号(?!{_NUMBERED}|\s*[-~至到]\s*\d{{1,3}}\s*号{_NUMBERED}))
      | (?<![\d/.])(?P<sm>\d{{1,2}})\s*/\s*(?P<sd>\d{{1,2}})(?![\d/.%])(?:\s*日)?(?:(?=\s*(?:\(|[周星起至到止~-]|\d{{1,2}}\s*[:点时]|{"|".join(("凌晨", "上午", "中午", "下午", "傍晚", "清晨", "晚", "早", "夜", "深夜"))}|(?:[、,;]\s*|[^\S\n]+)\d{{1,2}}\s*/\s*\d|\|\s*[自从]?\s*(?:凌晨|上午|中午|下午|晚上?|夜间|早上)?\s*\d{{1,2}}\s*[:点时]))
           |{_SLASH_MD_BEHIND})
      | (?<![\d/.A-Za-z-])(?<!\d:)(?P<xm>\d{{1,2}})-(?P<xd>\d{{1,2}})(?![\d:.])(?=\s+\d{{1,2}}\s*:\s*\d{{2}})
      | (?<![\d/.A-Za-z])(?P<dm>\d{{1,2}})\.(?P<dd>\d{{1,2}})(?![\d.%])(?=\s*(?:\)\s*)?(?:\d{{1,2}}\s*(?::\s*\d{{2}}|[点时])|\(\s*(?:周|星期|[一二三四五六日]\s*\))|(?:周|星期)[一二三四五六日天]|凌晨|上午|中午|下午|晚上|晚(?=\d)|夜间|早上|\|\s*[自从]?\s*(?:凌晨|上午|中午|下午|晚上?|夜间|早上)?\s*\d{{1,2}}\s*[:点时]))
      | [今翌次隔明]\s*\(\s*(?P<td>\d{{1,2}})\s*\)\s*日
      | (?P<rel>{"|".join(_REL_WORDS)})
      | (?:大年|正月)?(?<!\d月)初(?P<lunar>[一二三四五六七八九十])(?![一二三四五六七八九十])
      | (?P<wkpre>本周|这周|下周|上周|本星期|这个?星期|下个?星期|上个?星期|下礼拜|本礼拜|上礼拜)(?P<wkd>[{_WEEKDAY}])
    )?
    \s*(?P<wtag>\(?\s*(?:周|星期|礼拜)(?P<wtd>[{_WEEKDAY}])\s*\)?|(?:(?<=[日\d点时分半])|(?<=[日\d点时分半]\s))\s*\(\s*(?P<wtp>[一二三四五六日])\s*\))?
    \s*(?P<period>{"|".join(PERIODS)})?
    \s*(?P<time>
        (?P<h1>\d{{1,2}})\s*:\s*(?P<mi1>\d{{2}})(?!\d|\s*月)(?:\s*:\s*(?P<s1>\d{{2}})(?!\d))?
      | (?P<h2>\d{{1,2}})\s*[点时](?![间候段效限长]|期(?!间))\s*(?:(?P<half>半)|(?P<mi2>\d{{1,2}})\s*分|(?P<mi3>[0-5]\d)(?=\s*(?:至|到|[-~—]|起|开始|前|左右|[,;。)]))|整|正(?![式常在好]))?
    )?
    (?:\s*(?P<ampm>AM|PM|am|pm|a\.m\.|p\.m\.)(?![A-Za-z]))?
    """,
    re.VERBOSE,
)

_WEEKDAY_INDEX = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
                  "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}


@dataclass(frozen=True, slots=True)
class RawPoint:
    """A date and/or time as written, with its span in the normalised text.

    ``rel`` is a relative-day word (明天, 次日, ...); ``week`` is (weeks ahead or None for "next
    such weekday", weekday 0=Monday) for 本周六 / 下周一 / a bare 周六; ``weekday_tag`` is a weekday
    written next to an explicit date, kept to check the date.
    """

    start: int
    end: int
    year: int | None
    month: int | None
    day: int | None
    rel: str | None
    week: tuple[int | None, int] | None
    weekday_tag: int | None
    period: str | None
    hour: int | None
    minute: int
    second: int = 0
    year_rel: int | None = None  # 去年 -1, 今年 0, 明年 1: the year relative to publication
    month_rel: int | None = None  # 本月 0, 下月 1, 上月 -1: the month relative to publication

    @property
    def has_date(self) -> bool:
        return self.day is not None or self.rel is not None or self.week is not None

    @property
    def has_time(self) -> bool:
        return self.hour is not None


def _int(s: str | None) -> int | None:
    return int(s) if s else None


def _year(s: str | None, *, roc: bool) -> int | None:
    """A written year as a Gregorian one: 民国/ROC years (Taiwan: 109年, 民國99年, 114/8/11) add 1911;
    a bare two-digit year ("22年10月") is 20xx; anything else is not a year (None)."""
    if not s:
        return None
    y = int(s)
    if len(s) == 4:
        return y
    if roc or len(s) == 3:
        return y + 1911 if 1 <= y <= 200 else None
    return 2000 + y


def find_points(norm: str) -> list[RawPoint]:
    """Every date/time point in normalised text, in order. Never raises."""
    points: list[RawPoint] = []
    for m in _POINT_RE.finditer(norm):
        start, end = m.span()
        if end == start:
            continue
        g = m.groupdict()
        if not (g["date"] or g["time"] or g["wtag"]):
            continue
        point = _point(g, start, end)
        if point is None:
            continue
        if (g["wtp"] and not (point.has_date or point.has_time) and points and points[-1].has_date
                and points[-1].has_time and points[-1].weekday_tag is None
                and _JOIN_RE.fullmatch(norm, points[-1].end, point.start)):
            # "12月5日22:00(六)": a short weekday in brackets after the time tags the date before it.
            points[-1] = replace(points[-1], end=point.end, weekday_tag=_WEEKDAY_INDEX[g["wtp"]])
            continue
        if points and _JOIN_RE.fullmatch(norm, points[-1].end, point.start):
            joined = _join(points[-1], point)
            if joined is not None:
                points[-1] = joined
                continue
            if _day_of_a_later_time(norm, points, point):
                continue
        points.append(point)
    return points


def _day_of_a_later_time(norm: str, points: list[RawPoint], q: RawPoint) -> bool:
    """"6月7日(周日):12:00-00:30(周一)": a weekday in brackets right after a time with no date, in a
    line that gave a date before it, only names the day that time falls on (the range already
    does); it is no date of its own for what follows."""
    p = points[-1]
    if not (q.week is not None and q.week[0] is None and q.day is None and q.rel is None and not q.has_time
            and p.has_time and not p.has_date and "(" in norm[p.end:q.end]):
        return False
    line = norm.rfind("\n", 0, p.start) + 1
    return any(o.has_date and o.start >= line for o in points[:-1])


def _point(g: dict[str, str | None], start: int, end: int) -> RawPoint | None:
    """The point one match of :data:`_POINT_RE` names (``g`` its groups), None when invalid."""
    year = _year(g["iy"] or g["cy"], roc=bool(g["roc"]))
    month = _int(g["im"] or g["cm"] or g["sm"] or g["dm"] or g["xm"])
    day = _int(g["id"] or g["cd"] or g["sd"] or g["dd"] or g["xd"] or g["td"])
    if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
        return None
    week: tuple[int | None, int] | None = None
    tag: int | None = None
    rel = g["rel"]
    lunar = g["lunar"]
    if lunar:
        rel = f"初{_LUNAR_DAYS[lunar]}"
    wkpre = g["wkpre"]
    if wkpre:
        ahead = {"下": 1, "上": -1}.get(wkpre[0], 0)
        week = (ahead, _WEEKDAY_INDEX[g["wkd"] or ""])
    wtd = g["wtd"]
    if wtd:
        if day is None and rel is None and week is None:
            week = (None, _WEEKDAY_INDEX[wtd])
        else:
            tag = _WEEKDAY_INDEX[wtd]
    elif g["wtp"] and (day is not None or rel is not None):
        tag = _WEEKDAY_INDEX[g["wtp"] or ""]
    hour = _int(g["h1"] or g["h2"])
    minute = 30 if g["half"] else (_int(g["mi1"] or g["mi2"] or g["mi3"]) or 0)
    period = g["period"]
    ampm = g["ampm"]
    if ampm and hour is not None and hour <= 12:
        period = "下午" if ampm.lower().startswith("p") else ("凌晨" if hour == 12 else "上午")
    if hour is not None and (hour > 24 or minute > 59 or (hour == 24 and minute)):
        hour = None
        if not (day or rel or week):
            return None
    year_rel = _YEAR_REL.get(g["ry"] or "")
    month_rel = _MONTH_REL.get((g["rm"] or "").replace("个", "")) if g["rm"] else None
    return RawPoint(start, end, year, month, day, rel, week, tag, period, hour, minute, _int(g["s1"]) or 0, year_rel,
                    month_rel)


_YEAR_REL = {"去年": -1, "今年": 0, "明年": 1, "前年": -2}
_MONTH_REL = {"本": 0, "这": 0, "当": 0, "下": 1, "次": 1, "上": -1}


_JOIN_RE = re.compile(r"[\s()]*(?:均为|均是|都是|皆为)?[\s()]*")


def _join(p: RawPoint, q: RawPoint) -> RawPoint | None:
    """"今天（11月26日）晚上23:00", "本周六（11月28日）凌晨2点": a date-only point and what
    directly follows it (a time, or a more exact date) are one point; so are a dated point and a
    weekday written after it."""
    if (p.has_date and q.week is not None and q.week[0] is None and q.day is None and q.rel is None
            and not q.has_time and p.weekday_tag is None):
        # "12月5日22:00（周六）": a weekday written after the time tags the date before it.
        return RawPoint(p.start, q.end, p.year, p.month, p.day, p.rel, p.week, q.week[1],
                        p.period, p.hour, p.minute, p.second, p.year_rel, p.month_rel)
    if not p.has_date or p.has_time:
        return None
    if not q.has_date:
        return RawPoint(p.start, q.end, p.year, p.month, p.day, p.rel, p.week, p.weekday_tag,
                        q.period or p.period, q.hour, q.minute, q.second, p.year_rel, p.month_rel)
    if p.day is None and q.day is not None:
        return RawPoint(p.start, q.end, q.year, q.month, q.day, None, None, q.weekday_tag,
                        q.period or p.period, q.hour, q.minute, q.second, q.year_rel, q.month_rel)
    if p.day is not None and q.day is None and q.rel is None and q.week is not None:
        # "11月28日 本周六": the exact date wins; the weekday becomes a tag to check it.
        return RawPoint(p.start, q.end, p.year, p.month, p.day, None, None, q.week[1],
                        q.period or p.period, q.hour, q.minute, q.second, p.year_rel, p.month_rel)
    return None


_DURATION_RE = re.compile(
    r"(?P<lead>约|大约|预计|预期|持续|历时|为期|时长|共计|共|需要|需|大概|耗时|暂停|中断|停机|停服|维护|时间)"
    r"[^\d。;\n]{0,10}?(?:约|为|时间|时长)?\s*(?:约|为)?\s*"
    r"(?:\d+(?:\.\d+)?\s*(?:分钟|分|小时)?\s*(?:[~-]|至|到)\s*)?"
    # days: "持续3天", "预计3日后完成" (a bare "3日" is the 3rd of a month, never a length)
    r"(?P<num>\d+(?:\.\d+)?)?\s*个?\s*(?P<half>半)?\s*(?P<unit>小时|分钟|h\b|min|(?<=\d)天|(?<=\d)日(?=\s*后))"
    r"(?:\s*(?P<mins>\d{1,2})\s*分钟?)?"
    # "24小时内到账", "2小时后到账": a delay or a deadline, not how long a stop lasts ("约2小时后恢复" is)
    r"(?!\s*(?:内|以内|之内|(?:后|以后)(?!\s*(?:即可|将|可)?\s*(?:恢复|完成|结束|开放|开服))))"
)
_SHARED_RE = re.compile(r"各|每次|均|分别")


def find_duration(norm: str, start: int, limit: int = 40, *, shared_only: bool = False) -> float | None:
    """Seconds of the first duration ("约2小时", "持续30分钟", "暂停15~30分钟": the longer bound)
    within ``limit`` chars after ``start``. With ``shared_only``, only a duration said to hold for
    each of several times ("各暂停…", "每次…") counts."""
    m = _DURATION_RE.search(norm, start, min(len(norm), start + limit))
    if m is None:
        return None
    if shared_only and not _SHARED_RE.search(norm, max(start, m.start() - 12), m.end()):
        return None
    num = float(m.group("num")) if m.group("num") else 0.0
    if m.group("half"):
        num += 0.5
    if num <= 0 or num > 24 * 14:
        return None
    unit = m.group("unit")
    if unit in ("天", "日"):
        return num * 86400 if num <= 14 else None
    if unit in ("小时", "h"):
        return num * 3600 + (int(m.group("mins")) * 60 if m.group("mins") else 0)
    return num * 60
