"""Which detail pages to read again although the list did not change (pure: ``now`` passed in).

A platform may edit a notice's page (a postponed window) without touching its list entry, so a
watcher that reads only changed list entries would miss the edit. :class:`Rechecks` keeps, per
source, the notices whose maintenance was published and whose windows are still ahead, and hands
out at most one a poll whose page was not checked for ``every`` seconds; the watcher reads it with
a conditional GET (the page's ``ETag``/``Last-Modified`` are kept here) and treats a changed text
as an edit. A notice leaves once its last window is over or it is no longer maintenance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from watcher.sources.seen_model import SeenNotice


@dataclass(frozen=True, slots=True)
class Watched:
    """A notice to re-check: its record, when it is next due, and its page's validators."""

    notice: SeenNotice
    due: datetime
    etag: str | None = None
    last_modified: str | None = None
    page_hash: str = ""


def ahead(notice: SeenNotice, now: datetime) -> bool:
    """True when the notice's maintenance was published and a window of it is not over yet."""
    return notice.maintenance and any(
        (w.end or w.start) > now and w.status != "cancelled" for w in notice.windows
    )


class Rechecks:
    """The watched notices of one source."""

    def __init__(self, every: float) -> None:
        if every <= 0:
            raise ValueError("every must be positive")
        self.every = timedelta(seconds=every)
        self._watched: dict[str, Watched] = {}

    def __len__(self) -> int:
        return len(self._watched)

    def __contains__(self, notice_id: object) -> bool:
        return notice_id in self._watched

    def track(self, notice: SeenNotice, now: datetime, *, read_now: bool) -> None:
        """Follow the notice's latest record: watched while :func:`ahead`, forgotten otherwise.
        ``read_now``: its page was just read, so the next check is ``every`` from now; a notice
        first seen through the database is due at once."""
        if not ahead(notice, now):
            self._watched.pop(notice.notice_id, None)
            return
        old = self._watched.get(notice.notice_id)
        due = now + self.every if read_now else (old.due if old is not None else now)
        self._watched[notice.notice_id] = (
            replace(old, notice=notice, due=due) if old is not None else Watched(notice, due)
        )

    def next_due(self, now: datetime, skip: frozenset[str] = frozenset()) -> Watched | None:
        """The watched notice due longest ago (not in ``skip``), dropping those now over."""
        for notice_id in [k for k, w in self._watched.items() if not ahead(w.notice, now)]:
            del self._watched[notice_id]
        due = [w for w in self._watched.values() if w.due <= now and w.notice.notice_id not in skip]
        return min(due, key=lambda w: w.due) if due else None

    def checked(
        self, notice_id: str, now: datetime, *, etag: str | None, last_modified: str | None, page_hash: str
    ) -> None:
        """Its page was read (or found unchanged) at ``now``: next due ``every`` later."""
        old = self._watched.get(notice_id)
        if old is not None:
            self._watched[notice_id] = replace(
                old, due=now + self.every, etag=etag, last_modified=last_modified, page_hash=page_hash or old.page_hash
            )

    def postpone(self, notice_id: str, now: datetime) -> None:
        """Reading the page failed: try again ``every`` later."""
        old = self._watched.get(notice_id)
        if old is not None:
            self._watched[notice_id] = replace(old, due=now + self.every)
