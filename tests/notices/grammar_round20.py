"""Round 20: maintenance sentences built from the grammar of Chinese dates, times, connectors and
disruption predicates, not from any notice (``python -m tests.notices.grammar_round20``).

Every form is crossed with the others and the product is sampled down (seeded, so the same cases
every run). The window each sentence states is known by construction: the generator writes the
start and end it means, then the text. A negative generator puts the same date and time forms into
look-alike sentences (fees from a date, opening hours, campaign periods, deadlines, 24-hour service)
that state no window. ``main`` prints the failures per form.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from huabei_watch.clock import SHANGHAI
from watcher.notices import understand

PUBLISHED = date(2026, 11, 20)
DAY = date(2026, 12, 5)  # a Saturday
SEED = 20


@dataclass(frozen=True, slots=True)
class Generated:
    """One generated notice: its forms (dimension -> form name), text and the window it states."""

    forms: tuple[tuple[str, str], ...]
    text: str
    title: str
    windows: tuple[tuple[datetime, datetime], ...]  # empty for a look-alike


# --- dates: (name, start text, end text for the next day, roc) -------------------------------------
# The next day's text is written the same way as the start's, for ends that repeat the date form.
DATES: tuple[tuple[str, str, str], ...] = (
    ("ymd_cn", "2026年12月5日", "2026年12月6日"),
    ("iso", "2026-12-05", "2026-12-06"),
    ("slash", "2026/12/05", "2026/12/06"),
    ("dot", "2026.12.05", "2026.12.06"),
    ("md_cn", "12月5日", "12月6日"),
    ("md_hao", "12月5号", "12月6号"),
    ("md_dot", "12.5", "12.6"),
    ("md_slash", "12/5", "12/6"),
    ("compact", "20261205", "20261206"),
    ("roc_cn", "民國115年12月5日", "民國115年12月6日"),
    ("roc_slash", "115/12/05", "115/12/06"),
)
# the end two days later, for windows over a weekend
DATES_PLUS2 = {"ymd_cn": "2026年12月7日", "iso": "2026-12-07", "slash": "2026/12/07", "dot": "2026.12.07",
               "md_cn": "12月7日", "md_hao": "12月7号", "md_dot": "12.7", "md_slash": "12/7", "compact": "20261207",
               "roc_cn": "民國115年12月7日", "roc_slash": "115/12/07"}

# weekday marks, written after the date or after the start time
WEEKDAYS: tuple[tuple[str, str], ...] = (
    ("none", ""),
    ("paren_zhou", "（周六）"),
    ("paren_xingqi", "(星期六)"),
    ("paren_short", "(六)"),
    ("bare_zhou", " 周六 "),
    ("bare_xingqi", " 星期六 "),
)

# --- times --------------------------------------------------------------------------------------
# same-day pairs: (name, start text, end text, start hh:mm, end hh:mm; "24:00" is the next day's 0:00)
SAME_DAY: tuple[tuple[str, str, str, str, str], ...] = (
    ("hm", "9:00", "15:00", "09:00", "15:00"),
    ("hm_fullcolon", "9：00", "15：00", "09:00", "15:00"),
    ("am_pm_dian", "上午9点", "下午3点", "09:00", "15:00"),
    ("am_noon_shi", "上午9时", "中午12时", "09:00", "12:00"),
    ("noon_pm", "中午12点", "下午2点", "12:00", "14:00"),
    ("zero_dian", "0点", "6点", "00:00", "06:00"),
    ("zero_hm", "00:00", "06:00", "00:00", "06:00"),
    ("to_2359", "23:00", "23:59", "23:00", "23:59"),
    ("to_235959", "23:00", "23:59:59", "23:00", "24:00"),
    ("to_2400", "22:00", "24:00", "22:00", "24:00"),
    ("dawn_dian", "凌晨2点", "凌晨4点", "02:00", "04:00"),
    ("dawn_hm", "凌晨2:00", "4:00", "02:00", "04:00"),
    ("dawn_cn_num", "凌晨两点", "四点", "02:00", "04:00"),
    ("morning_half", "早上8点半", "10点", "08:30", "10:00"),
    ("pm_fen", "下午2点", "下午4点30分", "14:00", "16:30"),
    ("hms", "22:00:00", "23:30:00", "22:00", "23:30"),
    ("dian_fen", "20点30分", "22点", "20:30", "22:00"),
    ("pm_en", "2 PM", "4 PM", "14:00", "16:00"),
)

# evening starts and morning ends of windows across midnight
EVENING: tuple[tuple[str, str, str], ...] = (
    ("hm", "22:00", "22:00"),
    ("hm_fullcolon", "22：00", "22:00"),
    ("dian", "22点", "22:00"),
    ("shi", "22时", "22:00"),
    ("dian_fen", "22点30分", "22:30"),
    ("wanshang", "晚上10点", "22:00"),
    ("wan", "晚10点", "22:00"),
    ("yejian", "夜间22:00", "22:00"),
    ("pm_en", "10 PM", "22:00"),
    ("hms", "22:00:00", "22:00"),
    ("wanshang_cn_num", "晚上十点", "22:00"),
)
MORNING: tuple[tuple[str, str, str], ...] = (
    ("hm", "6:00", "06:00"),
    ("dian", "6点", "06:00"),
    ("shi", "6时", "06:00"),
    ("dawn_dian", "凌晨2点", "02:00"),
    ("dawn_hm", "凌晨2:00", "02:00"),
    ("dawn_cn_num", "凌晨两点", "02:00"),
    ("morning_half", "早上8点半", "08:30"),
    ("am", "上午6点", "06:00"),
    ("am_en", "6 AM", "06:00"),
    ("hms", "06:00:00", "06:00"),
)
# how the end of a window across midnight names its day
NEXT_DAY: tuple[str, ...] = ("次日", "翌日", "第二天", "隔天", "次晨", "same_form", "md_cn", "day_only", "implicit",
                              "two_days_md_cn", "two_days_same_form")

# --- connectors: (name, template with {s} and {e}, clause form) ------------------------------------
# A clause form ("……开始，……结束") already ends a clause: the predicate cannot follow it directly.
CONNECTORS: tuple[tuple[str, str, bool], ...] = (
    ("zhi", "{s}至{e}", False),
    ("dao", "{s}到{e}", False),
    ("hyphen", "{s}-{e}", False),
    ("en_dash", "{s}–{e}", False),
    ("em_dash", "{s}—{e}", False),
    ("tilde", "{s}~{e}", False),
    ("fw_tilde", "{s}～{e}", False),
    ("wave_dash", "{s}〜{e}", False),
    ("double_dash", "{s}——{e}", False),
    ("qi_zhi", "{s}起至{e}", False),
    ("qi_dao", "{s}起到{e}", False),
    ("kaishi_dao", "{s}开始到{e}", False),
    ("kaishi_zhi", "{s}开始至{e}", False),
    ("zhi_zhi", "{s}至{e}止", False),
    ("zi_qi_zhi_zhi", "自{s}起至{e}止", False),
    ("cong_dao", "从{s}到{e}", False),
    ("kaishi_jieshu", "{s}开始，{e}结束", True),
    ("qi_qian", "{s}起，{e}前", True),
)

# --- predicates: (name, verb phrase after a subject) ------------------------------------------------
PREDICATES: tuple[tuple[str, str], ...] = (
    ("暂停服务", "暂停服务"),
    ("停止服务", "停止服务"),
    ("无法使用", "无法使用"),
    ("无法访问", "无法访问"),
    ("暂停办理", "暂停办理"),
    ("停机", "停机"),
    ("中断", "服务中断"),
    ("不可用", "不可用"),
    ("受影响", "受影响"),
    ("暂停受理", "暂停受理"),
    ("停止受理", "停止受理"),
    ("关闭", "关闭"),
    ("系统升级", "进行系统升级"),
    ("维护", "进行维护"),
    ("割接", "进行网络割接"),
    ("切换", "进行系统切换"),
    ("迁移", "进行数据迁移"),
    ("停运", "停运"),
    ("暂不可用", "暂不可用"),
    ("服务暂停", "服务暂停"),
    ("系統維護", "進行系統維護"),
    ("暫停服務", "暫停服務"),
    ("暂停对外服务", "暂停对外服务"),
    ("停机维护", "停机维护"),
    ("暂时无法登录", "暂时无法登录"),
    ("无法正常使用", "无法正常使用"),
    ("短暂中断", "将出现短暂中断"),
    ("功能受限", "部分功能受限"),
    ("暂停交易", "暂停交易"),
    ("无法支付", "无法进行支付"),
)

SUBJECTS: tuple[tuple[str, str], ...] = (
    ("none", ""),
    ("netbank", "网上银行"),
    ("quickpay", "快捷支付"),
    ("app", "手机银行App"),
)

PLACEMENTS: tuple[str, ...] = ("time_first", "predicate_first", "field_line", "table_row")
TITLES: tuple[tuple[str, str], ...] = (("maintenance", "系统维护公告"), ("notice", "重要通知"), ("none", ""))
LEADS: tuple[str, ...] = ("将于", "定于", "计划于", "拟于", "于")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@functools.cache
def _s2t() -> Callable[[str], str]:
    import opencc  # the dictionary is loaded once, on the first Traditional case

    return opencc.OpenCC("s2t").convert


def _traditional(text: str) -> str:
    return _s2t()(text)


def _at(day: date, hm: str) -> datetime:
    h, m = (int(x) for x in hm.split(":"))
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + timedelta(hours=h, minutes=m)


def _with_weekday(date_text: str, weekday: str, time_text: str, after_time: bool) -> str:
    if not weekday:
        return date_text + time_text
    if after_time:
        return date_text + time_text + weekday
    if weekday.startswith(" "):
        return date_text + weekday + time_text
    return date_text + weekday + time_text


def _sep(date_name: str) -> str:
    # numeric dates need a space before the time; Chinese ones are written either way
    return "" if date_name in {"ymd_cn", "md_cn", "md_hao", "roc_cn"} else " "


def _positive(rng: random.Random) -> Generated:
    date_name, d_text, d_next = rng.choice(DATES)
    wd_name, wd = rng.choice(WEEKDAYS)
    wd_after = rng.random() < 0.3
    conn_name, template, clause = rng.choice(CONNECTORS)
    pred_name, verbal = rng.choice(PREDICATES)
    subj_name, subj = rng.choice(SUBJECTS)
    placement = rng.choice(PLACEMENTS if not clause else ("time_first", "field_line"))
    full_width = rng.random() < 0.15
    across = rng.random() < 0.5
    sep = _sep(date_name)
    next_name = "-"
    if across:
        s_name, s_text, s_hm = rng.choice(EVENING)
        e_name, e_text, e_hm = rng.choice(MORNING)
        next_name = rng.choice(NEXT_DAY)
        if next_name == "次晨" and e_text.startswith(("凌晨", "早上", "上午")):
            next_name = "次日"
        if next_name == "same_form":
            e_full = d_next + sep + e_text
        elif next_name == "two_days_md_cn":
            e_full = "12月7日" + e_text
        elif next_name == "two_days_same_form":
            e_full = DATES_PLUS2[date_name] + sep + e_text
        elif next_name == "md_cn":
            e_full = "12月6日" + e_text
        elif next_name == "day_only":
            e_full = "6日" + e_text
        elif next_name == "implicit":
            e_full = e_text
        else:
            e_full = next_name + e_text
        time_name = f"evening {s_name}, morning {e_name}"
        want = (_at(DAY, s_hm), _at(DAY + timedelta(days=2 if next_name.startswith("two_days") else 1), e_hm))
    else:
        time_name, s_text, e_text, s_hm, e_hm = rng.choice(SAME_DAY)
        e_full = e_text
        want = (_at(DAY, s_hm), _at(DAY, e_hm))
    wd_before = ("周" in wd or "星期" in wd) and not wd_after and rng.random() < 0.2
    if wd_before:  # "周六（12月5日）22:00"
        start = wd.strip("（）() ") + "（" + d_text + "）" + s_text
    else:
        start = _with_weekday(d_text, wd, sep + s_text, wd_after)
    spaced = rng.random() < 0.2 and not clause
    if spaced:
        template = template.replace("{s}", "{s} ", 1).replace("{e}", " {e}", 1)
    rng_text = template.format(s=start, e=e_full)
    actor = subj or "本行"
    lead = rng.choice(LEADS)
    title_name, title = rng.choice(TITLES)
    script = "traditional" if rng.random() < 0.15 else "simplified"
    if placement == "time_first":
        text = f"{rng_text}，{subj}{verbal}。"
    elif placement == "predicate_first":
        text = f"因系统升级需要，{actor}{lead}{rng_text}{verbal}。" if pred_name not in {
            "系统升级", "系統維護"} else f"{actor}{lead}{rng_text}{verbal}。"
    elif placement == "field_line":
        text = f"维护时间：{rng_text}\n影响范围：维护期间{subj}{verbal}。"
    else:
        d_cell = _with_weekday(d_text, wd, "", False).strip()
        t_cell = template.format(s=s_text, e=e_full)
        text = f"系统维护安排如下：\n维护日期 | 维护时间 | 影响业务\n{d_cell} | {t_cell} | {actor}{verbal}"
    text = "尊敬的客户：\n" + text + "\n感谢您的支持！"
    if full_width:
        text = text.translate(FULL_WIDTH)
    if script == "traditional":
        text, title = _traditional(text), _traditional(title)
    forms = (
        ("date", date_name), ("weekday", wd_name + ("@time" if wd_after and wd else "@before" if wd_before else "")),
        ("title", title_name), ("script", script), ("spaced", str(spaced)),
        *((("start", time_name.split(", ")[0]), ("end", time_name.split(", ")[1])) if across
          else (("time", time_name),)), ("next_day", next_name), ("connector", conn_name),
        ("predicate", pred_name), ("placement", placement), ("subject", subj_name),
        ("digits", "full" if full_width else "ascii"),
    )
    return Generated(forms, text, title, (want,))


# --- negatives: the same forms in sentences that state no window ------------------------------------
NEGATIVE_FRAMES: tuple[tuple[str, str], ...] = (
    ("fee_from", "自{start}起，{subj}跨行转账手续费调整为每笔2元。"),
    ("fee_period", "{range}期间，{subj}转账手续费减半收取。"),
    ("opening_hours", "{subj}网点营业时间：{range}，节假日照常营业。"),
    ("hours_changed", "自{date}起，{subj}客服热线服务时间调整为{times}。"),
    ("campaign", "活动时间：{range}，活动期间使用{subj}消费满100元立减10元。"),
    ("campaign_join", "{range}参与抽奖即有机会赢取好礼，{subj}用户均可参加。"),
    ("deadline", "请于{start}前完成{subj}身份信息更新，逾期将无法享受优惠。"),
    ("register", "报名时间为{range}，请通过{subj}提交申请。"),
    ("service_24h", "{subj}提供7×24小时服务，{start}起新增夜间人工客服。"),
    ("always_on", "{range}期间，{subj}各项业务照常办理，不受影响。"),
    ("contact_hours", "如有疑问，请于{range}致电客服热线，或通过{subj}在线咨询。"),
    ("launch", "{subj}新版本将于{start}正式上线，届时可体验更多新功能。"),
    ("rule_in_force", "本办法自{start}起施行，{subj}相关规则同步更新。"),
    ("deadline_refused", "缴费截止时间：{start}，逾期不予受理，请通过{subj}及时缴纳。"),
    ("live_stream", "直播时间：{range}，欢迎通过{subj}观看。"),
    ("branch_hours", "春节期间（{range}）部分网点暂停营业，{subj}及自助设备正常使用。"),
    ("booking", "{range}开放预约，名额有限，额满即止，可通过{subj}预约。"),
    ("exam", "考试时间：{range}，考试期间请关闭手机，{subj}报名入口已关闭。"),
    ("limit_change", "{subj}将于{start}起调整转账限额，单笔上限5万元。"),
)


def _negative(rng: random.Random) -> Generated:
    date_name, d_text, _ = rng.choice(DATES)
    wd_name, wd = rng.choice(WEEKDAYS)
    frame_name, frame = rng.choice(NEGATIVE_FRAMES)
    time_name, s_text, e_text, _, _ = rng.choice(SAME_DAY)
    conn_name, template, _ = rng.choice([c for c in CONNECTORS if not c[2]])
    subj_name, subj = rng.choice(SUBJECTS)
    sep = _sep(date_name)
    start = _with_weekday(d_text, wd, sep + s_text, False)
    text = frame.format(start=start, range=template.format(s=start, e=e_text), date=d_text + wd.strip(),
                        times=template.format(s=s_text, e=e_text), subj=subj)
    if rng.random() < 0.15:
        text = text.translate(FULL_WIDTH)
    forms = (("frame", frame_name), ("date", date_name), ("weekday", wd_name), ("time", time_name),
             ("connector", conn_name), ("subject", subj_name))
    return Generated(forms, "尊敬的客户：\n" + text, "公告", ())


# --- other shapes of a window: a start and a length, a start and a resumption, whole days, a list of
# dates sharing the same hours ------------------------------------------------------------------
DURATIONS: tuple[tuple[str, int], ...] = (
    ("预计持续2小时", 120), ("预计耗时约30分钟", 30), ("持续约1个半小时", 90), ("时长约4小时", 240), ("预计需要3小时", 180),
)
RESUMES: tuple[tuple[str, str], ...] = (
    ("次日6:00恢复", "06:00"), ("次日凌晨2点恢复正常", "02:00"), ("预计次日6时恢复服务", "06:00"),
    ("次日上午8点前完成", "08:00"), ("至次日6:00止", "06:00"),
)
SECOND_DATES: dict[str, str] = {
    "ymd_cn": "2026年12月12日", "iso": "2026-12-12", "slash": "2026/12/12", "dot": "2026.12.12", "md_cn": "12月12日",
    "md_hao": "12月12号", "md_dot": "12.12", "md_slash": "12/12", "compact": "20261212", "roc_cn": "民國115年12月12日",
    "roc_slash": "115/12/12",
}


def _shaped(rng: random.Random) -> Generated:
    date_name, d_text, _ = rng.choice(DATES)
    s_name, s_text, s_hm = rng.choice(EVENING)
    pred_name, verbal = rng.choice(PREDICATES)
    _, subj = rng.choice(SUBJECTS[1:])
    shape = rng.choice(("duration", "resume", "whole_days", "date_list"))
    sep = _sep(date_name)
    start = _at(DAY, s_hm)
    if shape == "duration":
        phrase, minutes = rng.choice(DURATIONS)
        text = f"{subj}将于{d_text}{sep}{s_text}起{verbal}，{phrase}。"
        windows: tuple[tuple[datetime, datetime], ...] = ((start, start + timedelta(minutes=minutes)),)
        form = phrase
    elif shape == "resume":
        phrase, hm = rng.choice(RESUMES)
        text = f"{d_text}{sep}{s_text}起，{subj}{verbal}，{phrase}。"
        windows = ((start, _at(DAY + timedelta(days=1), hm)),)
        form = phrase
    elif shape == "whole_days":
        conn_name, template, _ = rng.choice([c for c in CONNECTORS if not c[2]])
        end_text = DATES_PLUS2[date_name]
        text = f"{template.format(s=d_text, e=end_text)}，{subj}{verbal}。"
        day0 = datetime(DAY.year, DAY.month, DAY.day, tzinfo=SHANGHAI)
        windows = ((day0, day0 + timedelta(days=3)),)
        form = conn_name
    else:
        _, e_text, e_hm = rng.choice(MORNING)
        joiner = rng.choice(("、", "和", "及"))
        text = f"{d_text}{joiner}{SECOND_DATES[date_name]}{sep}{s_text}至次日{e_text}，{subj}{verbal}。"
        windows = tuple((_at(d, s_hm), _at(d + timedelta(days=1), e_hm)) for d in (DAY, DAY + timedelta(days=7)))
        form = joiner
    forms = (("shape", shape), ("shape_form", f"{shape} {form}"), ("date", date_name), ("start", s_name),
             ("predicate", pred_name))
    return Generated(forms, "尊敬的客户：\n" + text + "\n感谢您的支持！", "系统维护公告", windows)


def positives(n: int = 3000) -> list[Generated]:
    rng = random.Random(SEED)
    return [_positive(rng) for _ in range(n)]


def shaped(n: int = 1000) -> list[Generated]:
    rng = random.Random(SEED + 2)
    return [_shaped(rng) for _ in range(n)]


def negatives(n: int = 1000) -> list[Generated]:
    rng = random.Random(SEED + 1)
    return [_negative(rng) for _ in range(n)]


def fails(case: Generated) -> str | None:
    """Why the parser's reading differs from the generated windows, or None when it is right."""
    u = understand(case.text, published=PUBLISHED, title=case.title)
    got = [(w.start, w.end) for w in u.windows]
    if not case.windows:
        if got or u.kind == "maintenance":
            return f"{u.kind} {got}"
        return None
    if u.kind != "maintenance":
        return f"kind {u.kind}"
    if got != list(case.windows):
        return f"windows {[(s.strftime('%m-%d %H:%M'), e and e.strftime('%m-%d %H:%M')) for s, e in got]}"
    return None


class Formed(Protocol):
    """A generated case: the form drawn in each dimension (round 20's and round 21's generators)."""

    @property
    def forms(self) -> tuple[tuple[str, str], ...]: ...


C = TypeVar("C", bound=Formed)


def failure_table(cases: Sequence[C], fails_of: Callable[[C], str | None]) -> tuple[
        int, dict[str, Counter[str]], dict[str, Counter[str]]]:
    """Failures, and per dimension the count of cases and of failures for each form."""
    total: dict[str, Counter[str]] = {}
    failed: dict[str, Counter[str]] = {}
    n_failed = 0
    for case in cases:
        bad = fails_of(case) is not None
        n_failed += bad
        for dim, form in case.forms:
            total.setdefault(dim, Counter())[form] += 1
            if bad:
                failed.setdefault(dim, Counter())[form] += 1
    return n_failed, total, failed


def print_failures(sets: Iterable[tuple[str, Sequence[C]]], fails_of: Callable[[C], str | None],
                   skip: frozenset[str] = frozenset()) -> None:
    """Each set's failure count, then per dimension (``skip`` left out) the forms that failed."""
    for name, cases in sets:
        n_failed, total, failed = failure_table(cases, fails_of)
        print(f"{name}: {len(cases)} cases, {n_failed} fail")
        for dim, counts in total.items():
            if dim in skip:
                continue
            row = ", ".join(f"{form} {failed.get(dim, Counter())[form]}/{n}" for form, n in sorted(counts.items())
                            if failed.get(dim, Counter())[form])
            print(f"  {dim}: {row or 'none'}")


def main() -> None:
    print_failures((("positive", positives()), ("shaped", shaped()), ("negative", negatives())), fails)


if __name__ == "__main__":
    main()
