"""Reading the records of many sources' lists in one statement (group reads over a seen-store).

A source whose list changed (its first poll above all) reads the records of every entry on it
before deciding what is new. With thousands of sources starting together, one statement per
source is most of the first poll's database cost. :class:`KnownReads` lets the polls of one
process share statements: a caller's request joins the next read, which starts as soon as no
read is running (after the callers of the same event-loop pass have joined), and asks the store
for every waiting source in one statement (:meth:`SeenStore.get_known`).

Each caller gets what the database held *after* it asked: a request that arrives while a read
runs waits for the next read, never takes the running one's answer. So several replicas sharing
the store see each other's writes exactly as with one statement per source.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from watcher.sources.seen_model import SeenNotice, SeenStore

_Waiter = tuple[str, list[str], "asyncio.Future[dict[str, SeenNotice]]"]


class KnownReads:
    """Group reads of list records over ``store`` (one event loop). ``max_sources``: at most so
    many sources' requests a statement (the rest go in the next one)."""

    def __init__(self, store: SeenStore, *, max_sources: int = 200) -> None:
        if max_sources < 1:
            raise ValueError("max_sources must be at least 1")
        self._store = store
        self._max = max_sources
        self._waiting: list[_Waiter] = []
        self._reader: asyncio.Task[None] | None = None
        #: Statements made (for tests and benchmarks: how well requests were grouped).
        self.reads = 0

    @property
    def waiting(self) -> int:
        """Requests waiting for the next read."""
        return len(self._waiting)

    async def get_many(self, source_id: str, notice_ids: Collection[str]) -> dict[str, SeenNotice]:
        """The records of those of ``notice_ids`` that are stored for ``source_id``, by notice id,
        read after this call started. Raises what the store raised for the read it joined."""
        ids = list(dict.fromkeys(notice_ids))
        if not ids:
            return {}
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, SeenNotice]] = loop.create_future()
        self._waiting.append((source_id, ids, future))
        if self._reader is None:
            self._reader = loop.create_task(self._read_all(), name="known-reads")
        return await future

    async def _read_all(self) -> None:
        try:
            await asyncio.sleep(0)  # let the requests of the same loop pass join the first read
            while self._waiting:
                batch, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
                batch = [w for w in batch if not w[2].done()]  # a caller cancelled meanwhile
                if not batch:
                    continue
                self.reads += 1
                wanted: dict[str, list[str]] = {}
                for sid, ids, _ in batch:
                    wanted[sid] = list(dict.fromkeys([*wanted.get(sid, ()), *ids]))
                try:
                    found = await self._store.get_known(wanted)
                except BaseException as exc:
                    for _, _, future in batch:
                        if future.done():
                            pass
                        elif isinstance(exc, Exception):
                            future.set_exception(exc)
                        else:
                            future.cancel()
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for sid, ids, future in batch:
                    if not future.done():
                        mine = found.get(sid, {})
                        future.set_result({i: mine[i] for i in ids if i in mine})
        finally:
            self._reader = None
            for _, _, future in self._waiting:  # only when the reader itself was cancelled
                if not future.done():
                    future.cancel()
            self._waiting = []
