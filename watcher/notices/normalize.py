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

from watcher.notices import headers, variants
from watcher.notices.fragments import DAY, MONTH

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def cn_to_int(s: str) -> int | None:
    """Value of a Chinese numeral ("二十二" -> 22, "二〇二六" -> 2026); None when it is not one."""
    if not s:
        return None
    # 廿 and 卅 are twenty and thirty in dates ("五月廿八日", "卅一日")
    s = s.replace("廿", "二十").replace("卅", "三十")
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
# A lone 两 counts ("两日", "两号线"): never a day of the month, so "两日" stays as written
# ("7月27日及8月3日两日6:00~8:00" is two dates, not the 2nd).
_CN_NUM_RE = re.compile(
    r"(?<![周期拜统第同唯逐万初零〇一二两三四五六七八九十百廿卅])(?!两(?![零〇一二两三四五六七八九十百])\s*[日号])"
    # "12月5日、6日两天": a count of the dates before it, kept as written
    r"(?!(?<=[日号])两\s*天)"
    r"([零〇一二两三四五六七八九十百廿卅]++)"
    r"(?=\s*(?:年|月|日|号|点|时(?![间候段期效限长])|个?半?小时|分钟|天))"
)
# "廿二至廿三日": the first of two days written in Chinese shares the 日 of the second. Only days
# from the 10th (十, 廿, 卅 written), and not a count ("十至十五日内"): "一至三日" is a duration.
_CN_DAY_SPAN_RE = re.compile(
    r"(?<![零〇一二两三四五六七八九十百廿卅周期拜第初])((?:[一二三]?十|廿|卅)[一二三四五六七八九]?)"
    r"(\s*(?:至|到)\s*(?:[一二三]?十|廿|卅)[一二三四五六七八九]?\s*[日号](?!\s*(?:内|以内|之内|后|以后|左右)))"
)
# "连续三日" counts days (never the 3rd): written as 天 before numerals become digits.
_RUN_OF_DAYS_RE = re.compile(r"(连续|一连)\s*([零〇一二两三四五六七八九十\d]{1,3})\s*日")
# Minutes written in Chinese after an hour already turned into digits: 2点三十分 -> 2点30分.
_CN_MIN_RE = re.compile(r"(?<=\d[点时])([零〇一二三四五六七八九十]++)(?=分)")
# "凌晨2-4点", "0～6时": the first hour shares the unit written after the second; "12月5-6日": the
# first day shares 日. Written out so that each is a point of its own.
_SHARED_HOUR_RE = re.compile(r"(?<![\d:.点时])(\d{1,2})(\s*(?:[-~]|至|到)\s*)(\d{1,2})(?=\s*[点时](?![间候段期效限长]))")
_SHARED_DAY_RE = re.compile(r"(?<=月)(\d{1,2})(\s*(?:[-~]|至|到)\s*)(?=\d{1,2}\s*[日号])")
# "12月5、6日": every day of the list shares 日 ("12月5日、6日").
_SHARED_DAY_LIST_RE = re.compile(r"(?<=月)((?:\d{1,2}\s*[、,]\s*)+)(?=\d{1,2}\s*[日号])")
_LIST_DAY_RE = re.compile(r"(\d{1,2})(\s*[、,]\s*)")
# "22时许", "22:00时", "22.00-6.00": an hour written with 许 (about) or a 时 after its minutes, and
# hours written with a dot after a day or a part of the day, as plain hours.
_ABOUT_RE = re.compile(r"(?<=\d[点时分])许")
_CLOCK_SHI_RE = re.compile(r"(?<=\d:\d\d)\s*时(?![间段期效候长限])")
# Letters o/O typed for zeros in a clock time ("均于oo:oo开始", "2o:3O"), not in a word ("Foo:oo").
_O_CLOCK_RE = re.compile(r"(?<![A-Za-z0-9])[0-9oO]{1,2}:[0-9oO]{2}(?![A-Za-z0-9])")
_O_CLOCK_HINT_RE = re.compile(r"[oO]:|:[oO]")
_ZEROS = str.maketrans("oO", "00")
# "一" typed for a dash between a clock time and the next date or time ("08:00一10月3日10:00").
_ONE_DASH_RE = re.compile(r"(?<=\d:\d\d)[^\S\n]*一[^\S\n]*(?=\d)")
_DOT_HOURS_RE = re.compile(
    r"(?<=[日号晨午晚上])(\s*)([01]?\d|2[0-4])\.([0-5]\d)(\s*(?:[-~至到]|—)\s*)([01]?\d|2[0-4])\.([0-5]\d)(?![\d.])"
)
# "系统维护公告(12/5)": a month and day alone in brackets.
_BRACKET_MD_RE = re.compile(rf"(?<=\()({MONTH})/({DAY})(?=\))")
# "PM10:00", "AM 6:00": the half of the day written before the time, as 上午/下午.
_AMPM_BEFORE_RE = re.compile(r"(?<![A-Za-z])(?:(AM|am|Am|a\.m\.)|(PM|pm|Pm|p\.m\.))\s*(?=\d{1,2}\s*[:点时])")
# Circled and parenthesised item numbers (①, ⑵): NFKC turns them into bare digits that would glue
# to the date after them ("①12月5日" -> "112月5日"); they become "(1)".
_CIRCLED = {chr(0x2460 + i): f"({i + 1})" for i in range(20)} | {chr(0x2474 + i): f"({i + 1})" for i in range(20)}
_CIRCLED_RE = re.compile("[\u2460-\u2473\u2474-\u2487]")
_SPACE_RUN_RE = re.compile(r"[^\S\n]+")
_NEWLINE_RUN_RE = re.compile(r" ?\n[\n ]*")
# (a line break around the marker stays: "……14:00\n北京时间：12月6日……" is two rows)
_BEIJING_RE = re.compile(r"[(]?[^\S\n]*北京时间[^\S\n]*[)]?|[(]?[^\S\n]*GMT\s*\+\s*8[^\S\n]*[)]?"
                         r"|[(]?[^\S\n]*UTC\s*\+\s*8[^\S\n]*[)]?")
# Characters NFKC leaves alone but notices use as punctuation: ratio colon, dashes, ideographic
# full stop variants.
_PUNCT = str.maketrans({"∶": ":", "﹕": ":", "–": "-", "―": "-", "─": "-", "〜": "~", "～": "~", "｜": "|"})
# A day written with an English month name, as pages translated or bilingual keep it ("02-May (Sat)",
# "2 May 2026", "May 2, 2026", "Nov. 9"): read as "[2026年]5月2日".
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MON = r"(?P<mon>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?)"
_EN_DAY_RE = re.compile(
    r"(?<![A-Za-z\d])(?:(?P<d1>\d{1,2})(?:st|nd|rd|th)?[- ]" + _MON + r"(?:[- ,]+(?P<y1>\d{4}))?"
    r"|" + _MON.replace("mon>", "mon2>") + r" (?P<d2>\d{1,2})(?:st|nd|rd|th)?(?:, ?(?P<y2>\d{4}))?)(?![A-Za-z\d])"
)
# A zone marker between a start and the range word ("18:00 GMT至11月19日02:00 GMT"): written once,
# after the end, so the range reads as one and the zone still applies to it.
_ZONE_MARK = r"(?:UTC|GMT)(?:\s?[+-]\s?\d{1,2}(?::?\d{2})?)?|PST|PDT|EST|EDT|CET|CEST|JST|KST"
_ZONE_MID_RE = re.compile(
    # the start written "18:00", "下午5点", "17时30分" or "5点半"
    # (the marker whole: the sign of "UTC-5" is no range word)
    r"(?:(?<=\d:\d\d)|(?<=\d[点时分])|(?<=\d点半)) ?\(?(?P<z>" + _ZONE_MARK + r")(?!\s?[+\-−]\s?\d)\)? ?(?P<to>至|到|-|~)"
    r"(?P<rest>[^。;\n]{0,24}?\d{1,2}(?::\d{2}|[点时](?:\d{1,2}分|半)?))"
    r"(?P<tail> ?\(?(?:" + _ZONE_MARK + r"))?"
)
_ON_THE_HOUR_RE = re.compile(r"(?<=\d[点时])整")
_PUNCT_HINT_RE = re.compile("[∶﹕–―─〜～｜]")
# Traditional text is recognised by characters that never appear in Simplified notices (every
# character of the development set and the table cases that OpenCC's t2s changes, 456 of them, so
# that a short notice written only with, say, 中斷 or 停機 is converted too); running OpenCC only
# then keeps the common (simplified) path free of the dictionary.
_TRADITIONAL_HINT_RE = re.compile(
    "["
    "丟並亞佔併來係倉個們備傳傷僅價儀償優儲兌兒內兩冊別刪則創劃動務勢勵匯區協參員唄問啟單嗶嘗國圍園圓圖團執報場塊墊壇壓壞學實寧審寫寬寶將專對導屆層屬岡崗嶺嶼師帳帶幣幫幾庫廈廠廣廳張強彈"
    "後從復徵徹愛態慣慶憑應戲戶掃掛換損搶摺撥撲擇擔據擬擴擺擾攜敗敘數斷於時暫曆曬書會東柵條棄楓業榮構樂樓標樣樹橋機檢檯櫃欄權歐歡歷歸殘毀氣決沒沖況淨淩減測準溫滙滿濟瀏灣災為烏無熱營燭爾"
    "狀獎獨獲現瑪產畢畫異當瘓療癱發盜盡監盤眾確碼礙禮稅種稱積穩筆節範簡簽籌紀約紅納紙級細終組結絕絡統絲綁經綜綠維網緊線編緩練縣縮總繫繳繼續纜罰義聞聯聲職聽腦臉臨臺與興舉舊華萊萬蓋蓮藥處"
    "號蝦術衛補裝製複襲見規視親觀訂計訊託記訪設許診註詐評詢試話該誌認語誤說課調請諒論諮謝證識議護譽讀變讓豐負財貢貨責貴買貸費貼資賣質賬購贈贊贏趨車軍軟載輕輛輪輯輸轉辦農逕這連週進遊運過"
    "達違遞遠適遲遷選遺還邊郵鄉鄰醫針鈔銀銅銷鋪錄錢錯錶鍰鎖鎮鐘鐵鑼鑽長門閃閉開閒間閘閥閱關陸隊階際隨險隱雖雙雜離難雲電靈響頁項順須預領頭頻題額類顧顯風颱飛飲餉養餓餘館駐駕駛騙驗體鬆魚鳳"
    "麼黃點齊龍龜"
    "]"
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


# Pictographs and emoji ("📅 2026/01/17", "⏰ 21:00"): decoration, read as a space.
_PICTO_RE = re.compile("[\u2600-\u27bf\ufe0f\U0001f000-\U0001faff]")


def _num_sub(m: re.Match[str]) -> str:
    value = cn_to_int(m.group(1))
    if value is None:
        return m.group(1)
    # "2021-09-14零时": a space keeps the hour apart from the day written before it
    glued = m.start() > 0 and m.string[m.start() - 1].isdigit() and m.string[m.end():m.end() + 1] != "分"
    return f" {value}" if glued else str(value)


# A dotted date range whose end leaves out the year ("2018.1.1~1.4", "2025.12.30-1.2"): the end is
# the first such month and day on or after the start (the next year's when it comes earlier).
_DOT_SHORT_END_RE = re.compile(
    r"(?<![\d.])(?P<y>\d{4})\.(?P<m>\d{1,2})\.(?P<d>\d{1,2})(?P<to>\s*(?:~|-|至|到)\s*)"
    r"(?P<m2>\d{1,2})\.(?P<d2>\d{1,2})(?![\d.%])"
)


def _dot_short_end(m: re.Match[str]) -> str:
    m1, d1, m2, d2 = (int(m[g]) for g in ("m", "d", "m2", "d2"))
    if not (1 <= m2 <= 12 and 1 <= d2 <= 31 and 1 <= m1 <= 12):
        return m.group()
    year = int(m["y"]) + (1 if (m2, d2) < (m1, d1) else 0)
    return f"{m['y']}.{m['m']}.{m['d']}{m['to']}{year}.{m['m2']}.{m['d2']}"


def normalize(text: str) -> str:
    """Simplified characters, half-width (NFKC), one space or newline per whitespace run, no
    "北京时间", Chinese numerals before units as digits. Never raises on any ``str``."""
    t = to_simplified(text)
    if _PICTO_RE.search(t):
        t = _PICTO_RE.sub(" ", t)
    if _CIRCLED_RE.search(t):
        t = _CIRCLED_RE.sub(lambda m: _CIRCLED[m.group()], t)
    if not unicodedata.is_normalized("NFKC", t):
        t = unicodedata.normalize("NFKC", t)
    if _PUNCT_HINT_RE.search(t):
        t = t.translate(_PUNCT)
    t = _NEWLINE_RUN_RE.sub("\n", _SPACE_RUN_RE.sub(" ", t))
    if "北京时间" in t or "GMT" in t or "UTC" in t:
        # "（北京时间12月6日0:00-2:00）" keeps its opening bracket: what follows is a restatement
        t = _BEIJING_RE.sub(lambda m: "(" if m.group().startswith("(") and not m.group().endswith(")") else " ", t)
    if _EN_DAY_RE.search(t):
        t = _EN_DAY_RE.sub(_en_day, t)
    if "连续" in t or "一连" in t:
        t = _RUN_OF_DAYS_RE.sub(r"\1\2天", t)
    if ("至" in t or "到" in t) and _CN_DAY_SPAN_RE.search(t):
        t = _CN_DAY_SPAN_RE.sub(r"\1日\2", t)
    if _O_CLOCK_HINT_RE.search(t):
        t = _O_CLOCK_RE.sub(lambda m: m.group().translate(_ZEROS), t)
    if "一" in t:  # before the Chinese numerals: this 一 is no number
        t = _ONE_DASH_RE.sub("-", t)
    t = _CN_NUM_RE.sub(_num_sub, t)
    t = _CN_MIN_RE.sub(_num_sub, t)
    if "整" in t:  # "下午5点整", "12时整": on the hour
        t = _ON_THE_HOUR_RE.sub("", t)
    t = variants.four_digit_clocks(t)  # "下午1800 GMT": before the zone markers are placed
    if "T" in t or "ST" in t:  # after the Chinese numerals: "晚上六点 GMT至……凌晨两点 GMT"
        t = _ZONE_MID_RE.sub(lambda m: f"{m['to']}{m['rest']}{m['tail'] or ' ' + m['z']}", t)
    if "、" in t or "," in t:
        t = _SHARED_DAY_LIST_RE.sub(lambda m: _LIST_DAY_RE.sub(r"\1日\2", m.group(1)), t)
    if "/" in t:
        t = _BRACKET_MD_RE.sub(r"\1月\2日", t)
    if "许" in t:
        t = _ABOUT_RE.sub("", t)
    if "时" in t:
        t = _CLOCK_SHI_RE.sub("", t)
    if "." in t:
        t = _DOT_SHORT_END_RE.sub(_dot_short_end, t)
        t = _DOT_HOURS_RE.sub(r"\1\2:\3\4\5:\6", t)
    if "M" in t or "m" in t:
        t = _AMPM_BEFORE_RE.sub(lambda m: "上午" if m.group(1) else "下午", t)
    if "-" in t or "~" in t or "至" in t or "到" in t:
        t = _SHARED_HOUR_RE.sub(_shared_hour, t)
        t = _SHARED_DAY_RE.sub(r"\1日\2", t)
    return headers.lead_year(headers.spell_out(variants.rewrite(t)))


def _shared_hour(m: re.Match[str]) -> str:
    unit = m.string[m.end(3) :].lstrip()[:1]
    return f"{m.group(1)}{unit}{m.group(2)}{m.group(3)}"


def _en_day(m: re.Match[str]) -> str:
    mon = _MONTHS.index((m["mon"] or m["mon2"])[:3].lower()) + 1
    day, year = (m["d1"], m["y1"]) if m["d1"] else (m["d2"], m["y2"])
    if not 1 <= int(day) <= 31:
        return m.group()
    return (f"{year}年" if year else "") + f"{mon}月{int(day)}日"
