"""Text normalisation that runs before any rule: Traditional to Simplified, full-width to
half-width, one space per whitespace run, "北京时间" dropped, Chinese numerals before units to digits.

Traditional to Simplified uses OpenCC's ``t2s`` table (the ``opencc`` wheel: about 15 ms to import
and 7 MB resident, loaded on first use, never at import time of this module). OpenCC's ``t2s``
maps character for character, so offsets in the simplified text equal offsets in the input; if a
conversion ever changes the length, each character is converted on its own instead, which keeps
the offsets. Offsets after :func:`normalize` do not map back to the input (whitespace runs
collapse); nothing downstream needs them to.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def cn_to_int(s: str) -> int | None:
    """Value of a Chinese numeral ("二十二" -> 22, "二〇二六" -> 2026); None when it is not one."""
    if not s:
        return None
    if all(c in _CN_DIGITS for c in s):
        return int("".join(str(_CN_DIGITS[c]) for c in s))
    total = 0
    cur = 0
    for c in s:
        if c in _CN_DIGITS:
            cur = _CN_DIGITS[c]
        elif c in _CN_UNITS:
            total += (cur or 1) * _CN_UNITS[c]
            cur = 0
        else:
            return None
    return total + cur


# A Chinese numeral followed by a date/time/duration unit. The look-behind keeps weekdays
# (周一, 星期六), lunar days (初二) and idioms (统一时间, 第一时间, 同一天) as they are.
_CN_NUM_RE = re.compile(
    r"(?<![周期拜统第同唯逐万初零〇一二两三四五六七八九十百])([零〇一二两三四五六七八九十百]++)"
    r"(?=\s*(?:年|月|日|号|点|时(?![间候段期效限长])|个?半?小时|分钟|天))"
)
# Minutes written in Chinese after an hour already turned into digits: 2点三十分 -> 2点30分.
_CN_MIN_RE = re.compile(r"(?<=\d[点时])([零〇一二三四五六七八九十]++)(?=分)")
_SPACE_RUN_RE = re.compile(r"[^\S\n]+")
_NEWLINE_RUN_RE = re.compile(r" ?\n[\n ]*")
_BEIJING_RE = re.compile(r"[(]?\s*北京时间\s*[)]?|[(]?\s*GMT\s*\+\s*8\s*[)]?|[(]?\s*UTC\s*\+\s*8\s*[)]?")
# Characters NFKC leaves alone but notices use as punctuation: ratio colon, dashes, ideographic
# full stop variants.
_PUNCT = str.maketrans({"∶": ":", "﹕": ":", "–": "-", "―": "-", "─": "-", "〜": "~", "～": "~", "｜": "|"})
_PUNCT_HINT_RE = re.compile("[∶﹕–―─〜～｜]")
# Traditional text is recognised by characters that never appear in Simplified notices; running
# OpenCC only then keeps the common (simplified) path free of the dictionary.
_TRADITIONAL_HINT_RE = re.compile(
    r"[維護時間統週銀帳賬務暫應與為於這們來會後過點網處關開從對報還說當將業續額條單戶國區電費緊線]"
)


@lru_cache(maxsize=1)
def _converter() -> Callable[[str], str]:
    import opencc  # deferred: only notices in Traditional characters pay for the dictionary

    cc = opencc.OpenCC("t2s")
    convert: Callable[[str], str] = cc.convert
    return convert


def to_simplified(text: str) -> str:
    """``text`` in Simplified characters, same length, same offsets. Never raises on any ``str``."""
    if not _TRADITIONAL_HINT_RE.search(text):
        return text
    convert = _converter()
    out = convert(text)
    if len(out) == len(text):
        return out
    return "".join(c if len(s := convert(c)) != 1 else s for c in text)


def _num_sub(m: re.Match[str]) -> str:
    value = cn_to_int(m.group(1))
    return m.group(1) if value is None else str(value)


def normalize(text: str) -> str:
    """Simplified characters, half-width (NFKC), one space or newline per whitespace run, no
    "北京时间", Chinese numerals before units as digits. Never raises on any ``str``."""
    t = to_simplified(text)
    if not unicodedata.is_normalized("NFKC", t):
        t = unicodedata.normalize("NFKC", t)
    if _PUNCT_HINT_RE.search(t):
        t = t.translate(_PUNCT)
    t = _NEWLINE_RUN_RE.sub("\n", _SPACE_RUN_RE.sub(" ", t))
    if "北京时间" in t or "GMT" in t or "UTC" in t:
        t = _BEIJING_RE.sub(" ", t)
    t = _CN_NUM_RE.sub(_num_sub, t)
    return _CN_MIN_RE.sub(_num_sub, t)
