"""A work period and, inside it, the period when users are affected ("作业时间1:30~6:00，影响时段
2:00~4:30"): the window is the affected period; the work around it stops nothing by itself.

Pure helper for :mod:`watcher.notices.windows`.
"""

from __future__ import annotations

import re

from watcher.notices.span import Span

# Right before the inner range: it is the period users feel.
_IMPACT_BEFORE_RE = re.compile(r"(?:影响|受影响|停止|中断|不可用|无法使用|服务暂停)(?:的)?(?:时段|时间|期间|范围)?\s*(?:为|是)?\s*:?\s*$")
# Between the work range's end and the inner range's start: one clause, no sentence end.
_GAP_RE = re.compile(r"[^。;\n]{0,16}")
# "停机时间为1:00~8:00，其间会有2次各约1小时的停止：第1次1:00~3:00，……": the stops inside the
# stated period are announced one by one; they are the windows.
_STOPS_INSIDE_RE = re.compile(r"[^。;\n]{0,8}?(?:其间|期间|当中|之中)[^。;\n]{0,30}?(?:\d|[两二三四])\s*次[^。;\n]{0,24}")


def keep_impact(norm: str, spans: list[Span]) -> list[Span]:
    """``spans`` without each range that holds, written right after it in the same row, a range
    labelled as the period users are affected, or the first of the stops said to fall inside it."""
    drop: set[int] = set()
    for i, outer in enumerate(spans):
        if outer.end is None:
            continue
        for inner in spans[i + 1 : i + 2]:
            if (inner.end is not None and outer.start <= inner.start and inner.end <= outer.end
                    and (inner.start, inner.end) != (outer.start, outer.end)
                    # (a point may hold the line break after it: the next row's range is not in this row)
                    and ((_GAP_RE.fullmatch(norm, outer.end_pos, inner.pos) and "\n" not in norm[outer.end_pos - 1 : inner.pos]
                          and _IMPACT_BEFORE_RE.search(norm, max(outer.end_pos, inner.pos - 12), inner.pos))
                         or _STOPS_INSIDE_RE.fullmatch(norm, outer.end_pos, inner.pos))):
                drop.add(i)
    return [s for i, s in enumerate(spans) if i not in drop]
