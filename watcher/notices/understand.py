"""Notice understanding: kind, windows with their products and status, confidence.

``understand`` is pure: text and a publication date in, a :class:`NoticeUnderstanding` out.
"""

from __future__ import annotations

import bisect
import logging
import re
from datetime import date, datetime

from huabei_watch.clock import SHANGHAI
from huabei_watch.events.common import Window
from watcher.notices import layout, reports, zones
from watcher.notices import products as prod
from watcher.notices.interface import extract_interface
from watcher.notices.kinds import PAST_RECOVERY_RE, KindResult, classify
from watcher.notices.model import InterfaceChange, Kind, NoticeUnderstanding
from watcher.notices.resolve import Resolver
from watcher.notices.timeparse import RawPoint, find_points, normalize
from watcher.notices.vocab import ARREARS_RE, DISRUPTION_RE, NORMAL_RE, STOP_RE, TECHNICAL_RE, sentence_bounds
from watcher.notices.windows import Span, find_spans, retired

logger = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"[。;!?\n]")
_CLAUSE_END = re.compile(r"[,，、]")
_CANCEL_RE = re.compile(
    r"取消[^。;\n,，]{0,40}?(?:维护|升级|停机|割接|迁移|计划|安排|演练)"
    r"|(?:维护|升级|停机|割接|迁移|计划|安排|演练)(?:工作|计划|安排)?(?:已|将|现)?(?:被)?取消|取消进行|不再进行|暂不进行|不再需要|无需进行"
)
# A row of a timetable marked called off right after its times ("……01:00 GMT(*已取消*)", "(取消)").
_CANCELLED_AFTER_RE = re.compile(r"[^\S\n]*(?:[A-Z]{3}(?:[+-]\d{1,2})?[^\S\n]*)?[(*][^\S\n*]*\*?(?:已经?|现已)?取消")
_DATE_WORD_RE = re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{1,2}\s*[日号]")
_POSTPONE_RE = re.compile(r"延期|推迟|顺延|延后|改期|暂缓|调整至|调整为|改至|改为|变更为|变更至")
_IF_RE = re.compile(r"如|若|可能|或将|视情况|如遇|如有|一旦|必要时|倘|相应|将视|遇(?!到)|逢雨")
_ORIGINAL_RE = re.compile(r"原定|原计划|原通知|原公告")
_LATER_RE = re.compile(r"另行通知|另行公告|另行告知|待定")
# Notices about Alipay or the cashier itself (a product not named may be Huabei).
_PLATFORM_RE = re.compile(r"支付宝|蚂蚁|花呗|[Aa]lipay|收银台|本平台|我平台")
# A holiday: stops over one with no work on a system or supply are holiday arrangements (a desk
# or phone orders off over 春节, a post office closed on 中秋), not maintenance.
# "除花呗外其他支付方式不受影响": what is excepted from "runs as usual" stops.
_EXCEPT_RE = re.compile(r"除[^。;\n]{1,20}?(?:外|以外|之外)")
_HOLIDAY_RE = re.compile(
    r"春节|除夕|大年初|正月初|国庆|中秋|清明|端午|元旦|劳动节|五一|十一假期|连假|假期|放假|节假日|节日期间|年假|休假"
)
_WORK_RE = re.compile(
    r"维护|升级|割接|切换|切转|迁移|施工|检修|停水|停电|停气|停机|停服(?!务)|演练|测试|扩容|改造|更换|工程|调试|系统|服务器|机房"
    r"|网络|线路|设备|故障|异常|版本|更新|上线|下线|投产"
)
# A physical outlet that stops serving ("旗下3间流动银行自24日起暂停服务", "该网点暂停对外营业"):
# a branch closed, not a service window, when no work on a system or supply is named (an online
# counter, "网上营业厅", is a service).
_OUTLET_STOP_RE = re.compile(
    r"(?<!网上)(?<!线上)(?<!电子)(?<!掌上)(?<!手机)(?<!微信)(?<!网络)(?<!在线)(?<!智能)(?<!自助)"
    r"(?:网点|支行|分行|营业部|营业厅|营业点|营业网点|流动银行|流动分行|门店|分店|柜台|分理处|服务点|服务中心|办事处)"
    r"[^。;\n]{0,16}?(?:暂停|停止|关闭|停业|歇业)"
)
# A safety drill ("消防演练", "停电应急演练"): a drill of people or a supply, not work on a service.
_SAFETY_DRILL_RE = re.compile(r"(?:消防|疏散|逃生|防震|地震|防灾|防汛|反恐|安全|停电|停水|应急)[^。;,\n]{0,4}?演练")
# A clause offering other ways to be served ("客户可使用手机银行或就近的自助设备办理"): what it names
# keeps running, so its words say nothing of work on a system.
_ALTERNATIVE_RE = re.compile(r"[^,;。\n]*(?:可使用|可通过|改用|建议|请使用|可前往|可到|可改)[^,;。\n]*")
_FEATURE_RE = re.compile(r"升级(?:后|为|成|至|到)|新增|新版|全新|推出|支持|体验|享受|权益")
# Work on a system named as such (not a product upgraded for customers: "升级为金卡").
_SYSTEM_WORK_RE = re.compile(
    r"(?:系统|平台|主机|机房|网络|服务器|伺服器)[^。;\n]{0,8}?(?:维护|升级|割接|切换|迁移|整并|整合|停机|作业|演练)"
    r"|(?:维护|升级|割接|切换|迁移|整并)[^。;\n]{0,8}?(?:系统|平台|主机|机房|服务器|伺服器)|维护作业|停机维护"
)
# A stop said to be temporary: paused, interrupted, or to come back ("暂停……直至完成为止", "恢复时间另行通知").
_TEMPORARY_RE = re.compile(r"暂|中断|恢复|直至|直到")
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


def _understand(text: str, pub: date, title: str) -> NoticeUnderstanding:
    body = normalize(text)
    head = normalize(title)
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
        mentions = [m for m in mentions if _platform_product(m.product)]
    products, channels = prod.merge(mentions)
    if kind == "maintenance":
        kind = _second_look(k, spans, pub, resolver.recurring, head, body, points, products, reasons, doubts)

    if kind in ("outage", "recovery") and spans and not reports.tells_of_failure(head, body) and _today_or_ahead_with_stop(
        src, spans, pub
    ):
        # Nothing failed and the window is not over before the day of publication: a stop planned
        # for today or later ("今日22:00至23:30网络割接，期间可能出现短暂中断、网络波动").
        reasons.append(f"read as {kind}, but no failure is reported and a window with disruption wording starts "
                       "on or after the day of publication: read as maintenance")
        kind = "maintenance"
    elif kind in _REPORT_KINDS and _ahead_with_stop(src, spans, pub):
        # A window that starts after the day of publication is announced, not reported.
        reasons.append(f"read as {kind}, but a window starts after publication with disruption wording: "
                       "read as maintenance")
        kind = "maintenance"
    if kind not in _WINDOW_KINDS and spans:
        # Never silent: ranges still ahead plus wording of disruption go to a person, with the ranges.
        # a range whose own clause says the work is done ("已于今日2:00至4:00完成系统维护") is over
        live, hit = _live(src, head, spans, pub)
        ahead = bool(_ahead(src, spans, pub))
        if live and hit and kind in ("fee_policy", "other") and any(_works_and_stops(src, s) for s in live):
            # a section of a fee or policy notice that announces work with a stop ("另为配合系统整并升级
            # 作业，自12月30日23:00起暂停网络刷卡验证服务"): the rest of the notice does not make it none
            doubts.append(f"read as {kind}, but a sentence announces work on a system with a stop in a time "
                          "range not yet past: read as maintenance")
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
            spans = []
            flags = []
    elif kind == "interface":
        # an open start is a deadline for integrators, unless it is a temporary stop still ahead
        # ("另自12月30日23:00起暂停快捷支付，恢复时间另行通知"); such a stop, or a range ahead with
        # wording of a stop, goes to a person (never silent)
        live, hit = _live(src, head, spans, pub)
        if live and hit:
            doubts.append(f"read as interface, but {len(live)} time range(s) not yet past and disruption wording "
                          f"({hit}): check whether it is maintenance")
        spans = [s for s in spans if s.how != "open" or s in live]

    if kind == "maintenance" and spans:
        spans, dropped = layout.drop_past_mentions(src, spans, pub)
        if dropped:
            reasons.append(f"{dropped} time range(s) of an earlier event, not windows")
        spans, dropped = layout.drop_untied(src, spans)
        if dropped:
            reasons.append(f"{dropped} time range(s) set aside: no wording of a disruption in their sentence "
                           "or the list they belong to")
        elif spans and src is body and not any(layout.tied(src, s) for s in spans) and not DISRUPTION_RE.search(head):
            # Kept (never silent), but nothing ties them to a stop: a person should look.
            doubts.append("no window is tied to wording of a disruption (in its sentence, its list or the title)")
    window_doubts: list[str] = []
    windows = _windows(src, spans, head, products, window_doubts, own_broad) if spans else []
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
        # a notice for customers elsewhere that writes no zone: its times may be local there
        doubts.append(f"times with no zone written in a notice for {place}: check whether they are local time")
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


def _today_or_ahead_with_stop(norm: str, spans: list[Span], pub: date) -> bool:
    return any(s.how not in ("open", "dayopen") and s.start.date() >= pub
               and DISRUPTION_RE.search(norm, *sentence_bounds(norm, s.pos)) for s in spans)


def _ahead_with_stop(norm: str, spans: list[Span], pub: date) -> bool:
    return any(s.how not in ("open", "dayopen") and s.start.date() > pub
               and DISRUPTION_RE.search(norm, *sentence_bounds(norm, s.pos)) for s in spans)


def _second_look(
    k: KindResult, spans: list[Span], pub: date, recurring: int, head: str, body: str,
    points: list[RawPoint], products: list[prod.Product], reasons: list[str], doubts: list[str],
) -> Kind:
    """Maintenance wording is not enough: with no dated window at all, a notice is maintenance only
    when it announces a timetable in its title; a notice whose windows all began before it was
    published and that tells of a failure or a recovery is a report after the fact."""
    # what is left once the drill is named ("演练期间" included) must stop nothing and name no system
    drill = _SAFETY_DRILL_RE.sub("", head + "\n" + body).replace("演练", "")
    if _SAFETY_DRILL_RE.search(head + "\n" + body) and not (
        STOP_RE.search(drill) or TECHNICAL_RE.search(drill) or any(p.channels for p in products)
    ):
        # "12月5日9点至11点进行消防演练，期间可能有警报声": people or a supply drilled, nothing stops
        kind = k.best_besides("maintenance")
        reasons.append(f"a safety drill, with no system named and nothing said to stop: read as {kind}")
        return kind
    if not (TECHNICAL_RE.search(head) or TECHNICAL_RE.search(body) or any(p.channels for p in products)):
        kind = k.best_besides("maintenance")
        reasons.append(f"stops named, but no system, supply or pay service: read as {kind}")
        return kind
    if spans and NORMAL_RE.search(body) and not any(
        r.search(t) for r in (STOP_RE, _EXCEPT_RE, _CANCEL_RE, _POSTPONE_RE) for t in (head, body)
    ) and not any(_disrupts(body, *sentence_bounds(body, s.pos)) for s in spans):
        # "12月5日22:00-23:00系统升级，升级期间各项业务正常办理": work announced, nothing said to stop.
        kind = k.best_besides("maintenance")
        reasons.append(f"work announced, but services are said to run as usual and nothing stops: read as {kind}")
        return kind
    if _HOLIDAY_RE.search(head + body) and not (
        _WORK_RE.search(head) or _WORK_RE.search(body) or any(p.channels for p in products)
    ):
        kind = k.best_besides("maintenance")
        reasons.append(f"stops over a holiday, with no work on a system or supply: a holiday arrangement, read as {kind}")
        return kind
    if _OUTLET_STOP_RE.search(head + "\n" + body) and not (
        _WORK_RE.search(head) or _WORK_RE.search(_ALTERNATIVE_RE.sub("", body)) or any(p.channels for p in products)
    ):
        kind = k.best_besides("maintenance")
        reasons.append(f"a branch or outlet stops serving, with no work on a system or supply: read as {kind}")
        return kind
    if not spans:
        if recurring and "maintenance" in k.in_title:
            reasons.append("maintenance timetable (hours repeating every day or week), no dated window")
            return "maintenance"
        kind = k.best_besides("maintenance")
        if kind in ("outage", "recovery") and not reports.tells_of_failure(head, body):
            # A report needs something that failed or came back; without one the notice announces
            # a stop whose time could not be read ("停电保养预定时间表（详如附件）"): ops must look.
            reasons.append(f"maintenance wording, no time window, and no failure reported (not {kind}): "
                           "read as maintenance")
            return "maintenance"
        reasons.append(f"maintenance wording but no time window: read as {kind}")
        # A date still ahead in a sentence that words a disruption may be a window we could not read.
        dates = Resolver(pub)
        # an old version retired for good, its successor in use, is no window to look for
        if any(p.has_date and (dates.date_of(p, None) or pub) >= pub
               and _words_stop(body, *sentence_bounds(body, p.end)) and not retired(body, p.end) for p in points):
            doubts.append("maintenance wording near a date, but no window could be read: check the notice")
        return kind
    if all(s.start.date() < pub for s in spans) and (
        reports.reports_failure(head) or reports.reports_failure(body)
        or PAST_RECOVERY_RE.search(head) or PAST_RECOVERY_RE.search(body)
    ):
        report: Kind = "recovery" if k.scores["recovery"] >= k.scores["outage"] else "outage"
        reasons.append(f"every window began before publication and the text reports a failure: read as {report}")
        return report
    if all(s.start.date() <= pub for s in spans) and (
        reports.said_done(head) or any(reports.said_done(body, *reports.clause_bounds(body, s.pos, s.end_pos)) for s in spans)
    ) and not (
        reports.tells_of_failure(head, body) and not PAST_RECOVERY_RE.search(body)
    ):
        # "12月5日00:00-06:00的系统维护已顺利完成": work that is over, told on its day or after;
        # nothing failed, so it is neither a window ahead nor a recovery from a failure.
        kind = k.best_besides("maintenance")
        kind = "other" if kind in ("outage", "recovery") else kind
        reasons.append(f"every window began by the day of publication and the work is said to be done: read as {kind}")
        return kind
    return "maintenance"


def _ahead(src: str, spans: list[Span], pub: date) -> list[Span]:
    """The ranges not yet past. A range whose own clause says the work is done ("已于今日2:00至4:00
    完成系统维护") is over; a start with no end is ahead when it is temporary ("自12月30日23:00起
    暂停……直至完成为止"): a service closed for good ("8月1日00:00关闭充值服务") is no window."""
    return [s for s in spans if (s.end or s.start).date() >= pub
            and (s.how != "open" or _TEMPORARY_RE.search(src, *sentence_bounds(src, s.pos)))
            and not (s.start.date() <= pub and reports.said_done(src, *reports.clause_bounds(src, s.pos, s.end_pos)))]


def _live(src: str, head: str, spans: list[Span], pub: date) -> tuple[list[Span], str | None]:
    """Never silent: the ranges not yet past that a stop may concern, and the wording of the stop.
    A range's own sentence words one; or a list's intro does ("下列功能将停用：网银：……"); or, when
    none is next to a range, the notice announces work on a system with a stop elsewhere (the title,
    another sentence: "另，本行将进行系统升级，期间网银暂停：12月5日0:00-2:00；12月6日……")."""
    ahead = _ahead(src, spans, pub)
    hit = None
    live = []
    for s in ahead:
        lo, hi = sentence_bounds(src, s.pos)
        m = DISRUPTION_RE.search(src, lo, hi)
        if m is not None and _disrupts(src, lo, hi):
            hit = hit or m.group()
            live.append(s)
    if hit is not None:
        return [s for s in ahead if s in live or layout.tied(src, s)], hit
    both = head + "\n" + src
    w = _SYSTEM_WORK_RE.search(both)
    if ahead and w and any(not NORMAL_RE.search(both, *sentence_bounds(both, m.start())) for m in STOP_RE.finditer(both)):
        return ahead, w.group()
    return [], None


def _works_and_stops(norm: str, s: Span) -> bool:
    """Whether the sentence of ``s`` names work on a system and a stop of a service in it."""
    lo, hi = sentence_bounds(norm, s.pos)
    return bool(_SYSTEM_WORK_RE.search(norm, lo, hi) and STOP_RE.search(norm, lo, hi)
                and not NORMAL_RE.search(norm, lo, hi))


def _disrupts(norm: str, lo: int, hi: int) -> bool:
    """Whether ``norm[lo:hi]`` words a disruption: any wording of one, unless it only names work
    and says services run as usual ("升级期间各项业务正常办理，不受影响")."""
    if DISRUPTION_RE.search(norm, lo, hi) is None or ARREARS_RE.search(norm, lo, hi) is not None:
        return False
    return (STOP_RE.search(norm, lo, hi) is not None or NORMAL_RE.search(norm, lo, hi) is None
            or _EXCEPT_RE.search(norm, lo, hi) is not None)


def _words_stop(norm: str, lo: int, hi: int) -> bool:
    """Whether ``norm[lo:hi]`` words a disruption, other than an upgrade that adds something
    ("收银台将于12月5日升级，升级后支持……", "即可升级为金卡会员")."""
    if DISRUPTION_RE.search(norm, lo, hi) is None or ARREARS_RE.search(norm, lo, hi) is not None:
        return False
    if STOP_RE.search(norm, lo, hi) is not None:
        return True
    # "系统将于12月5日升级，升级期间业务正常办理" says nothing stops
    return _FEATURE_RE.search(norm, lo, hi) is None and NORMAL_RE.search(norm, lo, hi) is None


def _bounds(norm: str) -> list[int]:
    """Start offsets of sentences."""
    return [0] + [m.end() for m in _SENTENCE_END.finditer(norm)]


def _platform_product(p: prod.Product) -> bool:
    """Whether ``p`` names something even when the notice is a bank's: anything but a broad
    "all payments" phrase (信用支付 is Ant's own product name)."""
    return p.huabei != "broad" or p.name == "信用支付"


def _windows(
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
    notice_postponed = _POSTPONE_RE.search(head) or _POSTPONE_RE.search(norm)
    # a cancellation in a sentence with a date of its own ("另，原定12月12日的维护取消") is that day's,
    # not every window's
    notice_cancelled = _CANCEL_RE.search(head) or any(
        not _DATE_WORD_RE.search(norm, *sentence_bounds(norm, m.start())) for m in _CANCEL_RE.finditer(norm)
    )
    out: list[Window] = []
    bounds: list[tuple[int, int]] = []
    missing_products = False
    for i, s in enumerate(spans):
        if len(spans) == 1:
            chosen = notice_products
        else:
            chosen = _products_for(norm, spans, span_sent, i, starts, ends, products_after)
            if not own_broad:
                chosen = [p for p in chosen if _platform_product(p)]
            if not chosen:
                chosen = notice_products
                # Only a doubt when it decides whether Huabei goes off in this window.
                missing_products = missing_products or any(p.huabei for p in notice_products)
        status = _status(norm, s, starts[span_sent[i]], ends[span_sent[i]])
        if status is None and len(spans) == 1:
            if notice_cancelled:
                status = "cancelled"
            elif notice_postponed and _original_work(norm + "\n" + head):
                status = "postponed"
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
    for m in _CLAUSE_END.finditer(norm, lo, s.pos):
        c_lo = m.end()
    m_hi = _CLAUSE_END.search(norm, s.end_pos, hi)
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


def _original_work(text: str) -> bool:
    """Whether ``text`` tells of an original plan that is work or a stop ("原定12月5日的系统升级推迟"),
    not of something else moved ("原定5月1日抄表的用户顺延至5月2日")."""
    for m in _ORIGINAL_RE.finditer(text):
        _, hi = sentence_bounds(text, m.end())
        moved = _POSTPONE_RE.search(text, m.end(), hi)
        if moved is None or DISRUPTION_RE.search(text, m.end(), moved.start()):
            return True
    return False


def _status(norm: str, s: Span, lo: int, hi: int) -> str | None:
    """Status from the window's own sentence: cancelled, postponed, scheduled (new time) or None."""
    sent = norm[lo:hi]
    if _CANCEL_RE.search(sent) or _CANCELLED_AFTER_RE.match(norm, s.end_pos):
        return "cancelled"
    rel = s.pos - lo
    for m in _POSTPONE_RE.finditer(sent):
        # "如遇特殊情况，维护时间可能顺延" / "如未能按时完成，恢复时间将相应顺延": a caveat, not a
        # postponement: a condition in the clause holding the word or the clause before it.
        clause_lo = 0
        for c in _CLAUSE_END.finditer(sent, 0, m.start()):
            clause_lo = c.end()
        prev_lo = 0
        for c in _CLAUSE_END.finditer(sent, 0, max(0, clause_lo - 1)):
            prev_lo = c.end()
        if _IF_RE.search(sent, prev_lo if clause_lo else clause_lo, m.start()):
            continue
        return "postponed" if rel < m.start() else "scheduled"
    if _ORIGINAL_RE.search(sent, 0, rel) and _LATER_RE.search(sent):
        return "postponed"
    return None
