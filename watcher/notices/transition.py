"""Ranges that are periods around the work, not its window: a range named as a transition period
("2026年12月1日至12月31日为短信平台的迁移期，需换用新的SDK": the time integrators or customers have
to switch, unless its sentence words a stop), and a reserve date held in case the work cannot be
done on the announced one ("(预备日:12月12日22:00~次日06:00)").

Pure helper for :mod:`watcher.notices.range_filter`.
"""

from __future__ import annotations

import re

from watcher.notices.timeparse import RawPoint
from watcher.notices.vocab import STOP_RE, sentence_bounds

_PERIOD_AFTER_RE = re.compile(r"\s*(?:期间)?\s*(?:为|是|属于)[^。;\n]{0,40}?(?:过渡期|迁移期|并行期|适配期|缓冲期|切换期)")


def transition_period(norm: str, q: RawPoint) -> bool:
    """Whether the range ending at ``q`` is named a transition period and its sentence words no stop."""
    if _PERIOD_AFTER_RE.match(norm, q.end) is None:
        return False
    return STOP_RE.search(norm, *sentence_bounds(norm, q.end)) is None


# A reserve date right before the range: "(预备日:", "备用日期为".
_RESERVE_BEFORE_RE = re.compile(r"(?:预备日|备用日|备选日|预备时间|备用时间)(?:期)?\s*(?:为|是)?\s*:?\s*$")


def reserve_date(norm: str, p: RawPoint) -> bool:
    """Whether the range starting at ``p`` is labelled as a reserve date."""
    return _RESERVE_BEFORE_RE.search(norm, max(0, p.start - 10), p.start) is not None
