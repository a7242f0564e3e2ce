"""Windows as the result gives them: each span with the products it affects, their pay channels
and its status. Pure helpers for :mod:`watcher.notices.understand`."""

from __future__ import annotations

import bisect
import re

from huabei_watch.events.common import Window
from watcher.notices import layout
from watcher.notices import products as prod
from watcher.notices.span import Span
from watcher.notices.status import (
    CANCEL_RE,
    CLAUSE_END,
    DATE_WORD_RE,
    cancelled_days,
    original_work,
    postponed_for_now,
    put_off,
    status_of,
    whole_notice,
)
from watcher.notices.vocab import sentence_bounds

_SENTENCE_END = re.compile(r"[。;!?\n]")


def _bounds(norm: str) -> list[int]:
    """Start offsets of sentences."""
    return [0] + [m.end() for m in _SENTENCE_END.finditer(norm)]


def platform_product(p: prod.Product) -> bool:
    """Whether ``p`` names something even when the notice is a bank's: anything but a broad
    "all payments" phrase (信用支付 is Ant's own product name)."""
    return p.huabei != "broad" or p.name == "信用支付"


def windows_of(
    norm: str, spans: list[Span], head: str, notice_products: list[prod.Product], doubts: list[str],
    own_broad: bool = True,
) -> list[Window]:
    starts = _bounds(norm)
    ends = [*starts[1:], len(norm)]

    def sentence(pos: int) -> int:
        return bisect.bisect_right(starts, pos) - 1

    span_sent = [sentence(s.pos) for s in spans]
    products_after = False
    if len(spans) > 1:
        tail_lo = ends[sentence(spans[-1].end_pos)]
        products_after = any(m.positive for m in prod.scan(norm, tail_lo, len(norm)))
    notice_postponed = put_off(head) or put_off(norm)
    # a cancellation in a sentence with a date of its own ("另，原定12月12日的维护取消") is that day's,
    # not every window's
    notice_cancelled = CANCEL_RE.search(head) or any(
        not DATE_WORD_RE.search(norm, *sentence_bounds(norm, m.start())) for m in CANCEL_RE.finditer(norm)
    )
    called_off_days = cancelled_days(norm) if CANCEL_RE.search(norm) else set()
    moved_from: int | None = None
    whole = whole_notice(norm) if len(spans) > 1 and (notice_cancelled or notice_postponed) else None
    out: list[Window] = []
    bounds: list[tuple[int, int]] = []
    missing_products = False
    for i, s in enumerate(spans):
        if len(spans) == 1:
            chosen = notice_products
        else:
            chosen = _products_for(norm, spans, span_sent, i, starts, ends, products_after)
            if not own_broad:
                chosen = [p for p in chosen if platform_product(p)]
            if not chosen:
                chosen = notice_products
                # Only a doubt when it decides whether Huabei goes off in this window.
                missing_products = missing_products or any(p.huabei for p in notice_products)
        status = status_of(norm, s, starts[span_sent[i]], ends[span_sent[i]])
        if status is None and len(spans) == 1:
            if notice_cancelled:
                status = "cancelled"
            elif notice_postponed and (original_work(norm + "\n" + head) or postponed_for_now(norm)):
                status = "postponed"
        if status is None and whole is not None:
            status = whole  # "因故，本次维护取消" after several windows: every one of them
        if status is None and (s.start.month, s.start.day) in called_off_days:
            status = "cancelled"  # "原定于12月5日的维护已取消": the windows of that day
        if status == "scheduled" and moved_from is None:
            moved_from = i  # "本次维护延期至12月12日同一时段进行": the first window given as a new time
        chans: list[str] = []
        for p in chosen:
            chans.extend(c for c in p.channels if c not in chans)
        out.append(
            Window(start=s.start, end=s.end, products=tuple(p.name for p in chosen), channels=tuple(chans),
                   status=status or "scheduled")
        )
        bounds.append((starts[span_sent[i]], ends[span_sent[i]]))
        if s.end is None and out[-1].status == "scheduled":
            doubts.append("a window has no end time")
    if moved_from is not None and moved_from > 0 and notice_postponed and all(
        w.status == "scheduled" for w in out[:moved_from]
    ) and not any(span_sent[j] == span_sent[moved_from] for j in range(moved_from)):
        # the windows written before the new time, in sentences of their own, are the old time(s)
        # when they last as long as the new one ("……延期至12月12日同一时段进行")
        length = _length(spans[moved_from])
        for j in range(moved_from):
            if length is not None and _length(spans[j]) == length and spans[j].start < spans[moved_from].start:
                out[j] = out[j].model_copy(update={"status": "postponed"})
    if missing_products:
        doubts.append("could not tell which products each window affects; used the notice's products")
    return layout.merge_restated(norm, out, spans, bounds)


def _products_for(
    norm: str, spans: list[Span], span_sent: list[int], i: int, starts: list[int], ends: list[int],
    products_after: bool,
) -> list[prod.Product]:
    s = spans[i]
    k = span_sent[i]
    lo, hi = starts[k], ends[k]
    # 1. the clause holding the window
    c_lo = lo
    for m in CLAUSE_END.finditer(norm, lo, s.pos):
        c_lo = m.end()
    m_hi = CLAUSE_END.search(norm, s.end_pos, hi)
    c_hi = m_hi.start() if m_hi else hi
    found, _ = prod.merge(prod.scan(norm, c_lo, c_hi))
    if found:
        return found
    # 2. the part of the sentence between the neighbouring windows
    a = spans[i - 1].end_pos if i > 0 and span_sent[i - 1] == k else lo
    b = spans[i + 1].pos if i + 1 < len(spans) and span_sent[i + 1] == k else hi
    found, _ = prod.merge(prod.scan(norm, max(a, lo), min(b, hi)))
    if found:
        return found
    # 3. neighbouring sentences, in the direction the notice's layout suggests
    nxt = span_sent[i + 1] if i + 1 < len(spans) else len(starts)
    prv = span_sent[i - 1] if i > 0 else -1
    after = range(k + 1, min(nxt, k + 4))
    before = range(k - 1, max(prv, k - 4), -1)
    for rng in (after, before) if products_after else (before, after):
        for j in rng:
            if j == span_sent[i]:
                continue
            found, _ = prod.merge(prod.scan(norm, starts[j], ends[j]))
            if found:
                return found
    return []


def _length(s: Span) -> float | None:
    return None if s.end is None else (s.end - s.start).total_seconds()
