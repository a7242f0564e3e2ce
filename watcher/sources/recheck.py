"""Which detail pages to read again although the list did not change (pure: ``now`` passed in).

A platform may edit a notice's page (a postponed window) without touching its list entry, so a
watcher that reads only changed list entries would miss the edit. :class:`Rechecks` keeps, per
source, the notices whose maintenance was published and whose windows are still ahead, and hands
out at most one a poll whose page was not checked for ``every`` seconds; the watcher reads it with
a conditional GET (the page's ``ETag``/``Last-Modified`` are kept here) and treats a changed text
as an edit. A notice leaves once its last window is over or it is no longer maintenance.

Asked on every poll (a 304 too), :meth:`Rechecks.next_due` answers in constant time while nothing
is due: it keeps the earliest time at which a watched notice comes due or its windows end
(:attr:`Rechecks.wake_at`) and walks the notices only from then on.
"""

from __future__ import annotations

from collections.abc import Set
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
    over = over_at(notice)
    return over is not None and over > now


def over_at(notice: SeenNotice) -> datetime | None:
    """When the notice stops being :func:`ahead` (the end, or start, of its last window not
    cancelled); None when it never is (not maintenance, or no such window)."""
    if not notice.maintenance:
        return None
    ends = [w.end or w.start for w in notice.windows if w.status != "cancelled"]
    return max(ends) if ends else None


class Rechecks:
    """The watched notices of one source."""

    def __init__(self, every: float) -> None:
        if every <= 0:
            raise ValueError("every must be positive")
        self.every = timedelta(seconds=every)
        self._watched: dict[str, Watched] = {}
        self._wake: datetime | None = None

    @property
    def wake_at(self) -> datetime | None:
        """Before this time :meth:`next_due` hands out nothing and drops nothing (no watched notice
        comes due or ends earlier); None when nothing is watched. It may be earlier than needed
        (a notice forgotten or checked meanwhile), never later."""
        return self._wake

    def _keep(self, watched: Watched) -> None:
        self._watched[watched.notice.notice_id] = watched
        over = over_at(watched.notice)
        at = watched.due if over is None else min(watched.due, over)
        if self._wake is None or at < self._wake:
            self._wake = at

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
        self._keep(replace(old, notice=notice, due=due) if old is not None else Watched(notice, due))

    def next_due(self, now: datetime, skip: Set[str] = frozenset()) -> Watched | None:
        """The watched notice due longest ago (not in ``skip``), dropping those now over. Before
        :attr:`wake_at` it returns None at once."""
        if self._wake is None or now < self._wake:
            return None
        wake: datetime | None = None
        due: Watched | None = None
        for notice_id, w in list(self._watched.items()):
            over = over_at(w.notice)
            if over is None or over <= now:
                del self._watched[notice_id]
                continue
            at = min(w.due, over)
            wake = at if wake is None or at < wake else wake
            if w.due <= now and notice_id not in skip and (due is None or w.due < due.due):
                due = w
        self._wake = wake
        return due

    def checked(
        self, notice_id: str, now: datetime, *, etag: str | None, last_modified: str | None, page_hash: str
    ) -> None:
        """Its page was read (or found unchanged) at ``now``: next due ``every`` later."""
        old = self._watched.get(notice_id)
        if old is not None:
            self._keep(replace(
                old, due=now + self.every, etag=etag, last_modified=last_modified, page_hash=page_hash or old.page_hash
            ))

    def postpone(self, notice_id: str, now: datetime) -> None:
        """Reading the page failed: try again ``every`` later."""
        old = self._watched.get(notice_id)
        if old is not None:
            self._keep(replace(old, due=now + self.every))
