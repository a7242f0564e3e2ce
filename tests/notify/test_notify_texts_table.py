"""Every template, for every phase x merchant mode x channel: true to what the system did."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from consumers.notify.plan import Endpoint, PlannedMessage, Recipient, plan_for
from consumers.notify.subsettings import PlanSettings, TemplateSettings
from consumers.notify.templates import Renderer
from huabei_watch.clock import SHANGHAI
from huabei_watch.events import Incident, IncidentKind, Phase, Scope

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
START = datetime(2026, 11, 28, 2, 0, tzinfo=SHANGHAI)
END = START + timedelta(hours=2)
MODES = ("auto", "notify_only", "pinned_on", "pinned_off")
CHANNELS = ("wecom", "dingtalk", "feishu", "webhook", "console", "file", "aliyun_sms", "tencent_sms", "wechat_oa")
TEMPLATE_CHANNELS = ("aliyun_sms", "tencent_sms", "wechat_oa")
#: Phrases that say the system switched Huabei (only true for auto merchants of toggling incidents).
CLAIMS = ("收银台已", "已暂时关闭花呗", "已重新开启", "已恢复花呗付款", "自动恢复", "自动开启", "无需操作")
SELF = "请在收银台暂停花呗"
REOPEN = "如您在收银台暂停了花呗"


def inc(kind: IncidentKind, phase: Phase, **kw: object) -> Incident:
    base: dict[str, object] = dict(
        incident_id=f"{kind.value}:x", kind=kind, scope=Scope.platform(), phase=phase, opened_at=T0 - timedelta(days=2),
        updated_at=T0, revision=2,
    )
    if kind is IncidentKind.MAINTENANCE:
        base |= {"starts_at": START, "ends_at": END}
    return Incident.model_validate(base | kw)


def cases() -> list[tuple[Incident, Incident | None, datetime]]:
    """(incident, previous, now): together they produce every step of every kind."""
    m, o = IncidentKind.MAINTENANCE, IncidentKind.OUTAGE
    moved = inc(m, Phase.SCHEDULED, starts_at=START + timedelta(hours=1), ends_at=END + timedelta(hours=1), revision=3)
    return [
        (inc(m, Phase.SCHEDULED), None, START - timedelta(hours=1, minutes=10)),  # announced, reminder, started
        (moved, inc(m, Phase.SCHEDULED), T0),  # changed
        (inc(m, Phase.ACTIVE), None, START + timedelta(minutes=5)),  # started
        (inc(m, Phase.RESOLVED), None, END),
        (inc(m, Phase.CANCELLED), None, T0),
        (inc(o, Phase.ACTIVE, opened_at=T0 - timedelta(hours=2)), None, T0),  # opened, ongoing
        (inc(o, Phase.RESOLVED), None, T0),
        (inc(IncidentKind.MERCHANT_ACCOUNT, Phase.ACTIVE), None, T0),
        (inc(IncidentKind.MERCHANT_ACCOUNT, Phase.RESOLVED), None, T0),
        (inc(IncidentKind.INTEGRATION, Phase.ACTIVE), None, T0),
        (inc(IncidentKind.INTEGRATION, Phase.RESOLVED), None, T0),
    ]


def planned() -> list[tuple[str, PlannedMessage]]:
    out = []
    for (incident, previous, now), mode in itertools.product(cases(), MODES):
        r = Recipient(f"m-{mode}", tuple(Endpoint(c, f"addr-{c}") for c in CHANNELS), mode=mode)
        out += [(mode, msg) for msg in plan_for(incident, previous, r, now, PlanSettings(sms_quiet_hours=False))]
    return out


PLANNED = planned()


def template_ids() -> dict[str, dict[str, str]]:
    bases = sorted({m.template for _, m in PLANNED})
    return {c: {b: f"{c}-{i}" for i, b in enumerate(bases)} for c in TEMPLATE_CHANNELS}


RENDERER = Renderer(TemplateSettings(), template_ids())


def test_the_table_covers_every_step_of_every_kind_for_every_mode_and_channel() -> None:
    steps = {"maintenance": {"announced", "reminder", "started", "resolved", "changed", "cancelled"},
             "outage": {"opened", "ongoing", "resolved"}, "merchant_account": {"opened", "resolved"},
             "integration": {"opened", "resolved"}}
    covered = {(m.context.incident.kind.value, m.context.step, mode, m.channel) for mode, m in PLANNED}
    expected = {(k, s, mode, c) for k, ss in steps.items() for s in ss for mode in MODES for c in CHANNELS}
    assert covered == expected


@pytest.mark.parametrize(("mode", "msg"), PLANNED, ids=[f"{mo}-{m.template}-{m.channel}" for mo, m in PLANNED])
def test_each_text_says_only_what_happened(mode: str, msg: PlannedMessage) -> None:
    ids = template_ids()
    out = RENDERER.render(msg)
    kind, step = msg.context.incident.kind.value, msg.context.step
    switched_for_them = mode == "auto" and kind in ("maintenance", "outage")
    if kind in ("maintenance", "outage") and not switched_for_them:
        assert msg.template == f"{kind}.{step}.manual"
        assert not [c for c in CLAIMS if c in out.text], out.text
        if step in ("resolved", "cancelled"):
            assert REOPEN in out.text
        else:
            assert SELF in out.text
    else:
        assert msg.template == f"{kind}.{step}"
    if switched_for_them and step == "started" and kind == "maintenance":
        assert "收银台已暂时关闭花呗" in out.text
    if msg.channel in TEMPLATE_CHANNELS:
        # The provider holds the approved text: the id chosen is the one for this voice.
        assert out.template_id == ids[msg.channel][msg.template]
    assert out.text.startswith("【花呗提醒】")
