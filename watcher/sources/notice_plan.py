"""What to publish about one read notice, and what to remember (pure: no I/O, ``now`` passed in).

The announcement watcher reads a notice, asks the notice understanding what it says, and calls
:func:`plan_notice` with what it remembered from before. Event ids follow from the event type,
source, notice id and content revision, so a re-poll or a second replica plans identical events.

Signals name a notice by its identity across sources (:func:`notice_key_for`): the same notice on
a list page and in a feed, or watched by several sources or watchers, is one notice downstream
(one incident, one message per phase).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Protocol

from huabei_watch.clock import SHANGHAI
from huabei_watch.events.base import Event, EventData
from huabei_watch.events.common import Window
from huabei_watch.events.signals import (
    ANNOUNCEMENT_PUBLISHED,
    MAINTENANCE_CANCELLED,
    MAINTENANCE_SCHEDULED,
    MAINTENANCE_UPDATED,
    AnnouncementPublished,
    MaintenanceSignal,
)
from watcher.sources.extract import NoticeRef, notice_id_for_url, stable_id
from watcher.sources.seen_model import SeenNotice

MAX_TEXT = 20_000
DEFAULT_MAINTENANCE_KINDS = frozenset({"maintenance", "upgrade"})


class Understanding(Protocol):
    """The part of ``watcher.notices.NoticeUnderstanding`` the watcher reads."""

    @property
    def kind(self) -> str: ...
    @property
    def windows(self) -> Sequence[Window]: ...
    @property
    def channels(self) -> Sequence[str]: ...
    @property
    def products(self) -> Sequence[str]: ...
    @property
    def huabei_affected(self) -> bool: ...
    @property
    def confidence(self) -> float: ...
    @property
    def needs_review(self) -> bool: ...
    def metric_labels(self) -> tuple[str, str]:
        """(kind, "true"/"false" for needs_review): the labels of the notices-understood counter."""
        ...


class Understand(Protocol):
    """``watcher.notices.understand``: never raises on any text."""

    def __call__(self, text: str, *, published: date, title: str = "") -> Understanding: ...


@dataclass(frozen=True, slots=True)
class NoticePlan:
    events: tuple[Event[EventData], ...]
    record: SeenNotice


def fingerprint(*parts: str) -> str:
    """16 hex digits of sha256 over the parts (separated so ("a","bc") != ("ab","c"))."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def item_hash(ref: NoticeRef) -> str:
    """Fingerprint of a list entry: when it is unchanged the detail page is not read again."""
    return fingerprint(ref.url, ref.title, ref.published.isoformat() if ref.published else "", ref.body or "")


def revision_of(title: str, text: str) -> str:
    """Fingerprint of a notice's content (title and body text)."""
    return fingerprint(title.strip(), text.strip())


def url_key(ref: NoticeRef) -> str:
    """The identity a notice's own page gives it ("" when the entry names no page)."""
    return ref.url_key or (notice_id_for_url(ref.detail_url) if ref.detail_url else "")


def content_key(title: str, windows: Sequence[Window]) -> str:
    """The identity of a notice with no page of its own: its title and windows (start and end as
    instants, so the time zone they were written in does not matter)."""
    spans = ";".join(f"{w.start.timestamp():.0f}-{w.end.timestamp():.0f}" if w.end else f"{w.start.timestamp():.0f}-"
                     for w in windows)
    return stable_id("content:" + " ".join(title.split()) + "\x1f" + spans)


def notice_key_for(ref: NoticeRef, prev: SeenNotice | None, title: str, windows: Sequence[Window]) -> str:
    """The notice's identity across sources, under which its signals are published.

    Kept for life once published (``prev.notice_key``; a record from before identities has its
    notice id), so an edit addresses the same incidents; otherwise the canonical detail URL
    (:func:`~watcher.sources.extract.canonical_url`), else a fingerprint of title and windows.
    """
    return _kept_key(prev) or url_key(ref) or content_key(title, windows)


def _kept_key(prev: SeenNotice | None) -> str:
    if prev is None:
        return ""
    if prev.notice_key:
        return prev.notice_key
    # Read and published before identities existed: keep the notice id it was published under.
    return prev.notice_id if prev.revision else ""


def published_at(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0, 0), tzinfo=SHANGHAI) if day else None


def _kind(value: object) -> str:
    raw = getattr(value, "value", value)
    return str(raw)


def _window_end(w: Window) -> datetime:
    return w.end or w.start


def plan_notice(
    *,
    source_id: str,
    ref: NoticeRef,
    text: str,
    understanding: Understanding,
    prev: SeenNotice | None,
    now: datetime,
    first_poll: bool,
    maintenance_kinds: frozenset[str] = DEFAULT_MAINTENANCE_KINDS,
) -> NoticePlan:
    """Events for a notice that is new or whose content changed, and the record to keep after them.

    * first poll of a source: no announcement; a ``maintenance.scheduled`` only with the windows
      still ahead (end > now), so a long history floods no one;
    * a new notice: ``announcement.published``; for maintenance with windows still ahead,
      ``maintenance.scheduled`` with those windows;
    * an edited notice: ``announcement.published`` (edited); if it had maintenance events and
      its windows or channels changed, ``maintenance.updated`` (``.cancelled`` when every window
      is cancelled); a notice that no longer reads as maintenance gets ``.updated`` with no
      windows and ``needs_review``, so a person looks rather than the watcher guessing.
    """
    u = understanding
    kind = _kind(u.kind)
    windows = tuple(u.windows)
    channels = tuple(u.channels)
    revision = revision_of(ref.title, text)
    key = notice_key_for(ref, prev, ref.title, windows)
    is_maint = kind in maintenance_kinds and bool(windows)
    ahead = tuple(w for w in windows if _window_end(w) > now and w.status != "cancelled")
    all_cancelled = bool(windows) and all(w.status == "cancelled" for w in windows)
    when = published_at(ref.published)

    def signal(event_type: str, wins: tuple[Window, ...], *, review: bool = False) -> Event[EventData]:
        data = MaintenanceSignal(
            source_id=source_id,
            notice_id=key,
            url=ref.url,
            title=ref.title,
            revision=revision,
            windows=wins,
            channels=channels,
            products=tuple(u.products),
            huabei_affected=bool(u.huabei_affected),
            confidence=min(max(float(u.confidence), 0.0), 1.0),
            needs_review=bool(u.needs_review) or review,
            published_at=when,
        )
        return Event.build(event_type, data, time=now)

    events: list[Event[EventData]] = []
    if not first_poll:
        announcement = AnnouncementPublished(
            source_id=source_id,
            notice_id=key,
            url=ref.url,
            title=ref.title,
            text=text[:MAX_TEXT],
            published_at=when,
            revision=revision,
            edited=prev is not None,
            kind=kind,
        )
        events.append(Event.build(ANNOUNCEMENT_PUBLISHED, announcement, time=now))

    had_maint = prev is not None and prev.maintenance
    maint_published = had_maint
    if is_maint:
        unchanged = had_maint and prev is not None and (prev.windows, prev.channels) == (windows, channels)
        if unchanged:
            pass
        elif had_maint:
            events.append(signal(MAINTENANCE_CANCELLED if all_cancelled else MAINTENANCE_UPDATED, windows))
        elif ahead:
            events.append(signal(MAINTENANCE_SCHEDULED, ahead))
            maint_published = True
    elif had_maint:
        events.append(signal(MAINTENANCE_UPDATED, (), review=True))

    record = SeenNotice(
        source_id=source_id,
        notice_id=ref.notice_id,
        url=ref.url,
        title=ref.title,
        item_hash=item_hash(ref),
        revision=revision,
        published=ref.published,
        kind=kind,
        first_seen_at=prev.first_seen_at if prev else now,
        updated_at=now,
        maintenance=maint_published,
        windows=windows,
        channels=channels,
        notice_key=key,
    )
    return NoticePlan(tuple(events), record)


def relisted(prev: SeenNotice, ref: NoticeRef, now: datetime) -> SeenNotice:
    """The record of a notice whose list entry changed but whose content did not."""
    return replace(prev, url=ref.url, title=ref.title, item_hash=item_hash(ref), published=ref.published, updated_at=now,
                   notice_key=_kept_key(prev) or url_key(ref))


def listed_only(source_id: str, ref: NoticeRef, now: datetime) -> SeenNotice:
    """The record of a notice seen on a first poll but not read (past the first-poll reading budget)."""
    return SeenNotice(
        source_id=source_id,
        notice_id=ref.notice_id,
        url=ref.url,
        title=ref.title,
        item_hash=item_hash(ref),
        revision="",
        published=ref.published,
        kind="other",
        first_seen_at=now,
        updated_at=now,
        notice_key=url_key(ref),
    )
