"""What the announcement watcher remembers per notice and per source (pure values), and
:class:`SeenStore`, the protocol it keeps them through (:class:`~watcher.sources.seen.SqlSeenStore`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from huabei_watch.events.common import Window


@dataclass(frozen=True, slots=True)
class SeenNotice:
    """What was last published about one notice.

    ``item_hash`` fingerprints the list entry (title, url, date, inline body) so an unchanged entry
    is not re-read; ``revision`` fingerprints the content that was understood (empty when the
    notice was only listed, never read). ``maintenance`` is True when maintenance events were
    published for it; ``windows``/``channels`` are what they said (to tell an update from a no-op).
    """

    source_id: str
    notice_id: str
    url: str
    title: str
    item_hash: str
    revision: str
    published: date | None
    kind: str
    first_seen_at: datetime
    updated_at: datetime
    maintenance: bool = False
    windows: tuple[Window, ...] = ()
    channels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceState:
    """Fetch state of one source. ``initialized_at`` is set by the first complete poll."""

    source_id: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    last_poll_at: datetime | None = None
    initialized_at: datetime | None = None
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    degraded: bool = False
    last_error: str = field(default="")


class SeenStore(Protocol):
    async def get(self, source_id: str, notice_id: str) -> SeenNotice | None:
        """The notice's record, or None if it was never recorded."""
        ...

    async def put(self, notice: SeenNotice) -> None:
        """Insert or replace the record of ``(notice.source_id, notice.notice_id)``."""
        ...

    async def source_known(self, source_id: str) -> bool:
        """Has the source ever completed a poll (so its existing notices are recorded)?"""
        ...

    async def get_state(self, source_id: str) -> SourceState:
        """The source's fetch state (an empty state for a source never polled)."""
        ...

    async def put_state(self, state: SourceState) -> None:
        """Insert or replace the source's fetch state."""
        ...
