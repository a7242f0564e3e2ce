"""Which plugin advisories a merchant should have (pure).

:func:`advisories` answers, for one merchant's plugin, the ``integration`` findings the version
table and the interface-change notices raise now. It never raises and never decides about
clearing: the checker clears a previously raised finding that is no longer in the answer while the
merchant's plugin is known (an upgrade, a plugin switch, a rule or notice that no longer applies).

Finding ids: ``plugin:<merchant>:table:<plugin>@<min_version>`` for the table (a raised minimum
is a new advisory), ``plugin:<merchant>:notice:<notice_id>`` for a notice (once per notice).
``observed_at`` is the notice's publication time (never later than ``now``), or ``now`` for the
table; the checker stores what it published, so a finding keeps its first ``observed_at``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from huabei_watch.clock import SHANGHAI, to_shanghai
from huabei_watch.events.common import Cause
from huabei_watch.events.signals import MerchantFinding
from watcher.compat.table import CompatTable, PluginRule
from watcher.compat.version import PluginRef, Version, parse_plugin, parse_version

__all__ = ["InterfaceNotice", "advisories", "cleared_finding", "deadline_at", "finding_prefix"]

_CONSEQUENCE = "否则花呗支付可能失败。"


@dataclass(frozen=True, slots=True, kw_only=True)
class InterfaceNotice:
    """An interface-change notice as the checker needs it (the integrator builds it from
    ``NoticeUnderstanding.interface_change`` and the announcement).

    ``plugins``: plugin/SDK names as the notice writes them (a version in a name is ignored);
    ``min_version``: the version integrators must reach, None when the notice names none (then
    every merchant on a named plugin is advised); ``deadline``: the date (Asia/Shanghai) after
    which old versions may stop working; ``published_at``: when the notice was published (or
    first seen), aware.
    """

    notice_id: str
    plugins: tuple[str, ...]
    min_version: str | None
    deadline: date | None
    published_at: datetime
    title: str = ""
    url: str = ""

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None:
            raise ValueError("InterfaceNotice.published_at must be timezone-aware")

    @property
    def minimum(self) -> Version | None:
        return parse_version(self.min_version)

    def match_keys(self) -> frozenset[str]:
        """Normalised plugin names the notice names (versions written into a name dropped)."""
        out: set[str] = set()
        for raw in self.plugins:
            ref = parse_plugin(raw)
            if ref is not None and ref.key:
                out.add(ref.key)
        return frozenset(out)


def finding_prefix(merchant_id: str) -> str:
    return f"plugin:{merchant_id}:"


def deadline_at(d: date) -> datetime:
    """A deadline date as the start of that day in Asia/Shanghai ("在12月31日前" = before it)."""
    return datetime.combine(d, time(0, 0), SHANGHAI)


def _date_zh(d: date, now: datetime) -> str:
    return f"{d.month}月{d.day}日" if d.year == to_shanghai(now).year else f"{d.year}年{d.month}月{d.day}日"


def _when_zh(deadline: date | None, now: datetime) -> str:
    if deadline is None:
        return "请尽快升级，"
    if deadline_at(deadline) <= now:
        return f"该要求已于{_date_zh(deadline, now)}生效，请尽快升级，"
    return f"请在{_date_zh(deadline, now)}前升级，"


def _below_zh(ref: PluginRef, minimum: str, deadline: date | None, now: datetime) -> str:
    return f"您的收银插件 {ref.label()} 低于平台要求的 {minimum}，{_when_zh(deadline, now)}{_CONSEQUENCE}"


def _table_finding(merchant_id: str, rule: PluginRule, plugin: PluginRef, now: datetime) -> MerchantFinding:
    advice = _below_zh(plugin, rule.min_version, rule.deadline, now)
    if rule.advice_zh:
        advice += rule.advice_zh
    return MerchantFinding(
        finding_id=finding_prefix(merchant_id) + rule.source_id(),
        merchant_id=merchant_id,
        state="raised",
        origin="plugin",
        cause=Cause.INTEGRATION,
        advice_zh=advice,
        explanation=(
            f"Plugin {plugin.label()} is below the minimum supported version {rule.min_version} in the version table"
            + (f" (deadline {rule.deadline.isoformat()})" if rule.deadline else "")
        ),
        deadline=deadline_at(rule.deadline) if rule.deadline else None,
        observed_at=now,
    )


def _notice_finding(merchant_id: str, notice: InterfaceNotice, plugin: PluginRef, now: datetime) -> MerchantFinding:
    title = f"《{notice.title}》" if notice.title else ""
    if notice.min_version and notice.minimum is not None:
        advice = _below_zh(plugin, notice.min_version, notice.deadline, now) + f"（依据平台公告{title}）"
        explanation = (
            f"Notice {notice.notice_id} requires {', '.join(notice.plugins)} >= {notice.min_version}; "
            f"the merchant runs {plugin.label()}"
        )
    else:
        when = _when_zh(notice.deadline, now).replace("升级", "按公告要求升级或调整")
        advice = f"平台公告{title}涉及您使用的收银插件 {plugin.label()}，{when}{_CONSEQUENCE}"
        explanation = f"Notice {notice.notice_id} names {', '.join(notice.plugins)} (no version); the merchant runs {plugin.label()}"
    if notice.url:
        advice += f"公告详情：{notice.url}"
        explanation += f" ({notice.url})"
    return MerchantFinding(
        finding_id=f"{finding_prefix(merchant_id)}notice:{notice.notice_id}",
        merchant_id=merchant_id,
        state="raised",
        origin="notice",
        cause=Cause.INTEGRATION,
        advice_zh=advice,
        explanation=explanation,
        deadline=deadline_at(notice.deadline) if notice.deadline else None,
        observed_at=min(notice.published_at, now),
    )


def advisories(
    merchant_id: str,
    plugin: str | PluginRef | None,
    table: CompatTable,
    notices: Iterable[InterfaceNotice],
    now: datetime,
) -> list[MerchantFinding]:
    """The ``integration`` findings (state ``raised``) that apply to this merchant now, by id.

    * the table: the plugin has a rule and its version is below the rule's minimum;
    * a notice: it names the plugin (or an alias from the table) and either gives no usable
      minimum version, or the plugin's version is below it.

    A plugin without a readable version is judged only by notices without a minimum (its
    version cannot be compared). No plugin, or an unreadable one: no findings.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ref = parse_plugin(plugin) if not isinstance(plugin, PluginRef) else plugin
    if ref is None or not ref.key:
        return []
    found: dict[str, MerchantFinding] = {}
    rule = table.rule_for(ref.name)
    if rule is not None and ref.version is not None and ref.version < rule.minimum:
        f = _table_finding(merchant_id, rule, ref, now)
        found[f.finding_id] = f
    names = table.names_for(ref.name)
    for notice in notices:
        if not names & notice.match_keys():
            continue
        minimum = notice.minimum
        if minimum is not None and (ref.version is None or not ref.version < minimum):
            continue
        f = _notice_finding(merchant_id, notice, ref, now)
        found.setdefault(f.finding_id, f)
    return [found[k] for k in sorted(found)]


def cleared_finding(finding_id: str, merchant_id: str, plugin: str | None, now: datetime) -> MerchantFinding:
    """The clearance of a previously raised plugin finding (the merchant upgraded, or the rule
    or notice behind it no longer applies)."""
    ref = parse_plugin(plugin)
    label = ref.label() if ref is not None else ""
    origin = "notice" if finding_id.startswith(finding_prefix(merchant_id) + "notice:") else "plugin"
    return MerchantFinding(
        finding_id=finding_id,
        merchant_id=merchant_id,
        state="cleared",
        origin=origin,
        cause=Cause.INTEGRATION,
        advice_zh=f"您的收银插件{(' 已是 ' + label) if label else '已更新'}，此前的升级提醒已解除，无需处理。",
        explanation=f"Plugin now {label or 'unknown'}; the advisory no longer applies",
        observed_at=now,
    )
