"""A time the customer is advised to act after ("建议4点后再调用", "请在6:00之后再来缴费",
"同步任务建议放在凌晨3点以后做"): when a service is back, told as advice, not the start of a stop.

Pure helper for :mod:`watcher.notices.singles`.
"""

from __future__ import annotations

import re

from watcher.notices.timeparse import RawPoint

# Advice before the time, in its clause: 建议, 请(在/于), 可(在/于), 宜.
_ADVICE_BEFORE_RE = re.compile(r"(?:建议|请|可以?|宜|最好)[^,;。!?\n]{0,16}$")
# Right after the time: after it.
_AFTER_RE = re.compile(r"\s*(?:以后|之后|后)")


def act_after(norm: str, p: RawPoint) -> bool:
    """Whether ``p`` is a time the customer is advised to act after."""
    return bool(_AFTER_RE.match(norm, p.end) and _ADVICE_BEFORE_RE.search(norm, max(0, p.start - 16), p.start))
