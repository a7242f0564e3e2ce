"""Round-15 frames: the false-alarm kinds of the fourth blind set's half B, written around the tuned
sets' notices so that the rules are checked on texts they were not written for.

* :func:`framed_reports`: every look-alike negative, outage and recovery note (no window annotated
  as maintenance) in frames of those kinds: a header of the day's times over a report ("时间：……
  0:00 至 24:00"), trouble of the day told as over, a repair under way with an expected end, a
  service ended for good with what to use instead, office days over a holiday. Read as maintenance
  without review is a confident false alarm.
* :func:`framed_maintenance_r15`: every maintenance notice with a window not yet over in the same
  frames where they add no window of their own (trouble of an earlier day told as over, a service
  ended for good with its successor, office days): the windows and the kind stay those annotated.

Dates are drawn relative to the publication date.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from tests.notices.lookalike_frames import _frame, _md, ahead
from watcher.notices.corpus import GoldNotice


def _shared(pub: date) -> list[tuple[str, str, str]]:
    off, back, later = pub + timedelta(days=20), pub + timedelta(days=27), pub + timedelta(days=60)
    return [
        ("retired", "", f"\n另，旧版客户端自{_md(later)}起停止服务，请改用新版客户端。"),
        ("office_days", "", f"\n{_md(off)}至{_md(back - timedelta(days=1))}放假，{_md(back)}起正常上班。"),
        ("earlier_trouble", f"{_md(pub - timedelta(days=2))}因网络不稳，部分服务一度中断，目前已全部恢复。\n", ""),
    ]


def _report_frames(pub: date) -> list[tuple[str, str, str]]:
    return [
        *_shared(pub),
        ("day_header", f"时间：{_md(pub)} 0:00 至 24:00\n", "\n因机房电力供应不稳，部分服务一度关闭，目前已陆续恢复。"),
        ("repair_under_way", "", f"\n{_md(pub)}下午3时左右系统故障，相关人员正抢修中，预计约两小时可以恢复。"),
    ]


def framed_reports(notices: list[GoldNotice]) -> Iterator[GoldNotice]:
    """Every annotated look-alike negative, outage and recovery note in each round-15 frame."""
    for n in notices:
        if n.kind != "maintenance":
            for name, head, tail in _report_frames(n.published):
                yield _frame(n, name, head, tail)


def framed_maintenance_r15(notices: list[GoldNotice]) -> Iterator[GoldNotice]:
    """Every maintenance notice with a window not yet over in each round-15 frame that adds no window."""
    for n in notices:
        if n.kind == "maintenance" and ahead(n):
            for name, head, tail in _shared(n.published):
                yield _frame(n, name, head, tail)


def main() -> None:
    """Print the round-15 frame scores (``python -m tests.notices.frames_round15``)."""
    from collections import Counter
    from pathlib import Path

    from watcher.notices.corpus import parse_corpus
    from watcher.notices.evaluate import predict, score

    corpus = Path(__file__).parent / "corpus"
    for name in ("dev", "blind", "blind2", "blind3", "blind4a", "blind4b"):
        golds = parse_corpus((corpus / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())
        m = score(list(framed_maintenance_r15(golds))).total.metrics()
        reports = list(framed_reports(golds))
        alarms = Counter(r.id.split("~")[1] for r in reports
                         if (p := predict(r)).kind == "maintenance" and not p.needs_review)
        print(f"{name:<8} maintenance {m['notices']:>4}: {100 * m['maintenance_or_not']:.1f} / "
              f"{100 * m['window_recall']:.1f} / {100 * m['window_precision']:.1f} %, silent {m['silent_misses']}; "
              f"non-maintenance {len(reports)}: confident alarms {sum(alarms.values())} {dict(sorted(alarms.items()))}")


if __name__ == "__main__":
    main()
