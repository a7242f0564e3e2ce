"""Notices laid out as labelled fields, one a line: "调整时间：12月5日20:00-22:00" then
"调整内容：订单接口限流" or "影响范围：网银暂停". The range's own line says only when; the stop is
in the field after it, which belongs to the same item.

Pure helper for :mod:`watcher.notices.layout`, :mod:`watcher.notices.review` and
:mod:`watcher.notices.degrade`.
"""

from __future__ import annotations

import re

from watcher.notices.vocab import STOP_RE, sentence_bounds

# A line that is a time field: a short label ending in 时间/时段/日期/期间, then a colon.
_TIME_FIELD_RE = re.compile(r"[\s(]*(?:\d{1,2}\s*[.、)]\s*)?(?:[^\W\d_][^:。;!?\n\d]{0,10})?(?:时间|时段|日期|期间)\s*:")
# A line that is a field: a short label, then a colon (numbered like the time field or not).
_FIELD_RE = re.compile(r"[\s(]*(?:\d{1,2}\s*[.、)]\s*)?[^\W\d_][^:。;!?\n\d]{0,10}:")


def stop_in_next_field(norm: str, pos: int) -> bool:
    """Whether the range at ``pos`` is in a time field whose next field (the next line or
    sentence, up to two on) words a stop."""
    lo, hi = sentence_bounds(norm, pos)
    if not _TIME_FIELD_RE.match(norm, lo):
        return False
    for _ in range(2):
        nlo = hi + 1
        while nlo < len(norm) and norm[nlo] in " \n":
            nlo += 1
        if nlo >= len(norm):
            return False
        nlo, hi = sentence_bounds(norm, nlo)
        if not _FIELD_RE.match(norm, nlo):
            return False
        if STOP_RE.search(norm, nlo, hi):
            return True
    return False
