"""An interface reading that carries service windows: by the corpus format, an interface notice is a
change integrators act on *without* a service window, so a notice whose dated ranges each say in
their own sentence what stops or degrades ("12月3日20:00-23:00 订单查询接口限流", "……字段不返回")
announces windows — it is maintenance, even when it is an update published after them.

Pure helper for :mod:`watcher.notices.understand`.
"""

from __future__ import annotations

from watcher.notices import fields
from watcher.notices.span import Span
from watcher.notices.vocab import STOP_RE, sentence_bounds


def interface_windows(norm: str, spans: list[Span]) -> list[Span]:
    """The dated ranges with an end whose sentence words a stop or a degradation."""
    return [s for s in spans if s.how in ("range", "daily") and s.end is not None and s.dated
            and (STOP_RE.search(norm, *sentence_bounds(norm, s.pos)) or fields.stop_in_next_field(norm, s.pos))]
