"""Health probes, the I/O shell: run checks, fold results into hysteresis, publish changes.

Checkers (:func:`check_http`, :func:`check_tcp`, :func:`check_dns`) never raise for anything the
target does: timeouts, refused connections, TLS and DNS failures come back as a
:class:`ProbeObservation` with ``ok=False`` and a short ``detail``. :class:`ProbeRunner` is what the
scheduler calls (:meth:`ProbeRunner.run_once`); it publishes ``huabei.health.down`` /
``huabei.health.up`` only on state changes (decision 1: state changes, never raw observations).
Each probe is a poller of the shared :class:`~watcher.sources.poll_health.PollTracker` (interval
with jitter; its target logged unavailable and back once each, at the probe's thresholds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import aiohttp

from huabei_watch.bus.publish import Publisher
from huabei_watch.clock import Clock
from huabei_watch.errors import PermanentError, TransientError
from huabei_watch.events.base import Event, EventData
from huabei_watch.events.signals import ProbeObservation
from watcher.sources.poll_health import PollHealth, PollTracker
from watcher.sources.probe_conditions import HttpFacts, http_problems
from watcher.sources.probe_config import AnyProbe, DnsProbe, HttpProbe, TcpProbe
from watcher.sources.probe_hours import HourlySummaries
from watcher.sources.probe_state import (
    Health,
    ProbeMeta,
    ProbeState,
    Thresholds,
    Transition,
    current_transition,
    health_event,
    observe,
    resume,
)

log = logging.getLogger(__name__)

#: Bodies are read up to this size for JSON / regex conditions; more is not parsed.
MAX_BODY_BYTES = 1024 * 1024


def _elapsed_ms(clock: Clock, start: float) -> float:
    return round((clock.monotonic() - start) * 1000.0, 1)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text[:200] if text else type(exc).__name__


async def check_http(probe: HttpProbe, session: aiohttp.ClientSession, clock: Clock) -> ProbeObservation:
    """One HTTP(S) request; ``ok`` iff every condition of ``probe`` holds.

    ``latency_ms`` runs from sending the request to having read what the conditions need (headers,
    and the body when a JSON or regex condition is set). For ``min_cert_days`` a second, short TLS
    connection to the same host and port reads the server certificate (also with
    ``verify_tls = false``); the whole check stays within ``timeout``.
    """
    at = clock.now()
    start = clock.monotonic()
    headers = dict(probe.headers)
    headers.update({k: v.get_secret_value() for k, v in probe.secret_headers.items()})
    try:
        async with asyncio.timeout(probe.timeout):
            async with session.request(
                probe.method,
                probe.url,
                headers=headers,
                data=probe.body.encode() if probe.body is not None else None,
                ssl=probe.verify_tls,
                allow_redirects=False,
            ) as resp:
                body, truncated = (await _read_capped(resp)) if probe.needs_body() else (None, False)
                status, charset = resp.status, resp.charset
            latency_ms = _elapsed_ms(clock, start)
            not_after, cert_error = (await _server_not_after(probe.url)) if probe.min_cert_days is not None else (None, None)
    except TimeoutError:
        return ProbeObservation(at=at, ok=False, latency_ms=_elapsed_ms(clock, start), detail=f"timeout after {probe.timeout:g} s")
    except aiohttp.ClientConnectorCertificateError as exc:
        return ProbeObservation(at=at, ok=False, detail=f"TLS certificate rejected: {_describe(exc.certificate_error)}")
    except aiohttp.ClientSSLError as exc:
        return ProbeObservation(at=at, ok=False, detail=f"TLS error: {_describe(exc)}")
    except aiohttp.ClientConnectorError as exc:
        return ProbeObservation(at=at, ok=False, detail=f"connection failed: {_describe(exc.os_error)}")
    except aiohttp.ServerDisconnectedError:
        return ProbeObservation(at=at, ok=False, detail="server closed the connection without a response")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        # ValueError: aiohttp rejects some malformed responses / URLs with it.
        return ProbeObservation(at=at, ok=False, detail=f"request failed: {type(exc).__name__}: {_describe(exc)}")
    facts = HttpFacts(
        status=status,
        latency_ms=latency_ms,
        body=body,
        body_truncated=truncated,
        charset=charset,
        cert_not_after=not_after,
        cert_error=cert_error,
    )
    problems = http_problems(probe, facts, clock.now())
    detail = "; ".join(problems) if problems else f"status {facts.status}"
    return ProbeObservation(at=at, ok=not problems, latency_ms=facts.latency_ms, detail=detail)


async def _read_capped(resp: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks)[:MAX_BODY_BYTES], True
    return b"".join(chunks), False


async def _server_not_after(url: str) -> tuple[datetime | None, str | None]:
    """notAfter of the certificate the server of ``url`` presents, read on a TLS connection of its
    own (aiohttp hands a finished connection back to its pool before the response is seen, so the
    request's own connection is out of reach). Not verified here: trust is the request's business.
    Returns ``(not_after, None)`` or ``(None, why not)``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        _reader, writer = await asyncio.open_connection(host, parts.port or 443, ssl=ctx, server_hostname=host)
    except (OSError, ssl.SSLError) as exc:
        return None, f"certificate not read: {_describe(exc)}"
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if isinstance(ssl_object, ssl.SSLObject) else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if not der:
        return None, "no TLS certificate to check"
    from cryptography import x509  # here: its bindings weigh ~7 MB of RSS, needed only for TLS expiry checks

    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc, None
    except ValueError:
        return None, "certificate not readable"


async def check_tcp(probe: TcpProbe, clock: Clock) -> ProbeObservation:
    """A TCP connect; ``ok`` iff the connection is established within the timeout (then closed)."""
    at = clock.now()
    start = clock.monotonic()
    try:
        async with asyncio.timeout(probe.timeout):
            _reader, writer = await asyncio.open_connection(probe.host, probe.port)
    except TimeoutError:
        return ProbeObservation(at=at, ok=False, latency_ms=_elapsed_ms(clock, start), detail=f"timeout after {probe.timeout:g} s")
    except ConnectionRefusedError:
        return ProbeObservation(at=at, ok=False, detail="connection refused")
    except socket.gaierror as exc:
        return ProbeObservation(at=at, ok=False, detail=f"name not resolved: {exc.strerror or exc}")
    except OSError as exc:
        return ProbeObservation(at=at, ok=False, detail=f"connection failed: {exc.strerror or _describe(exc)}")
    latency = _elapsed_ms(clock, start)
    writer.close()
    with contextlib.suppress(OSError):  # the peer may reset on close; the connect already succeeded
        await writer.wait_closed()
    return ProbeObservation(at=at, ok=True, latency_ms=latency, detail="connected")


async def check_dns(probe: DnsProbe, clock: Clock) -> ProbeObservation:
    """A lookup through the system resolver (getaddrinfo); see :class:`DnsProbe` for success."""
    at = clock.now()
    start = clock.monotonic()
    family = socket.AF_INET if probe.record_type == "A" else socket.AF_INET6
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(probe.timeout):
            infos = await loop.getaddrinfo(probe.name, None, family=family, type=socket.SOCK_STREAM)
    except TimeoutError:
        return ProbeObservation(at=at, ok=False, latency_ms=_elapsed_ms(clock, start), detail=f"timeout after {probe.timeout:g} s")
    except socket.gaierror as exc:
        return ProbeObservation(at=at, ok=False, detail=f"name not resolved: {exc.strerror or exc}")
    except (OSError, UnicodeError) as exc:
        return ProbeObservation(at=at, ok=False, detail=f"lookup failed: {_describe(exc)}")
    latency = _elapsed_ms(clock, start)
    found = sorted({str(info[4][0]) for info in infos})
    if not found:
        return ProbeObservation(at=at, ok=False, latency_ms=latency, detail=f"no {probe.record_type} record")
    missing = [a for a in probe.expected_addresses or () if a not in found]
    if missing:
        return ProbeObservation(
            at=at, ok=False, latency_ms=latency, detail=f"resolved to {', '.join(found)}; missing {', '.join(missing)}"
        )
    return ProbeObservation(at=at, ok=True, latency_ms=latency, detail=f"resolved to {', '.join(found)}")


@dataclass(frozen=True, slots=True)
class ProbeStatus:
    """One row of the status page."""

    probe_id: str
    kind: str
    target: str
    health: Health
    since: datetime | None
    last: ProbeObservation | None
    streak_ok: bool | None
    streak_len: int
    pending_events: int


@dataclass(slots=True)
class _Slot:
    probe: AnyProbe
    rule: Thresholds
    meta: ProbeMeta
    state: ProbeState
    pending: list[Transition]
    lock: asyncio.Lock
    tracker: PollTracker
    health: PollHealth


class ProbeRunner:
    """Runs configured probes on demand and publishes their state changes.

    ``run_once(probe_id)`` is the scheduler job. A publish that fails with TransientError keeps the
    event pending; every later ``run_once`` of that probe (and :meth:`republish`) retries the
    pending events first-in first-out, so a state change is published late but never lost while the
    process lives. Runs of one probe are serialised; different probes run concurrently.

    Persistence is the caller's: save :meth:`states` after runs, pass them back as ``restored`` at
    start-up, then call :meth:`republish` (deterministic ids make the repeats harmless).
    """

    def __init__(
        self,
        probes: Sequence[AnyProbe],
        publisher: Publisher,
        clock: Clock,
        session: aiohttp.ClientSession,
        *,
        restored: Mapping[str, ProbeState] | None = None,
    ) -> None:
        self._publisher = publisher
        self._clock = clock
        self._session = session
        self._slots: dict[str, _Slot] = {}
        #: Per-hour check summaries not yet saved (the role saves them with the states).
        self.hours = HourlySummaries()
        for p in probes:
            if p.id in self._slots:
                raise PermanentError(f"probe id {p.id!r} is configured twice")
            self._slots[p.id] = _Slot(
                probe=p,
                rule=Thresholds(p.failure_threshold, p.success_threshold),
                meta=ProbeMeta(probe_id=p.id, target=p.target(), scope=p.scope_value(), channels=p.channels),
                state=ProbeState(),
                pending=[],
                lock=asyncio.Lock(),
                # The target's availability: unavailable and back after the probe's thresholds.
                tracker=PollTracker("probe", p.id, p.interval, p.jitter, p.failure_threshold, p.success_threshold),
                health=PollHealth(),
            )
        for probe_id, saved in (restored or {}).items():
            self.restore(probe_id, saved)

    @property
    def probes(self) -> tuple[AnyProbe, ...]:
        return tuple(s.probe for s in self._slots.values())

    def restore(self, probe_id: str, saved: ProbeState) -> None:
        """Start ``probe_id`` from a saved state (its streak forgotten). Unknown ids are ignored with
        a log line: a probe removed from the configuration leaves stale saved state behind."""
        slot = self._slots.get(probe_id)
        if slot is None:
            log.info("probe.restore_ignored", extra={"probe_id": probe_id})
            return
        slot.state = resume(saved)
        slot.health = PollHealth(unavailable=slot.state.health is Health.DOWN, failing_since=slot.state.since
                                 if slot.state.health is Health.DOWN else None)

    def tracker(self, probe_id: str) -> PollTracker:
        """The poller rules of one probe (interval, jitter, thresholds)."""
        return self._slots[probe_id].tracker

    def states(self) -> dict[str, ProbeState]:
        """Current state of every probe, for persistence (``ProbeState`` is JSON-serialisable)."""
        return {pid: s.state for pid, s in self._slots.items()}

    def state_snapshot(self) -> tuple[ProbeStatus, ...]:
        """Status-page rows, in configuration order."""
        return tuple(
            ProbeStatus(
                probe_id=pid,
                kind=s.probe.kind,
                target=s.meta.target,
                health=s.state.health,
                since=s.state.since,
                last=s.state.last,
                streak_ok=s.state.streak_ok,
                streak_len=s.state.streak_len,
                pending_events=len(s.pending),
            )
            for pid, s in self._slots.items()
        )

    async def run_once(self, probe_id: str) -> ProbeObservation:
        """Check once, fold the result into the hysteresis, publish any change (and older pending
        ones); return the observation. Raises PermanentError for an unknown probe id; publishing
        problems are logged, not raised. An exception from a checker itself (a bug, not a target
        failure) propagates and records nothing, so a bug is never mistaken for an outage."""
        slot = self._slots.get(probe_id)
        if slot is None:
            raise PermanentError(f"no probe with id {probe_id!r}")
        async with slot.lock:
            obs = await self._check(slot.probe)
            slot.state, change = observe(slot.rule, slot.state, obs)
            self.hours.add(probe_id, obs)
            slot.health = (slot.tracker.succeeded(slot.health, obs.at) if obs.ok
                           else slot.tracker.failed(slot.health, obs.at, obs.detail))
            if change is not None:
                slot.pending.append(change)
            await self._flush(slot)
            return obs

    async def republish(self) -> int:
        """Publish again the event that set each probe's current health (after a broker restart or
        at start-up after a restore), or its pending events. Returns how many events went out."""
        sent = 0
        for slot in self._slots.values():
            async with slot.lock:
                if not slot.pending and (current := current_transition(slot.state)) is not None:
                    slot.pending.append(current)
                sent += await self._flush(slot)
        return sent

    async def reassert_down(self) -> int:
        """Publish again the "down" of every probe that is still down, with its newest observations
        as evidence (same event id: the incident engine takes it as a renewal). Without this an
        outage seen only by probes would go stale and resolve itself while the target is down."""
        sent = 0
        for slot in self._slots.values():
            async with slot.lock:
                st = slot.state
                if st.health is not Health.DOWN or not st.announced or st.since is None or not st.recent:
                    continue
                newest = {o.at: o for o in (*st.evidence, *st.recent)}
                evidence = tuple(newest[k] for k in sorted(newest))[-20:]
                slot.pending.append(Transition(health=Health.DOWN, since=st.since, at=st.recent[-1].at, evidence=evidence))
                sent += await self._flush(slot)
        return sent

    async def _check(self, probe: AnyProbe) -> ProbeObservation:
        if isinstance(probe, HttpProbe):
            return await check_http(probe, self._session, self._clock)
        if isinstance(probe, TcpProbe):
            return await check_tcp(probe, self._clock)
        return await check_dns(probe, self._clock)

    async def _flush(self, slot: _Slot) -> int:
        sent = 0
        while slot.pending:
            event = health_event(slot.meta, slot.pending[0])
            try:
                # Event is invariant in its data type; Publisher takes any event.
                await self._publisher.publish(cast("Event[EventData]", event))
            except TransientError as exc:
                log.warning(
                    "probe.publish_deferred",
                    extra={"probe_id": slot.meta.probe_id, "event_id": event.id, "reason": exc.reason,
                           "pending": len(slot.pending)},
                )
                return sent
            except PermanentError as exc:
                # Retrying cannot help; keep the queue moving so later changes still go out.
                log.error(
                    "probe.publish_dropped",
                    extra={"probe_id": slot.meta.probe_id, "event_id": event.id, "reason": exc.reason},
                )
            else:
                sent += 1
                log.info("probe.published", extra={"probe_id": slot.meta.probe_id, "event_id": event.id,
                                                   "type": event.type})
            slot.pending.pop(0)
        return sent


class JobScheduler(Protocol):
    """The part of an APScheduler 3.x scheduler that :func:`schedule_probes` uses."""

    def add_job(self, func: Callable[..., Awaitable[Any]], trigger: str, **kwargs: Any) -> object: ...


def schedule_probes(
    scheduler: JobScheduler, runner: ProbeRunner, *, first_run: datetime | None = None, jobstore: str = "default"
) -> list[str]:
    """Add one interval job per probe (id ``probe:<probe id>``) and return the job ids.

    ``jobstore`` must be a memory store: the job is a bound method of ``runner``, which holds an
    HTTP session and cannot be pickled. Runs of one probe never overlap (``max_instances=1``); runs
    missed while the loop was busy collapse into one (``coalesce``).
    """
    ids: list[str] = []
    for probe in runner.probes:
        job_id = f"probe:{probe.id}"
        extra: dict[str, Any] = {"next_run_time": first_run} if first_run is not None else {}
        scheduler.add_job(
            runner.run_once,
            **runner.tracker(probe.id).job(),
            args=(probe.id,),
            id=job_id,
            name=f"health probe {probe.id}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=300,
            jobstore=jobstore,
            **extra,
        )
        ids.append(job_id)
    return ids
