"""The status page's pictures as inline SVG (pure: strings in, markup out; no JavaScript).

Every shape carries a ``<title>`` (shown on hover, read by screen readers); availability cells of
an incident are links to its page. Strips and charts stretch to the page width; the availability
grid keeps its aspect ratio (24 hour columns by one row per day) so it stays readable on a phone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape

from markupsafe import Markup

from huabei_watch.clock import to_shanghai
from huabei_watch.root.status_bars import OUTCOMES, DayOutcomes, HourCell, Tally

COLOURS = {
    "on": "#2e9e4f", "partial": "#f2b632", "maintenance": "#3367d6", "outage": "#d93025", "other": "#8e44ad",
    "ok": "#2e9e4f", "some": "#f2b632", "down": "#d93025", "none": "#d5d5d5", "future": "#f3f3f3",
    "sent": "#2e9e4f", "retried": "#f2b632", "failed": "#d93025", "unconfirmed": "#8e44ad",
}
STATE_ZH = {
    "on": "花呗正常", "partial": "部分商户关闭", "maintenance": "维护关闭", "outage": "故障关闭", "other": "平台关闭",
    "ok": "正常", "some": "部分失败", "down": "全部失败", "none": "无数据",
    "sent": "已发送", "retried": "重试后发送", "failed": "失败", "unconfirmed": "未确认",
}
CELL, GAP, LABEL = 14, 2, 40


def _sh(at: datetime, fmt: str = "%m-%d %H:%M") -> str:
    return to_shanghai(at).strftime(fmt)


def availability_grid(cells: Sequence[HourCell], now: datetime, link: Callable[[str], str]) -> Markup:
    """Days as rows (today first), Asia/Shanghai hours 0-23 as columns. ``link(incident_id)`` is
    the href of an incident's page."""
    by_day: dict[str, dict[int, HourCell]] = {}
    for cell in cells:
        local = to_shanghai(cell.start)
        by_day.setdefault(local.strftime("%Y-%m-%d"), {})[local.hour] = cell
    days = sorted(by_day, reverse=True)
    step = CELL + GAP
    width, height = LABEL + 24 * step, 14 + len(days) * step
    out = [
        f'<svg class="grid" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="30 天花呗可用性（按小时）">'
    ]
    for h in range(0, 24, 3):
        out.append(f'<text x="{LABEL + h * step}" y="10" font-size="9" fill="#666">{h:02d}</text>')
    for row, day in enumerate(days):
        y = 14 + row * step
        out.append(f'<text x="0" y="{y + 11}" font-size="10" fill="#444">{escape(day[5:])}</text>')
        for h in range(24):
            x = LABEL + h * step
            c = by_day[day].get(h)
            if c is None or c.start > now:
                out.append(f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="2" fill="{COLOURS["future"]}"/>')
                continue
            tip = f"{_sh(c.start)} {STATE_ZH[c.state]}"
            if c.platform_minutes:
                tip += f"，平台关闭 {c.platform_minutes:.0f} 分钟"
            if c.merchants_off:
                tip += f"，{c.merchants_off} 家商户关闭（{c.share:.0%}）"
            rect = (f'<rect class="cell {c.state}" x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="2" '
                    f'fill="{COLOURS[c.state]}"><title>{escape(tip)}</title></rect>')
            if c.incident_id and c.state != "on":
                out.append(f'<a href="{escape(link(c.incident_id))}">{rect}</a>')
            else:
                out.append(rect)
    out.append("</svg>")
    return Markup("".join(out))


def share_chart(cells: Sequence[HourCell]) -> Markup:
    """Share of merchants with Huabei off, hour by hour, as a filled area (0-100 %)."""
    n, h = max(len(cells), 1), 40
    points = [f"{i},{h - c.share * h:.2f} {i + 1},{h - c.share * h:.2f}" for i, c in enumerate(cells)]
    peak = max((c.share for c in cells), default=0.0)
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {h}" preserveAspectRatio="none" '
        f'role="img" aria-label="花呗关闭商户占比，最高 {peak:.0%}"><title>最高 {peak:.0%}</title>'
        f'<rect width="{n}" height="{h}" fill="#f7f7f7"/>'
        f'<polygon points="0,{h} {" ".join(points)} {n},{h}" fill="#d93025" fill-opacity=".35" stroke="none"/></svg>'
    )


def tally_strip(tallies: Sequence[Tally], what: str) -> Markup:
    """One bar per hour coloured by its tally (``what``: 次检查 / 次轮询)."""
    out = [f'<svg class="strip" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {len(tallies) * 4} 20" '
           f'preserveAspectRatio="none" role="img" aria-label="按小时的健康状况">']
    for i, t in enumerate(tallies):
        tip = f"{_sh(t.start)} {STATE_ZH[t.state]}"
        if t.count:
            tip += f"：{t.count} {what}，失败 {t.failures}"
        if t.latency_ms is not None:
            tip += f"，平均 {t.latency_ms:.0f} ms"
        out.append(f'<rect class="bar {t.state}" x="{i * 4}" y="0" width="3" height="20" fill="{COLOURS[t.state]}">'
                   f"<title>{escape(tip)}</title></rect>")
    out.append("</svg>")
    return Markup("".join(out))


def sparkline(tallies: Sequence[Tally]) -> Markup:
    """Average latency of successful checks per hour; gaps where an hour had none."""
    values = [t.latency_ms for t in tallies]
    top = max((v for v in values if v is not None), default=0.0)
    n, h = max(len(values), 1), 30
    segments: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            segments.append([])
            continue
        y = h - 2 - (v / top) * (h - 4) if top else h - 2
        segments[-1].append(f"{i + 0.5:.1f},{y:.2f}")
    lines = "".join(
        f'<polyline points="{" ".join(s)}" fill="none" stroke="#3367d6" stroke-width="1.5" '
        f'vector-effect="non-scaling-stroke"/>' for s in segments if len(s) > 1
    )
    dots = "".join(
        f'<circle cx="{s[0].split(",")[0]}" cy="{s[0].split(",")[1]}" r="1" fill="#3367d6"/>' for s in segments if len(s) == 1
    )
    return Markup(
        f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {h}" preserveAspectRatio="none" '
        f'role="img" aria-label="延迟，最高 {top:.0f} ms"><title>最高 {top:.0f} ms</title>{lines}{dots}</svg>'
    )


def outcome_bars(days: Sequence[DayOutcomes]) -> Markup:
    """Stacked bars per day: sent, retried, failed, unconfirmed."""
    top = max((d.total for d in days), default=0) or 1
    h = 60
    out = [f'<svg class="bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {len(days) * 10} {h}" '
           f'preserveAspectRatio="none" role="img" aria-label="每日通知结果">']
    for i, d in enumerate(days):
        y = float(h)
        for outcome, count in d.counts:
            if not count:
                continue
            bar = count / top * h
            y -= bar
            out.append(f'<rect class="{outcome}" x="{i * 10 + 1}" y="{y:.2f}" width="8" height="{bar:.2f}" '
                       f'fill="{COLOURS[outcome]}"><title>{escape(d.day)} {STATE_ZH[outcome]} {count}</title></rect>')
    out.append("</svg>")
    return Markup("".join(out))


def legend(states: Sequence[str]) -> Markup:
    """Colour keys as HTML (outside the SVG so text never stretches)."""
    return Markup(" ".join(
        f'<span class="key"><i style="background:{COLOURS[s]}"></i>{escape(STATE_ZH[s])}</span>' for s in states
    ))


__all__ = ["OUTCOMES", "availability_grid", "legend", "outcome_bars", "share_chart", "sparkline", "tally_strip"]
