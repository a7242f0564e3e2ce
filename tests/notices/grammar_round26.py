"""Round 26: the shapes behind the windows missed with "nothing near" on first sight
(``python -m bench.first_sight_windows --nothing-near``), built by construction
(``python -m tests.notices.grammar_round26``).

Each family writes a whole schedule in one shape and knows its windows because it wrote them: a list
of dates (or of day ranges) sharing one or more hours lines, before or after the list or on a line of
their own (a yearly schedule of 12 rows too); a date range with hours for each of its days (每日/每晚,
a second daily line 另每晚); the same window on the rows of several services; a date written once and
the hours of several services or stages below it (or 同日/当天); whole days and day ranges with no hours;
half-day words (上午/下午/凌晨/中午/傍晚/晚上/午前/午後, AM/PM) at either end. Numbers, separators, punctuation,
layout, script and neighbouring lines vary. Look-alikes put the same shapes into notices that state no
window: event dates sharing a time, a fee change on a list of dates, opening hours by weekday.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from huabei_watch.clock import SHANGHAI
from tests.notices.grammar_round20 import print_failures
from watcher.notices import understand

PUBLISHED = date(2026, 11, 20)
SEED = 26
SERVICES: tuple[str, ...] = ("网上银行", "手机银行", "微信银行", "信用卡分期", "跨行转账", "电话银行", "自助终端",
                             "快捷支付", "缴费服务", "APP理财频道", "短信通知", "对公网银")
FILLERS: tuple[str, ...] = ("", "给您带来的不便，敬请谅解。", "如有疑问，请致电客服热线95588。",
                            "维护结束后服务将自动恢复，无需重新登录。", "其他服务不受影响。")
LOOKALIKE_FILLERS: tuple[str, ...] = ("", "欢迎垂询。", "如有疑问，请致电客服热线95588。", "详情请见本行官网。")


@dataclass(frozen=True, slots=True)
class Case:
    """One generated notice and the windows it states (naive Beijing time)."""

    forms: tuple[tuple[str, str], ...]
    text: str
    windows: tuple[tuple[datetime, datetime], ...]


@functools.cache
def _s2t() -> Callable[[str], str]:
    import opencc
    return opencc.OpenCC("s2t").convert


# --- dates -----------------------------------------------------------------------------------------
def _day_text(form: str, d: date, first: bool) -> str:
    """``d`` written in ``form``; ``first`` is the first date of a list (later ones may drop year/month)."""
    if form == "ymd_cn":
        return f"{d.year}年{d.month}月{d.day}日"
    if form == "md_cn":
        return f"{d.month}月{d.day}日"
    if form == "iso":
        return f"{d:%Y-%m-%d}"
    if form == "slash":
        return f"{d.year}/{d.month:02d}/{d.day:02d}"
    if form == "md_slash":
        return f"{d.month}/{d.day}"
    if form == "hao":
        return f"{d.month}月{d.day}号"
    raise ValueError(form)


def _then(day: str) -> str:
    """A date followed by hours: a space after a date that ends in a digit ("12/6 01:00", not "12/601:00")."""
    return day + " " if day[-1].isdigit() else day


DATE_FORMS: tuple[str, ...] = ("ymd_cn", "md_cn", "iso", "slash", "md_slash", "hao")
LIST_SEPS: tuple[tuple[str, str, str], ...] = (  # (name, between, before the last)
    ("dun", "、", "、"), ("dun_he", "、", "和"), ("dun_ji", "、", "及"), ("comma", "，", "，"), ("ascii_comma", ", ", ", "),
    ("space", " ", " "), ("semicolon", "；", "；"))


def _date_list(rng: random.Random, days: list[date], form: str) -> tuple[str, str]:
    name, sep, last = rng.choice(LIST_SEPS)
    shared_month = form in ("md_cn", "ymd_cn") and rng.random() < 0.3 and len({d.month for d in days}) == 1
    parts = [_day_text(form, d, i == 0) for i, d in enumerate(days)]
    if shared_month:  # 12月5日、12日、19日
        parts = [parts[0]] + [f"{d.day}日" for d in days[1:]]
        name += "+shared_month"
    return (sep.join(parts[:-1]) + last + parts[-1]) if len(parts) > 1 else parts[0], name


# --- hours -----------------------------------------------------------------------------------------
# (name, text, start, end, end the next day)
HOURS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("hm", "01:00-05:00", "01:00", "05:00", False),
    ("hm_zhi", "2:00至6:00", "02:00", "06:00", False),
    ("hms_tilde", "19:45:00 ~ 22:00:00", "19:45", "22:00", False),
    ("dawn_dian", "凌晨1点至5点", "01:00", "05:00", False),
    ("dawn_shi", "凌晨0时至6时", "00:00", "06:00", False),
    ("am_pm", "上午9点至下午3点", "09:00", "15:00", False),
    ("pm_shi", "下午1时至6时", "13:00", "18:00", False),
    ("noon_pm", "中午12:00至下午2:00", "12:00", "14:00", False),
    ("night_ciri", "22:00至次日02:00", "22:00", "02:00", True),
    ("night_yiri", "晚上11点至翌日凌晨3点", "23:00", "03:00", True),
    ("night_geri", "23:50至隔日00:30", "23:50", "00:30", True),
    ("night_implicit", "22:00-06:00", "22:00", "06:00", True),
    ("night_2400", "20:00至24:00", "20:00", "24:00", False),
    ("evening", "傍晚6点至晚上9点", "18:00", "21:00", False),
)
SECOND_HOURS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("hm2", "02:00-03:30", "02:00", "03:30", False),
    ("dawn2", "凌晨3点至4点半", "03:00", "04:30", False),
    ("night2", "23:00至次日01:00", "23:00", "01:00", True),
)


def _at(d: date, hm: str) -> datetime:
    h, m = (int(x) for x in hm.split(":"))
    return datetime(d.year, d.month, d.day) + timedelta(hours=h, minutes=m)


def _window(d: date, s: str, e: str, nxt: bool) -> tuple[datetime, datetime]:
    return _at(d, s), _at(d + timedelta(days=1 if nxt else 0), e)


def _finish(rng: random.Random, forms: list[tuple[str, str]], text: str,
            windows: list[tuple[datetime, datetime]]) -> Case:
    # a look-alike's last line says nothing of maintenance
    text = text + rng.choice(FILLERS if windows else LOOKALIKE_FILLERS)
    script = rng.choice(("simplified", "simplified", "traditional"))
    if script == "traditional":
        text = _s2t()(text)
    return Case((*forms, ("script", script)), text, tuple(windows))


def _days(rng: random.Random, n: int, step: int | None = None) -> list[date]:
    start = date(2026, 12, rng.randint(1, 9))
    step = step or rng.choice((1, 2, 7))
    return [start + timedelta(days=step * i) for i in range(n)]


# --- families --------------------------------------------------------------------------------------
def _date_list_shared_hours(rng: random.Random) -> Case:
    """A list of dates sharing one hours line, or several services' hours lines."""
    form = rng.choice(DATE_FORMS)
    days = _days(rng, rng.randint(2, 4))
    listed, sep = _date_list(rng, days, form)
    n_hours = rng.choice((1, 1, 2, 3))
    # hours of their own (two services with the same hours are one window of each date: see same_window_rows)
    hours = [rng.choice(HOURS)] if n_hours == 1 else list({(h[2], h[3]): h for h in rng.sample(HOURS, n_hours)}.values())
    n_hours = len(hours)
    svc = rng.sample(SERVICES, n_hours)
    layout = rng.choice(("after", "before", "field_lines", "rows_below", "nights_word"))
    if n_hours > 1 and layout in ("before", "nights_word"):
        layout = "rows_below"
    if layout == "after":
        body = "；".join(f"{h[1]}{s}暂停服务" for h, s in zip(hours, svc, strict=True))
        text = f"为提升服务质量，本行将于{listed}进行系统维护：{body}。"
    elif layout == "before":
        text = f"本行定期维护时段（{hours[0][1]}）：{listed}。维护期间{svc[0]}暂停服务。"
    elif layout == "nights_word":
        text = f"系统将于{listed}{'两三四'[len(days) - 2]}个晚上的{hours[0][1]}进行升级，届时{svc[0]}暂停使用。"
    elif layout == "field_lines":
        lines = "\n".join(f"{s}：每日{h[1]}" for h, s in zip(hours, svc, strict=True))
        text = f"系统维护公告\n维护日期：{listed}\n暂停时段：\n{lines}\n"
    else:
        lines = "\n".join(f"{h[1]} {s}暂停服务" for h, s in zip(hours, svc, strict=True))
        text = f"本行将于以下日期进行系统升级：{listed}。各日安排如下：\n{lines}\n"
    windows = [_window(d, h[2], h[3], h[4]) for d in days for h in hours]
    forms = [("family", "date_list"), ("date", form), ("sep", sep), ("layout", layout), ("n_hours", str(n_hours)),
             ("hours", hours[0][0])]
    return _finish(rng, forms, text, windows)


def _yearly_day_pairs(rng: random.Random) -> Case:
    """A yearly schedule: 12 weekend day pairs sharing one hours range written before or after them."""
    year = 2027
    pairs = []
    for m in range(1, 13):
        first = date(year, m, 1)
        sat = first + timedelta(days=(5 - first.weekday()) % 7 + 7 * rng.randint(0, 2))
        pairs.append((sat, sat + timedelta(days=1)))
    hours = rng.choice((("sat_pm_sun_night", "星期六下午1时至星期日晚上11时", "13:00", "23:00"),
                        ("sat_night_sun_morning", "周六22:00至周日06:00", "22:00", "06:00"),
                        ("sat_0_sun_24", "周六0:00至周日24:00", "00:00", "24:00")))
    sep = rng.choice(("、", "，", "；"))
    style = rng.choice(("md_range", "full_range", "rows"))
    if style == "md_range":
        parts = [f"{a.month}月{a.day}-{b.day}日" for a, b in pairs]
    elif style == "full_range":
        parts = [f"{a.month}月{a.day}日至{b.month}月{b.day}日" for a, b in pairs]
    else:
        parts = []
    place = rng.choice(("before", "after"))
    if style == "rows":
        rows = "\n".join(f"{i + 1}. {a.month}月{a.day}日（周六）至{b.month}月{b.day}日（周日）" for i, (a, b) in enumerate(pairs))
        text = (f"{year}年系统维护时段（{hours[1]}）如下：\n{rows}\n" if place == "before"
                else f"{year}年系统维护日期如下：\n{rows}\n每次维护时间均为{hours[1]}，期间网上银行暂停服务。\n")
    elif place == "before":
        text = f"{year}年维护时段（{hours[1]}）：{sep.join(parts)}。维护期间网上银行暂停服务。"
    else:
        text = f"{year}年维护日期：{sep.join(parts)}，维护时间为{hours[1]}，期间网上银行暂停服务。"
    windows = [(_at(a, hours[2]), _at(b, hours[3])) for a, b in pairs]
    forms = [("family", "yearly"), ("style", style), ("place", place), ("hours", hours[0])]
    return _finish(rng, forms, text, windows)


def _range_daily(rng: random.Random) -> Case:
    """A date range with hours for each of its days; sometimes a second daily line (另每晚)."""
    form = rng.choice(("ymd_cn", "md_cn", "iso"))
    n = rng.randint(2, 4)
    days = _days(rng, n, 1)
    a, b = days[0], days[-1]
    end_text = _day_text(form, b, False)
    if form != "iso" and rng.random() < 0.4 and a.month == b.month:
        end_text = f"{b.day}日"
    h1 = rng.choice(HOURS)
    # 每晚 only before hours of the evening or the night ("每晚上午9点" is no notice's wording)
    each = rng.choice(("每日", "每天", "期间每日") + (("每晚", "期间每晚") if h1[2] >= "18:00" else ()))
    second = rng.random() < 0.5
    h2 = rng.choice(SECOND_HOURS)
    text = f"为提升系统效能，{_day_text(form, a, True)}至{end_text}{each}{h1[1]}，网上订票页面暂停服务。"
    if second:
        every = rng.choice(("每日", "每天") + (("每晚",) if h2[2] >= "18:00" else ()))
        text += f"{rng.choice(('另', '另外', '此外，'))}{every}{h2[1]}，{rng.choice(SERVICES)}亦暂停服务。"
    windows = [_window(d, h1[2], h1[3], h1[4]) for d in days]
    if second:
        windows += [_window(d, h2[2], h2[3], h2[4]) for d in days]
    forms = [("family", "range_daily"), ("date", form), ("each", each), ("hours", h1[0]), ("second", str(second))]
    return _finish(rng, forms, text, windows)


def _same_window_rows(rng: random.Random) -> Case:
    """The same window on the rows of several services or areas: one window per row."""
    form = rng.choice(DATE_FORMS)
    d = _days(rng, 1)[0]
    h = rng.choice(HOURS)
    n = rng.randint(2, 4)
    svc = rng.sample(SERVICES, n)
    day = _day_text(form, d, True)
    layout = rng.choice(("field_rows", "dash_rows", "sentence"))
    if layout == "field_rows":
        text = "停服安排：\n" + "\n".join(f"停服时间：{day} {h[1]}；范围：{s}" for s in svc) + "\n"
    elif layout == "dash_rows":
        text = "系统升级期间以下服务暂停：\n" + "\n".join(f"- {s}：{day} {h[1]}" for s in svc) + "\n"
    else:
        text = "本行将进行系统升级，" + "；".join(f"{s}于{_then(day)}{h[1]}暂停" for s in svc) + "。"
    windows = [_window(d, h[2], h[3], h[4])] * n
    forms = [("family", "same_window_rows"), ("date", form), ("layout", layout), ("hours", h[0]), ("n", str(n))]
    return _finish(rng, forms, text, windows)


def _date_once_rows(rng: random.Random) -> Case:
    """A date written once, then the hours of several services or stages (or 同日/当天 with the hours)."""
    form = rng.choice(DATE_FORMS)
    d = _days(rng, 1)[0]
    same_day = [h for h in HOURS if not h[4]]
    # in the order of their starts, as stages are written (an earlier hour after a later one reads as the next day)
    hours = sorted(rng.sample(same_day, rng.randint(2, 4)), key=lambda h: (h[2], h[3]))
    svc = rng.sample(SERVICES, len(hours))
    day = _day_text(form, d, True)
    layout = rng.choice(("stages_below", "tongri", "dangtian", "colon_rows"))
    if layout == "stages_below":
        text = (f"本行将于{day}进行系统升级，分阶段安排如下：\n{day}\n"
                + "\n".join(f"{h[1]}：{s}暂停服务" for h, s in zip(hours, svc, strict=True)) + "\n")
    elif layout == "colon_rows":
        text = (f"维护日期：{day}\n"
                + "\n".join(f"{s}暂停时段：{h[1]}" for h, s in zip(hours, svc, strict=True)) + "\n")
    else:
        ref = "同日" if layout == "tongri" else "当天"
        first = f"{_then(day)}{hours[0][1]}，{svc[0]}暂停服务"
        rest = "；".join(f"{ref}{h[1]}，{s}暂停服务" for h, s in zip(hours[1:], svc[1:], strict=True))
        text = f"系统升级安排：{first}；{rest}。"
    windows = [_window(d, h[2], h[3], h[4]) for h in hours]
    forms = [("family", "date_once_rows"), ("date", form), ("layout", layout), ("n", str(len(hours)))]
    return _finish(rng, forms, text, windows)


def _whole_days(rng: random.Random) -> Case:
    """Whole days or day ranges with no hours (a branch closed, a mobile library stopped)."""
    form = rng.choice(("ymd_cn", "md_cn", "iso"))
    a = _days(rng, 1)[0]
    n = rng.randint(1, 6)
    b = a + timedelta(days=n - 1)
    end_text = _day_text(form, b, False)
    if form != "iso" and rng.random() < 0.5 and a.month == b.month:
        end_text = f"{b.day}日"
    pred = rng.choice(("暂停服务", "暂停营业", "系统停机维护", "暂停办理业务"))
    text = (f"因系统升级，{rng.choice(SERVICES)}将于{_day_text(form, a, True)}{pred}。" if n == 1 else
            f"因系统升级，{rng.choice(SERVICES)}将于{_day_text(form, a, True)}至{end_text}{pred}。")
    windows = [(_at(a, "00:00"), _at(b + timedelta(days=1), "00:00"))]
    forms = [("family", "whole_days"), ("date", form), ("days", str(n)), ("pred", pred)]
    return _finish(rng, forms, text, windows)


# (name, start text, start hh:mm) and (name, end text, end hh:mm, next day)
HALF_START: tuple[tuple[str, str, str], ...] = (
    ("shangwu", "上午9点", "09:00"), ("xiawu", "下午2点", "14:00"), ("lingchen", "凌晨1点", "01:00"),
    ("zhongwu", "中午12点", "12:00"), ("bangwan", "傍晚6点", "18:00"), ("wanshang", "晚上10点", "22:00"),
    ("wujian", "午前2:00", "02:00"), ("wuhou", "午後1:00", "13:00"), ("am", "2:00AM", "02:00"),
    ("pm", "1:00 PM", "13:00"), ("zaoshang", "早上7点", "07:00"), ("yejian", "夜间11点", "23:00"),
)
HALF_END: tuple[tuple[str, str, str], ...] = (
    ("shangwu", "上午11点", "11:00"), ("xiawu", "下午5点", "17:00"), ("lingchen", "凌晨4点", "04:00"),
    ("zhongwu", "中午12点", "12:00"), ("bangwan", "傍晚6点", "18:00"), ("wanshang", "晚上11点", "23:00"),
    ("wujian", "午前5:00", "05:00"), ("wuhou", "午後3:00", "15:00"), ("am", "6:30AM", "06:30"),
    ("pm", "4:00 PM", "16:00"), ("zaoshang", "早上8点", "08:00"),
)


def _half_day(rng: random.Random) -> Case:
    """Half-day words at either end, in every order; an end before the start is the next morning."""
    form = rng.choice(("ymd_cn", "md_cn", "iso"))
    d = _days(rng, 1)[0]
    s = rng.choice(HALF_START)
    e = rng.choice(HALF_END)
    if s[2] == e[2]:
        e = HALF_END[0] if s[2] != "11:00" else HALF_END[1]
    nxt = e[2] <= s[2]
    end_text = (rng.choice(("次日", "翌日")) + e[1]) if nxt else e[1]
    conn = rng.choice(("至", "~", "-", "到"))
    text = f"{rng.choice(SERVICES)}将于{_then(_day_text(form, d, True))}{s[1]}{conn}{end_text}进行系统维护，届时暂停服务。"
    windows = [_window(d, s[2], e[2], nxt)]
    forms = [("family", "half_day"), ("start", s[0]), ("end", e[0]), ("next_day", str(nxt)), ("conn", conn)]
    return _finish(rng, forms, text, windows)


def _lookalike(rng: random.Random) -> Case:
    """The same shapes stating no window: event dates sharing a time, fees from a list of dates, opening
    hours by weekday, a date list of a campaign."""
    form = rng.choice(DATE_FORMS)
    days = _days(rng, rng.randint(2, 4))
    listed, _ = _date_list(rng, days, form)
    h = rng.choice([x for x in HOURS if not x[4]])
    kind = rng.choice(("events", "fees", "opening", "campaign"))
    if kind == "events":
        text = f"本行将于{_then(listed)}{h[1]}在营业部举办理财知识讲座，欢迎客户报名参加。"
    elif kind == "fees":
        text = f"自{_day_text(form, days[0], True)}起，跨行转账手续费调整为每笔2元；{listed}为免费体验日。"
    elif kind == "opening":
        text = f"营业时间调整通知\n周一至周五：{h[1]}\n周六、周日：10:00-16:00\n{listed}正常营业。"
    else:
        text = f"信用卡积分加倍活动日期：{listed}，每日{h[1]}消费可享双倍积分。"
    return _finish(rng, [("family", "lookalike"), ("kind", kind), ("date", form)], text, [])


def _window_beside_lookalike(rng: random.Random) -> Case:
    """A maintenance window and, in a paragraph of its own, a look-alike list of dates sharing hours (a
    lecture, a campaign, opening days): only the window is one."""
    la = _lookalike(rng)
    d = _days(rng, 1)[0] + timedelta(days=20)
    h = rng.choice(HOURS)
    form = rng.choice(DATE_FORMS)
    text = f"{rng.choice(SERVICES)}将于{_then(_day_text(form, d, True))}{h[1]}进行系统维护，届时暂停服务。"
    first = rng.random() < 0.5
    body = (la.text + "\n" + text) if first else (text + "\n" + la.text)
    forms = [("family", "beside_lookalike"), *[f for f in la.forms if f[0] in ("kind", "script")],
             ("lookalike_first", str(first))]
    return Case(tuple(forms), body, (_window(d, h[2], h[3], h[4]),))


FAMILIES: tuple[tuple[str, Callable[[random.Random], Case], int], ...] = (
    ("date list sharing hours", _date_list_shared_hours, 1200),
    ("yearly day pairs", _yearly_day_pairs, 200),
    ("range with daily hours", _range_daily, 600),
    ("same window on several rows", _same_window_rows, 400),
    ("date once, rows of hours", _date_once_rows, 500),
    ("whole days", _whole_days, 300),
    ("half-day words", _half_day, 600),
    ("a window beside a look-alike list", _window_beside_lookalike, 600),
)


def generated(name: str) -> list[Case]:
    """The cases of family ``name`` (fixed seed per family)."""
    for i, (fam, build, n) in enumerate(FAMILIES):
        if fam == name:
            rng = random.Random(SEED * 100 + i)
            return [build(rng) for _ in range(n)]
    raise KeyError(name)


def lookalikes(n: int = 800) -> list[Case]:
    rng = random.Random(SEED - 1)
    return [_lookalike(rng) for _ in range(n)]


def got_windows(text: str, title: str = "系统维护公告") -> tuple[str, list[tuple[datetime, datetime | None]]]:
    """The kind and the windows (naive Beijing time) the parser reads in ``text``."""
    u = understand(text, published=PUBLISHED, title=title)
    return u.kind, [(w.start.astimezone(SHANGHAI).replace(tzinfo=None),
                     None if w.end is None else w.end.astimezone(SHANGHAI).replace(tzinfo=None)) for w in u.windows]


def fails(case: Case) -> str | None:
    """Why the parser's reading differs from the case's windows, or None."""
    # a look-alike under a title of its own (a maintenance title would make any notice one)
    kind, got = got_windows(case.text, "系统维护公告" if case.windows else "温馨提示")
    if not case.windows:
        return None if kind != "maintenance" or not got else f"{kind} {len(got)} windows"
    if kind != "maintenance":
        return f"kind {kind}"
    if sorted(got, key=str) != sorted(case.windows, key=str):
        return f"windows {sorted(got, key=str)}"
    return None


def main() -> None:
    print_failures([(fam, generated(fam)) for fam, _, _ in FAMILIES] + [("look-alikes", lookalikes())], fails)


if __name__ == "__main__":
    main()
