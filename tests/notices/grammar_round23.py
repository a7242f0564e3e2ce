"""Round 23: windows written in another time zone, the largest cause of extra and missed windows on
the blind sets as first scored (``python -m tests.notices.grammar_round23``).

Zone words are built the way translated notices write them, not taken from any notice: a place or a
zone area with or without 当地/本地 and 标准/夏令 ("意大利时间", "英国夏令时", "美国东部标准时间",
"澳洲西部时间", "新西兰当地时间"), abbreviations (MST, NZST, EET ...) and UTC/GMT offsets ("UTC-5",
"GMT+9", "UTC−7" with a minus sign). Each is crossed with where the word stands (before the date, in
brackets after the hours, at the end of a field line, in a heading over the rows, once for the whole
notice), a date in winter and one in summer (so daylight saving is checked), three date forms, same-day
and across-midnight hours, and Simplified or Traditional script. The window in Beijing time is known by
construction from the zone's IANA rules. Look-alikes keep their times: zone words of Beijing's own
offset (香港时间, 台北时间, 新加坡时间) and a zone word in a sentence that is not about the window.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import opencc

from huabei_watch.clock import SHANGHAI
from tests.notices.grammar_round20 import print_failures
from watcher.notices import understand

PUBLISHED = date(2026, 6, 20)
SEED = 23

# (zone word, IANA zone); an offset written as UTC/GMT±h is a fixed zone ("Etc/GMT+5" is UTC-5)
ZONES: tuple[tuple[str, str], ...] = (
    ("太平洋标准时间", "America/Los_Angeles"), ("太平洋夏令时间", "America/Los_Angeles"),
    ("美国太平洋夏令时间", "America/Los_Angeles"), ("美国东部标准时间", "America/New_York"),
    ("东部夏令时间", "America/New_York"), ("美东夏令时", "America/New_York"), ("美国中部标准时间", "America/Chicago"),
    ("美国山地时间", "America/Denver"), ("加拿大东部时间", "America/Toronto"), ("夏威夷时间", "Pacific/Honolulu"),
    ("阿拉斯加时间", "America/Anchorage"), ("英国夏令时间", "Europe/London"), ("英国夏令时", "Europe/London"),
    ("格林威治时间", "UTC"), ("中欧夏令时间", "Europe/Berlin"), ("欧洲中部夏令时间", "Europe/Berlin"),
    ("东欧时间", "Europe/Athens"), ("意大利时间", "Europe/Rome"), ("意大利当地时间", "Europe/Rome"),
    ("德国时间", "Europe/Berlin"), ("法国时间", "Europe/Paris"), ("荷兰时间", "Europe/Amsterdam"),
    ("匈牙利时间", "Europe/Budapest"), ("西班牙时间", "Europe/Madrid"), ("葡萄牙时间", "Europe/Lisbon"),
    ("瑞士时间", "Europe/Zurich"), ("爱尔兰时间", "Europe/Dublin"), ("波兰当地时间", "Europe/Warsaw"),
    ("土耳其时间", "Europe/Istanbul"), ("以色列时间", "Asia/Jerusalem"), ("新西兰标准时间", "Pacific/Auckland"),
    ("新西兰夏令时间", "Pacific/Auckland"), ("澳洲西部时间", "Australia/Perth"), ("珀斯时间", "Australia/Perth"),
    ("赞比亚当地时间", "Africa/Lusaka"), ("东非时间", "Africa/Nairobi"), ("巴基斯坦时间", "Asia/Karachi"),
    ("孟加拉时间", "Asia/Dhaka"), ("缅甸时间", "Asia/Yangon"), ("柬埔寨时间", "Asia/Phnom_Penh"),
    ("印度标准时", "Asia/Kolkata"), ("圣保罗时间", "America/Sao_Paulo"), ("墨西哥城时间", "America/Mexico_City"),
    ("阿根廷时间", "America/Argentina/Buenos_Aires"), ("多伦多当地时间", "America/Toronto"),
    ("日本标准时间", "Asia/Tokyo"), ("韩国时间", "Asia/Seoul"), ("美国东部时间", "America/New_York"),
    ("MST", "America/Denver"), ("HST", "Pacific/Honolulu"), ("NZST", "Pacific/Auckland"), ("EET", "Europe/Athens"),
    ("WET", "Europe/Lisbon"), ("UTC-5", "Etc/GMT+5"), ("GMT+9", "Etc/GMT-9"), ("UTC−7", "Etc/GMT+7"),
    ("UTC+0", "UTC"), ("UTC+05:30", "Asia/Kolkata"),
)
# zone words of Beijing's own offset: the times stay as written
SAME_AS_BEIJING: tuple[str, ...] = ("香港时间", "台北时间", "新加坡时间", "北京时间", "UTC+8", "GMT+08:00")
DAYS: tuple[tuple[str, int, int], ...] = (("winter", 12, 5), ("summer", 7, 5))
DATE_FORMS: tuple[tuple[str, str], ...] = (("ymd_cn", "2026年{m}月{d}日"), ("iso", "2026-{m:02d}-{d:02d}"),
                                           ("md_cn", "{m}月{d}日"))
# (name, start text, end text, start hour, end hour, end the next day)
HOURS: tuple[tuple[str, str, str, int, int, bool], ...] = (
    ("hm", "10:00", "14:00", 10, 14, False),
    ("dian", "上午10点", "下午2点", 10, 14, False),
    ("night", "22:00", "次日2:00", 22, 2, True),
)
# where the zone word stands; {z} zone, {day} date, {s} {e} hours
PLACEMENTS: tuple[tuple[str, str], ...] = (
    ("before", "我们将于{z} {day} {s}至{e}进行系统维护，届时网上银行暂停服务。"),
    ("after", "{day} {s}至{e}（{z}），网上银行因系统升级暂停服务。"),
    ("field", "维护时间：{day} {s}-{e} {z}\n影响范围：期间网上银行、手机银行暂停服务。"),
    ("heading", "维护时间（{z}）：\n{day} {s}至{e}\n期间网上银行暂停服务。"),
    ("whole", "{day} {s}至{e}，网上银行因系统维护暂停服务。\n以上时间均为{z}。"),
)
_S2T = opencc.OpenCC("s2t")


@dataclass(frozen=True, slots=True)
class Case:
    """One generated notice and its window in Beijing time (naive)."""

    forms: tuple[tuple[str, str], ...]
    text: str
    windows: tuple[tuple[datetime, datetime], ...]


def _local(zone: str, m: int, d: int, h: int, next_day: bool) -> datetime:
    day = date(2026, m, d + (1 if next_day else 0))
    return datetime(day.year, day.month, day.day, h, tzinfo=ZoneInfo(zone)).astimezone(SHANGHAI).replace(tzinfo=None)


def _build(rng: random.Random, zone_word: str, zone: str | None, placements: tuple[tuple[str, str], ...],
           extra: tuple[tuple[str, str], ...] = ()) -> Case:
    season, m, d = rng.choice(DAYS)
    date_name, date_form = rng.choice(DATE_FORMS)
    hours_name, s, e, hs, he, nxt = rng.choice(HOURS)
    place_name, template = rng.choice(placements)
    script = rng.choice(("simplified", "traditional"))
    text = template.format(z=zone_word, day=date_form.format(m=m, d=d), s=s, e=e)
    if script == "traditional":
        text = _S2T.convert(text)
    if zone is None:
        window = (datetime(2026, m, d, hs), datetime(2026, m, d + nxt, he))
    else:
        window = (_local(zone, m, d, hs, False), _local(zone, m, d, he, nxt))
    forms = (("zone", zone_word), ("placement", place_name), ("season", season), ("date", date_name),
             ("hours", hours_name), ("script", script), *extra)
    return Case(forms, text, (window,))


def zoned(n_per_zone: int = 24) -> list[Case]:
    """Maintenance windows written in another zone: each must come out once, moved to Beijing time."""
    rng = random.Random(SEED)
    return [_build(rng, word, zone, PLACEMENTS) for word, zone in ZONES for _ in range(n_per_zone)]


# a zone word in a sentence that is not about the window: the window stays as written
ASIDE: tuple[tuple[str, str], ...] = (
    ("aside_after", "{day} {s}至{e}，网上银行因系统维护暂停服务。\n身在{z}时区的海外客户，如有疑问请致电客服热线。"),
    ("aside_before", "本行海外客服按{z}提供服务。\n{day} {s}至{e}，网上银行因系统维护暂停服务。"),
)


def lookalikes(n: int = 600) -> list[Case]:
    """Times that keep their Beijing reading: zone words of Beijing's offset, and zone words aside."""
    rng = random.Random(SEED + 1)
    cases = [_build(rng, rng.choice(SAME_AS_BEIJING), None, PLACEMENTS, (("family", "same_as_beijing"),))
             for _ in range(n // 2)]
    cases += [_build(rng, rng.choice(ZONES)[0], None, ASIDE, (("family", "aside"),)) for _ in range(n - n // 2)]
    return cases


def fails(case: Case) -> str | None:
    """Why the parser's reading differs from the case's window, or None."""
    u = understand(case.text, published=PUBLISHED, title="系统维护公告")
    got = [(w.start.astimezone(SHANGHAI).replace(tzinfo=None),
            None if w.end is None else w.end.astimezone(SHANGHAI).replace(tzinfo=None)) for w in u.windows]
    if u.kind != "maintenance":
        return f"kind {u.kind}"
    if sorted(got, key=str) != sorted(case.windows, key=str):
        return f"windows {got}"
    return None


def _bj(date_form: str, start: datetime, end: datetime) -> tuple[str, str]:
    """A window in Beijing time written as a notice would: the day, then the hours (次日 for the next day)."""
    day = date_form.replace("2026", str(start.year)).format(m=start.month, d=start.day)
    tail = f"{end:%H:%M}" if end.date() == start.date() else f"次日{end:%H:%M}"
    return f"{day} {start:%H:%M}", tail


# a window written in its zone and restated in Beijing time (北京时间 written out): one window
RESTATEMENTS: tuple[tuple[str, str], ...] = (
    ("ji", "{day} {s}至{e}（{z}），即北京时间{bs}至{be}，网上银行暂停服务。"),
    ("bracket", "{z}{day} {s}至{e}（北京时间{bs}至{be}），网上银行暂停服务。"),
    ("rows", "维护时间：\n{z}：{day} {s}-{e}\n北京时间：{bs}-{be}\n期间网上银行暂停服务。"),
    ("beijing_first", "北京时间{bs}至{be}（{z}{day} {s}至{e}），网上银行因系统升级暂停服务。"),
    ("xiangdang", "系统升级时间为{z}{day} {s}至{e}，相当于北京时间{bs}至{be}，期间网上银行暂停服务。"),
)


def restated(n_per_zone: int = 10) -> list[Case]:
    """Windows written in another zone and again in Beijing time: each must come out once."""
    rng = random.Random(SEED + 2)
    cases = []
    for word, zone in ZONES:
        for _ in range(n_per_zone):
            season, m, d = rng.choice(DAYS)
            date_name, date_form = rng.choice(DATE_FORMS)
            hours_name, hs, he = rng.choice((("morning", 10, 14), ("evening", 20, 23)))
            place_name, template = rng.choice(RESTATEMENTS)
            window = (_local(zone, m, d, hs, False), _local(zone, m, d, he, False))
            bs, be = _bj(date_form, *window)
            # an offset is kept apart from a date that follows it ("UTC-5 12月5日"), as in zoned()
            z = word + " " if word[-1].isdigit() and "{z}{day}" in template else word
            text = template.format(z=z, day=date_form.format(m=m, d=d), s=f"{hs}:00", e=f"{he}:00", bs=bs, be=be)
            script = rng.choice(("simplified", "traditional"))
            if script == "traditional":
                text = _S2T.convert(text)
            forms = (("zone", word), ("placement", place_name), ("season", season), ("date", date_name),
                     ("hours", hours_name), ("script", script))
            cases.append(Case(forms, text, (window,)))
    return cases


def rows_an_offset_apart(n: int = 200) -> list[Case]:
    """Look-alike of a restatement: two rows under one zone heading whose second row's hours are the
    first row's moved to Beijing time. Both are windows of their own and both are moved."""
    rng = random.Random(SEED + 3)
    cases = []
    for _ in range(n):
        word, zone = rng.choice(ZONES)
        season, m, d = rng.choice(DAYS)
        first = (_local(zone, m, d, 10, False), _local(zone, m, d, 14, False))
        if first[0].date() != date(2026, m, d) or first[1].date() != date(2026, m, d):
            continue
        hs, he = first[0].hour, first[1].hour
        second = (_local(zone, m, d, hs, False), _local(zone, m, d, he, False))
        text = (f"维护时间（{word}）：\n网上银行：2026年{m}月{d}日 10:00-14:00\n"
                f"手机银行：2026年{m}月{d}日 {hs:02d}:00-{he:02d}:00\n期间相关服务暂停。")
        forms = (("zone", word), ("season", season), ("family", "rows_an_offset_apart"))
        cases.append(Case(forms, text, (first, second)))
    return cases


def main() -> None:
    print_failures((("zoned", zoned()), ("restated", restated()), ("look-alikes", lookalikes()),
                    ("rows an offset apart", rows_an_offset_apart())), fails)


if __name__ == "__main__":
    main()
