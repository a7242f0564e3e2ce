"""Templates: Chinese texts, per-channel escaping, SMS parameters, broken overrides caught at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consumers.notify.plan import Endpoint, PlannedMessage, Recipient, group, plan_for
from consumers.notify.subsettings import PlanSettings, TemplateSettings
from consumers.notify.templates import (
    DEFAULT_TEMPLATES,
    Renderer,
    format_window,
    md_escape,
    validate_templates,
)
from huabei_watch.clock import SHANGHAI
from huabei_watch.errors import ConfigError
from huabei_watch.events import Incident, IncidentKind, Phase, Scope

SH = SHANGHAI
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=SH)
START = datetime(2026, 11, 28, 2, 0, tzinfo=SH)
END = datetime(2026, 11, 28, 4, 0, tzinfo=SH)
MERCHANT = Recipient("m1", (Endpoint("wecom", "robot"), Endpoint("aliyun_sms", "13800000001"), Endpoint("console", "-")))
OPS = Recipient.ops(Endpoint("dingtalk", "ops-robot"))


def maintenance(**kw: object) -> Incident:
    fields: dict[str, object] = {
        "incident_id": "inc-1", "kind": IncidentKind.MAINTENANCE, "scope": Scope.platform(), "phase": Phase.SCHEDULED,
        "title": "花呗系统维护", "starts_at": START, "ends_at": END, "opened_at": T0, "updated_at": T0, "revision": 1,
    }
    fields.update(kw)
    return Incident.model_validate(fields)


def one(incident: Incident, recipient: Recipient, channel: str, phase: str, now: datetime = T0) -> PlannedMessage:
    msgs = plan_for(incident, None, recipient, now, PlanSettings(sms_quiet_hours=False))
    return next(m for m in msgs if m.channel == channel and m.phase == phase)


def test_announcement_reads_as_the_merchant_text() -> None:
    out = Renderer().render(one(maintenance(), MERCHANT, "console", "announced"))
    assert out.text == (
        "【花呗提醒】花呗将于11月28日02:00-04:00系统维护，期间收银台会暂时关闭花呗，顾客可使用其他方式付款。"
        "结束后自动恢复，无需操作。"
    )
    assert out.title == "花呗系统维护通知"
    assert (out.markdown, out.template_id, out.template_params) == ("", None, ())
    assert out.dedupe_key == "m1|inc-1|announced|console"


def test_reminder_says_how_many_hours() -> None:
    out = Renderer().render(one(maintenance(), MERCHANT, "console", "reminder_24h"))
    assert "24小时后开始" in out.text and "11月28日02:00-04:00" in out.text


def test_changed_window_names_old_and_new_times() -> None:
    moved = maintenance(starts_at=START + timedelta(hours=1), ends_at=END + timedelta(hours=1), revision=2)
    msgs = plan_for(moved, maintenance(), MERCHANT, T0, PlanSettings())
    out = Renderer().render(next(m for m in msgs if m.channel == "console" and m.phase == "changed_r2"))
    assert "调整为11月28日03:00-05:00" in out.text and "原定11月28日02:00-04:00" in out.text


def test_markdown_channel_gets_bold_title_and_the_text() -> None:
    out = Renderer().render(one(maintenance(), MERCHANT, "wecom", "announced"))
    assert out.markdown.startswith("**花呗系统维护通知**\n\n【花呗提醒】花呗将于11月28日02:00-04:00")


def test_values_cannot_inject_markdown_or_html() -> None:
    hostile = maintenance(title="*紧急*[点我](http://evil.example)<font color=red>x</font>", needs_review=True)
    out = Renderer().render(one(hostile, OPS, "dingtalk", "announced"))
    for raw in ("*紧急*", "[点我]", "](", "<font"):
        assert raw not in out.markdown
    assert "＊紧急＊［点我］(http://evil.example)＜font color=red＞" in out.markdown
    assert "*紧急*[点我]" in out.text  # plain text keeps what the notice said
    assert "需要人工确认" in out.text


def test_markdown_override_escapes_values_but_keeps_its_own_markup() -> None:
    renderer = Renderer(TemplateSettings(overrides={"maintenance.announced.md": "## 维护\n> {{ title }}"}))
    out = renderer.render(one(maintenance(title="a_b*c"), MERCHANT, "wecom", "announced"))
    assert out.markdown == "## 维护\n> `a_b`＊c"  # the identifier kept whole in a code span


@pytest.mark.parametrize(("raw", "escaped"), [("a*b", "a＊b"), ("`x`", "ˋxˋ"), ("# h", "＃ h"), ("1|2", "1｜2"), ("普通", "普通")])
def test_md_escape(raw: str, escaped: str) -> None:
    assert md_escape(raw) == escaped


def test_sms_sends_provider_template_id_and_short_params() -> None:
    settings = TemplateSettings(sms_template_ids={"maintenance.announced": "SMS_123"})
    out = Renderer(settings).render(one(maintenance(), MERCHANT, "aliyun_sms", "announced"))
    assert out.template_id == "SMS_123"
    assert out.template_params == (("time", "11月28日02:00-04:00"),)
    assert out.markdown == ""


def test_sms_param_is_cut_to_the_provider_limit_on_one_line() -> None:
    advice = "请登录支付宝商家平台，进入账户中心查看冻结原因，\n并按照页面提示提交材料完成解冻，如有疑问请联系您的客户经理【重要】。"
    acct = Incident(
        incident_id="acct-1", kind=IncidentKind.MERCHANT_ACCOUNT, scope=Scope.merchants("m1"), phase=Phase.ACTIVE,
        advice_zh=advice, opened_at=T0, updated_at=T0, revision=1,
    )
    out = Renderer().render(one(acct, MERCHANT, "aliyun_sms", "opened"))
    assert out.template_id is None  # no code configured: the channel's default template applies
    ((name, value),) = out.template_params
    assert name == "advice"
    assert len(value) == 35 and value.endswith("…")
    assert "\n" not in value and "【" not in value
    assert out.critical is True


def test_group_message_lists_each_incident_once() -> None:
    integ = Incident(
        incident_id="inc-i", kind=IncidentKind.INTEGRATION, scope=Scope.merchants("m1"), phase=Phase.ACTIVE,
        opened_at=T0, updated_at=T0, revision=1,
    )
    planned = [m for m in plan_for(maintenance(), None, MERCHANT, T0, PlanSettings()) if m.not_before == T0]
    planned += plan_for(integ, None, MERCHANT, T0, PlanSettings())
    g = next(g for g in group(planned) if g.channel == "wecom")
    out = Renderer().render(g)
    assert out.title == "花呗提醒（2条）"
    assert out.text.count("【花呗提醒】") == 1
    assert "1. 花呗将于11月28日02:00-04:00系统维护" in out.text
    assert "2. 您的收银系统与花呗接口不兼容" in out.text
    assert out.dedupe_key == g.dedupe_key


def test_every_default_template_is_valid() -> None:
    assert validate_templates(DEFAULT_TEMPLATES) == []


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"maintenance.announced.text": "花呗将于{{ windw }}维护"}, "templates.maintenance.announced.text: 'windw' is undefined"),
        ({"outage.opened.text": "{% if %}"}, "templates.outage.opened.text: syntax error on line 1"),
        ({"outage.openned.text": "x"}, "templates.outage.openned.text: unknown template name"),
        ({"group.title": "<b>提醒</b>"}, "templates.group.title: contains HTML '<b>'"),
        ({"maintenance.started.text": "{{ items }}"}, "'items' is undefined"),
    ],
)
def test_broken_override_is_reported_clearly(overrides: dict[str, str], problem: str) -> None:
    problems = validate_templates(overrides)
    assert len(problems) == 1
    assert problem in problems[0]


def test_renderer_refuses_broken_overrides_at_start_up() -> None:
    with pytest.raises(ConfigError, match=r"templates\.maintenance\.announced\.text: 'windw' is undefined"):
        Renderer(TemplateSettings(overrides={"maintenance.announced.text": "{{ windw }}"}))


def test_override_replaces_the_default_text_and_sms_param() -> None:
    renderer = Renderer(TemplateSettings(overrides={
        "maintenance.announced.text": "【花呗提醒】{{ window }}维护，请知悉。",
        "maintenance.announced.sms.date": "{{ start }}",
    }))
    out = renderer.render(one(maintenance(), MERCHANT, "aliyun_sms", "announced"))
    assert out.text == "【花呗提醒】11月28日02:00-04:00维护，请知悉。"
    assert out.template_params == (("time", "11月28日02:00-04:00"), ("date", "11月28日02:00"))


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (START, END, "11月28日02:00-04:00"),
        (START, None, "11月28日02:00起"),
        (datetime(2026, 11, 28, 23, 0, tzinfo=SH), datetime(2026, 11, 29, 1, 0, tzinfo=SH), "11月28日23:00至11月29日01:00"),
        (datetime(2026, 11, 27, 10, 0, tzinfo=UTC), None, "11月27日18:00起"),  # shown in Shanghai time
        (None, None, ""),
    ],
)
def test_format_window(start: datetime | None, end: datetime | None, text: str) -> None:
    assert format_window(start, end) == text


def test_a_text_naming_the_merchant_is_rendered_for_each_merchant_others_once_per_step() -> None:
    renderer = Renderer(TemplateSettings(overrides={"maintenance.announced.text": "{{ merchant }}：花呗将于{{ window }}维护"}))
    texts = [renderer.render(one(maintenance(), Recipient(m, (Endpoint("console", m),)), "console", "announced")).text
             for m in ("m1", "m2")]
    assert texts == ["m1：花呗将于11月28日02:00-04:00维护", "m2：花呗将于11月28日02:00-04:00维护"]
    plain = Renderer()
    a, b = (plain.render(one(maintenance(), Recipient(m, (Endpoint("wecom", m),)), "wecom", "announced"))
            for m in ("m1", "m2"))
    assert a.text == b.text and (a.recipient, b.recipient) == ("m1", "m2") and a.dedupe_key != b.dedupe_key
