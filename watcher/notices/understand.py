"""Notice understanding: kind, windows with their products and status, confidence.

``understand`` is pure: text and a publication date in, a :class:`NoticeUnderstanding` out.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime

from huabei_watch.clock import SHANGHAI
from watcher.notices import kind_model, lasting, layout, reports, zones
from watcher.notices import products as prod
from watcher.notices.assemble import platform_product, windows_of
from watcher.notices.degrade import interface_windows
from watcher.notices.interface import extract_interface
from watcher.notices.kinds import classify
from watcher.notices.model import InterfaceChange, Kind, NoticeUnderstanding
from watcher.notices.resolve import Resolver
from watcher.notices.review import (
    announced_stop,
    live_ranges,
    office_days,
    ranges_ahead,
    section_ranges,
    stop_on_a_day_ahead,
    worded_by_its_window,
    works_and_stops,
)
from watcher.notices.second_look import (
    ahead_with_stop,
    not_maintenance,
    running_with_stop,
    said_ahead,
    second_look,
    today_or_ahead_with_stop,
)
from watcher.notices.timeparse import RawPoint, find_points, normalize
from watcher.notices.vocab import DISRUPTION_RE
from watcher.notices.windows import find_spans

logger = logging.getLogger(__name__)

# Notices about Alipay or the cashier itself (a product not named may be Huabei).
_PLATFORM_RE = re.compile(r"支付宝|蚂蚁|花呗|[Aa]lipay|收银台|本平台|我平台")
# A notice of a bank or a clearing house: "全部交易" there are the bank's, not the platform's.
_BANK_RE = re.compile(r"我行|本行|银行|银联|网联|清算")
_ACTION_KINDS = frozenset({"maintenance", "outage"})
_REPORT_KINDS = frozenset({"outage", "recovery", "interface"})
_WINDOW_KINDS = frozenset({"maintenance", "outage", "recovery", "interface"})
_HUABEI_KINDS = _WINDOW_KINDS
_MAX_TEXT = 200_000
_MAX_WINDOWS = 64


def _published_date(published: datetime | date) -> date:
    if isinstance(published, datetime):
        if published.tzinfo is not None:
            return published.astimezone(SHANGHAI).date()
        return published.date()
    return published


def understand(text: str, *, published: datetime | date, title: str = "") -> NoticeUnderstanding:
    """Understand one notice. Never raises on any ``str``; nonsense gives kind "other", no windows.

    Only the first 200,000 characters are read. Datetimes in the result are aware (+08:00).
    """
    try:
        return _understand(text[:_MAX_TEXT], _published_date(published), title[:2000])
    except Exception:  # the contract is "never raises"; a bug here must not stop the watcher
        logger.exception("notice_understanding_failed", extra={"event": "notice_understanding_failed"})
        return NoticeUnderstanding(
            kind="other", confidence=0.0, needs_review=True, reasons=("internal error while reading the notice",)
        )


def _without_title_line(body: str, head: str) -> str:
    """The body without a first line that repeats the title (pages often start with it): the
    title is already weighed as the title, and read twice it restates the window or tips the kind."""
    first, sep, rest = body.lstrip().partition("\n")
    if head and sep and rest.strip() and first.strip(" 【】[]《》") == head.strip(" 【】[]《》"):
        return rest
    return body


def _understand(text: str, pub: date, title: str) -> NoticeUnderstanding:
    head = normalize(title)
    whole = normalize(text)
    body = _without_title_line(whole, head)
    points = find_points(body)
    t_points = find_points(head) if head else []
    day = _title_day(t_points, pub)
    spans, flags, resolver = find_spans(body, points, pub, allow_open=True, allow_recovery=True, day=day)
    if day is not None and spans and any(not s.dated for s in spans):
        # "【通知】12月5日系统维护" over "维护时间为当日0:00至6:00": the title's date, not publication's
        resolver.note(f"hours with no date in the body read on the title's date {day.isoformat()}")
    src = body
    if not spans and head:
        t_spans, t_flags, t_resolver = find_spans(head, t_points, pub, allow_open=True, allow_recovery=True)
        if t_spans:
            spans, flags, resolver, src = t_spans, t_flags, t_resolver, head
    spans, zone_notes = zones.to_beijing(src, spans)
    for note in zone_notes:
        resolver.note(note)
    place = None if zone_notes or not spans else zones.elsewhere(head + "\n" + body)
    if place is not None:
        spans, local_note = zones.local_time(place, spans)
        if local_note:
            resolver.note(local_note)
    if len(spans) > _MAX_WINDOWS:
        flags = [*flags, f"{len(spans)} time ranges found; only the first {_MAX_WINDOWS} kept"]
        spans = spans[:_MAX_WINDOWS]
    has_range = any(s.how != "open" for s in spans)
    k = classify(head, body, has_window=bool(spans), has_range=has_range)
    kind: Kind = k.kind
    reasons: list[str] = list(k.reasons)
    doubts: list[str] = list(k.reasons) if k.unclear else []

    about_platform = bool(_PLATFORM_RE.search(head) or _PLATFORM_RE.search(body))
    # "B2C网关业务……暂停全部交易" in a bank's notice is the bank's, not the platform's: broad
    # products (全部交易, 所有支付方式 ...) stand for the platform's services only in its own notices.
    own_broad = about_platform or not (_BANK_RE.search(head) or _BANK_RE.search(body))
    mentions = prod.scan(head, 0, len(head)) + prod.scan(body, 0, len(body))
    if not own_broad:
        mentions = [m for m in mentions if platform_product(m.product)]
    products, channels = prod.merge(mentions)
    if kind == "maintenance":
        kind = second_look(k, spans, pub, resolver.recurring, head, body, points, products, reasons, doubts)

    if kind in ("outage", "recovery") and spans and not reports.tells_of_failure(head, body) and today_or_ahead_with_stop(
        src, spans, pub
    ):
        # Nothing failed and the window is not over before the day of publication: a stop planned
        # for today or later ("今日22:00至23:30网络割接，期间可能出现短暂中断、网络波动").
        reasons.append(f"read as {kind}, but no failure is reported and a window with disruption wording starts "
                       "on or after the day of publication: read as maintenance")
        # the same second look as a notice read as maintenance at once (a holiday arrangement ...)
        kind = second_look(k, spans, pub, resolver.recurring, head, body, points, products, reasons, doubts)
    elif kind in _REPORT_KINDS and ahead_with_stop(src, spans, pub):
        # A window that starts after the day of publication is announced, not reported.
        reasons.append(f"read as {kind}, but a window starts after publication with disruption wording: "
                       "read as maintenance")
        kind = "maintenance"
    elif kind == "interface" and (served := interface_windows(src, spans)) and not reports.tells_of_failure(head, body):
        # an interface notice has no service window; ranges that say what stops in them are windows
        reasons.append(f"read as interface, but {len(served)} dated time range(s) say what stops or degrades "
                       "in them: read as maintenance")
        kind = "maintenance"
    if kind in ("outage", "recovery") and said_ahead(src, spans):
        # never silent: "因系统故障需紧急检修，今晚22:00开始，23:00恢复" is announced, not reported
        doubts.append(f"read as {kind}, but a window is dated tonight or later (今晚, 明天 ...): check whether "
                      "it is planned work")
    elif kind == "outage" and any(s.start.date() > pub for s in spans):
        # never silent: a failure is reported once it has begun, so a window that starts after the day
        # of publication is planned ("今晚11时起维修……水压或不稳" worded like a failure)
        doubts.append("read as outage, but a window starts after the day of publication: check whether it is "
                      "planned work")
    if kind == "recovery" and spans and running_with_stop(src, spans, pub):
        # never silent: what is said to be back is not all of it ("……4月23日-4月30日影响缴费……。
        # ……已完成升级，相关服务已恢复正常")
        doubts.append("read as recovery, but a window with disruption wording is not over by the end of the day "
                      "of publication: check whether it is maintenance")
    retiring = kind == "maintenance" and lasting.retirement(head, body, spans if src is body else [])
    if retiring:
        # "「某APP」自1月1日起停止服务，民众日后请改用……": dates of a retirement, not windows; a person
        # checks whether anything stops for a while (never silent)
        kind = not_maintenance(k)
        doubts.append(f"a service or version ended for good with what to use instead and no stop for a while: "
                      f"read as {kind}; check whether anything stops")
    unworded = 0  # ranges ahead set aside because no wording of a disruption the rules know is next to them
    if kind not in _WINDOW_KINDS and spans:
        # Never silent: ranges still ahead plus wording of disruption go to a person, with the ranges.
        # a range whose own clause says the work is done ("已于今日2:00至4:00完成系统维护") is over
        live, hit = live_ranges(src, head, spans, pub)
        ahead = ranges_ahead(src, spans, pub)
        if live and hit and kind in ("fee_policy", "other") and not retiring and any(works_and_stops(src, s) for s in live):
            # a section of a fee or policy notice that announces work with a stop ("另为配合系统整并升级
            # 作业，自12月30日23:00起暂停网络刷卡验证服务"): the rest of the notice does not make it none
            doubts.append(f"read as {kind}, but a sentence announces work on a system with a stop in a time "
                          "range not yet past: read as maintenance")
            kind = "maintenance"
            # only that section's ranges: the rest of the notice (office holidays, settlement days:
            # "1月31日至2月6日放假，2月7日正常上班") stays what it was, no window
            spans = section_ranges(src, live)
        elif live and hit and kind == "other" and "no kind keywords" in k.reasons and worded_by_its_window(src, live, pub):
            # no kind words anywhere, but every range ahead has a stop of a service in its own sentence
            # ("重要通知：12月5日22:00至次日6:00，网上银行无法使用"): an announced window, read as
            # maintenance; a person still checks (the kind rests on the windows alone)
            doubts.append(f"no kind words, but {len(live)} time range(s) not yet past with a stop in their own "
                          f"sentence ({hit}): read as maintenance")
            kind = "maintenance"
            spans = live
        elif live and hit:
            doubts.append(
                f"read as {kind}, but {len(live)} time range(s) not yet past and disruption wording "
                f"({hit}): check whether it is maintenance"
            )
            spans = live
        else:
            why = "all already past" if not ahead else "no wording of service disruption next to them"
            reasons.append(f"{len(spans)} time range(s) set aside for a {kind} notice: {why}")
            # the kind model is asked about ranges still ahead (a person looks when it reads a service window,
            # bench/first_sight_kind.py), unless a look-alike rule turned maintenance wording down on purpose
            # ("……照常使用，不会中断", a drill): those rules stand; not on a sentence or two either, where the
            # table rests on a handful of n-grams
            unworded = len(ahead) if k.kind != "maintenance" and len(whole) >= kind_model.MIN_CHARS else 0
            spans = []
            flags = []
    elif kind == "interface":
        # an open start is a deadline for integrators, unless it is a temporary stop still ahead
        # ("另自12月30日23:00起暂停快捷支付，恢复时间另行通知"); such a stop, or a range ahead with
        # wording of a stop, goes to a person (never silent)
        live, hit = live_ranges(src, head, spans, pub)
        if live and hit:
            doubts.append(f"read as interface, but {len(live)} time range(s) not yet past and disruption wording "
                          f"({hit}): check whether it is maintenance")
        spans = [s for s in spans if s.how != "open" or s in live]

    untied = False  # maintenance wording set aside only because no window is tied to a stop
    if kind == "maintenance" and spans:
        spans, dropped = layout.drop_past_mentions(src, spans, pub)
        if dropped:
            reasons.append(f"{dropped} time range(s) of an earlier event, not windows")
        spans, dropped = office_days(src, spans)
        if dropped:
            reasons.append(f"{dropped} time range(s) of office days (放假, 上班), not windows")
            if not spans:  # maintenance wording, but its only ranges are office days: a person looks
                kind = not_maintenance(k)
                doubts.append(f"maintenance wording, but the only time ranges are office days: read as {kind}")
        spans, dropped = layout.drop_untied(src, spans)
        if dropped:
            reasons.append(f"{dropped} time range(s) set aside: no wording of a disruption in their sentence "
                           "or the list they belong to")
        elif spans and src is body and not any(layout.tied(src, s) for s in spans) and not DISRUPTION_RE.search(head):
            # Kept (never silent), but nothing ties them to a stop: a person should look, and the
            # notice is not read as maintenance with confidence (a ticket sale, a campaign period).
            doubts.append("no window is tied to wording of a disruption (in its sentence, its list or the title)")
            kind = not_maintenance(k)
            reasons.append(f"no window is tied to a stop: read as {kind}, sent to review")
            untied = True
    window_doubts: list[str] = []
    windows = windows_of(src, spans, head, products, window_doubts, own_broad) if spans else []
    if kind == "maintenance" or spans or unworded:
        # the kind model beside the rules: it sends a notice to a person, and promotes another kind with
        # windows not yet past to maintenance only when it is sure (always in review: ops are told either way)
        # the model's text is normalise(title + "\n" + text); normalised apart it is the same on every
        # committed notice (tests/notices/test_kind_model.py), and costs no second normalisation
        p_maint = kind_model.probability(head + "\n" + whole)
        if kind == "maintenance" and p_maint < kind_model.LOW:
            # windows stay in the result for the reviewer; "other" is never published as maintenance
            kind = "other"
            doubts.append(f"the wording reads as no service window (kind model: P(maintenance) {p_maint:.2f} "
                          f"< {kind_model.LOW}): read as other, check whether it is maintenance")
        elif untied and windows and p_maint >= kind_model.PROMOTE and ranges_ahead(src, spans, pub):
            # the rules read maintenance wording and set it aside only because no window is tied to a stop; the
            # model reads the whole notice as a service window: its windows are the rules' (a person checks);
            # never against a look-alike rule (a holiday arrangement, a drill), bench/kind_promotion_study.py
            doubts.append(f"read as {kind} by the rules, but the wording reads as a service window (kind model: "
                          f"P(maintenance) {p_maint:.2f} >= {kind_model.PROMOTE}) and a time range is not yet past: "
                          "read as maintenance from the kind model, check it")
            kind = "maintenance"
        elif kind != "maintenance" and (p_maint > kind_model.HIGH or (
                p_maint >= kind_model.AHEAD and not doubts and not resolver.set_aside
                and (unworded or ranges_ahead(src, spans, pub)))):
            # never silent: ranges ahead, set aside for want of a known word of disruption ("届时网银将处于
            # 离线状态"...) or kept in a notice of another kind, go to a person when the wording reads as a
            # service window; from the lower threshold AHEAD where a range is not yet past, nothing has sent the
            # notice to a person yet and no range was set aside on purpose as the period of something else
            # ("申请时间：……"), bench/first_sight_kind.py
            aside = f" ({unworded} time range(s) not yet past set aside)" if unworded else ""
            bar = f"> {kind_model.HIGH}" if p_maint > kind_model.HIGH else f">= {kind_model.AHEAD}, a range not yet past"
            doubts.append(f"read as {kind}, but the wording reads as a service window (kind model: "
                          f"P(maintenance) {p_maint:.2f} {bar}){aside}: check whether it is maintenance")
    if windows or kind == "maintenance":
        reasons.extend(resolver.notes)
    reasons.extend(dict.fromkeys(resolver.set_aside))
    if kind == "maintenance" or (kind not in _WINDOW_KINDS and windows):
        # Doubts about windows matter where windows are acted on (a maintenance notice, or a notice
        # sent to review because of its ranges); a report of a past failure acts on nothing.
        doubts.extend(window_doubts)
        if windows:
            doubts.extend(flags)
    else:
        reasons.extend(d for d in window_doubts if d not in reasons)

    if windows and place is not None:
        # a notice for customers elsewhere that writes no zone: its times are read as local there
        # when the place has one zone (a person checks either way)
        doubts.append(f"times with no zone written in a notice for {place}: check which zone they are in")
    if kind == "maintenance" and not windows:
        doubts.append("no time window found")
    elif kind == "outage" and about_platform:
        doubts.append("an outage of the payment platform reported in a notice: check it")
    if kind == "maintenance" and not products:
        # A notice of the payment platform itself that names no product may stop anything,
        # Huabei included; one of a bank, a utility or a shop that names none stops no pay channel.
        if about_platform:
            doubts.append("no product named in a notice about the payment platform")
        else:
            reasons.append("no pay-channel product named")

    huabei = False
    if kind in _HUABEI_KINDS:
        for p in products:
            if p.huabei == "explicit":
                huabei = True
                reasons.append(f"Huabei named explicitly ({p.name})")
                break
        else:
            for p in products:
                if p.huabei == "broad":
                    huabei = True
                    reasons.append(f"Huabei affected through {p.name}")
                    break

    change: InterfaceChange | None = None
    if kind == "interface":
        change = extract_interface(body, points, lambda p: resolver.date_of(p, None))

    confidence = k.confidence
    if kind in ("maintenance", "outage") and windows and products and not doubts:
        confidence = max(confidence, 0.9)
    for _ in doubts:
        confidence *= 0.75
    confidence = round(max(0.0, min(1.0, confidence)), 2)
    if kind != "maintenance" and not doubts and src is body and resolver.aside:
        # never silent: ranges set aside as the hours of something else (their own sentence says
        # so) in a notice that announces work on a system with a stop go to a person
        live, hit = ranges_ahead(src, resolver.aside, pub), announced_stop(src, head)
        if live and hit:
            doubts.append(f"{len(live)} time range(s) set aside as the hours of something else, but the notice "
                          f"words a stop ({hit}): check whether it is maintenance")
    if kind != "maintenance" and not doubts and src is body and not windows:
        # never silent, in general: a firm stop on a day not yet past, whatever the kind read
        stop = stop_on_a_day_ahead(kind, src, points, lambda p: resolver.date_of(p, None), pub)
        if stop is not None:
            doubts.append(f"read as {kind}, but a date not yet past and a stop ({stop}) in its sentence: "
                          "check whether it is maintenance")
    needs_review = bool(doubts) or (kind in _ACTION_KINDS and confidence < 0.6)
    for d in doubts:
        if d not in reasons:
            reasons.append(d)
    logger.debug("notice_understood", extra={"event": "notice_understood", "kind": kind, "windows": len(windows)})
    return NoticeUnderstanding(
        kind=kind,
        windows=tuple(windows),
        channels=tuple(channels),
        products=tuple(p.name for p in products),
        huabei_affected=huabei,
        confidence=confidence,
        needs_review=needs_review,
        reasons=tuple(reasons),
        interface_change=change,
    )


def _title_day(points: list[RawPoint], pub: date) -> date | None:
    """The one date a title names ("12月5日系统维护", "系統維護公告(12/5)"), or None when it names
    none or several."""
    r = Resolver(pub)
    days = {d for p in points if p.has_date and p.rel is None and (d := r.date_of(p, None)) is not None}
    return days.pop() if len(days) == 1 else None


