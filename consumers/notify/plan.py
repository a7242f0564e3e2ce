"""Notification planning (pure): who gets which message, on which channel, from when.

The planner is level-triggered like the rest of the system: :func:`plan` derives every message an
incident snapshot implies from the snapshot itself (plus the previous revision, only to see a
moved window), with deterministic dedupe keys ``"{recipient}|{incident_id}|{phase}|{channel}"``.
Calling it again with the same inputs gives the same keys, so the caller re-plans on every
incident event and on a timer (:func:`next_wakeup`), hands what is due to the deliverer, and the
delivery store drops what was already sent. Nothing in the future is stored: a reminder planned
for 24 h before a window that later moves is simply planned again at its new time.

Phases (the ``phase`` part of the key):

* maintenance: ``announced`` (while scheduled and not yet started), ``reminder_<N>h`` (N from
  :attr:`PlanSettings.reminders`; only when the incident was known well before that time; of
  several overdue reminders only the latest), ``started`` (at the window start), ``resolved``,
  ``changed_r<revision>`` (the window moved in this revision), ``cancelled``;
* outage: ``opened``, ``ongoing_<n>`` (n repeat intervals after it opened; only the current n),
  ``resolved`` (also for a cancelled outage);
* merchant_account, integration: ``opened`` and ``resolved``, only to merchants in the scope.

Ops recipients get every incident (also those needing review; during a silence only when
``ops_during_silence``); merchants get nothing while an incident is silenced or needs review.
Quiet hours (Asia/Shanghai) move non-critical SMS to the end of the quiet period; a message whose
moved time is past its use (a reminder after the window started) is dropped.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from consumers.notify.subsettings import PlanSettings, QuietHours
from huabei_watch.events.incidents import Incident, IncidentKind, Phase

#: The recipient id of the ops route (it gets every incident).
OPS_RECIPIENT = "ops"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One channel a recipient enabled, with its address (phone, robot key, openid, URL).

    ``fallbacks``: further channels tried in order, for the same address, when ``channel`` fails
    for good (a merchant's SMS route through a second provider).
    """

    channel: str
    address: str = field(repr=False)
    fallbacks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Recipient:
    """A merchant (``id`` = merchant id) or the ops route (``id`` = :data:`OPS_RECIPIENT`, ``is_ops``).

    ``quiet_hours`` None means the configured default. ``mode`` is the merchant's mode
    (``auto``, ``notify_only``, ``pinned_on``, ``pinned_off``): only ``auto`` merchants have Huabei
    switched for them, so only they are told it was.
    """

    id: str
    channels: tuple[Endpoint, ...]
    quiet_hours: QuietHours | None = None
    is_ops: bool = False
    mode: str = "auto"

    @classmethod
    def ops(cls, *channels: Endpoint, quiet_hours: QuietHours | None = None) -> Recipient:
        return cls(id=OPS_RECIPIENT, channels=channels, quiet_hours=quiet_hours, is_ops=True)


@dataclass(frozen=True, slots=True)
class MessageContext:
    """What a template needs to say: the incident snapshot and which step this message is."""

    incident: Incident
    phase: str
    step: str
    is_ops: bool
    reminder_hours: int | None = None
    repeat: int | None = None
    previous_start: datetime | None = None
    previous_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """One message for one recipient on one channel about one incident phase.

    Due at ``not_before``; useless from ``expires_at`` on (a reminder after the window started).
    """

    dedupe_key: str
    recipient: str
    address: str = field(repr=False)
    incident_ids: tuple[str, ...]
    phase: str
    channel: str
    not_before: datetime
    critical: bool
    template: str
    context: MessageContext
    expires_at: datetime | None = None
    fallbacks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MessageGroup:
    """Planned messages for one recipient and channel due at the same time, sent as one.

    ``dedupe_key`` is the only part's key, or a key derived from all the parts' keys; the
    delivery record covers each part's own key, so a part already sent is never sent again.
    """

    recipient: str
    channel: str
    address: str = field(repr=False)
    not_before: datetime
    parts: tuple[PlannedMessage, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.dedupe_key for p in self.parts)

    @property
    def dedupe_key(self) -> str:
        return group_key(self.recipient, self.channel, self.keys)

    @property
    def incident_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i for p in self.parts for i in p.incident_ids))

    @property
    def critical(self) -> bool:
        return any(p.critical for p in self.parts)

    def only(self, keys: Iterable[str]) -> MessageGroup:
        """The same group restricted to the parts whose key is in ``keys``."""
        wanted = set(keys)
        return MessageGroup(
            self.recipient,
            self.channel,
            self.address,
            self.not_before,
            tuple(p for p in self.parts if p.dedupe_key in wanted),
        )


def dedupe_key(recipient: str, incident_id: str, phase: str, channel: str) -> str:
    """The contract: one message per (recipient, incident, phase, channel), ever.

    ``channel`` may carry an endpoint mark (``wecom#<digest>``) when one recipient has several
    endpoints on one channel (:func:`endpoint_channels`); :func:`channel_of` strips it.
    """
    return f"{recipient}|{incident_id}|{phase}|{channel}"


def channel_of(key_channel: str) -> str:
    """The channel name of a key's channel part (without an endpoint mark)."""
    return key_channel.partition("#")[0]


def endpoint_channels(endpoints: tuple[Endpoint, ...]) -> tuple[str, ...]:
    """The channel part of each endpoint's key: the channel name, marked with a digest of the
    address when the recipient has several endpoints on that channel (two ops robots on WeCom are
    two recipients; a lone endpoint keeps the plain name, so existing keys stay valid)."""
    counts: dict[str, int] = {}
    for e in endpoints:
        counts[e.channel] = counts.get(e.channel, 0) + 1
    return tuple(
        e.channel if counts[e.channel] == 1 else f"{e.channel}#{hashlib.sha256(e.address.encode()).hexdigest()[:10]}"
        for e in endpoints
    )


#: Kinds whose incidents switch Huabei at ``auto`` merchants' cashiers (their texts say so).
SWITCHING_KINDS = frozenset({IncidentKind.MAINTENANCE, IncidentKind.OUTAGE})


def voice(incident: Incident, recipient: Recipient) -> str:
    """``"auto"`` when the system switches Huabei for this recipient during ``incident``;
    ``"manual"`` when it does not (``notify_only``/pinned merchants, or an incident that never
    toggles): those texts say what the merchant should do instead of claiming a switch."""
    if incident.kind not in SWITCHING_KINDS or (recipient.mode == "auto" and incident.toggle):
        return "auto"
    return "manual"


def template_base(incident: Incident, step: str, recipient: Recipient) -> str:
    """The template a merchant message uses: ``<kind>.<step>`` or ``<kind>.<step>.manual``."""
    if recipient.is_ops:
        return "ops"
    base = f"{incident.kind.value}.{step}"
    return base if voice(incident, recipient) == "auto" else f"{base}.manual"


def group_key(recipient: str, channel: str, keys: tuple[str, ...]) -> str:
    """The key of a delivery covering ``keys``: the key itself for one, a digest for several."""
    if len(keys) == 1:
        return keys[0]
    digest = hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()[:16]
    return f"{recipient}|group-{digest}|group|{channel}"


@dataclass(frozen=True, slots=True)
class _Step:
    phase: str
    step: str
    at: datetime
    expires_at: datetime | None = None
    reminder_hours: int | None = None
    repeat: int | None = None


def _maintenance_steps(
    incident: Incident, previous: Incident | None, now: datetime, settings: PlanSettings
) -> list[_Step]:
    steps: list[_Step] = []
    start, end, ph = incident.starts_at, incident.ends_at, incident.phase
    # "Active" begins at start - lead (Huabei goes off ahead of the window): a notice that arrives
    # inside the lead time must still be announced, so this depends on the window, not the phase.
    before_window = start is not None and now < start
    if (ph is Phase.SCHEDULED and start is None) or (ph.is_open and before_window):
        steps.append(_Step("announced", "announced", now))
    if ph.is_open and previous is not None and (previous.starts_at, previous.ends_at) != (start, end):
        steps.append(_Step(f"changed_r{incident.revision}", "changed", now, expires_at=end))
    if ph.is_open and start is not None and now < start:
        lead = timedelta(seconds=settings.reminder_min_lead)
        reminders = [
            (start - timedelta(hours=h), h)
            for h in sorted(set(settings.reminders))
            if incident.opened_at <= start - timedelta(hours=h) - lead
        ]
        overdue = [r for r in reminders if r[0] <= now]
        latest_overdue = max(overdue, key=lambda r: r[0]) if overdue else None
        for at, hours in reminders:
            if at > now or (at, hours) == latest_overdue:
                steps.append(_Step(f"reminder_{hours}h", "reminder", max(at, now), start, reminder_hours=hours))
    if ph.is_open and (start is not None or ph is Phase.ACTIVE):
        at = max(start, now) if start is not None else now
        steps.append(_Step("started", "started", at, expires_at=end))
    if ph is Phase.RESOLVED:
        steps.append(_Step("resolved", "resolved", now))
    if ph is Phase.CANCELLED:
        steps.append(_Step("cancelled", "cancelled", now))
    return steps


def _outage_steps(incident: Incident, now: datetime, settings: PlanSettings) -> list[_Step]:
    steps: list[_Step] = []
    if incident.phase.is_open:
        steps.append(_Step("opened", "opened", now))
    if incident.phase is Phase.ACTIVE:
        n = math.floor((now - incident.opened_at).total_seconds() / settings.outage_repeat)
        if n >= 1:
            expires = incident.opened_at + timedelta(seconds=settings.outage_repeat * (n + 1))
            steps.append(_Step(f"ongoing_{n}", "ongoing", now, expires_at=expires, repeat=n))
    if incident.phase in (Phase.RESOLVED, Phase.CANCELLED):
        steps.append(_Step("resolved", "resolved", now))
    return steps


def _merchant_steps(incident: Incident, now: datetime) -> list[_Step]:
    if incident.phase.is_open:
        return [_Step("opened", "opened", now)]
    return [_Step("resolved", "resolved", now)]


def _steps_for(incident: Incident, previous: Incident | None, now: datetime, settings: PlanSettings) -> list[_Step]:
    if incident.kind is IncidentKind.MAINTENANCE:
        return _maintenance_steps(incident, previous, now, settings)
    if incident.kind is IncidentKind.OUTAGE:
        return _outage_steps(incident, now, settings)
    return _merchant_steps(incident, now)


def phases_due(incident: Incident, previous: Incident | None, now: datetime, settings: PlanSettings) -> frozenset[str]:
    """The phases of ``incident`` that have messages due by ``now`` for some recipient (before
    quiet hours move SMS later). A phase not in here has nothing to send yet."""
    return frozenset(s.phase for s in _steps_for(incident, previous, now, settings) if s.at <= now)


def merchants_held(incident: Incident, now: datetime) -> bool:
    """True while merchants are not told about ``incident`` (silenced, or waiting for review)."""
    return incident.needs_review or _silenced(incident, now)


def _silenced(incident: Incident, now: datetime) -> bool:
    return incident.silenced_until is not None and now < incident.silenced_until


def reaches(incident: Incident, recipient: Recipient, now: datetime, settings: PlanSettings) -> bool:
    """Whether ``recipient`` hears about ``incident`` at all right now."""
    if recipient.is_ops:
        return settings.ops_during_silence or not _silenced(incident, now)
    if incident.needs_review or _silenced(incident, now):
        return False
    return incident.scope.covers(recipient.id)


def plan_for(
    incident: Incident,
    previous: Incident | None,
    recipient: Recipient,
    now: datetime,
    settings: PlanSettings,
) -> list[PlannedMessage]:
    """Every message ``incident`` implies for one recipient, on each of its channels.

    ``previous`` is the revision before ``incident`` (None if unknown). Deterministic: the same
    inputs give the same keys. ``now`` must be aware.
    """
    if not reaches(incident, recipient, now, settings):
        return []
    steps = _steps_for(incident, previous, now, settings)
    quiet = recipient.quiet_hours or settings.quiet_hours
    out: list[PlannedMessage] = []
    for endpoint, key_channel in zip(recipient.channels, endpoint_channels(recipient.channels), strict=True):
        is_sms = endpoint.channel in settings.sms_channels
        for step in steps:
            critical = f"{incident.kind.value}.{step.step}" in settings.critical
            not_before = step.at
            if is_sms and settings.sms_quiet_hours and not critical and quiet.contains(not_before):
                not_before = quiet.end_after(not_before)
            if step.expires_at is not None and not_before >= step.expires_at:
                continue
            context = MessageContext(
                incident=incident,
                phase=step.phase,
                step=step.step,
                is_ops=recipient.is_ops,
                reminder_hours=step.reminder_hours,
                repeat=step.repeat,
                previous_start=previous.starts_at if previous is not None and step.step == "changed" else None,
                previous_end=previous.ends_at if previous is not None and step.step == "changed" else None,
            )
            out.append(
                PlannedMessage(
                    dedupe_key=dedupe_key(recipient.id, incident.incident_id, step.phase, key_channel),
                    recipient=recipient.id,
                    address=endpoint.address,
                    incident_ids=(incident.incident_id,),
                    phase=step.phase,
                    channel=endpoint.channel,
                    not_before=not_before,
                    critical=critical,
                    template=template_base(incident, step.step, recipient),
                    context=context,
                    expires_at=step.expires_at,
                    fallbacks=endpoint.fallbacks,
                )
            )
    return out


def plan(
    incident: Incident,
    previous: Incident | None,
    recipients_in_scope: Iterable[Recipient],
    now: datetime,
    settings: PlanSettings,
) -> list[PlannedMessage]:
    """:func:`plan_for` over ``recipients_in_scope`` (include the ops recipient to reach ops).

    For a platform-wide incident and many merchants, stream recipients through :func:`plan_for`
    instead of materialising this list.
    """
    return [m for r in recipients_in_scope for m in plan_for(incident, previous, r, now, settings)]


def group(planned: Iterable[PlannedMessage]) -> list[MessageGroup]:
    """Merge messages for the same recipient, channel and address due at the same instant.

    Keeps first-seen order; a key seen twice counts once. A lone message becomes a one-part group.
    """
    buckets: dict[tuple[str, str, str, datetime], dict[str, PlannedMessage]] = {}
    for m in planned:
        bucket = buckets.setdefault((m.recipient, m.channel, m.address, m.not_before), {})
        bucket.setdefault(m.dedupe_key, m)
    return [
        MessageGroup(recipient, channel, address, not_before, tuple(parts.values()))
        for (recipient, channel, address, not_before), parts in buckets.items()
    ]


def next_due(planned: Iterable[PlannedMessage], now: datetime) -> datetime | None:
    """The earliest ``not_before`` after ``now`` (e.g. the end of quiet hours); None if none."""
    future = [m.not_before for m in planned if m.not_before > now]
    return min(future) if future else None


def next_wakeup(incident: Incident, now: datetime, settings: PlanSettings) -> datetime | None:
    """The earliest instant after ``now`` at which re-planning ``incident`` can yield a new message.

    Covers reminder times, the window start, the next outage repeat and the end of a silence.
    Quiet-hour deferrals are in the plan itself (:func:`next_due`). None: nothing pending.
    """
    times: list[datetime] = []
    if incident.phase.is_open:
        start = incident.starts_at
        if incident.kind is IncidentKind.MAINTENANCE and start is not None:
            times.append(start)
            times.extend(start - timedelta(hours=h) for h in settings.reminders)
        if incident.kind is IncidentKind.OUTAGE and incident.phase is Phase.ACTIVE:
            elapsed = (now - incident.opened_at).total_seconds()
            n = math.floor(elapsed / settings.outage_repeat) + 1
            times.append(incident.opened_at + timedelta(seconds=settings.outage_repeat * n))
    if incident.silenced_until is not None:
        times.append(incident.silenced_until)
    future = [t for t in times if t > now]
    return min(future) if future else None
