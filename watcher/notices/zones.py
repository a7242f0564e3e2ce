"""Times written in another time zone ("UTC时间12月5日16:00-18:00", "02:00-04:00（UTC）",
"太平洋时间……") moved to Beijing time.

Pure: normalised text and spans in, spans out. Beijing's own markers (北京时间, UTC+8, GMT+8) are
dropped by normalisation, so a marker left here names another zone. A span takes the nearest
marker in its sentence written before it, or one written right after its end ("……04:00 UTC").
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from huabei_watch.clock import SHANGHAI
from watcher.notices import vocab
from watcher.notices.span import Span

_NAMED: dict[str, str] = {
    "太平洋时间": "America/Los_Angeles", "美西时间": "America/Los_Angeles", "洛杉矶时间": "America/Los_Angeles",
    "美东时间": "America/New_York", "美国东部时间": "America/New_York", "东部时间": "America/New_York",
    "纽约时间": "America/New_York", "东京时间": "Asia/Tokyo", "日本时间": "Asia/Tokyo", "首尔时间": "Asia/Seoul",
    "韩国时间": "Asia/Seoul", "伦敦时间": "Europe/London", "英国时间": "Europe/London",
    "欧洲中部时间": "Europe/Berlin", "中欧时间": "Europe/Berlin", "巴黎时间": "Europe/Paris",
    "柏林时间": "Europe/Berlin", "悉尼时间": "Australia/Sydney", "英国当地时间": "Europe/London",
    "澳大利亚东部标准时间": "Australia/Brisbane", "澳洲东部标准时间": "Australia/Brisbane",
    "澳大利亚东部时间": "Australia/Sydney", "澳洲东部时间": "Australia/Sydney", "墨尔本时间": "Australia/Melbourne",
    "新加坡时间": "Asia/Singapore", "AEST": "Australia/Brisbane", "AEDT": "Australia/Sydney", "BST": "Europe/London",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "EST": "America/New_York",
    "EDT": "America/New_York", "CET": "Europe/Berlin", "CEST": "Europe/Berlin", "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "雅加达时间": "Asia/Jakarta", "印尼西部时间": "Asia/Jakarta", "WIB": "Asia/Jakarta", "曼谷时间": "Asia/Bangkok",
    "泰国时间": "Asia/Bangkok", "越南时间": "Asia/Ho_Chi_Minh", "印度时间": "Asia/Kolkata", "印度标准时间": "Asia/Kolkata",
    "迪拜时间": "Asia/Dubai", "莫斯科时间": "Europe/Moscow", "美国中部时间": "America/Chicago", "美中时间": "America/Chicago",
    "芝加哥时间": "America/Chicago", "山地时间": "America/Denver", "多伦多时间": "America/Toronto",
    "温哥华时间": "America/Vancouver", "新西兰时间": "Pacific/Auckland",
    "南非时间": "Africa/Johannesburg", "赞比亚时间": "Africa/Lusaka", "CDT": "America/Chicago",
    "日本标准时间": "Asia/Tokyo", "日本标准时": "Asia/Tokyo", "韩国标准时间": "Asia/Seoul",
    "波兰时间": "Europe/Warsaw", "华沙时间": "Europe/Warsaw",
    # US zones as translated pages write them ("太平洋时间上午7点至11点 / 中部时间上午9点至下午1点")
    "中部时间": "America/Chicago", "美国山地时间": "America/Denver", "山区时间": "America/Denver",
    "美国太平洋时间": "America/Los_Angeles",
    "MST": "America/Denver", "MDT": "America/Denver", "HST": "Pacific/Honolulu", "AKST": "America/Anchorage",
    "AKDT": "America/Anchorage", "NZST": "Pacific/Auckland", "NZDT": "Pacific/Auckland", "EET": "Europe/Athens",
    "EEST": "Europe/Athens", "WET": "Europe/Lisbon", "AWST": "Australia/Perth", "ACST": "Australia/Adelaide",
    "ACDT": "Australia/Adelaide", "SAST": "Africa/Johannesburg",
}
# Places and zone areas whose clocks a zone word is built from ("意大利时间", "英国夏令时", "美国东部标准时间",
# "澳洲西部时间", "新西兰当地时间"): the place, then 当地/本地, then 标准/夏令/夏季/冬令, then 时间 (or 时 after
# such a qualifier). A name in _NAMED is read as written there first ("澳大利亚东部标准时间" is AEST).
# Places are those of _LOCAL_ZONE and _STATE_ZONE below with one zone, and these areas of a zone family.
_AREA_ZONE: dict[str, str] = {
    "太平洋": "America/Los_Angeles", "美国太平洋": "America/Los_Angeles", "北美太平洋": "America/Los_Angeles",
    "美西": "America/Los_Angeles", "美国西部": "America/Los_Angeles",
    "东部": "America/New_York", "美国东部": "America/New_York", "北美东部": "America/New_York", "美东": "America/New_York",
    "加拿大东部": "America/Toronto",
    "中部": "America/Chicago", "美国中部": "America/Chicago", "北美中部": "America/Chicago", "美中": "America/Chicago",
    "山地": "America/Denver", "山区": "America/Denver", "美国山地": "America/Denver", "美国山区": "America/Denver",
    "北美山地": "America/Denver", "大西洋": "America/Halifax", "夏威夷": "Pacific/Honolulu",
    "阿拉斯加": "America/Anchorage",
    "中欧": "Europe/Berlin", "欧洲中部": "Europe/Berlin", "西欧": "Europe/Lisbon", "欧洲西部": "Europe/Lisbon",
    "东欧": "Europe/Athens", "欧洲东部": "Europe/Athens", "格林威治": "UTC", "格林尼治": "UTC",
    "澳大利亚东部": "Australia/Sydney", "澳洲东部": "Australia/Sydney", "澳大利亚中部": "Australia/Adelaide",
    "澳洲中部": "Australia/Adelaide", "澳大利亚西部": "Australia/Perth", "澳洲西部": "Australia/Perth",
    "东非": "Africa/Nairobi", "中非": "Africa/Maputo", "西非": "Africa/Lagos",
}
# compiled below, once the places are known
_ZONE_PATTERN = (
    r"(?<![A-Za-z])(?:UTC|GMT)(?:\s*(?P<sign>[+\-−])\s*(?P<h>1[0-4]|0?\d)(?::?(?P<m>00|15|30|45)(?!\d))?)?(?![A-Za-z])"
    r"(?:\s*时间)?"
    r"|协调世界时|世界标准时间|格林尼治(?:标准)?时间"
    # a zone's Chinese name may be followed by its abbreviation ("美国东部时间EST", "日本时间(JST)")
    r"|(?<![A-Za-z])(?:(?=[" + "".join(sorted({k[0] for k in _NAMED})) + r"])"
    r"(?P<named>" + "|".join(sorted(_NAMED, key=len, reverse=True)) + r")"
    # (a 时 close ahead, checked first: most places of a text are none of these)
    r"|(?=[{firsts}])(?=[^\n时]{{1,11}}时)(?P<where>{places})(?:当地|本地)?(?:标准|夏令|夏季|冬令)?(?:时间|(?<=标准|夏令|夏季|冬令)时))"
    r"(?:(?<=[^\x00-\x7f])\s*(?:[A-Z]{{2,5}}|\([A-Z]{{2,5}}\))(?![A-Za-z]))?(?![A-Za-z])"
)
# How far after a span's last point a marker may stand and still be that span's ("04:00（UTC）"),
# with only spaces or an opening bracket between ("22:00-24:00，即UTC 14:00-16:00" is a restatement).
_AFTER = 8
# A duration may stand in the bracket before the marker ("01:00 ~ 10:00（共9小时，韩国时间）").
_ADJACENT_RE = re.compile(
    r"(?:之间|期间)?[\s(※*]*(?:(?:共|约|合计|总计)?\s*\d{1,3}(?:\.\d)?\s*个?\s*(?:小时|分钟)\s*[,、]\s*)?"
)
_DURATION_ROOM = 12  # the characters such a duration adds to _AFTER
# A marker said of every time of the notice ("以上均为澳大利亚东部标准时间", "影响时间以英国当地时间计",
# "所有时间均为UTC"): it holds for spans whose own sentence names no zone.
_ALL_BEFORE_RE = re.compile(r"(?:均为|皆为|均以|均按|都是|一律为|时间以|时间为|时间按)\s*$")
_ALL_AFTER_RE = re.compile(r"\s*(?:计|为准)")


def _zone(m: re.Match[str]) -> tzinfo | None:
    """The zone a marker names; None for Beijing time itself (UTC+8 written with minutes)."""
    if m.group("named"):
        return ZoneInfo(_NAMED[m.group("named")])
    if m.group("where"):
        return ZoneInfo(_PLACE_ZONE[m.group("where")])
    if m.group("h") is None:
        return UTC
    offset = timedelta(hours=int(m.group("h")), minutes=int(m.group("m") or 0))
    if m.group("sign") in ("-", "−"):
        offset = -offset
    return None if offset == timedelta(hours=8) else timezone(offset)


# A marker that labels what follows: "切换期间(美东时间):", "日期(24小时制,日本时间):", "日本时间:".
_HEADING_AFTER_RE = re.compile(r"[^()。;\n\d]{0,12}?\)?\s*(?:为|是|如下)?\s*:")
# A marker in brackets that ends a label line with no colon ("■维护时间(日本时间)" over the rows).
_LABEL_LINE_END_RE = re.compile(r"\)?[^\S\n]*(?=\n)")
_LABEL_BEFORE_RE = re.compile(r"(?:^|\n)[^\n\d]{1,16}\($")
# Where a heading's reach ends: the end of its sentence group or line (rows after it may be
# separated by ";").
_BLOCK_END_RE = re.compile(r"[。\n]")
_LINE_END_RE = re.compile(r"[^\S\n]*\n")
_TABLE_END_RE = re.compile(r"。|\n[^\S\n]*\n|\n[^\S\n]*(?:[一二三四五六七八九十]+、|\d{1,2}[.、](?!\d)|[※*#]|第[一二三四五六七八九十\d]+[条章节])")
# Between spans that share one marker written after the last of them ("A 00:00~07:00 和 B
# 03:00~07:00(日本时间)").
_CHAIN_GAP_RE = re.compile(r"[\s(),、和及与或]*")


def _heading(norm: str, s: Span, markers: list[re.Match[str]]) -> re.Match[str] | None:
    """The heading marker whose block holds ``s``: the last one before it in the same block."""
    best = None
    for m in markers:
        if m.end() > s.pos:
            break
        head = _HEADING_AFTER_RE.match(norm, m.end())
        if head is None and _LABEL_BEFORE_RE.search(norm, max(0, m.start() - 17), m.start()):
            head = _LABEL_LINE_END_RE.match(norm, m.end())
        if head is None:
            continue
        # a heading that ends its line ("四、暂停时间（韩国时间）：" over the rows of a table) reaches
        # the lines below it up to a sentence end, an empty line or the next numbered section
        ends = _TABLE_END_RE if _LINE_END_RE.match(norm, head.end()) else _BLOCK_END_RE
        if ends.search(norm, head.end(), s.pos) is None:
            best = m
    return best


def _chain_after(
    norm: str, s: Span, spans: list[Span], markers: list[re.Match[str]], hi: int
) -> re.Match[str] | None:
    """A marker after ``s`` in its sentence with only other spans and connectors between."""
    for m in markers:
        if m.start() < s.end_pos or m.end() > hi:
            continue
        gap = list(norm[s.end_pos : m.start()])
        for o in spans:
            for k in range(max(o.pos, s.end_pos), min(o.end_pos, m.start())):
                gap[k - s.end_pos] = " "
        return m if _CHAIN_GAP_RE.fullmatch("".join(gap)) else None
    return None


def _move(t: datetime, zone: tzinfo) -> datetime:
    """The wall-clock time ``t`` (read as Beijing time) re-read in ``zone``, in Beijing time."""
    return t.replace(tzinfo=zone).astimezone(SHANGHAI)


def to_beijing(norm: str, spans: list[Span]) -> tuple[list[Span], list[str]]:
    """``spans`` with those written in another zone moved to Beijing time, and a note for each
    zone used."""
    markers = list(_ZONE_RE.finditer(norm))
    if not markers:
        return spans, []
    whole = next((m for m in markers if _ALL_BEFORE_RE.search(norm, max(0, m.start() - 6), m.start())
                  or _ALL_AFTER_RE.match(norm, m.end())), None)
    out: list[Span] = []
    notes: list[str] = []
    for s in spans:
        lo, hi = vocab.sentence_bounds(norm, s.pos)
        # a span in brackets opened after the marker restates it in another zone: "UTC 16:00-18:00
        # （北京时间0:00-2:00）" (北京时间 itself is dropped by normalisation)
        before = [m for m in markers if lo <= m.start() and m.end() <= s.pos
                  and norm.count("(", m.end(), s.pos) <= norm.count(")", m.end(), s.pos)]
        # right after the end, in the end's own sentence (a start and an end written on two rows:
        # "开始时间：8:00 (UTC+0)\n结束时间：8:30 (UTC+0)")
        end_hi = vocab.sentence_bounds(norm, max(s.pos, s.end_pos - 1))[1]
        after = [m for m in markers if s.end_pos <= m.start() <= s.end_pos + _AFTER + _DURATION_ROOM
                 and m.end() <= max(hi, end_hi) and _ADJACENT_RE.fullmatch(norm, s.end_pos, m.start())]
        m = after[0] if after else (before[-1] if before else None)
        if m is None:
            m = _chain_after(norm, s, spans, markers, hi) or _heading(norm, s, markers) or whole
        zone = _zone(m) if m is not None else None
        if m is None or zone is None:
            out.append(s)
            continue
        end = _move(s.end, zone) if s.end is not None else None
        out.append(dataclasses.replace(s, start=_move(s.start, zone), end=end))
        note = f"times written in {m.group().strip()}, moved to Beijing time"
        if note not in notes:
            notes.append(note)
    out = same_hours_elsewhere(spans, out)
    out = _restated_in_beijing(norm, spans, out)
    # the same window written in both zones is one window: in one sentence, or anywhere when one of
    # the two was moved and the other not ("……03:00至08:00升级。英文版写作8月28日19:00至24:00 UTC";
    # rows moved from the same zone with the same times are parallel rows, kept apart)
    moved = {id(o) for o, s0 in zip(out, spans, strict=True) if o is not s0}
    kept: list[Span] = []
    for s2 in out:
        sent = vocab.sentence_bounds(norm, s2.pos)
        if notes and any(k.start == s2.start and k.end == s2.end
                         and (vocab.sentence_bounds(norm, k.pos) == sent or (id(k) in moved) != (id(s2) in moved))
                         for k in kept):
            continue
        kept.append(s2)
    return kept, notes


# What may stand between a window and its restatement in Beijing time once normalisation has dropped
# 北京时间 ("10:00至14:00(意大利时间),即 17:00至21:00", "意大利时间:……14:00\n :……17:00-21:00",
# " 17:00至21:00(意大利时间10:00至14:00)"): brackets, colons, commas, a word that restates, zone markers.
_RESTATE_GAP_RE = re.compile(r"[\s()\[\]【】:,，;；、]*(?:即|亦即|也即|也就是|相当于|折合|换算(?:为|成)?|对应)?[\s()\[\]【】:]*")


def _restated_in_beijing(norm: str, spans: list[Span], out: list[Span]) -> list[Span]:
    """``out`` with a span that was moved although it restates a neighbour in Beijing time put back
    as written: its written times are the neighbour's times moved to Beijing, and only brackets,
    colons, a restating word or zone markers stand between the two. The two are then one window."""
    res = list(out)
    for j, (s0, o) in enumerate(zip(spans, out, strict=True)):
        if o is s0:
            continue
        for k, (p0, p) in enumerate(zip(spans, out, strict=True)):
            if k == j or p is p0 or (p.start, p.end) != (s0.start, s0.end):
                continue
            lo, hi = (p0.end_pos, s0.pos) if p0.pos < s0.pos else (s0.end_pos, p0.pos)
            if lo <= hi and _RESTATE_GAP_RE.fullmatch(_ZONE_RE.sub(" ", norm[lo:hi])):
                res[j] = s0
                break
    return res


def _clock(s: Span) -> tuple[int, int, int, int] | None:
    return None if s.end is None else (s.start.hour, s.start.minute, s.end.hour, s.end.minute)


def same_hours_elsewhere(spans: list[Span], out: list[Span]) -> list[Span]:
    """``out`` (``spans`` after the zone markers were applied) with the ranges written on other days
    with the very hours of a range moved from a zone moved the same way: a schedule that writes its
    zone once ("12月20日02:55~04:30(日本时间)。明年：1月24日、2月21日……，每次均为02:55~04:30")."""
    moved = [(s0, o) for s0, o in zip(spans, out, strict=True) if o is not s0 and _clock(s0) is not None]
    if not moved:
        return out
    res: list[Span] = []
    for s0, o in zip(spans, out, strict=True):
        src = next((m for m in moved if o is s0 and _clock(m[0]) == _clock(s0)
                    and m[0].start.date() != s0.start.date()), None)
        if src is not None and s0.end is not None:
            shift = src[1].start - src[0].start
            o = dataclasses.replace(s0, start=s0.start + shift, end=s0.end + shift)
        res.append(o)
    return res


# A place whose clocks are not Beijing's, named as where the notice's customers or branch are
# ("汇丰提醒英国客户", "中国银行伦敦分行", "中国银行（英国）", "印度网站"): times with no zone
# written are local there. A place with one zone gives it; a country with several (美国, 澳洲 ...)
# gives none (a person checks).
_LOCAL_ZONE: dict[str, str | None] = {
    "英国": "Europe/London", "伦敦": "Europe/London", "日本": "Asia/Tokyo", "东京": "Asia/Tokyo", "大阪": "Asia/Tokyo",
    "韩国": "Asia/Seoul", "首尔": "Asia/Seoul", "德国": "Europe/Berlin", "法兰克福": "Europe/Berlin",
    "法国": "Europe/Paris", "巴黎": "Europe/Paris", "意大利": "Europe/Rome", "米兰": "Europe/Rome",
    "西班牙": "Europe/Madrid", "荷兰": "Europe/Amsterdam", "卢森堡": "Europe/Luxembourg", "瑞士": "Europe/Zurich",
    "苏黎世": "Europe/Zurich", "爱尔兰": "Europe/Dublin", "印度": "Asia/Kolkata", "孟买": "Asia/Kolkata",
    "迪拜": "Asia/Dubai", "阿联酋": "Asia/Dubai", "泰国": "Asia/Bangkok", "曼谷": "Asia/Bangkok",
    "越南": "Asia/Ho_Chi_Minh", "雅加达": "Asia/Jakarta", "新西兰": "Pacific/Auckland", "奥克兰": "Pacific/Auckland",
    "南非": "Africa/Johannesburg", "赞比亚": "Africa/Lusaka", "纽约": "America/New_York",
    "洛杉矶": "America/Los_Angeles", "旧金山": "America/Los_Angeles", "多伦多": "America/Toronto",
    "温哥华": "America/Vancouver", "悉尼": "Australia/Sydney", "墨尔本": "Australia/Melbourne",
    "莫斯科": "Europe/Moscow",
    "匈牙利": "Europe/Budapest", "布达佩斯": "Europe/Budapest", "葡萄牙": "Europe/Lisbon", "里斯本": "Europe/Lisbon",
    "希腊": "Europe/Athens", "雅典": "Europe/Athens", "芬兰": "Europe/Helsinki", "赫尔辛基": "Europe/Helsinki",
    "瑞典": "Europe/Stockholm", "斯德哥尔摩": "Europe/Stockholm", "挪威": "Europe/Oslo", "丹麦": "Europe/Copenhagen",
    "比利时": "Europe/Brussels", "布鲁塞尔": "Europe/Brussels", "奥地利": "Europe/Vienna", "维也纳": "Europe/Vienna",
    "捷克": "Europe/Prague", "布拉格": "Europe/Prague", "波兰": "Europe/Warsaw", "华沙": "Europe/Warsaw",
    "罗马": "Europe/Rome", "马德里": "Europe/Madrid", "阿姆斯特丹": "Europe/Amsterdam", "都柏林": "Europe/Dublin",
    "土耳其": "Europe/Istanbul", "伊斯坦布尔": "Europe/Istanbul", "以色列": "Asia/Jerusalem", "埃及": "Africa/Cairo",
    "开罗": "Africa/Cairo", "肯尼亚": "Africa/Nairobi", "内罗毕": "Africa/Nairobi", "尼日利亚": "Africa/Lagos",
    "约翰内斯堡": "Africa/Johannesburg", "沙特阿拉伯": "Asia/Riyadh", "沙特": "Asia/Riyadh", "卡塔尔": "Asia/Qatar",
    "多哈": "Asia/Qatar", "巴基斯坦": "Asia/Karachi", "孟加拉国": "Asia/Dhaka", "孟加拉": "Asia/Dhaka",
    "斯里兰卡": "Asia/Colombo", "尼泊尔": "Asia/Kathmandu", "缅甸": "Asia/Yangon", "柬埔寨": "Asia/Phnom_Penh",
    "金边": "Asia/Phnom_Penh", "老挝": "Asia/Vientiane", "河内": "Asia/Bangkok", "胡志明市": "Asia/Ho_Chi_Minh",
    "新德里": "Asia/Kolkata", "东京都": "Asia/Tokyo", "圣保罗": "America/Sao_Paulo", "墨西哥城": "America/Mexico_City",
    "阿根廷": "America/Argentina/Buenos_Aires", "布宜诺斯艾利斯": "America/Argentina/Buenos_Aires",
    "西雅图": "America/Los_Angeles", "芝加哥": "America/Chicago", "休斯顿": "America/Chicago",
    "达拉斯": "America/Chicago", "丹佛": "America/Denver", "波士顿": "America/New_York", "蒙特利尔": "America/Toronto",
    "檀香山": "Pacific/Honolulu", "珀斯": "Australia/Perth", "布里斯班": "Australia/Brisbane",
    "阿德莱德": "Australia/Adelaide", "惠灵顿": "Pacific/Auckland",
    "美国": None, "加拿大": None, "澳大利亚": None, "澳洲": None, "欧洲": None, "俄罗斯": None, "巴西": None,
    "墨西哥": None, "印度尼西亚": None, "印尼": None, "哈萨克斯坦": None,
}
# A state or province written right after its country ("加拿大BC省", "美国加州", "澳洲新州"): one
# zone, where the country has several.
_STATE_ZONE: dict[str, str] = {
    "加州": "America/Los_Angeles", "加利福尼亚州": "America/Los_Angeles", "华盛顿州": "America/Los_Angeles",
    "纽约州": "America/New_York", "德州": "America/Chicago", "得州": "America/Chicago", "伊利诺伊州": "America/Chicago",
    "BC省": "America/Vancouver", "不列颠哥伦比亚省": "America/Vancouver", "安大略省": "America/Toronto",
    "魁北克省": "America/Toronto", "新州": "Australia/Sydney", "新南威尔士州": "Australia/Sydney",
    "维州": "Australia/Melbourne", "维多利亚州": "Australia/Melbourne", "昆州": "Australia/Brisbane",
    "昆士兰州": "Australia/Brisbane", "西澳": "Australia/Perth",
}
_PLACE = "|".join(sorted(_LOCAL_ZONE, key=len, reverse=True))
_PLACE_ZONE: dict[str, str] = {
    **{k: v for k, v in _LOCAL_ZONE.items() if v is not None}, **_STATE_ZONE, **_AREA_ZONE,
}
_ZONE_RE = re.compile(_ZONE_PATTERN.format(places="|".join(sorted(_PLACE_ZONE, key=len, reverse=True)),
                                           firsts="".join(sorted({p[0] for p in _PLACE_ZONE}))))
_STATE = "|".join(sorted(_STATE_ZONE, key=len, reverse=True))
_ELSEWHERE_RE = re.compile(
    rf"(?P<p1>{_PLACE})(?:的?(?:客户|用户|持卡人|居民|地区|市场|站|网站|官网)|分行|子行|支行|分公司)"
    # "中国银行（赞比亚）有限公司": the place in brackets right after the issuer's name
    rf"|(?<=[^\W\d_]\()(?P<p2>{_PLACE})(?=\))"
    rf"|(?:美国|加拿大|澳大利亚|澳洲)\s*(?P<p3>{_STATE})"
)
# Japanese kana in the text: a Japanese service (its names kept as written: "かんたん決済").
_KANA_RE = re.compile(r"[\u3041-\u30ff]{3,}")


def elsewhere(norm: str) -> str | None:
    """The place a notice's customers or branch are in when its clocks are not Beijing's, or None."""
    m = _ELSEWHERE_RE.search(norm)
    if m:
        return m.group()
    return "日本" if _KANA_RE.search(norm) else None


def local_time(place: str, spans: list[Span]) -> tuple[list[Span], str | None]:
    """``spans`` read as local time of ``place`` (as :func:`elsewhere` gives it) moved to Beijing
    time, and a note; unchanged with no note when the place has no single zone."""
    m = _ELSEWHERE_RE.fullmatch(place)
    if m and m.group("p3"):
        name = m.group("p3")
        zone_name: str | None = _STATE_ZONE[name]
    else:
        name = (m.group("p1") or m.group("p2")) if m else place
        zone_name = _LOCAL_ZONE.get(name)
    if zone_name is None:
        return spans, None
    zone = ZoneInfo(zone_name)
    moved = [dataclasses.replace(s, start=_move(s.start, zone), end=_move(s.end, zone) if s.end is not None else None)
             for s in spans]
    return moved, f"times with no zone read as local time of {name} ({zone_name}), moved to Beijing time"
