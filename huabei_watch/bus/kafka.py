"""Kafka, the only bus: a producer for events and a consumer runner with at-least-once semantics.

Consumer contract (:class:`ConsumerRunner`):

* a record is first checked against the size bound of its type, then (with a
  :class:`~huabei_watch.events.auth.Verifier`) its signature and whether its signer may produce
  its type, then its JSON depth, and only then parsed; what fails goes to the DLQ (reason
  ``unauthenticated: ...`` for a signature) unparsed;
* an offset is committed only after the handler returned (its effect succeeded);
* :class:`~huabei_watch.errors.TransientError` is retried with exponential backoff, up to
  ``kafka.max_attempts``; then, and for undecodable records and
  :class:`~huabei_watch.errors.PermanentError` or any other exception (a bug must not stop a
  consumer), the record goes to ``<topic>.dlq`` with the reason and its origin in headers, and the
  runner goes on;
* records of one partition are handled in order; partitions run concurrently; at most
  ``kafka.max_in_flight`` records are fetched and uncommitted at a time;
* on partition revoke and on shutdown, what was handled is committed; shutdown drains the batch in
  hand within a timeout, then cancels (uncommitted records are redelivered: handlers are idempotent);
  a record waiting out a retry backoff is given up at once (left uncommitted, so redelivered): the
  revoke's commit needs the runner's lock, and the group's rebalance would otherwise wait up to
  ``kafka.retry_max`` for it (seen after a broker restart as a group that stayed unassigned).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from huabei_watch import metrics
from huabei_watch.backoff import backoff_delay
from huabei_watch.clock import Clock, SystemClock
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.errors import PermanentError, TransientError
from huabei_watch.events import Event, EventData, Record, Topics, decode, encode
from huabei_watch.events.auth import FENCE_HEADER, Signer, Verifier
from huabei_watch.events.base import PreparedEvent
from huabei_watch.events.codec import check_size, headers_dict

log = logging.getLogger(__name__)

#: Each retry waits between half and all of its backoff step (records retried by several
#: consumers at once do not come back in step).
RETRY_SPREAD = (0.5, 1.0)


#: The producer's linger: records sent within 2 ms of each other share a request.
PRODUCER_LINGER_MS = 2

#: Bounds of how long a consumer's ``getmany`` waits when nothing arrives (milliseconds): the upper
#: one is how late a stop request can be noticed by an idle consumer.
IDLE_WAIT_MS = (200, 1000)


def idle_wait_ms(fetch_max_wait: float) -> int:
    """How long an idle consumer's ``getmany`` (and aiokafka's background fetch routine,
    ``consumer_timeout_ms``) waits, for a group whose fetches the broker holds up to
    ``fetch_max_wait`` seconds: as long as one hold (a shorter wait returns empty while the same
    fetch is still held, and only wakes the event loop), within :data:`IDLE_WAIT_MS`. Records that
    arrive end the wait at once, whatever its length."""
    low, high = IDLE_WAIT_MS
    return max(low, min(high, round(fetch_max_wait * 1000)))


def client_kwargs(settings: KafkaSettings, bootstrap: str) -> dict[str, Any]:
    """Connection settings shared by producer, consumer and admin client (SASL/TLS passed through)."""
    kw: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": settings.client_id,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        kw["ssl_context"] = create_ssl_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None,
            certfile=str(settings.ssl_certfile) if settings.ssl_certfile else None,
            keyfile=str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
        )
    if settings.security_protocol.startswith("SASL"):
        kw["sasl_mechanism"] = settings.sasl_mechanism
        kw["sasl_plain_username"] = settings.sasl_username
        kw["sasl_plain_password"] = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return kw


def idempotence_enabled(settings: KafkaSettings) -> bool:
    if settings.idempotence == "auto":
        return not settings.embedded
    return settings.idempotence == "on"


def producer_kwargs(settings: KafkaSettings, bootstrap: str) -> dict[str, Any]:
    """Every ``AIOKafkaProducer`` argument :meth:`Bus.start` uses (acks=all, idempotence, linger,
    request timeout; compression and batch size at aiokafka's defaults: none, 16 KB), so a
    benchmark's raw producer is configured exactly like the product's."""
    return {
        **client_kwargs(settings, bootstrap),
        "acks": "all",
        "enable_idempotence": idempotence_enabled(settings),
        "linger_ms": PRODUCER_LINGER_MS,
        # A record not acknowledged within this fails (and is dropped from the producer's
        # buffer): the broker is away; the caller keeps its event pending and retries.
        "request_timeout_ms": int(settings.publish_timeout * 1000),
    }


#: A dead-lettered value larger than this is cut to it (with ``dlq_value_bytes`` telling the
#: original size), so the DLQ record fits the producer's 1 MB request limit.
DLQ_MAX_VALUE = 512 * 1024
DLQ_MAX_HEADERS = 64 * 1024


def parse_fence(value: bytes) -> tuple[str, int] | None:
    """``(lease name, token)`` of a :data:`FENCE_HEADER` value; None when malformed."""
    name, _, token = value.decode("ascii", "replace").rpartition(":")
    return (name, int(token)) if name and token.isdigit() else None


class Fence(Protocol):
    """A lease holder's fence: records are stamped with it, and refused once it is not valid."""

    def valid(self) -> bool: ...

    def header(self) -> tuple[str, bytes]: ...


class FenceCheck(Protocol):
    """Readers' side: whether a record's fencing token was superseded."""

    async def stale(self, name: str, token: int) -> bool: ...


#: True while a consumer handles a record. What a handler publishes passes while the bus holds back
#: new records (:meth:`Bus.hold`), so the pipeline can drain: only records that start a chain
#: (an HTTP request, a poll, a timer) wait.
_HANDLING: contextvars.ContextVar[bool] = contextvars.ContextVar("huabei_handling", default=False)


class Bus:
    """Producer side. ``publish`` returns once the broker acknowledged (acks=all).

    :meth:`hold` makes every send that is not part of handling a consumed record wait (at most
    ``kafka.publish_timeout``, then TransientError) until :meth:`release`: while the embedded broker
    is recycled or restarted, nothing new enters it. ``on_sent`` callbacks see every record sent.

    With a ``signer``, every event is signed as the first principal among its type's
    :attr:`~huabei_watch.events.EventData.PRODUCERS` whose key this process holds; an event no
    held key may sign, or larger than its type's ``MAX_BYTES``, is refused (PermanentError)."""

    def __init__(self, settings: KafkaSettings, bootstrap: str, topics: Topics, *, signer: Signer | None) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.topics = topics
        self.signer = signer
        self._producer: AIOKafkaProducer | None = None
        self._open = asyncio.Event()
        self._open.set()
        self.on_sent: list[Callable[[str, Record], None]] = []
        #: Set while this process holds a lease: every record carries its token, and nothing is
        #: sent once the fence is no longer valid (the lease may be another process's).
        self.fence: Fence | None = None
        #: Records handed to the producer and not yet acknowledged or failed.
        self.in_flight = 0
        #: Records the broker acknowledged since start.
        self.sent = 0

    def hold(self) -> None:
        """Make new records wait (see the class docstring)."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    @property
    def held(self) -> bool:
        return not self._open.is_set()

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(**producer_kwargs(self.settings, self.bootstrap))
        try:
            await self._producer.start()
        except KafkaError as exc:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                await producer.stop()
            hint = ""
            if idempotence_enabled(self.settings):
                hint = (" (the idempotent producer is on: brokers without InitProducerId support, such as the "
                        "embedded one reached by address, need kafka.idempotence = \"off\")")
            raise TransientError(f"cannot connect to Kafka at {self.bootstrap}: {exc}{hint}") from None

    async def stop(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(KafkaError):
                await self._producer.stop()
            self._producer = None

    async def ensure_topics(self, names: Iterable[str] | None = None, *, with_dlq: bool = True) -> list[str]:
        """Create the missing topics (and their DLQs). Returns the names it created."""
        wanted = list(names if names is not None else self.topics.all())
        if with_dlq:
            wanted += [Topics.dlq(t) for t in wanted if not t.endswith(".dlq")]
        admin = AIOKafkaAdminClient(**client_kwargs(self.settings, self.bootstrap))
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in dict.fromkeys(wanted) if t not in existing]
            if missing:
                resp = await admin.create_topics(
                    [NewTopic(t, self.settings.partitions, self.settings.replication_factor) for t in missing]
                )
                for err in getattr(resp, "topic_errors", []) or []:
                    code = err[1]
                    if code not in (0, TopicAlreadyExistsError.errno):
                        raise TransientError(f"cannot create topic {err[0]}: error code {code}")
            return missing
        except KafkaError as exc:
            raise TransientError(f"cannot create topics on {self.bootstrap}: {exc}") from None
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    async def publish(self, event: Event[Any] | PreparedEvent) -> None:
        """Encode ``event``, check its size bound, sign it (with a signer) and send it. Signing stays
        on the event loop: signing large values on a worker thread cost more CPU in all and was slower
        on a quiet machine (bench/README.md, round ``payments8`` and the fifth quiet pass)."""
        model = event.model if isinstance(event, PreparedEvent) else type(event.data)
        topic = self.topics.for_logical(model.TOPIC)
        record, principal = self._bounded(event)
        if principal is not None and self.signer is not None:
            value = record.value or b""
            # A prepared event's digest is of its data_json: used only when that is the value itself.
            digest = event.data_sha256 if isinstance(event, PreparedEvent) and value is event.data_json else None
            record = Record(record.key, value, self.signer.sign(principal, record.headers, value, value_sha256=digest))
        await self.send(topic, record)
        metrics.EVENTS_PUBLISHED.labels(topic, event.type).inc()

    def _bounded(self, event: Event[Any] | PreparedEvent) -> tuple[Record, str | None]:
        """The record for ``event``, encoded, fenced and bounded but not signed, and the principal
        that signs it (None without a signer). Raises :class:`PermanentError` for a value over its
        type's bound or a type this process holds no producer key for."""
        model = event.model if isinstance(event, PreparedEvent) else type(event.data)
        record = encode(event)
        if self.fence is not None:
            record = Record(record.key, record.value, (*record.headers, self.fence.header()))
        value = record.value or b""
        if len(value) > model.MAX_BYTES:
            raise PermanentError(f"{event.type} of {len(value)} bytes is over its limit of {model.MAX_BYTES}; "
                                 "consumers would refuse it")
        if self.signer is None:
            return record, None
        principal = next((p for p in model.PRODUCERS if self.signer.holds(p)), None)
        if principal is None:
            raise PermanentError(f"{event.type} is produced by {', '.join(model.PRODUCERS)}, whose key this "
                                 "process does not hold")
        return record, principal

    async def send(
        self, topic: str, record: Record, *, timestamp_ms: int | None = None, even_if_held: bool = False
    ) -> None:
        """Send one record (acks=all); TransientError when the broker does not take it. While the
        bus is held, waits unless handling a consumed record or ``even_if_held``."""
        if not self._open.is_set() and not (_HANDLING.get() or even_if_held):
            try:
                await asyncio.wait_for(self._open.wait(), self.settings.publish_timeout)
            except TimeoutError:
                metrics.PUBLISH_FAILURES.labels(topic).inc()
                raise TransientError(f"publish to {topic} held back for {self.settings.publish_timeout:g} s "
                                     "while the embedded broker restarts; retry") from None
        if self._producer is None:
            raise TransientError("producer not started")
        if self.fence is not None and not self.fence.valid():
            metrics.PUBLISH_FAILURES.labels(topic).inc()
            raise TransientError(f"not sent to {topic}: this process's lease ran out or went to another process "
                                 "(it stops; the active process publishes)")
        self.in_flight += 1
        try:
            await self._producer.send_and_wait(topic, record.value, key=record.key, headers=list(record.headers),
                                               timestamp_ms=timestamp_ms)
        except KafkaError as exc:
            metrics.PUBLISH_FAILURES.labels(topic).inc()
            raise TransientError(f"publish to {topic} failed: {type(exc).__name__}: {exc}") from None
        finally:
            self.in_flight -= 1
        self.sent += 1
        for hook in self.on_sent:
            hook(topic, record)


@dataclass(frozen=True, slots=True)
class MessageContext:
    topic: str
    partition: int
    offset: int
    attempt: int
    received_at: datetime


Handler = Callable[[Event[EventData], MessageContext], Awaitable[None]]


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.runner.assigned_epoch = None
        await self.runner._on_revoke(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.runner.assigned_epoch = self.runner.epoch()
        log.info("consumer.assigned", extra={"group": self.runner.group_id, "partitions": len(assigned)})


#: Runners of this process, read when Prometheus scrapes ``huabei_consumer_lag``.
_RUNNERS: weakref.WeakSet[ConsumerRunner] = weakref.WeakSet()


def _lags() -> list[tuple[tuple[str, ...], float]]:
    by_group: dict[str, float] = {}
    for runner in list(_RUNNERS):
        by_group[runner.group_id] = by_group.get(runner.group_id, 0.0) + runner.lag()
    return [((g,), v) for g, v in sorted(by_group.items())]


metrics.live_gauge("huabei_consumer_lag", "Records on assigned partitions not yet handled, per consumer group",
                   ("group",), _lags)


class ConsumerRunner:
    """Runs one handler for one consumer group over some topics. See the module docstring."""

    def __init__(
        self,
        *,
        group_id: str,
        topics: list[str],
        handler: Handler,
        bus: Bus,
        settings: KafkaSettings,
        verifier: Verifier | None,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        from_beginning: bool = True,
        epoch: Callable[[], int] = lambda: 0,
        fences: FenceCheck | None = None,
        fetch_max_wait: float | None = None,
    ) -> None:
        """``verifier``: None accepts unsigned records (tests of the runner itself; never the
        daemon). ``epoch``: a number that changes when the broker restarts (the embedded broker's
        restart count): the runner is :meth:`ready` only once assigned in the current epoch.
        ``fences``: a record stamped with a superseded fencing token (:data:`FENCE_HEADER`) is
        refused: logged, counted, committed, never handled. ``fetch_max_wait``: this group's
        fetch hold in seconds (None: ``settings.fetch_max_wait``)."""
        self.fences = fences
        self.fetch_max_wait = settings.fetch_max_wait if fetch_max_wait is None else fetch_max_wait
        self.idle_wait_ms = idle_wait_ms(self.fetch_max_wait)
        self.group_id = group_id
        self.topic_names = topics
        self.handler = handler
        self.bus = bus
        self.settings = settings
        self.clock = clock or SystemClock()
        self._sleep = sleep
        self._from_beginning = from_beginning
        self._consumer: AIOKafkaConsumer | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._done: dict[TopicPartition, int] = {}
        self._next: dict[TopicPartition, int] = {}  # next offset to handle, per partition (for lag)
        #: Set while a retry must not wait any longer: at a stop, and during a rebalance's revoke (whose
        #: commit needs the lock a handler in its backoff holds).
        self._abort = asyncio.Event()
        self.verifier = verifier
        self.epoch = epoch
        #: The epoch of the last partition assignment; None while not assigned (before joining, during a rebalance).
        self.assigned_epoch: int | None = None
        self.running = False
        self.handled = 0
        self.dead_lettered = 0
        self.started = False
        #: Monotonic time at which the last completed fetch (``getmany``) started.
        self.fetched_since = -1.0

    def ready(self) -> bool:
        """Consuming: started, its loop running, and assigned by the group since the broker's last restart."""
        return self.started and self.running and self.assigned_epoch is not None and self.assigned_epoch == self.epoch()

    def lag(self) -> int:
        """Records on the assigned partitions not handled yet, from the high-water marks the last
        fetches reported (no request). Partitions this process has not handled from yet count 0."""
        consumer = self._consumer
        if consumer is None:
            return 0
        total = 0
        for tp in consumer.assignment():
            high, handled = consumer.highwater(tp), self._next.get(tp)
            if high is not None and handled is not None:
                total += max(0, high - handled)
        return total

    async def caught_up(self, since: float) -> bool:
        """Whether every record on the assigned partitions was handled and committed, as far as a
        fetch started after ``since`` (monotonic) knows: nothing in hand, nothing uncommitted,
        and each partition's fetch position at its high-water mark. False while not assigned."""
        consumer = self._consumer
        if consumer is None or not self.ready() or self._lock.locked() or self._done or self.fetched_since < since:
            return False
        assignment = consumer.assignment()
        if not assignment:
            return False
        for tp in assignment:
            high = consumer.highwater(tp)
            if high is None or await consumer.position(tp) < high:
                return False
        return not self._lock.locked() and not self._done

    async def start(self) -> None:
        _RUNNERS.add(self)
        self._consumer = AIOKafkaConsumer(
            *self.topic_names,
            **client_kwargs(self.settings, self.bus.bootstrap),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if self._from_beginning else "latest",
            session_timeout_ms=int(self.settings.session_timeout * 1000),
            heartbeat_interval_ms=max(100, int(self.settings.session_timeout * 1000 / 3)),
            max_poll_interval_ms=max(300_000, int(self.settings.retry_max * 1000 * 4)),
            fetch_max_wait_ms=max(1, int(self.fetch_max_wait * 1000)),
            # aiokafka's fetch routine also wakes this often while its fetch is held (a safety net:
            # fetches ending, records consumed and rebalances wake it at once).
            consumer_timeout_ms=self.idle_wait_ms,
        )
        self._consumer.subscribe(self.topic_names, listener=_Listener(self))
        try:
            await self._consumer.start()
        except KafkaError as exc:
            self._consumer = None
            raise TransientError(f"consumer {self.group_id} cannot connect: {exc}") from None
        self.started = True

    def request_stop(self) -> None:
        """Signal-handler safe: only sets a flag; ``run`` drains and returns."""
        self._stop.set()
        self._abort.set()

    async def run(self, *, idle_exit_after: float | None = None) -> None:
        """Consume until :meth:`request_stop`. With ``idle_exit_after`` (burst mode, for tests and
        replays), return once no record arrived for that many seconds."""
        assert self._consumer is not None, "start() first"
        self.running = True
        try:
            await self._run(idle_exit_after)
        finally:
            self.running = False

    async def _run(self, idle_exit_after: float | None) -> None:
        idle_since = time.monotonic()
        while not self._stop.is_set() and self._consumer is not None:
            fetch_started = time.monotonic()
            try:
                batch = await self._consumer.getmany(timeout_ms=self.idle_wait_ms, max_records=self.settings.max_in_flight)
                self.fetched_since = fetch_started
            except KafkaError as exc:
                log.warning("consumer.fetch_failed", extra={"group": self.group_id, "reason": str(exc)})
                await self._sleep(1.0)
                continue
            if not batch:
                if idle_exit_after is not None and time.monotonic() - idle_since >= idle_exit_after:
                    return
                continue
            idle_since = time.monotonic()
            async with self._lock:
                metrics.CONSUMER_LAG.labels(self.group_id).set(sum(len(v) for v in batch.values()))
                await asyncio.gather(*(self._handle_partition(tp, msgs) for tp, msgs in batch.items()))
                await self._commit()
                metrics.CONSUMER_LAG.labels(self.group_id).set(0)

    async def _handle_partition(self, tp: TopicPartition, msgs: list[Any]) -> None:
        for msg in msgs:
            if self._stop.is_set():
                return
            ok = await self._handle_one(msg)
            if not ok:
                return  # aborted by shutdown/revoke: leave uncommitted, it will be redelivered
            self._done[tp] = msg.offset + 1
            self._next[tp] = msg.offset + 1

    def _decode(self, msg: Any) -> Event[EventData]:
        """Size, then the signature, then depth and parsing: unauthenticated bytes are never parsed."""
        hdrs = headers_dict(msg.headers)
        if msg.value is not None:
            check_size(hdrs.get("ce_type", b""), msg.value)
        if self.verifier is not None:
            self.verifier.verify(hdrs, msg.value or b"")
        return decode(msg.key, msg.value, msg.headers)

    async def _handle_one(self, msg: Any) -> bool:
        token = _HANDLING.set(True)
        try:
            return await self._handle_one_marked(msg)
        finally:
            _HANDLING.reset(token)

    async def _handle_one_marked(self, msg: Any) -> bool:
        try:
            event = self._decode(msg)
        except PermanentError as exc:
            await self._dead_letter(msg, exc, attempts=0)
            return True
        except Exception as exc:  # the decoder promises InvalidInput only; a record must not stop the consumer anyway
            log.exception("consumer.decode_crashed", extra={"group": self.group_id, "topic": msg.topic})
            await self._dead_letter(msg, exc, attempts=0)
            return True
        attempt = 0
        while True:
            attempt += 1
            ctx = MessageContext(msg.topic, msg.partition, msg.offset, attempt, self.clock.now())
            started = time.perf_counter()
            try:
                if await self._fenced_out(msg):
                    return True
                await self.handler(event, ctx)
            except TransientError as exc:
                metrics.EVENTS_CONSUMED.labels(self.group_id, "retry").inc()
                if attempt >= self.settings.max_attempts:
                    await self._dead_letter(msg, exc, attempts=attempt)
                    return True
                if self._abort.is_set():
                    return False
                delay = exc.retry_after or backoff_delay(
                    attempt, self.settings.retry_initial, self.settings.retry_max, spread=RETRY_SPREAD
                )
                log.warning(
                    "consumer.retry",
                    extra={"group": self.group_id, "type": event.type, "attempt": attempt, "delay_s": round(delay, 3), "reason": exc.reason},
                )
                await self._interruptible_sleep(delay)
                if self._abort.is_set():
                    return False
                continue
            except PermanentError as exc:
                await self._dead_letter(msg, exc, attempts=attempt)
                return True
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug in a handler must not stop the consumer: dead-letter it
                log.exception("consumer.handler_crashed", extra={"group": self.group_id, "type": event.type})
                await self._dead_letter(msg, exc, attempts=attempt)
                return True
            metrics.HANDLER_SECONDS.labels(self.group_id).observe(time.perf_counter() - started)
            metrics.EVENTS_CONSUMED.labels(self.group_id, "ok").inc()
            self.handled += 1
            return True

    async def _fenced_out(self, msg: Any) -> bool:
        raw = headers_dict(msg.headers).get(FENCE_HEADER) if self.fences is not None else None
        fence = parse_fence(raw) if raw is not None else None
        if fence is None or self.fences is None or not await self.fences.stale(*fence):
            return False
        metrics.FENCED_RECORDS.labels(self.group_id).inc()
        log.warning("consumer.fenced", extra={"group": self.group_id, "topic": msg.topic, "offset": msg.offset,
                                              "lease": fence[0], "token": fence[1],
                                              "reason": "published by a process that no longer held the lease"})
        return True

    async def _interruptible_sleep(self, delay: float) -> None:
        aborted = asyncio.ensure_future(self._abort.wait())
        sleeper = asyncio.ensure_future(self._sleep(delay))
        try:
            await asyncio.wait({aborted, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (aborted, sleeper):
                t.cancel()

    async def _dead_letter(self, msg: Any, exc: BaseException, *, attempts: int) -> None:
        reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
        headers: list[tuple[str, bytes]] = []
        kept = 0
        for k, v in msg.headers or ():
            kept += len(k) + len(v or b"")
            if not k.startswith("dlq_") and kept <= DLQ_MAX_HEADERS:  # the rest would not fit a request
                headers.append((k, v))
        headers += [
            ("dlq_reason", str(reason).encode("utf-8", "replace")[:4000]),
            ("dlq_error_class", type(exc).__name__.encode()),
            ("dlq_topic", msg.topic.encode()),
            ("dlq_partition", str(msg.partition).encode()),
            ("dlq_offset", str(msg.offset).encode()),
            ("dlq_group", self.group_id.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_at", self.clock.now().isoformat().encode()),
        ]
        value = msg.value
        if value is not None and len(value) > DLQ_MAX_VALUE:
            headers.append(("dlq_value_bytes", str(len(value)).encode()))
            value = value[:DLQ_MAX_VALUE]
        dlq = Topics.dlq(msg.topic)
        while True:
            try:
                await self.bus.send(dlq, Record(key=msg.key, value=value, headers=tuple(headers)))
                break
            except TransientError as send_exc:
                # Never drop: a record that cannot be dead-lettered is retried until it can be.
                log.warning("consumer.dlq_send_failed", extra={"group": self.group_id, "reason": send_exc.reason})
                await self._sleep(1.0)
        self.dead_lettered += 1
        metrics.DLQ_RECORDS.labels(msg.topic, type(exc).__name__).inc()
        metrics.EVENTS_CONSUMED.labels(self.group_id, "dlq").inc()
        log.warning(
            "consumer.dead_lettered",
            extra={"group": self.group_id, "topic": msg.topic, "offset": msg.offset, "reason": str(reason)[:500]},
        )

    async def _commit(self) -> None:
        if not self._done or self._consumer is None:
            return
        offsets = dict(self._done)
        try:
            await self._consumer.commit(offsets)
            for tp, off in offsets.items():
                if self._done.get(tp) == off:
                    del self._done[tp]
        except KafkaError as exc:
            # Not fatal: the records will be redelivered and the idempotent handlers skip them.
            log.warning("consumer.commit_failed", extra={"group": self.group_id, "reason": str(exc)})

    async def _on_revoke(self, revoked: list[TopicPartition]) -> None:
        self._abort.set()  # a handler in its retry backoff gives the record up now (redelivered, not committed)
        try:
            async with self._lock:
                await self._commit()
        finally:
            if not self._stop.is_set():
                self._abort.clear()
        for tp in revoked:
            self._done.pop(tp, None)

    async def reset(self) -> None:
        """After :meth:`run` died: leave the group (committing what was handled, if the broker is
        there) so :meth:`start` can join again with a fresh client."""
        consumer, self._consumer = self._consumer, None
        self.started = False
        self.assigned_epoch = None
        if consumer is not None:
            with contextlib.suppress(Exception):
                if self._done:
                    await consumer.commit(dict(self._done))
            self._done.clear()
            with contextlib.suppress(Exception):
                await consumer.stop()
        if not self._stop.is_set():
            self._abort.clear()

    async def stop(self, timeout: float = 20.0) -> None:
        self.request_stop()
        if self._consumer is None:
            return
        try:
            async with asyncio.timeout(timeout):
                async with self._lock:
                    await self._commit()
        except TimeoutError:
            log.warning("consumer.drain_timeout", extra={"group": self.group_id})
        with contextlib.suppress(KafkaError):
            await self._consumer.stop()
        self._consumer = None
        _RUNNERS.discard(self)
