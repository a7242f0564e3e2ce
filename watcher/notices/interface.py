"""Interface, SDK and plugin changes: names, versions, minimum version, deadline."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from watcher.notices.model import InterfaceChange
from watcher.notices.timeparse import RawPoint

_VERSION_RE = re.compile(r"(?<![\d.])([vV])?\s?(\d{1,3}\.\d{1,3}(?:\.\d{1,4}){0,2})(?![\d.%])")
_VERSION_BEFORE_RE = re.compile(r"(?:版本|版|SDK|sdk|插件|v|V)\s*(?:号)?\s*(?:为|是|:)?\s*$")
_VERSION_AFTER_RE = re.compile(r"\s*(?:版本|版|及以上|以上|或以上|及更高|或更高|以下|及以下|之前)")
_MIN_BEFORE_RE = re.compile(r"(?:(?:升级|更新|升)[^,，。;]{0,6}?(?:至|到)|不低于|最低|至少)\s*(?:版本)?\s*$")
_MIN_AFTER_RE = re.compile(r"\s*(?:版本)?\s*(?:及以上|以上|或以上|及更高|或更高)")
_METHOD_RE = re.compile(r"(?<![A-Za-z0-9_.])(?:alipay|koubei|zhima|ant|antfin|monitor|mybank)(?:\.[a-z0-9_]+){2,}")
_SDK_RE = re.compile(r"(?:Java|PHP|Python|Node(?:\.js)?|\.NET|C#|Go|iOS|Android|JS|H5|小程序)\s*SDK|(?<![A-Za-z])[A-Za-z]{1,30}SDK")
_PLUGIN_RE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z][A-Za-z0-9_-]{0,40}(?<![_-])(?:\s[A-Za-z0-9]{1,30})?\s*(?:支付宝)?(?:支付)?插件")
_QUOTED_RE = re.compile(r"[「“\"《【]([^」”\"》】]{2,30}(?:接口|插件|SDK|API|服务))[」”\"》】]")
_DEADLINE_RE = re.compile(r"下线|停止支持|不再支持|停止服务|废弃|弃用|停用|失效|关闭|前完成|之前完成|截止|前升级|前更新")
_PLUGIN_STOP = ("支付插件", "旧版插件", "相关插件", "新版插件", "该插件", "此插件", "所用插件", "使用插件")
_SENTENCE_END = re.compile(r"[。;!?\n]")
_BEFORE_DATE_RE = re.compile(r"\s*(?:前|之前|以前|为止)")


def _add(seq: list[str], item: str) -> None:
    item = item.strip()
    if item and item not in seq:
        seq.append(item)


def extract_interface(
    norm: str, points: list[RawPoint], resolve: Callable[[RawPoint], date | None]
) -> InterfaceChange:
    """Names, versions, minimum version and deadline in normalised text. Never raises."""
    names: list[str] = []
    for rx in (_METHOD_RE, _SDK_RE):
        for m in rx.finditer(norm):
            _add(names, m.group())
    for m in _PLUGIN_RE.finditer(norm):
        if m.group().strip() not in _PLUGIN_STOP:
            _add(names, m.group())
    for m in _QUOTED_RE.finditer(norm):
        _add(names, m.group(1))
    versions: list[str] = []
    minimum: str | None = None
    for m in _VERSION_RE.finditer(norm):
        v = m.group(2)
        before = norm[max(0, m.start() - 8) : m.start()]
        is_version = bool(m.group(1)) or v.count(".") >= 2 or bool(_VERSION_BEFORE_RE.search(before))
        is_version = is_version or bool(_VERSION_AFTER_RE.match(norm, m.end()))
        if not is_version:
            continue
        _add(versions, v)
        if minimum is None and (_MIN_BEFORE_RE.search(before) or _MIN_AFTER_RE.match(norm, m.end())):
            minimum = v
    deadline: date | None = None
    for m in _DEADLINE_RE.finditer(norm):
        lo = 0
        for e in _SENTENCE_END.finditer(norm, 0, m.start()):
            lo = e.end()
        hi_m = _SENTENCE_END.search(norm, m.end())
        hi = hi_m.start() if hi_m else len(norm)
        # the dated point nearest before the keyword, else the first one after it
        earlier = [p for p in points if lo <= p.start < m.start() and p.has_date]
        later = [p for p in points if m.start() <= p.start < hi and p.has_date]
        for p in [*reversed(earlier), *later]:
            deadline = resolve(p)
            if deadline is not None:
                break
        if deadline is not None:
            break
    if deadline is None:
        for p in points:
            if p.has_date and _BEFORE_DATE_RE.match(norm, p.end):
                deadline = resolve(p)
                if deadline is not None:
                    break
    return InterfaceChange(tuple(names[:12]), tuple(versions[:12]), minimum, deadline)
