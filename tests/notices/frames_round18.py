"""Round-18 frames: periods that are not windows, written around the tuned sets' maintenance notices
(precision: a window needs a stop of its own, one fact is reported once).

Around every maintenance notice with a window not yet over, a sentence is added whose dates are a
period in which something is open, still usable or free of a charge, or a named activity with daily
hours written as a sentence of its own after the notice. None of them adds a window: the windows and
the kind stay those annotated. Dates are drawn relative to the publication date; the wording is ours.

* ``open_channel``: "另，M月D日至M月D日开放历史数据导出通道，用户可自行下载。"
* ``both_usable``: "新旧两版并行，M月D日至M月D日两版均可使用。"
* ``fee_waived``: "M月D日至M月D日补缴费用免收滞纳金。"
* ``named_activity``: "会员答谢活动：M月D日至M月D日，每日10:00-21:00。"
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from tests.notices.lookalike_frames import _frame, _md, ahead
from watcher.notices.corpus import GoldNotice


def _frames(pub: date) -> list[tuple[str, str, str]]:
    a, b = pub + timedelta(days=40), pub + timedelta(days=55)
    return [
        ("open_channel", "", f"\n另，{_md(a)}至{_md(b)}开放历史数据导出通道，用户可自行下载。"),
        ("both_usable", "", f"\n新旧两版并行，{_md(a)}至{_md(b)}两版均可使用。"),
        ("fee_waived", "", f"\n{_md(a)}至{_md(b)}补缴费用免收滞纳金。"),
        ("named_activity", "", f"\n会员答谢活动：{_md(a)}至{_md(b)}，每日10:00-21:00。"),
    ]


def _second_frames(pub: date) -> list[tuple[str, str, str]]:
    """A second wording of each idea, written after the rules and never tuned on (a held-out check)."""
    a, b = pub + timedelta(days=33), pub + timedelta(days=47)
    return [
        ("open_zone", "", f"\n此外，资料下载专区将于{_md(a)}至{_md(b)}开放，届时可批量导出。"),
        ("old_app", "", f"\n{_md(a)}至{_md(b)}期间，旧版App仍可正常使用。"),
        ("renew_discount", "", f"\n{_md(a)}至{_md(b)}续费可享九折。"),
        ("spring_sale", "", f"\n春季促销：{_md(a)}至{_md(b)}，每天9:00-20:00，全场八折。"),
    ]


def framed_maintenance_r18(notices: list[GoldNotice], *, second: bool = False) -> Iterator[GoldNotice]:
    """Every maintenance notice with a window not yet over in each round-18 frame (none adds a
    window); ``second`` takes the second wording instead."""
    frames = _second_frames if second else _frames
    for n in notices:
        if n.kind == "maintenance" and ahead(n):
            for name, head, tail in frames(n.published):
                yield _frame(n, name, head, tail)


def main() -> None:
    """Print the round-18 frame scores (``python -m tests.notices.frames_round18``)."""
    from pathlib import Path

    from watcher.notices.corpus import parse_corpus
    from watcher.notices.evaluate import score

    corpus = Path(__file__).parent / "corpus"
    for path, second in [(p, s) for s in (False, True) for p in sorted(corpus.glob("*.jsonl"))]:
        golds = parse_corpus(path.read_text(encoding="utf-8").splitlines())
        framed = list(framed_maintenance_r18(golds, second=second))
        m = score(framed).total.metrics()
        frames = _second_frames if second else _frames
        by = {name: score([f for f in framed if f.id.endswith("~" + name)]).total.metrics()["window_precision"]
              for name, _, _ in frames(date(2026, 1, 1))}
        print(f"{path.stem:<8}{'(2nd)' if second else '':<6} {m['notices']:>4} framed: {100 * m['maintenance_or_not']:.1f} / "
              f"{100 * m['window_recall']:.1f} / {100 * m['window_precision']:.1f} %, silent {m['silent_misses']}; "
              "precision by frame " + ", ".join(f"{k} {100 * (v or 0):.1f}" for k, v in by.items()))


if __name__ == "__main__":
    main()
