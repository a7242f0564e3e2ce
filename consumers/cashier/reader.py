"""The cashier's read side: what a merchant's cashier applies now, as the policy API serves it and
the webhook pusher sends it.

:class:`PolicyReader` owns the in-memory read cache (switch states, force-on overrides, merchants
asked about), the merge of those into one merchant's state (the pure
:func:`~consumers.cashier.policy.merchant_policy_state`) and the rendering of the policy JSON with
its ETag (fallback methods left out while a maintenance takes their channel down). The role
writes through it (:meth:`PolicyReader.put`) and refreshes it
(:meth:`PolicyReader.refresh`); the API and the pusher only read.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from consumers.cashier.fallbacks import channels_down, next_down_change
from consumers.cashier.model import CashierState, Mode
from consumers.cashier.policy import PLATFORM, merchant_policy_state
from consumers.cashier.store import CashierStore
from consumers.cashier.view import PolicyView, etag
from huabei_watch.clock import Clock
from huabei_watch.events import Incident
from huabei_watch.merchants.model import Merchant, MerchantAccess
from huabei_watch.merchants.registry import MerchantRegistry

#: Rendered policies kept at most (then the cache starts over); merchants remembered at most.
MAX_RENDERED = 100_000
MAX_MERCHANTS = 200_000
#: Merchant ids per registry query when reading misses in a batch.
LOAD_BATCH = 500
#: Registries up to this size are kept in memory as an access index (id, mode, token hash).
MAX_INDEXED = 500_000
#: A re-read of the index asks for merchants written since the previous read started, less this
#: margin (a write whose timestamp was taken before that start but committed after it; clocks of
#: writers on other hosts a little behind this one's).
INDEX_OVERLAP = timedelta(seconds=60)
#: The index is read whole again at least this often (seconds), whatever the re-reads of changes found.
INDEX_FULL_EVERY = 3600.0


class PolicyReader:
    """Switch states, overrides and the open maintenance incidents that take pay channels down,
    kept in memory, refreshed after every change this process makes and at least every ``ttl``
    seconds (changes made by another cashier process show within that); a merchant's changed mode
    or token is served within ``merchant_ttl`` seconds (plus the time of one read), a removed one
    is forgotten within that too. ``incidents_for``: how long an incident counts after
    it was last heard (``cashier.off_ttl``)."""

    def __init__(
        self, store: CashierStore, registry: MerchantRegistry, clock: Clock, view: PolicyView, *,
        ttl: float = 2.0, merchant_ttl: float = 30.0, incidents_for: timedelta = timedelta(minutes=15),
    ) -> None:
        self._store = store
        self._registry = registry
        self._clock = clock
        self._view = view
        self._ttl = ttl
        self._merchant_ttl = merchant_ttl
        self._states: dict[str, CashierState] = {}
        self._forced: dict[str, set[str]] = {}
        self._incidents_for = incidents_for
        #: Open maintenance incidents that take pay channels down (fallbacks avoid those channels).
        self._maintenance: list[Incident] = []
        self._loaded = -1e18
        self._merchants: dict[str, tuple[Merchant | None, float]] = {}
        #: Merchants asked about and not remembered, waiting for the next batched registry read.
        self._wanted: dict[str, asyncio.Future[Merchant | None]] = {}
        self._loader: asyncio.Task[None] | None = None
        #: Every merchant's access (id, mode, token hash), its changes re-read every ``merchant_ttl``
        #: seconds in the background; None until first read, or when the registry is larger than MAX_INDEXED.
        self._index: dict[str, MerchantAccess] | None = None
        self._index_at = -1e18
        #: When the last read of the index started: on the clock (``now``, what writers stamp
        #: ``updated_at`` with) and monotonic for the last whole read.
        self._index_since: datetime | None = None
        self._index_full_at = -1e18
        #: Reads of the index finished, and merchant rows they read (whole reads and changes): for
        #: tests and benchmarks.
        self.index_reads = 0
        self.index_rows_read = 0
        self._indexing: asyncio.Task[None] | None = None
        self._index_too_big = False
        self._lock = asyncio.Lock()
        #: Bumped whenever the cached states change: rendered policies of an older one are stale.
        self._generation = 0
        #: (merchant id, or "" for the shared rendering, mode) -> (generation, valid until, body, etag).
        self._rendered: dict[tuple[str, str], tuple[int, datetime | None, bytes, str]] = {}

    # -- writes (the role) -------------------------------------------------------------------------
    async def refresh(self) -> None:
        """Re-read the switches and overrides. Never goes back in time: a switch this process wrote
        (:meth:`put`) while the read was under way is kept when its version is newer."""
        async with self._lock:
            stored = await self._store.states()
            forced = await self._store.all_forced_on(self._clock.now())
            heard = await self._store.heard_incidents(self._clock.now() - self._incidents_for)
            self._maintenance = [i for i in heard if i.unavailable_channels and i.phase.is_open]
            merged = dict(self._states)
            for subject, state in stored.items():
                known = merged.get(subject)
                if known is None or state.version >= known.version:
                    merged[subject] = state
            self._states, self._forced = merged, forced
            self._loaded = self._clock.monotonic()
            self._invalidate()

    def put(self, state: CashierState) -> None:
        """Write-through of a switch this process just committed: readers get it from the moment
        the commit returns, not from the next refresh. An older version than the one held is ignored."""
        known = self._states.get(state.merchant_id)
        if known is None or state.version > known.version:
            self._states[state.merchant_id] = state
            self._invalidate()

    def _invalidate(self) -> None:
        self._generation += 1
        self._rendered.clear()

    async def _fresh(self) -> None:
        if self._clock.monotonic() - self._loaded > self._ttl:
            await self.refresh()

    # -- reads (policy API, pusher, diagnose) --------------------------------------------------------
    async def merchant(self, merchant_id: str) -> Merchant | None:
        """The registry's merchant (None: unknown), remembered for ``merchant_ttl`` seconds. Misses
        are read in batches: every merchant asked about while a registry read is under way is read
        by the next one, in one query (100,000 merchants polled at random would otherwise cost one
        query per request, queued on the connection pool). A failed read raises its error (a
        :class:`~huabei_watch.errors.TransientError`: 503) in every request that waited for it."""
        hit = self._merchants.get(merchant_id)
        if hit is not None and self._clock.monotonic() - hit[1] <= self._merchant_ttl:
            return hit[0]
        wanted = self._wanted.get(merchant_id)
        if wanted is None:
            wanted = self._wanted[merchant_id] = asyncio.get_running_loop().create_future()
            if self._loader is None or self._loader.done():
                self._loader = asyncio.create_task(self._load_wanted())
        return await asyncio.shield(wanted)  # a cancelled request must not cancel the others' wait

    async def _load_wanted(self) -> None:
        while self._wanted:
            batch, self._wanted = self._wanted, {}
            ids = list(batch)
            try:
                found: dict[str, Merchant] = {}
                for i in range(0, len(ids), LOAD_BATCH):
                    found.update((m.id, m) for m in await self._registry.get_many(ids[i : i + LOAD_BATCH]))
            except Exception as exc:  # handed to every waiter, who raises it
                for fut in batch.values():
                    if not fut.done():
                        fut.set_exception(exc)
                        fut.add_done_callback(lambda f: f.exception())  # retrieved even if nobody waits now
                continue
            now = self._clock.monotonic()
            if len(self._merchants) + len(batch) > MAX_MERCHANTS:
                self._merchants.clear()
            for merchant_id, fut in batch.items():
                m = found.get(merchant_id)
                self._merchants[merchant_id] = (m, now)
                if not fut.done():
                    fut.set_result(m)

    async def access(self, merchant_id: str) -> MerchantAccess | None:
        """Who may read ``merchant_id``'s policy and its mode (None: unknown merchant). Served from
        an in-memory index of the whole registry (the policy API's hot path: 100,000 merchants
        polled at random never wait for the database), brought up to date in the background every
        ``merchant_ttl`` seconds (:meth:`refresh_index`); the first call waits for the first read. A
        merchant added since the last read, or a registry over MAX_INDEXED merchants, is read
        through :meth:`merchant`."""
        if not self._index_too_big:
            if self._clock.monotonic() - self._index_at > self._merchant_ttl and (
                    self._indexing is None or self._indexing.done()):
                self._indexing = asyncio.create_task(self.refresh_index())
                # a failed background re-read is retried at the next call; its error is not lost there
                self._indexing.add_done_callback(lambda t: t.cancelled() or t.exception())
            if self._index is None and self._indexing is not None:
                await asyncio.shield(self._indexing)
            hit = self._index.get(merchant_id) if self._index is not None else None
            if hit is not None:
                return hit
        m = await self.merchant(merchant_id)
        return MerchantAccess(m.id, m.mode, m.token_hash) if m is not None else None

    async def refresh_index(self) -> None:
        """Bring the index up to date now (:meth:`access` runs this in the background). Usually only the merchants written since the previous read
        (``updated_at``, less :data:`INDEX_OVERLAP`) are read, then the registry's count: a count
        other than the index's size means a merchant was removed (no write path removes one, an
        operator's SQL may), and the whole registry is read again, as it is at first and every
        :data:`INDEX_FULL_EVERY` seconds."""
        started, since = self._clock.monotonic(), self._clock.now()
        index = self._index
        if index is not None and self._index_since is not None and started - self._index_full_at <= INDEX_FULL_EVERY:
            changed: dict[str, MerchantAccess] = {}
            async for page in self._registry.access_pages(changed_since=self._index_since - INDEX_OVERLAP):
                changed.update((a.id, a) for a in page)
            self.index_rows_read += len(changed)
            added = sum(1 for k in changed if k not in index)
            if len(index) + added <= MAX_INDEXED and await self._registry.count() == len(index) + added:
                index.update(changed)  # one synchronous step: readers never see half of it
                self._index_at, self._index_since = started, since
                self.index_reads += 1
                return
        fresh: dict[str, MerchantAccess] = {}
        async for page in self._registry.access_pages():
            fresh.update((a.id, a) for a in page)
            self.index_rows_read += len(page)
            if len(fresh) > MAX_INDEXED:
                self._index_too_big, self._index = True, None
                return
        self._index, self._index_at, self._index_since, self._index_full_at = fresh, started, since, started
        self.index_reads += 1

    async def state(self, merchant_id: str, mode: Mode) -> CashierState:
        """The effective switch for one merchant now (see
        :func:`~consumers.cashier.policy.merchant_policy_state`)."""
        if mode is Mode.AUTO:
            await self._fresh()
        return self._merge(merchant_id, mode, self._clock.now())

    def _merge(self, merchant_id: str, mode: Mode, now: datetime) -> CashierState:
        return merchant_policy_state(
            merchant_id, mode, self._states.get(PLATFORM), self._states.get(merchant_id),
            self._forced.get(merchant_id, set()), now,
        )

    def channels_down(self, now: datetime) -> frozenset[str]:
        """Pay channels under maintenance at ``now``, as last read into the cache."""
        return channels_down(self._maintenance, now)

    async def policy(self, merchant_id: str, mode: Mode) -> dict[str, Any]:
        """The policy JSON for one merchant now (what a webhook push carries)."""
        state = await self.state(merchant_id, mode)
        now = self._clock.now()
        return self._view.policy_json(state, now, self.channels_down(now))

    async def render(self, merchant_id: str, mode: Mode) -> tuple[bytes, str]:
        """The policy API's body and its ETag, rendered once per cache generation and reused until
        the earliest expiry among the switches it was built from (fail open on time) or the next
        start or end of a maintenance window (its channels join or leave the fallbacks). The hot
        path: cashiers poll this for every checkout."""
        await self._fresh()
        now = self._clock.now()
        # A merchant with no switch and no override of its own gets the platform's policy, and the
        # body names no merchant: all of them share one rendering per mode (100,000 merchants
        # polled at random would otherwise each be rendered again after every refresh).
        own = merchant_id in self._states or merchant_id in self._forced
        key = (merchant_id if own else "", mode.value)
        hit = self._rendered.get(key)
        if hit is not None and hit[0] == self._generation and (hit[1] is None or now < hit[1]):
            return hit[2], hit[3]
        generation = self._generation
        policy = self._view.policy_json(self._merge(merchant_id, mode, now), now, self.channels_down(now))
        body = json.dumps(policy, ensure_ascii=False).encode()
        tag = etag(policy)
        if len(self._rendered) > MAX_RENDERED:
            self._rendered.clear()
        untils = [st.until for st in (self._states.get(PLATFORM), self._states.get(merchant_id))
                  if st is not None and st.channels and st.until is not None and st.until > now]
        change = next_down_change(self._maintenance, now)
        if change is not None:
            untils.append(change)
        self._rendered[key] = (generation, min(untils, default=None), body, tag)
        return body, tag

    async def policy_message(self, merchant_id: str) -> str | None:
        """The shopper message of the merchant's current policy when Huabei is off there (for
        ``GET /v1/diagnose``); None when it is on or the merchant is unknown."""
        m = await self.access(merchant_id)
        if m is None:
            return None
        state = await self.state(merchant_id, Mode(m.mode))
        return state.message_zh if state.channels else None
