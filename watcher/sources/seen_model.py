"""What the announcement watcher remembers per notice and per source (pure values), and
:class:`SeenStore`, the protocol it keeps them through (:class:`~watcher.sources.seen.SqlSeenStore`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
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
    ``notice_key`` is the notice's identity across sources, under which its signals were published
    (see :func:`watcher.sources.notice_plan.notice_key_for`); empty until it is known.
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
    notice_key: str = ""


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


#: Polls counted per (source id, hour): (polls, failed polls), for the status page's poll-health strip.
PollCounts = Mapping[tuple[str, datetime], tuple[int, int]]


class SeenStore(Protocol):
    """What the announcement watchers keep in the database. Every method is one statement or one
    transaction whatever the number of notices or sources, so a poll costs the same for a list of
    3 or of 300 entries."""

    async def get_many(self, source_id: str, notice_ids: Collection[str]) -> dict[str, SeenNotice]:
        """The records of those of ``notice_ids`` that were recorded, by notice id."""
        ...

    async def get_known(self, wanted: Mapping[str, Collection[str]]) -> dict[str, dict[str, SeenNotice]]:
        """The records of many sources' notices (``wanted``: notice ids by source id) in one
        statement whatever the number of sources: by source id, then notice id (sources with no
        record left out)."""
        ...

    async def save(self, notices: Sequence[SeenNotice], state: SourceState | None = None) -> None:
        """Insert or replace the records (keeping each one's first-seen time) and, when given, the
        source's state, in one transaction."""
        ...

    async def load_states(self) -> dict[str, SourceState]:
        """Every source's stored state, by source id."""
        ...

    async def save_states(
        self, states: Sequence[SourceState], polls: PollCounts, checked: Mapping[str, datetime] | None = None,
        *, notices: Sequence[SeenNotice] = (),
    ) -> None:
        """Insert or replace ``notices`` (as :meth:`save`; records of the sources of ``states``) and
        these states, set the time of the last poll of the sources in
        ``checked`` (stored already, nothing else changed: the time by source id), and add ``polls``
        to the hourly poll counts, in one transaction."""
        ...

    async def maintenance_notices(self, ending_after: datetime) -> list[SeenNotice]:
        """Every record whose maintenance was published and whose last window ends after
        ``ending_after`` (the candidates for a detail re-check)."""
        ...
