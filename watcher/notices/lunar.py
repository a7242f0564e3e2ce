"""Spring Festival (正月初一) dates, for 除夕 / 大年初二 / 正月初五-style days in notices.

The table covers 2010-2035 (Gregorian date of the first day of the lunar year, as published in
the official calendar); a notice whose publication date is outside it gets no date for such a
word, and the parser says so in ``reasons``. Extend the table rather than computing the lunar
calendar: notices only ever need the few days around one festival.
"""

from __future__ import annotations

from datetime import date, timedelta

SPRING_FESTIVAL: dict[int, date] = {
    2010: date(2010, 2, 14), 2011: date(2011, 2, 3), 2012: date(2012, 1, 23), 2013: date(2013, 2, 10),
    2014: date(2014, 1, 31), 2015: date(2015, 2, 19), 2016: date(2016, 2, 8), 2017: date(2017, 1, 28),
    2018: date(2018, 2, 16), 2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12),
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
    2030: date(2030, 2, 3), 2031: date(2031, 1, 23), 2032: date(2032, 2, 11), 2033: date(2033, 1, 31),
    2034: date(2034, 2, 19), 2035: date(2035, 2, 8),
}


def festival_near(published: date) -> date | None:
    """The Spring Festival a notice published on ``published`` most likely means: the nearest
    one (a notice in December talks about the coming festival, one in March about the past one)."""
    candidates = [d for y in (published.year - 1, published.year, published.year + 1)
                  if (d := SPRING_FESTIVAL.get(y)) is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda d: abs((d - published).days))


def lunar_new_year_day(published: date, day: int) -> date | None:
    """正月初``day`` (1..15) of the festival nearest ``published``; day 0 is 除夕 (the eve)."""
    first = festival_near(published)
    if first is None or not 0 <= day <= 15:
        return None
    return first + timedelta(days=day - 1)
