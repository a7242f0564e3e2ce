"""A range named as a transition period ("2026年12月1日至12月31日为短信平台的迁移期，需换用新的SDK"):
the time integrators or customers have to switch, not a window in which a service stops, unless
its sentence words a stop.

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
