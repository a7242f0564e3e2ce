"""Message texts: Jinja2 templates in Chinese, overridable from config, escaped per channel.

Template names (all overridable, see :data:`DEFAULT_TEMPLATES`):

* ``<kind>.<step>.title`` and ``<kind>.<step>.text`` -- plain text, e.g. ``maintenance.announced.text``;
* ``<kind>.<step>.md`` -- optional markdown body for markdown channels; without it the markdown is
  the bold title and the escaped text;
* ``<kind>.<step>.sms.<param>`` -- one SMS template parameter (SMS providers hold the approved
  text; we send the provider template id and the parameters, each cut to the provider's limit);
* ``ops.*`` for the ops route, ``group.*`` for several messages merged into one.

Variables: ``window`` ("11月28日02:00-04:00"), ``start``, ``end``, ``previous_window``, ``hours``
(reminder), ``repeat`` (ongoing count), ``title``, ``summary``, ``advice``, ``kind``, ``kind_zh``,
``step``, ``step_zh``, ``phase``, ``incident_id``, ``revision``, ``scope``, ``needs_review``,
``merchant``; group templates get ``items`` (the texts of the merged messages). Undefined
variables are errors (StrictUndefined): :func:`validate_templates` reports them at start-up.

Escaping: every value interpolated into markdown has markdown and HTML control characters
replaced by their full-width forms (robots do not reliably honour backslash escapes), so a
notice title cannot inject formatting or links. Templates themselves must not contain HTML.

jinja2 is imported only by :func:`validate_templates` and :class:`Renderer` (the notify role), so
:class:`TemplateSettings` -- part of ``[notify]``'s model, which every process validates -- loads
no jinja2.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from consumers.notify.plan import OPS_RECIPIENT, MessageContext, MessageGroup, PlannedMessage
from consumers.notify.ports import OutboundMessage
from consumers.notify.subsettings import MANUAL_KINDS, MERCHANT_BASES, STEPS, TemplateSettings
from huabei_watch.clock import SHANGHAI
from huabei_watch.errors import ConfigError
from huabei_watch.events.common import Scope
from huabei_watch.events.incidents import Incident, IncidentKind, Phase

if TYPE_CHECKING:
    from jinja2 import Template

PREFIX = "【花呗提醒】"
#: What a rendered message says: title, text, markdown, provider template id, provider parameters.
_Content = tuple[str, str, str, str | None, tuple[tuple[str, str], ...]]
#: Merchant id -> a signed link to that merchant's page (:mod:`huabei_watch.merchants.links`).
LinkFn = Callable[[str], str]
#: Channels whose messages carry the merchant's page link (WeCom shows it, WeChat opens it on tap).
LINK_CHANNELS = frozenset({"wecom", "wechat_oa"})

KIND_ZH = {"maintenance": "系统维护", "outage": "服务异常", "merchant_account": "商户账户异常", "integration": "接口兼容问题"}
STEP_ZH = {
    "announced": "预告", "reminder": "提醒", "started": "开始", "resolved": "恢复", "changed": "时间调整",
    "cancelled": "取消", "opened": "发生", "ongoing": "持续",
}

_MAINT = "期间收银台会暂时关闭花呗，顾客可使用其他方式付款。"
#: What a merchant whose Huabei we do not switch should do (never claims a switch happened).
_SELF = "请在收银台暂停花呗，或提醒顾客使用其他方式付款。"
_REOPEN = "如您在收银台暂停了花呗，现在可以重新开启。"
DEFAULT_TEMPLATES: dict[str, str] = {
    "maintenance.announced.title": "花呗系统维护通知",
    "maintenance.announced.text": PREFIX + "花呗将于{{ window }}系统维护，" + _MAINT + "结束后自动恢复，无需操作。",
    "maintenance.reminder.title": "花呗维护提醒",
    "maintenance.reminder.text": PREFIX + "花呗系统维护将在{{ hours }}小时后开始（{{ window }}），" + _MAINT,
    "maintenance.started.title": "花呗维护已开始",
    "maintenance.started.text": PREFIX + "花呗系统维护已开始（{{ window }}），收银台已暂时关闭花呗，顾客可使用其他方式付款。结束后自动恢复。",
    "maintenance.resolved.title": "花呗维护已结束",
    "maintenance.resolved.text": PREFIX + "花呗系统维护已结束，收银台已恢复花呗付款。感谢您的耐心。",
    "maintenance.changed.title": "花呗维护时间调整",
    "maintenance.changed.text": PREFIX + "花呗系统维护时间调整为{{ window }}"
    "{% if previous_window %}（原定{{ previous_window }}）{% endif %}。" + _MAINT + "结束后自动恢复，无需操作。",
    "maintenance.cancelled.title": "花呗维护已取消",
    "maintenance.cancelled.text": PREFIX + "{% if window %}原定{{ window }}的{% endif %}花呗系统维护已取消，花呗照常可用，无需操作。",
    "outage.opened.title": "花呗服务暂时异常",
    "outage.opened.text": PREFIX + "花呗服务暂时异常，收银台已暂时关闭花呗，顾客可使用其他方式付款。恢复后自动开启，无需操作。",
    "outage.ongoing.title": "花呗服务仍在恢复中",
    "outage.ongoing.text": PREFIX + "花呗服务仍在恢复中{% if start %}（自{{ start }}起）{% endif %}，顾客可使用其他方式付款。恢复后我们会再通知您。",
    "outage.resolved.title": "花呗服务已恢复",
    "outage.resolved.text": PREFIX + "花呗服务已恢复，收银台已重新开启花呗付款。给您带来不便，敬请谅解。",
    # "manual" voice: notify_only and pinned merchants, and incidents that never toggle.
    "maintenance.announced.manual.title": "花呗系统维护通知",
    "maintenance.announced.manual.text": PREFIX + "花呗将于{{ window }}系统维护，期间顾客无法用花呗付款。维护开始前" + _SELF,
    "maintenance.reminder.manual.title": "花呗维护提醒",
    "maintenance.reminder.manual.text": PREFIX + "花呗系统维护将在{{ hours }}小时后开始（{{ window }}），期间顾客无法用花呗付款。" + _SELF,
    "maintenance.started.manual.title": "花呗维护已开始",
    "maintenance.started.manual.text": PREFIX + "花呗系统维护已开始（{{ window }}），顾客暂时无法用花呗付款。" + _SELF,
    "maintenance.resolved.manual.title": "花呗维护已结束",
    "maintenance.resolved.manual.text": PREFIX + "花呗系统维护已结束，顾客可以继续用花呗付款。" + _REOPEN,
    "maintenance.changed.manual.title": "花呗维护时间调整",
    "maintenance.changed.manual.text": PREFIX + "花呗系统维护时间调整为{{ window }}"
    "{% if previous_window %}（原定{{ previous_window }}）{% endif %}，期间顾客无法用花呗付款。届时" + _SELF,
    "maintenance.cancelled.manual.title": "花呗维护已取消",
    "maintenance.cancelled.manual.text": PREFIX + "{% if window %}原定{{ window }}的{% endif %}花呗系统维护已取消，花呗照常可用。" + _REOPEN,
    "outage.opened.manual.title": "花呗服务暂时异常",
    "outage.opened.manual.text": PREFIX + "花呗服务暂时异常，顾客可能无法用花呗付款。" + _SELF + "恢复后我们会再通知您。",
    "outage.ongoing.manual.title": "花呗服务仍在恢复中",
    "outage.ongoing.manual.text": PREFIX + "花呗服务仍在恢复中{% if start %}（自{{ start }}起）{% endif %}。" + _SELF
    + "恢复后我们会再通知您。",
    "outage.resolved.manual.title": "花呗服务已恢复",
    "outage.resolved.manual.text": PREFIX + "花呗服务已恢复，顾客可以继续用花呗付款。" + _REOPEN + "给您带来不便，敬请谅解。",
    "merchant_account.opened.title": "商户账户异常",
    "merchant_account.opened.text": PREFIX + "您的商户账户状态异常，顾客暂时无法用花呗付款。"
    "{{ advice or '请登录支付宝商家平台查看账户状态，或联系客服处理。' }}",
    "merchant_account.resolved.title": "商户账户已恢复",
    "merchant_account.resolved.text": PREFIX + "您的商户账户已恢复正常，顾客可以继续使用花呗付款。",
    "integration.opened.title": "收银系统需要升级",
    "integration.opened.text": PREFIX + "您的收银系统与花呗接口不兼容，部分花呗付款可能失败。{{ advice or '请联系您的收银系统服务商升级。' }}",
    "integration.resolved.title": "花呗接口问题已解决",
    "integration.resolved.text": PREFIX + "花呗接口问题已解决，花呗付款已恢复正常。",
    "ops.title": "[{{ kind }}] {{ step }} {{ incident_id }}",
    "ops.text": "{{ kind_zh }}{{ step_zh }}：{{ title or summary }}\n事件：{{ incident_id }}（第{{ revision }}版）\n"
    "范围：{{ scope }}{% if window %}\n时间：{{ window }}{% endif %}{% if needs_review %}\n需要人工确认。{% endif %}"
    "{% if advice %}\n建议：{{ advice }}{% endif %}",
    "group.title": "花呗提醒（{{ items | length }}条）",
    "group.text": PREFIX + "您有{{ items | length }}条花呗通知：{% for item in items %}\n{{ loop.index }}. {{ item }}{% endfor %}",
}

#: SMS parameters per template base, in the order the provider template fills them.
DEFAULT_SMS_PARAMS: dict[str, tuple[tuple[str, str], ...]] = {
    **{f"maintenance.{s}{v}": (("time", "{{ window }}"),) for s in STEPS["maintenance"] for v in ("", ".manual")},
    **{f"outage.{s}{v}": (("time", "{{ start }}"),) for s in STEPS["outage"] for v in ("", ".manual")},
    "merchant_account.opened": (("advice", "{{ advice or '请登录商家平台查看账户状态' }}"),),
    "merchant_account.resolved": (),
    "integration.opened": (("advice", "{{ advice or '请联系收银系统服务商升级' }}"),),
    "integration.resolved": (),
    "ops": (("summary", "{{ kind_zh }}{{ step_zh }} {{ incident_id }}"),),
    "group": (("count", "{{ items | length }}"),),
}

_HTML = re.compile(r"<\s*/?\s*[A-Za-z][^>]*>")
_MD_SWAP = str.maketrans({
    "*": "＊", "_": "＿", "`": "ˋ", "[": "［", "]": "］", "<": "＜", ">": "＞", "#": "＃", "~": "～", "|": "｜",
})
#: An identifier (incident id, error code, merchant id): kept byte for byte inside a code span.
_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-/+=@]*")
_MD_SPECIAL = frozenset("*_~#|<>[]")


def md_escape(value: object) -> str:
    """``value`` as text safe inside robot markdown, identifiers unchanged.

    A token that looks like an identifier (``merchant_account:m-1:20261127T2000``,
    ``ACQ.SELLER_BEEN_BLOCKED``) and holds a markdown character goes into a code span, where no
    robot interprets it, so it can be copied as is; elsewhere markdown and HTML control
    characters become their full-width forms (robots do not reliably honour backslash escapes).
    """
    text = str(value)
    out: list[str] = []
    pos = 0
    for m in _IDENT.finditer(text):
        out.append(text[pos:m.start()].translate(_MD_SWAP))
        token = m.group(0)
        out.append(f"`{token}`" if _MD_SPECIAL.intersection(token) else token)
        pos = m.end()
    out.append(text[pos:].translate(_MD_SWAP))
    return "".join(out)


def _finalize_md(value: object) -> object:
    return md_escape(value) if isinstance(value, str) else value


def _fmt(dt: datetime) -> str:
    local = dt.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def format_window(start: datetime | None, end: datetime | None) -> str:
    """"11月28日02:00-04:00"; "…起" without an end; both dates when it crosses midnight."""
    if start is None:
        return ""
    if end is None:
        return f"{_fmt(start)}起"
    same_day = start.astimezone(SHANGHAI).date() == end.astimezone(SHANGHAI).date()
    return f"{_fmt(start)}-{end.astimezone(SHANGHAI):%H:%M}" if same_day else f"{_fmt(start)}至{_fmt(end)}"


def context_vars(ctx: MessageContext, recipient: str) -> dict[str, Any]:
    """The template variables for one planned message."""
    inc = ctx.incident
    return {
        "window": format_window(inc.starts_at, inc.ends_at),
        "start": _fmt(inc.starts_at) if inc.starts_at else "",
        "end": _fmt(inc.ends_at) if inc.ends_at else "",
        "previous_window": format_window(ctx.previous_start, ctx.previous_end),
        "hours": ctx.reminder_hours or 0,
        "repeat": ctx.repeat or 0,
        "title": inc.title,
        "summary": inc.summary_zh,
        "advice": inc.advice_zh,
        "kind": inc.kind.value,
        "kind_zh": KIND_ZH.get(inc.kind.value, inc.kind.value),
        "step": ctx.step,
        "step_zh": STEP_ZH.get(ctx.step, ctx.step),
        "phase": ctx.phase,
        "incident_id": inc.incident_id,
        "revision": inc.revision,
        "scope": inc.scope.label(),
        "needs_review": inc.needs_review,
        "merchant": recipient,
    }


def _sample_vars() -> dict[str, list[dict[str, Any]]]:
    """Variable sets by template base ("maintenance.announced", "ops", "group"), to test-render."""
    at = datetime(2026, 11, 28, 2, 0, tzinfo=SHANGHAI)
    out: dict[str, list[dict[str, Any]]] = {"ops": [], "group": [{"items": ["示例一", "示例二"], "merchant": "m1"}]}
    for kind, steps in STEPS.items():
        inc = Incident(
            incident_id=f"sample-{kind}", kind=IncidentKind(kind), scope=Scope.merchants("m1"), phase=Phase.ACTIVE,
            title="示例", summary_zh="示例", advice_zh="示例", starts_at=at, ends_at=at + timedelta(hours=2),
            opened_at=at - timedelta(days=1), updated_at=at, revision=2,
        )
        for step in steps:
            ctx = MessageContext(inc, step, step, False, 24, 1, at - timedelta(hours=1), at)
            out[f"{kind}.{step}"] = [context_vars(ctx, "m1")]
            if kind in MANUAL_KINDS:
                out[f"{kind}.{step}.manual"] = [context_vars(ctx, "m1")]
            out["ops"].append(context_vars(ctx, "ops"))
    return out


def _known_names() -> set[str]:
    bases = [*MERCHANT_BASES, "ops", "group"]
    names = set(DEFAULT_TEMPLATES) | {f"{b}.md" for b in bases}
    names |= {f"{b}.sms.{p}" for b in bases for p, _ in DEFAULT_SMS_PARAMS.get(b, ())}
    return names


def _sms_override(name: str) -> bool:
    base, sep, param = name.partition(".sms.")
    return bool(sep) and bool(param.isidentifier()) and base in DEFAULT_SMS_PARAMS


def validate_templates(overrides: Mapping[str, str]) -> list[str]:
    """Problems with ``overrides`` as ``"templates.<name>: ..."`` lines; empty when all is well.

    Checks the name is known, the syntax, that no HTML is used, and that the template renders
    for every kind and step without an undefined variable.
    """
    from jinja2 import Environment, StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError

    env = Environment(undefined=StrictUndefined, autoescape=False)
    known = _known_names()
    samples_by_base = _sample_vars()
    problems: list[str] = []
    for name, text in sorted(overrides.items()):
        where = f"templates.{name}"
        if name not in known and not _sms_override(name):
            problems.append(f"{where}: unknown template name (known: {', '.join(sorted(DEFAULT_TEMPLATES))}, ...)")
            continue
        html = _HTML.search(text)
        if html:
            problems.append(f"{where}: contains HTML {html.group(0)!r}; templates are plain text")
        try:
            template = env.from_string(text)
        except TemplateSyntaxError as exc:
            problems.append(f"{where}: syntax error on line {exc.lineno}: {exc.message}")
            continue
        base = name.partition(".sms.")[0] if ".sms." in name else name.rsplit(".", 1)[0]
        samples = samples_by_base[base]
        try:
            for sample in samples:
                template.render(sample)
        except UndefinedError as exc:
            problems.append(f"{where}: {exc.message}; known variables: {', '.join(sorted(samples[0]))}")
        except TemplateError as exc:
            problems.append(f"{where}: does not render: {exc}")
    return problems


class Renderer:
    """Turns planned messages into :class:`OutboundMessage` s. Construction validates overrides.

    Raises :class:`ConfigError` listing every problem with the overrides.
    """

    def __init__(
        self, settings: TemplateSettings | None = None, template_ids: Mapping[str, Mapping[str, str]] | None = None,
        *, link_for: LinkFn | None = None,
    ) -> None:
        """``template_ids``: per channel, template base -> provider template id (a base not in
        the map gets no id: the channel's configured default applies). None: the legacy
        ``sms_template_ids`` for every template channel. ``link_for``: when given, a merchant's
        messages on :data:`LINK_CHANNELS` carry the link it returns for that merchant."""
        self._settings = settings or TemplateSettings()
        self._link_for = link_for
        legacy = dict(self._settings.sms_template_ids)
        self._template_ids: Mapping[str, Mapping[str, str]] = (
            template_ids if template_ids is not None else {c: legacy for c in self._settings.param_channels}
        )
        problems = validate_templates(self._settings.overrides)
        if problems:
            raise ConfigError(problems)
        from jinja2 import Environment, StrictUndefined, meta

        plain = Environment(undefined=StrictUndefined, autoescape=False)
        markdown = Environment(undefined=StrictUndefined, autoescape=False, finalize=_finalize_md)
        texts = {**DEFAULT_TEMPLATES, **self._settings.overrides}
        self._plain: dict[str, Template] = {n: plain.from_string(t) for n, t in texts.items() if not n.endswith(".md")}
        self._md: dict[str, Template] = {n: markdown.from_string(t) for n, t in texts.items() if n.endswith(".md")}
        # Bases whose text names the recipient (``merchant``); the others read the same for every
        # merchant of an incident step, so their content is rendered once and reused.
        self._personal = {n.rsplit(".", 1)[0] for n, t in texts.items()
                          if "merchant" in meta.find_undeclared_variables(plain.parse(t))}
        self._personal |= {n.partition(".sms.")[0] for n, t in self._settings.overrides.items()
                           if ".sms." in n and "merchant" in meta.find_undeclared_variables(plain.parse(t))}
        self._same: dict[tuple[object, ...], _Content] = {}
        self._sms: dict[str, tuple[tuple[str, Template], ...]] = {}
        for base, params in DEFAULT_SMS_PARAMS.items():
            merged = dict(params)
            prefix = f"{base}.sms."
            merged.update({n[len(prefix):]: t for n, t in self._settings.overrides.items() if n.startswith(prefix)})
            self._sms[base] = tuple((p, plain.from_string(t)) for p, t in merged.items())

    def render(self, item: PlannedMessage | MessageGroup, *, channel: str | None = None) -> OutboundMessage:
        """The message to send for one planned message or a group (a one-part group is the part),
        for ``channel`` (default: the item's; another one when falling back to a second provider)."""
        if isinstance(item, MessageGroup) and len(item.parts) == 1:
            item = item.parts[0]
        if isinstance(item, PlannedMessage):
            base = item.template
            ctx = item.context
            shared = None if base in self._personal else (
                base, channel or item.channel, ctx.incident.incident_id, ctx.incident.revision, ctx.phase, ctx.step,
                ctx.reminder_hours, ctx.repeat, ctx.previous_start, ctx.previous_end,
            )
            content = self._same.get(shared) if shared is not None else None
            if content is None:
                content = self._content(base, channel or item.channel, context_vars(ctx, item.recipient))
                if shared is not None:
                    if len(self._same) >= 4096:
                        self._same.clear()
                    self._same[shared] = content
            title, text, markdown, template_id, params = content
            return OutboundMessage(
                dedupe_key=item.dedupe_key, recipient=item.recipient, address=item.address, title=title, text=text,
                markdown=markdown, template_id=template_id, template_params=params, critical=item.critical,
                link=self._link(item.recipient, channel or item.channel),
            )
        else:
            base = "group"
            items = [self._render(p.template, "text", context_vars(p.context, p.recipient)) for p in item.parts]
            values = {"items": [t.removeprefix(PREFIX) for t in items], "merchant": item.recipient}
            key, critical = item.dedupe_key, item.critical
        title, text, markdown, template_id, params = self._content(base, channel or item.channel, values)
        return OutboundMessage(
            dedupe_key=key, recipient=item.recipient, address=item.address, title=title, text=text,
            markdown=markdown, template_id=template_id, template_params=params, critical=critical,
            link=self._link(item.recipient, channel or item.channel),
        )

    def _link(self, recipient: str, channel: str) -> str:
        if self._link_for is None or recipient == OPS_RECIPIENT or channel not in LINK_CHANNELS:
            return ""
        return self._link_for(recipient)

    def _content(self, base: str, channel: str, values: Mapping[str, Any]) -> _Content:
        title = self._render(base, "title", values)
        text = self._render(base, "text", values)
        markdown = ""
        if channel in self._settings.markdown_channels:
            md = self._md.get(f"{base}.md")
            markdown = md.render(values) if md is not None else f"**{md_escape(title)}**\n\n{md_escape(text)}"
        template_id: str | None = None
        params: tuple[tuple[str, str], ...] = ()
        if channel in self._settings.param_channels:
            template_id = self._template_ids.get(channel, {}).get(base)
            params = tuple((p, self._param(t.render(values))) for p, t in self._sms.get(base, ()))
        return title, text, markdown, template_id, params

    def _render(self, base: str, part: str, values: Mapping[str, Any]) -> str:
        return self._plain[f"{base}.{part}"].render(values).strip()

    def _param(self, value: str) -> str:
        """One SMS parameter: one line, no 【】 (reserved for the signature), within the limit."""
        flat = " ".join(value.replace("【", "").replace("】", "").split())
        limit = self._settings.sms_param_max_chars
        return flat if len(flat) <= limit else flat[: limit - 1] + "…"
