"""Round 27: extra windows on first sight, by shape (``python -m tests.notices.grammar_round27``).

The first-sight extras of the committed blind sets (``python -m bench.first_sight_windows --list``)
grouped by what in the text made the parser return the window. Three shapes had three or more extras
and are generated here, each varied widely, with the right answer by construction:

* **recovery**: a report of an outage that already happened and was put right, with its hours
  ("今天上午9时20分起……无法登录，10时45分已恢复正常"): no window (14 extras on first sight);
* **preparation**: a period for users to do something before the work (back up, register, apply, fill a
  form: "请于6月1日至6月3日下载并填写登记表", "各部门于……下载并填写", "……为数据迁移准备期"), beside the
  maintenance window: only the window (part of the 18 "range that is no stop");
* **restated**: the window stated in a lead sentence and again in a later one that says what stops
  (a summary and its detail, a reminder, a sentence led by 所以 after a dateline "本报讯："): one
  window, not two (6 extras, 3 of them still there on main).

Each has its true maintenance counterpart that must keep its windows: a maintenance ahead whose text
says service comes back afterwards, a window asked of users or labelled as the stop ("请各部门于……暂停
使用", "……为系统停机期", "……备份数据库，期间暂停服务"), and parallel items with the same times (each
area or system naming what of its own stops, names sharing a word, rows of a list), which stay two
windows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import opencc

from huabei_watch.clock import SHANGHAI
from tests.notices.grammar_round20 import print_failures
from watcher.notices import understand

PUBLISHED = date(2026, 6, 10)
SEED = 27
_S2T = opencc.OpenCC("s2t")

SYSTEMS: tuple[str, ...] = ("网上银行", "手机银行", "支付系统", "官网", "APP", "网上营业厅", "自助终端", "客服热线",
                            "游戏服务器", "云平台控制台", "医保结算系统", "电子邮箱")


@dataclass(frozen=True, slots=True)
class Case:
    """One generated notice, its title, and the windows it must give (empty: none, or not maintenance)."""

    forms: tuple[tuple[str, str], ...]
    title: str
    text: str
    windows: tuple[tuple[datetime, datetime | None], ...]


def _script(rng: random.Random, title: str, text: str) -> tuple[str, str, str]:
    script = rng.choice(("simplified", "traditional"))
    if script == "traditional":
        return script, _S2T.convert(title), _S2T.convert(text)
    return script, title, text


# ---- recovery reports: an outage that happened, with its hours, told as put right ----------------

# (name, how the day of the outage is written, days before publication)
PAST_DAYS: tuple[tuple[str, str, int], ...] = (
    ("today", "今天", 0), ("today_paren", "今（{d}）日", 0), ("yesterday", "昨天", 1), ("last_night", "昨晚", 1),
    ("md", "{m}月{d}日", 2), ("weekday", "上周三（{m}月{d}日）", 5),
)
# (name, start words, end words): the hours of the outage, start and recovery
PAST_HOURS: tuple[tuple[str, str, str], ...] = (
    ("dian", "上午9时20分", "10时45分"), ("hm", "09:20", "10:45"), ("afternoon", "下午2点", "下午3点半"),
    ("evening", "晚上8时", "晚上9时30分"),
)
INCIDENTS: tuple[tuple[str, str], ...] = (
    ("fault", "{day}{s}起，{sys}因机房设备故障出现无法登录的情况，经技术人员紧急抢修，已于{e}恢复正常。"),
    ("interrupt", "{sys}于{day}{s}左右发生中断，部分用户无法访问，{e}起陆续恢复服务。"),
    ("slow", "{day}{s}至{e}，{sys}出现交易缓慢、部分业务无法办理的异常情况，目前已全面恢复。"),
    ("outage", "受供电线路故障影响，{day}{s}至{e}{sys}暂停服务，现已恢复正常运行。"),
    ("report", "关于{day}{sys}服务中断的情况说明：{day}{s}，{sys}突发故障导致服务中断，{e}故障排除，服务恢复。"),
    ("apology", "{day}{s}至{e}期间，{sys}因网络故障无法使用，给您带来的不便，我们深表歉意。目前服务已恢复。"),
    # the restoration once expected, then later ("原先预计……恢复，其后延至……")
    ("delayed", "{day}{s}起{sys}因线路故障暂停服务，原先预计{e}前恢复，其后延至晚些时候，现已全部恢复。"),
    # no day at all, only the hours of the day reported on
    ("no_day", "{sys}于{s}起出现大面积登录失败，技术团队紧急处理后，{e}恢复正常运作。"),
    # a report of a period days long
    ("days_long", "{sys}于{day}至{day2}期间中断服务，期间部分用户无法使用，目前已全面修复。"),
)
RECOVERY_TITLES: tuple[str, ...] = ("", "关于系统故障的情况说明", "服务已恢复", "致歉声明", "系统故障处理情况通报")


def recoveries(n: int = 600) -> list[Case]:
    """Reports of an outage already over: no window ahead."""
    rng = random.Random(SEED)
    out = []
    for _ in range(n):
        day_name, form, back = rng.choice(PAST_DAYS)
        day = PUBLISHED - timedelta(days=back)
        hours_name, s, e = rng.choice(PAST_HOURS)
        inc_name, template = rng.choice(INCIDENTS)
        title = rng.choice(RECOVERY_TITLES)
        sys_ = rng.choice(SYSTEMS)
        day2 = PUBLISHED - timedelta(days=max(0, back - 1) if back else 0)
        text = template.format(day=form.format(m=day.month, d=day.day), s=s, e=e, sys=sys_,
                               day2=f"{day2.month}月{day2.day}日")
        script, title, text = _script(rng, title, text)
        forms = (("day", day_name), ("hours", hours_name), ("incident", inc_name), ("title", title or "none"),
                 ("script", script))
        out.append(Case(forms, title, text, ()))
    return out


# maintenance ahead whose text says service comes back afterwards: the window stays
AHEAD: tuple[tuple[str, str], ...] = (
    ("back_after", "因系统升级，{sys}将于{day}{s}至{e}暂停服务，升级完成后恢复正常。"),
    ("early_back", "{day}{s}至{e}，{sys}进行系统维护，期间暂停服务，如提前完成将提前恢复。"),
    ("fault_fix", "为排除此前出现的故障隐患，{sys}定于{day}{s}至{e}停机检修，届时暂停服务，检修结束后恢复。"),
)


def recovery_counterparts(n: int = 300) -> list[Case]:
    """True maintenance ahead with recovery wording: the window must stay."""
    rng = random.Random(SEED + 1)
    out = []
    for _ in range(n):
        ahead = rng.randint(2, 20)
        day = PUBLISHED + timedelta(days=ahead)
        hours_name, s, e = rng.choice(PAST_HOURS)
        hs, he = {"dian": ((9, 20), (10, 45)), "hm": ((9, 20), (10, 45)), "afternoon": ((14, 0), (15, 30)),
                  "evening": ((20, 0), (21, 30))}[hours_name]
        name, template = rng.choice(AHEAD)
        sys_ = rng.choice(SYSTEMS)
        text = template.format(day=f"{day.month}月{day.day}日", s=s, e=e, sys=sys_)
        script, title, text = _script(rng, "系统维护公告", text)
        window = (datetime(day.year, day.month, day.day, *hs), datetime(day.year, day.month, day.day, *he))
        forms = (("wording", name), ("hours", hours_name), ("script", script))
        out.append(Case(forms, title, text, (window,)))
    return out


# ---- a preparation period beside the window -------------------------------------------------------

PREPARATIONS: tuple[tuple[str, str], ...] = (
    ("register", "请各部门于{p1}至{p2}下载并填写登记表，逾期不再受理。"),
    ("backup", "请用户于{p1}至{p2}期间自行备份重要数据。"),
    ("apply", "需要继续使用的用户，请在{p1}至{p2}提交申请。"),
    ("migrate", "{p1}至{p2}为数据迁移准备期，请尽快完成账户信息核对。"),
    ("reserve", "如有急需办理的业务，请于{p1}至{p2}提前办理。"),
    # no one asked in words: the range, then what users do in it
    ("no_please", "2. 各部门于{p1}至{p2}下载并填写迁移登记表，交信息中心。"),
    ("users_do", "用户可在{p1}至{p2}自行备份邮件。"),
    ("bare_verb", "{p1}至{p2}提交续用申请，逾期视为放弃。"),
)
WINDOW_SENTENCES: tuple[tuple[str, str], ...] = (
    ("will", "{sys}将于{w1}至{w2}进行系统升级，届时暂停服务。"),
    ("field", "维护时间：{w1}至{w2}\n影响范围：期间{sys}暂停使用。"),
    ("numbered", "3. 信息中心将于{w1}-{w2}集中迁移，届时{sys}无法使用，敬请谅解。"),
)
ORDERS: tuple[str, ...] = ("preparation_first", "window_first")


def preparations(n: int = 600) -> list[Case]:
    """A period for users to act before the work, beside the window: only the window comes out."""
    rng = random.Random(SEED + 2)
    out = []
    for _ in range(n):
        start = PUBLISHED + timedelta(days=rng.randint(2, 8))
        prep_len = rng.randint(1, 3)
        gap = rng.randint(1, 3)
        wday = start + timedelta(days=prep_len + gap)
        whole_days = rng.random() < 0.5
        if whole_days:
            w_end_day = wday + timedelta(days=rng.randint(0, 1))
            w1, w2 = f"{wday.month}月{wday.day}日", f"{w_end_day.month}月{w_end_day.day}日"
            if w_end_day == wday:  # one whole day: "6月18日00:00至24:00"
                w1, w2 = f"{w1}00:00", "24:00"
            window = (datetime(wday.year, wday.month, wday.day),
                      datetime(w_end_day.year, w_end_day.month, w_end_day.day) + timedelta(days=1))
        else:
            w1, w2 = f"{wday.month}月{wday.day}日22:00", "次日06:00"
            window = (datetime(wday.year, wday.month, wday.day, 22), datetime(wday.year, wday.month, wday.day, 22)
                      + timedelta(hours=8))
        pend = start + timedelta(days=prep_len)
        p1, p2 = f"{start.month}月{start.day}日", f"{pend.month}月{pend.day}日"
        prep_name, prep = rng.choice(PREPARATIONS)
        win_name, win = rng.choice(WINDOW_SENTENCES)
        order = rng.choice(ORDERS)
        sys_ = rng.choice(SYSTEMS)
        a, b = prep.format(p1=p1, p2=p2), win.format(w1=w1, w2=w2, sys=sys_)
        text = "为保证迁移平稳，请配合以下工作：\n" + ("\n".join((a, b)) if order == ORDERS[0] else "\n".join((b, a)))
        script, title, text = _script(rng, "关于系统升级的通知", text)
        forms = (("preparation", prep_name), ("window", win_name), ("order", order),
                 ("days", "whole" if whole_days else "hours"), ("script", script))
        out.append(Case(forms, title, text, (window,)))
    return out


# the window itself asked of users or labelled as a period: still a window
ASKED: tuple[tuple[str, str], ...] = (
    ("asked_to_stop", "请各部门于{w1}至{w2}暂停使用{sys}，以免数据丢失。"),
    ("labelled_stop", "{w1}至{w2}为系统停机期，{sys}暂停服务。"),
    ("asked_in_it", "{sys}将于{w1}至{w2}暂停服务，请各位用户在此期间改用其他渠道。"),
    ("will_cut", "请注意，{sys}将于{w1}至{w2}进行切换，届时无法登录。"),
    # a verb users might do, but the clause says what stops
    ("work_backup", "{sys}将于{w1}至{w2}备份数据库，期间暂停服务。"),
    ("upload_closed", "{w1}至{w2}上传通道关闭，{sys}暂停使用。"),
)


def preparation_counterparts(n: int = 300) -> list[Case]:
    """Windows asked of users or labelled as a period of the stop: they stay."""
    rng = random.Random(SEED + 5)
    out = []
    for _ in range(n):
        day = PUBLISHED + timedelta(days=rng.randint(2, 20))
        name, template = rng.choice(ASKED)
        sys_ = rng.choice(SYSTEMS)
        text = template.format(w1=f"{day.month}月{day.day}日22:00", w2="次日06:00", sys=sys_)
        script, title, text = _script(rng, "关于系统升级的通知", text)
        window = (datetime(day.year, day.month, day.day, 22), datetime(day.year, day.month, day.day, 22)
                  + timedelta(hours=8))
        out.append(Case((("wording", name), ("script", script)), title, text, (window,)))
    return out


# ---- the same window stated twice ----------------------------------------------------------------

LEADS: tuple[tuple[str, str], ...] = (
    ("lead_stop", "{day}{s}至{e}，{sys}因系统切换暂停服务。"),
    ("lead_will", "我司将于{day}{s}至{e}对{sys}进行升级，期间停止服务。"),
    ("lead_named", "{sys}将于{day}{s}至{e}停机维护，届时无法访问。"),
    ("dateline", "本报讯：{day}{s}至{e}，{sys}将停止服务。"),
)
RESTATES: tuple[tuple[str, str], ...] = (
    ("this_time", "本次切换时间为{day}{s}至{e}，期间不能办理相关业务。"),
    ("reminder", "再次提醒：{day}{s}至{e}期间{sys}无法使用，请提前做好安排。"),
    ("detail", "按照统一安排，{day}{s}至{e}{sys}不受理业务、不提供网上预约和自助办理。"),
    ("from_to", "停机时间自{day}{s}至{e}，届时{sys}暂停对外服务。"),
    ("named_again", "{sys}{day}{s}至{e}暂停使用，请您合理安排。"),
    ("connective", "由于需要进行系统切换，所以{day}{s}至{e}{sys}不受理业务。"),
)


def _hours(rng: random.Random) -> tuple[str, str, str, tuple[int, int], tuple[int, int]]:
    return rng.choice((("hm", "02:00", "06:00", (2, 0), (6, 0)), ("dian", "凌晨2点", "早上6点", (2, 0), (6, 0)),
                       ("evening", "20:00", "23:30", (20, 0), (23, 30))))


def restated(n: int = 600) -> list[Case]:
    """A window stated in a lead sentence and again in a later one that says what stops: one window."""
    rng = random.Random(SEED + 3)
    out = []
    for _ in range(n):
        day = PUBLISHED + timedelta(days=rng.randint(2, 20))
        hours_name, s, e, hs, he = _hours(rng)
        lead_name, lead = rng.choice(LEADS)
        re_name, again = rng.choice(RESTATES)
        sys_ = rng.choice(SYSTEMS)
        between = rng.choice(("", "由此带来的不便，敬请谅解。", "如有疑问，请致电客服热线。"))
        d1 = f"{day.year}年{day.month}月{day.day}日"
        d2 = rng.choice((d1, f"{day.month}月{day.day}日"))
        text = "\n".join(x for x in (lead.format(day=d1, s=s, e=e, sys=sys_), between,
                                     again.format(day=d2, s=s, e=e, sys=sys_)) if x)
        script, title, text = _script(rng, "系统切换暂停服务的公告", text)
        window = (datetime(day.year, day.month, day.day, *hs), datetime(day.year, day.month, day.day, *he))
        forms = (("lead", lead_name), ("restate", re_name), ("hours", hours_name),
                 ("between", "none" if not between else "sentence"), ("script", script))
        out.append(Case(forms, title, text, (window,)))
    return out


# parallel items: the same times for two named things, each saying what of its own stops
PARALLELS: tuple[tuple[str, str], ...] = (
    ("rows", "东区：{day}{s}至{e}停水。\n西区：{day}{s}至{e}停水。"),
    ("labels", "个人网银：{day}{s}至{e}暂停转账汇款。\n企业网银：{day}{s}至{e}暂停代发工资。"),
    ("sentences", "{day}{s}至{e}，借记卡跨行取款暂停办理。{day}{s}至{e}，商户收单业务暂停。"),
    # names that share a word ("网银", "借记卡", "银行") but are different names
    ("shared_word", "{day}{s}至{e}，个人网银暂停转账汇款。{day}{s}至{e}，企业网银暂停代发工资。"),
    ("shared_head", "{day}{s}至{e}，借记卡跨行取款暂停办理。\n{day}{s}至{e}，借记卡境外消费暂停。"),
    ("shared_tail", "{day}{s}至{e}，网上银行因升级暂停服务。\n{day}{s}至{e}，手机银行因升级暂停服务。"),
    ("areas", "{day}{s}至{e}，东区因管道改造停水。{day}{s}至{e}，西区因管道改造停水。"),
    ("row_of_list", "部分业务暂停时间为{day}{s}至{e}。其中：\n养老保险业务：{day}{s}至{e}暂停；"),
    ("dateline_rows", "本报讯：{day}{s}至{e}，东区停水。{day}{s}至{e}，西区停水。"),
    ("headed", "个人网银维护：{day}{s}至{e}投资服务暂停。企业网银维护：{day}{s}至{e}投资服务暂停。"),
)


def parallels(n: int = 300) -> list[Case]:
    """Parallel items with the same times: two windows, as before."""
    rng = random.Random(SEED + 4)
    out = []
    for _ in range(n):
        day = PUBLISHED + timedelta(days=rng.randint(2, 20))
        hours_name, s, e, hs, he = _hours(rng)
        name, template = rng.choice(PARALLELS)
        text = template.format(day=f"{day.month}月{day.day}日", s=s, e=e)
        script, title, text = _script(rng, "系统维护公告", text)
        window = (datetime(day.year, day.month, day.day, *hs), datetime(day.year, day.month, day.day, *he))
        forms = (("parallel", name), ("hours", hours_name), ("script", script))
        out.append(Case(forms, title, text, (window, window)))
    return out


def fails(case: Case) -> str | None:
    """Why the parser's reading differs from the case's windows, or None. A case with no windows
    passes when the notice is not read as maintenance or is read with no window."""
    u = understand(case.text, published=PUBLISHED, title=case.title)
    got = [(w.start.astimezone(SHANGHAI).replace(tzinfo=None),
            None if w.end is None else w.end.astimezone(SHANGHAI).replace(tzinfo=None)) for w in u.windows]
    if not case.windows:
        return None if u.kind != "maintenance" or not got else f"windows {got}"
    if u.kind != "maintenance":
        return f"kind {u.kind}"
    if sorted(got, key=str) != sorted(case.windows, key=str):
        return f"windows {got}"
    return None


def main() -> None:
    print_failures((("recovery reports", recoveries()), ("maintenance ahead, recovery words", recovery_counterparts()),
                    ("preparation period", preparations()), ("window asked or labelled", preparation_counterparts()),
                    ("restated", restated()),
                    ("parallel items", parallels())), fails)


if __name__ == "__main__":
    main()
