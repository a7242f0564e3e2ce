"""Lasting changes, not windows: an old system retired for good, a change or new terms taking
effect from a time on. Pure helpers for :mod:`watcher.notices.windows` and
:mod:`watcher.notices.singles`."""

from __future__ import annotations

import re

from watcher.notices import vocab
from watcher.notices.span import Span

# What is retired for good: an old version, system or card stops ("旧版App停止使用", "原系统下线").
RETIRE_RE = re.compile(
    r"(?:旧版|旧系统|老系统|老版本|旧版本|原系统|原版本|旧卡|老卡|旧接口"
    # "原薪酬申报系统", "老校园卡系统": a named old system
    r"|(?:原(?![定计来因])|旧|老)[^。;\n,\d]{1,10}?(?:系统|平台|版本|客户端|接口))"
    r"[^。;\n]{0,20}?(?:停止使用|停用|下线|不再|停止服务|停止发行|关闭|废止|无法(?:登入|登录|使用|访问))"
)
def retired(norm: str, pos: int) -> bool:
    """Whether the sentence at ``pos`` retires an old system for good, with no gap before its
    successor and no end announced later."""
    lo, hi = vocab.sentence_bounds(norm, pos)
    return (RETIRE_RE.search(norm, lo, hi) is not None and _SUCCESSOR_NOW_RE.search(norm, lo, hi) is not None
            and _NEW_SAME_DAY_GAP_RE.search(norm, lo, hi) is None and vocab.LATER_RE.search(norm) is None)


# The successor is named as usable now ("请在新的……系统重新填报", "改用新版"); without it an old
# system stopped before a later launch ("旧系统7月14日起停止……新系统7月22日上线") leaves a gap.
_SUCCESSOR_NOW_RE = re.compile(
    r"请(?:在|到|于|使用|登录|改用|通过)[^。;\n]{0,6}?新|改用|新的?[^。;\n]{0,12}?(?:重新|继续)(?:填报|办理|登录|申报|使用)"
    # "旧版将于12月31日停止使用，请及时更新": the new version is there to update to
    r"|请[^。;\n]{0,4}?(?:更新|升级|下载)(?!期间)|(?:更新|升级)(?:至|到|为)[^。;\n]{0,4}?(?:最新|新版)"
    # "旧版支付接口将于3月1日下线，请开发者于2月28日前完成迁移": integrators move to the new one first
    r"|(?:完成|尽快|及时)[^。;\n]{0,4}?(?:迁移|切换|对接|改造)|(?:迁移|切换)(?:至|到)[^。;\n]{0,6}?新"
)


# The successor is not there yet ("新系统……上线", "待……启用后"): the retirement leaves a gap.
_NEW_SAME_DAY_GAP_RE = re.compile(r"待|届时|上线前|启用前|暂停|过渡")
# After an open start: what changes from then on ("……起，到账时间由T+1调整为实时").
_CHANGE_AFTER_RE = re.compile(r"调整为|调整成|改为|变更为|更改为|升级为|由[^。;\n]{1,12}?(?:调整|改|变更|升级)(?:为|成|至)")


def changed_from(norm: str, s: Span) -> bool:
    """Whether the sentence of the open start ``s`` says that something changes after it and
    words no stop: an effective date, not a window."""
    lo, hi = vocab.sentence_bounds(norm, s.pos)
    return _CHANGE_AFTER_RE.search(norm, s.end_pos, hi) is not None and vocab.STOP_RE.search(norm, lo, hi) is None



_TERMS_CHANGE_RE = re.compile(
    r"(?:条款|费率|收费|资费|费用|规则|细则|协议|章程|利率|年费|手续费|限额|额度|权益)[^。;\n]{0,8}?(?:修订|调整|变更|生效|更新|修改)"
)


def terms_from(norm: str, pos: int) -> bool:
    """Whether the time ending at ``pos`` is when terms, fees or rules change, with nothing said
    to stop in its sentence: a date a change takes effect, not a window."""
    lo, hi = vocab.sentence_bounds(norm, pos)
    return bool(_TERMS_CHANGE_RE.search(norm, pos, hi)) and not vocab.STOP_RE.search(norm, lo, hi)


# Something stopped for good: no longer offered or accepted, its devices removed ("自1月1日零时起停用
# ……刷卡机，不再受理……，相关刷卡机之后将陆续拆除").
_NO_LONGER_RE = re.compile(
    r"不再(?:受理|提供|支持|使用|接受|办理|发行|开放|发售|营业|产生|计息|进行|交易)|(?:不能|无法|不可)再|拆除|撤除|撤机"
    # sales ended ("起全面停售简讯点数", "停止续购"): what was bought still works, nothing comes back
    r"|停售|停止(?:续购|购买|销售|发售|新购)"
)
# Wording of a stop that ends: paused, interrupted, to come back.
_TEMPORARY_RE = re.compile(r"暂|中断|恢复|直至|直到|期间|届时")


def for_good(norm: str, pos: int) -> bool:
    """Whether the sentence at ``pos`` stops something for good (no longer offered, removed) and
    says nothing of the stop being temporary: a lasting change, not an open window."""
    lo, hi = vocab.sentence_bounds(norm, pos)
    return _NO_LONGER_RE.search(norm, lo, hi) is not None and _TEMPORARY_RE.search(norm, lo, hi) is None


# A service or version ended for good ("自114年1月1日起停止服务", "将在此期间下线并终止服务").
_ENDED_RE = re.compile(r"停止服务|终止服务|停止提供服务|终止提供|下线|下架|不再维运|不再维护|不再提供|停止运营|停止营运")
# What to use instead ("日后请改用……", "请尽快升级为2018版OpenAPI", "迁移至新平台").
_INSTEAD_RE = re.compile(
    r"改用|(?:升级|迁移|切换|转移)(?:为|成|至|到)|请[^。;\n]{0,6}?(?:升级|迁移|更新|下载|使用)新|(?:尽快|及时)[^。;\n]{0,4}?(?:升级|迁移|切换)"
)
# Any word of a stop for a while or of work with an end: a maintenance notice may also retire things.
_FOR_A_WHILE_RE = re.compile(
    r"暂|中断|恢复|停机|割接|届时|直至|直到|维护(?:期间|时间|时段|窗口|作业)|(?:系统|停机|进行|计划)维护|升级期间|另行通知"
    # a disruption hedged or short, in a period ("试运转期间……可能出现瞬间跳电", "可能出现秒级闪断")
    r"|期间|其间|可能|闪断|瞬断|跳电|波动|不稳"
)


def retirement(head: str, body: str, spans: list[Span]) -> bool:
    """Whether the notice ends a service or a version for good, names what to use instead in the
    same sentence and words no stop for a while outside the sentences of the end (nor a range with clock times in a sentence of a stop): its dates are the steps of a retirement (a lasting change), not windows.
    The caller reads it as another kind and sends it to review (never silent)."""
    both = head + "\n" + body
    for m in _FOR_A_WHILE_RE.finditer(both):
        # "将在此期间下线并终止服务": the period of the end itself is no stop for a while
        if _ENDED_RE.search(both, *vocab.sentence_bounds(both, m.start())) is None:
            return False
    for sp in spans:
        # a range with clock times whose own sentence words a stop ("7月25日17点停止服务、7月26日8点启动",
        # "19:30—21:30升级，届时……停止服务2小时") is a window, whatever else the notice retires
        if sp.how in ("range", "duration") and vocab.DISRUPTION_RE.search(body, *vocab.sentence_bounds(body, sp.pos)):
            return False
    # the end and what to use instead in one sentence ("……起停止服务，民众日后请改用……"): "用户可改用
    # 客服QQ" beside a line's check is a stand-in during work, not a successor
    return any(_INSTEAD_RE.search(both, *vocab.sentence_bounds(both, m.start())) for m in _ENDED_RE.finditer(both))
