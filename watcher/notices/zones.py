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
}
_ZONE_RE = re.compile(
    r"(?<![A-Za-z])(?:UTC|GMT)(?:\s*(?P<sign>[+-])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?)?(?![A-Za-z])(?:\s*时间)?"
    r"|协调世界时|世界标准时间|格林尼治(?:标准)?时间"
    r"|(?P<named>" + "|".join(sorted(_NAMED, key=len, reverse=True)) + r")(?![A-Za-z])"
)
# How far after a span's last point a marker may stand and still be that span's ("04:00（UTC）"),
# with only spaces or an opening bracket between ("22:00-24:00，即UTC 14:00-16:00" is a restatement).
_AFTER = 8
_ADJACENT_RE = re.compile(r"[\s(]*")
# A marker said of every time of the notice ("以上均为澳大利亚东部标准时间", "影响时间以英国当地时间计",
# "所有时间均为UTC"): it holds for spans whose own sentence names no zone.
_ALL_BEFORE_RE = re.compile(r"(?:均为|皆为|均以|均按|都是|一律为|时间以|时间为|时间按)\s*$")
_ALL_AFTER_RE = re.compile(r"\s*(?:计|为准)")


def _zone(m: re.Match[str]) -> tzinfo | None:
    """The zone a marker names; None for Beijing time itself (UTC+8 written with minutes)."""
    if m.group("named"):
        return ZoneInfo(_NAMED[m.group("named")])
    if m.group("h") is None:
        return UTC
    offset = timedelta(hours=int(m.group("h")), minutes=int(m.group("m") or 0))
    if m.group("sign") == "-":
        offset = -offset
    return None if offset == timedelta(hours=8) else timezone(offset)


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
        after = [m for m in markers if s.end_pos <= m.start() <= s.end_pos + _AFTER and m.end() <= hi
                 and _ADJACENT_RE.fullmatch(norm, s.end_pos, m.start())]
        m = after[0] if after else (before[-1] if before else whole)
        zone = _zone(m) if m is not None else None
        if m is None or zone is None:
            out.append(s)
            continue
        end = _move(s.end, zone) if s.end is not None else None
        out.append(dataclasses.replace(s, start=_move(s.start, zone), end=end))
        note = f"times written in {m.group().strip()}, moved to Beijing time"
        if note not in notes:
            notes.append(note)
    # the same window written in both zones is one window
    kept: list[Span] = []
    for s2 in out:
        sent = vocab.sentence_bounds(norm, s2.pos)
        if notes and any(k.start == s2.start and k.end == s2.end and vocab.sentence_bounds(norm, k.pos) == sent
                         for k in kept):
            continue
        kept.append(s2)
    return kept, notes


# A place whose clocks are not Beijing's, named as where the notice's customers or branch are
# ("汇丰提醒英国客户", "中国银行伦敦分行"): times with no zone written may be local there.
_ELSEWHERE_RE = re.compile(
    r"(?:英国|伦敦|美国|纽约|洛杉矶|旧金山|加拿大|多伦多|温哥华|澳大利亚|澳洲|悉尼|墨尔本|新西兰|奥克兰|日本|东京|大阪|韩国|首尔"
    r"|德国|法兰克福|法国|巴黎|意大利|米兰|西班牙|荷兰|卢森堡|瑞士|苏黎世|爱尔兰|欧洲|俄罗斯|莫斯科|印度|孟买|迪拜|阿联酋|巴西|墨西哥"
    r"|泰国|曼谷|越南|印度尼西亚|印尼|雅加达|哈萨克斯坦|南非)"
    r"(?:的?(?:客户|用户|持卡人|居民|地区|市场|站)|分行|子行|支行|分公司)"
)


def elsewhere(norm: str) -> str | None:
    """The place a notice's customers or branch are in when its clocks are not Beijing's, or None."""
    m = _ELSEWHERE_RE.search(norm)
    return m.group() if m else None
