"""Times that are the customer's to act by, not the start of a stop: a time the customer is
advised to act after ("建议4点后再调用", "请在6:00之后再来缴费", "同步任务建议放在凌晨3点以后做"),
and the start of a period to act in that ends by a latest date ("自3月26日起、最迟于4月20日前切换":
participants switch within it; the service does not stop).

Pure helper for :mod:`watcher.notices.singles`.
"""

from __future__ import annotations

import re

from watcher.notices.timeparse import RawPoint
from watcher.notices.vocab import sentence_bounds

# Advice before the time, in its clause: 建议, 请(在/于), 可(在/于), 宜; or the customer's jobs put
# after it ("订单同步任务放在凌晨3点以后").
_ADVICE_BEFORE_RE = re.compile(r"(?:建议|请|可以?|宜|最好|放在|放到)[^,;。!?\n]{0,16}$")
# Right after the time: after it.
_AFTER_RE = re.compile(r"\s*(?:以后|之后|后)")


def act_after(norm: str, p: RawPoint) -> bool:
    """Whether ``p`` is a time the customer is advised to act after."""
    return bool(_AFTER_RE.match(norm, p.end) and _ADVICE_BEFORE_RE.search(norm, max(0, p.start - 16), p.start))


# A latest date in the clause after a start: what starts then is done by those told to, in time.
_LATEST_RE = re.compile(r"(?:最迟|最晚|不晚于|不迟于)\s*(?:于|在)?\s*\d")
_CLAUSE_END_RE = re.compile(r"[,;。!?\n]")


def act_by(norm: str, p: RawPoint) -> bool:
    """Whether ``p`` starts a period to act in that a latest date closes, in the same clause
    (a list separator "、" may stand between them)."""
    _, hi = sentence_bounds(norm, p.end)
    stop = _CLAUSE_END_RE.search(norm, p.end, hi)
    return _LATEST_RE.search(norm, p.end, stop.start() if stop else hi) is not None


# "业者须在2月26日前提交报告", "请于12月5日前完成": a date someone is told to act by.
_TOLD_BEFORE_RE = re.compile(r"(?:须|需|需要|请|应|应当|必须|务必|要)\s*(?:在|于)\s*$")
_BY_RE = re.compile(r"\s*(?:前|之前|以前)")


def told_by(norm: str, p: RawPoint) -> bool:
    """Whether ``p`` is a date someone is told to act by: it frames no hours written after it."""
    return bool(_BY_RE.match(norm, p.end) and _TOLD_BEFORE_RE.search(norm, max(0, p.start - 8), p.start))
