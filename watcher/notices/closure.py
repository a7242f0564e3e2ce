"""A market closure ("春节休市安排", "交易所休市期间暂停银证转账"): services that stop because the
market they serve is closed follow the market's calendar; with no work on a system announced
(维护, 升级, 割接 ...), the notice is an arrangement, not maintenance.

Pure helper for :mod:`watcher.notices.second_look` (which sends any range ahead with a stop to
review through the never-silent rule, so a closure is never silent).
"""

from __future__ import annotations

import re

# 封关 / 开红盘: the last and first trading days around the Lunar New Year (Taiwan's markets)
_CLOSED_MARKET_RE = re.compile(r"休市|闭市|停市|市场休息|封关|开红盘")
# Work on a system named as such (a bare 系统 names the system that stops, not work on it).
_WORK_VERB_RE = re.compile(
    r"维护|升级|割接|切换|切转|迁移|施工|检修|停机|演练|测试|扩容|改造|更换|工程|调试|故障|异常|投产|上线|下线|版本"
)


def market_closure(head: str, body: str) -> bool:
    """Whether the notice tells of services closed for a market closure with no work on a system."""
    text = head + "\n" + body
    return _CLOSED_MARKET_RE.search(text) is not None and _WORK_VERB_RE.search(text) is None


# A branch or a desk closed (暂停营业, 停业): its business hours (a holiday), unless its sentence names
# work on a system or on the premises ("因系统升级，……12月3日至6日暂停营业").
_CLOSED_DESK_RE = re.compile(r"(?:暂停|停止)营业(?!厅)|停业")
_PREMISES_WORK_RE = re.compile(r"装修|搬迁|维修|修缮")


def work_named(sentence: str) -> bool:
    """Whether ``sentence`` names work on a system or on the premises."""
    return _WORK_VERB_RE.search(sentence) is not None or _PREMISES_WORK_RE.search(sentence) is not None


def closed_for_work(sentence: str) -> bool:
    """Whether ``sentence`` closes a branch or a desk for work: a stop, not business hours."""
    return _CLOSED_DESK_RE.search(sentence) is not None and work_named(sentence)
