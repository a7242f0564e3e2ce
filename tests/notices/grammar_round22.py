"""Round 22: never silent, checked with generated notices (issue 16 item 1;
``python -m tests.notices.grammar_round22``).

Every generated notice has a range still ahead (in every shape the grammar knows: same-day hours, a
night across midnight, a start and a length, a start and a resumption, whole days, a list of dates
sharing the same hours) and wording that a service stops or degrades in it, so it must come out as
maintenance or with ``needs_review``: never another kind without review. The wording is drawn from three
lists: phrasings the keyword list (``watcher.notices.vocab.DISRUPTION_RE``) matched before this round,
phrasings it matches since ("将处于离线状态", "将进入只读状态" ...), and phrasings it does not match
("请勿进行转账操作", "将暂时下架" ...). The layouts are a sentence, field lines, a table
row, a numbered list of several services with their own ranges, and a line per service with the same
range; titles are a maintenance title, a neutral one or none, and the notice around it is a greeting
only or a greeting, a reason and a signature. The answer of each case (never silent) holds by
construction; the windows are not checked here (rounds 20 and 21 do).

A second generator writes look-alikes worded with a stop that the rules read as something else on
purpose (holiday arrangements, drills that stop nothing, fund subscriptions paused by contract, a
campaign's entry closing) as whole notices of 150 characters or more: the kind model must not promote
them (``watcher.notices.kind_model.PROMOTE``), which the study in bench/kind_promotion_study.py did not
do on real look-alikes.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date

from tests.notices.grammar_round20 import DATES, EVENING, MORNING, SAME_DAY
from watcher.notices import NoticeUnderstanding, understand

PUBLISHED = date(2026, 11, 20)
SEED = 22

# (name, phrase after a subject), matched by the keyword list
STOPS_LISTED: tuple[tuple[str, str], ...] = (
    ("暂停服务", "暂停服务"), ("无法使用", "将无法使用"), ("无法登录", "将无法登录"), ("不能转账", "将暂时不能转账"),
    ("中断", "将出现短暂中断"), ("缓慢", "将出现访问缓慢"), ("延迟到账", "转账将延迟到账"), ("暂缓", "业务暂缓办理"),
    ("不可访问", "将不可访问"), ("停止对外服务", "将停止对外服务"),
)
# phrasings the keyword list matches since this round (离线, 只读, 关站, 间断: vocab.DISRUPTION_RE and STOP_RE)
STOPS_ADDED: tuple[tuple[str, str], ...] = (
    ("离线", "将处于离线状态"), ("暂时离线", "届时将暂时离线"), ("只读", "将进入只读状态"), ("关站", "将暂时关站"),
    ("间断", "服务将会间断"),
)
# phrasings the keyword list does not match: words that look-alikes use too (优惠券失效, 请勿惊慌, 商品下架 ...)
STOPS_BEYOND: tuple[tuple[str, str], ...] = (
    ("请勿转账", "请勿进行转账操作"), ("系统繁忙", "页面将显示系统繁忙"), ("下架", "将暂时下架"),
    ("不会到账", "充值不会实时到账"), ("屏蔽", "将暂时屏蔽该功能"), ("隐藏入口", "入口将暂时隐藏"),
    ("被拒绝", "交易可能会被拒绝"), ("失效", "支付链接将失效"), ("请勿登录", "请勿登录"),
)
STOP_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("listed", STOPS_LISTED), ("added", STOPS_ADDED), ("beyond", STOPS_BEYOND),
)
SERVICES: tuple[str, ...] = ("网上银行", "手机银行", "快捷支付", "缴费平台", "充值服务", "会员系统")
TITLES: tuple[tuple[str, str], ...] = (("maintenance", "系统维护公告"), ("neutral", "重要通知"),
                                       ("reminder", "温馨提示"), ("none", ""))
REASONS: tuple[str, ...] = ("", "为提升服务质量，", "因机房设备调整，", "因业务系统切换需要，", "为配合上级单位工作安排，")
SHAPES: tuple[str, ...] = ("same_day", "night", "duration", "resume", "whole_days", "date_list")
LAYOUTS: tuple[str, ...] = ("sentence", "fields", "table", "numbered", "per_service")


@dataclass(frozen=True, slots=True)
class Case:
    """One generated notice and the forms it was built from."""

    forms: tuple[tuple[str, str], ...]
    text: str
    title: str
    published: date = PUBLISHED


def _range(rng: random.Random, shape: str, day: int) -> tuple[str, str]:
    """(range text, shape form) on December ``day`` (or ``day`` and ``day`` + 7 for a list)."""
    date_name, d_text, _ = rng.choice(DATES)
    d_text = d_text.replace("12月5日", f"12月{day}日").replace("12-05", f"12-{day:02d}").replace(
        "12/05", f"12/{day:02d}").replace("12.05", f"12.{day:02d}").replace("1205", f"12{day:02d}").replace(
        "12月5号", f"12月{day}号").replace("12.5", f"12.{day}").replace("12/5", f"12/{day}")
    sep = "" if date_name in {"ymd_cn", "md_cn", "md_hao", "roc_cn"} else " "
    if shape == "same_day":
        name, s, e, _, _ = rng.choice(SAME_DAY)
        return f"{d_text}{sep}{s}至{e}", f"{date_name} {name}"
    if shape == "night":
        s_name, s, _ = rng.choice(EVENING)
        e_name, e, _ = rng.choice(MORNING)
        return f"{d_text}{sep}{s}至次日{e}", f"{date_name} {s_name}/{e_name}"
    if shape == "duration":
        s_name, s, _ = rng.choice(EVENING)
        return f"{d_text}{sep}{s}起，预计持续2小时", f"{date_name} {s_name}"
    if shape == "resume":
        s_name, s, _ = rng.choice(EVENING)
        return f"{d_text}{sep}{s}起，次日6:00恢复", f"{date_name} {s_name}"
    if shape == "whole_days":
        return f"12月{day}日至12月{day + 2}日", "md_cn"
    s_name, s, _ = rng.choice(EVENING)
    return f"12月{day}日、12月{day + 7}日{s}至次日6:00", f"md_cn {s_name}"


def _never_silent(rng: random.Random) -> Case:
    group, stops = rng.choice(STOP_GROUPS)
    stop_name, stop = rng.choice(stops)
    shape = rng.choice(SHAPES)
    layout = rng.choice(LAYOUTS)
    title_name, title = rng.choice(TITLES)
    reason = rng.choice(REASONS)
    whole = rng.random() < 0.5
    services = rng.sample(SERVICES, 3)
    rng_text, shape_form = _range(rng, shape, 5)
    if layout == "sentence":
        body = f"{reason}{rng_text}，{services[0]}{stop}。"
    elif layout == "fields":
        body = f"{reason.rstrip('，')}\n时间：{rng_text}\n影响：{services[0]}{stop}"
    elif layout == "table":
        body = f"{reason}具体安排如下：\n时间 | 业务 | 说明\n{rng_text} | {services[0]} | {stop}"
    elif layout == "numbered":
        lines = [f"{i + 1}. {_range(rng, shape, 5 + i)[0]}，{svc}{stop}；" for i, svc in enumerate(services)]
        body = f"{reason}具体安排如下：\n" + "\n".join(lines)
    else:
        body = f"{reason}{rng_text}，以下业务{stop}：\n" + "\n".join(f"- {svc}" for svc in services)
    text = "尊敬的客户：\n" + body
    if whole:
        text += "\n给您带来的不便，敬请谅解。\n客户服务中心\n2026年11月20日"
    forms = (("group", group), ("stop", f"{group} {stop_name}"), ("shape", shape), ("shape_form", shape_form),
             ("layout", layout), ("title", title_name), ("reason", reason or "none"), ("whole", str(whole)))
    return Case(forms, text, title)


def never_silent(n: int = 3000) -> list[Case]:
    rng = random.Random(SEED)
    return [_never_silent(rng) for _ in range(n)]


def silent(u: NoticeUnderstanding) -> bool:
    return u.kind != "maintenance" and not u.needs_review


# --- look-alikes with a stop the rules read as something else on purpose ---------------------------
LOOKALIKES: tuple[tuple[str, str, str], ...] = (
    ("fund_holiday", "关于春节假期基金申购安排的公告", "据基金公司公告，春节假期期间部分货币基金暂停申购，{d2}起恢复各项业务。"
     "{timed}部分货币基金暂停申购，赎回照常办理。"),
    ("fund_contract", "关于旗下基金暂停申购业务的公告", "根据基金合同的约定，本基金于{timed}暂停申购及定投业务，"
     "赎回业务照常办理，恢复办理日期另行公告。"),
    ("fire_drill", "关于开展消防演练的通知", "为提高全员应急处置能力，大楼将于{timed}进行消防演练，期间可能有警报声，"
     "请勿惊慌，听从工作人员指挥有序疏散。"),
    ("power_drill", "停电应急演练通知", "为检验应急预案，{timed}进行停电应急演练，演练期间不影响正常用电，"
     "请各部门做好配合工作。"),
    ("branch_holiday", "春节期间网点营业安排", "{days}春节假期期间，部分营业网点暂停营业，{d2}起恢复正常营业。"
     "网上银行、手机银行照常提供服务。"),
    ("campaign_closed", "活动报名通道关闭公告", "本次活动报名人数已满，报名通道将于{timed}关闭，已报名的客户请按时参加，"
     "未报名成功的客户敬请关注后续活动。"),
)
PADS: tuple[tuple[str, str], ...] = (
    ("greeting", "尊敬的客户：\n"),
    ("greeting_purpose", "尊敬的客户：\n为保障各项业务平稳有序，现将有关安排通知如下。\n"),
)
CLOSES: tuple[tuple[str, str], ...] = (
    ("thanks", "\n如有疑问，请拨打客服热线咨询，或登录官方网站查看详情。感谢您一直以来的理解与支持！\n特此公告。\n本公司\n"
     "2026年11月20日"),
    ("sorry", "\n给您带来的不便，敬请谅解。详情请咨询各营业网点或拨打客服热线，我们将竭诚为您服务。\n客户服务中心\n"
     "2026年11月20日"),
)


def _lookalike(rng: random.Random) -> Case:
    family, title, body = rng.choice(LOOKALIKES)
    pad_name, pad = rng.choice(PADS)
    close_name, close = rng.choice(CLOSES)
    _, d_text, _ = rng.choice(DATES[:5])
    name, s, e, _, _ = rng.choice(SAME_DAY)
    timed = f"{d_text}{'' if '月' in d_text else ' '}{s}至{e}"
    text = pad + body.format(timed=timed, d2="2026年12月12日", days="2026年12月5日至12月11日") + close
    forms = (("family", family), ("pad", pad_name), ("close", close_name), ("time", name),
             ("title", "with" if rng.random() < 0.5 else "none"))
    return Case(forms, text, title if forms[-1][1] == "with" else "")


def lookalikes(n: int = 1000) -> list[Case]:
    rng = random.Random(SEED + 1)
    return [_lookalike(rng) for _ in range(n)]


def promoted(u: NoticeUnderstanding) -> bool:
    return any("from the kind model" in r for r in u.reasons)


def main() -> None:
    for name, cases, bad in (("never silent", never_silent(), silent), ("look-alikes", lookalikes(), promoted)):
        by: dict[str, Counter[str]] = {}
        total = 0
        for c in cases:
            u = understand(c.text, published=c.published, title=c.title)
            hit = bad(u)
            total += hit
            for dim, form in c.forms:
                if dim == "shape_form":  # too fine to print
                    continue
                by.setdefault(dim, Counter())[form + (" !" if hit else "")] += 1
        print(f"{name}: {len(cases)} notices, {total} {'silent' if bad is silent else 'promoted'}")
        for dim, counts in by.items():
            forms = sorted({f.removesuffix(" !") for f in counts})
            failing = [f"{f} {counts[f + ' !']}/{counts[f] + counts[f + ' !']}" for f in forms if counts[f + " !"]]
            if failing:
                print(f"  {dim}: " + ", ".join(failing))


if __name__ == "__main__":
    main()
