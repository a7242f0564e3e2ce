"""One daemon process: shared resources and the roles it runs.

:meth:`App.start` opens everything and returns a running :class:`App`, built whole: event-signing
keyring -> embedded broker (if configured) -> bus (producer, topics) -> database (schema made ready
by the root's ``prepare_database``: a SQLite file upgrades itself, other databases must be current)
-> HTTP session, scheduler -> roles (each built by its factory from :class:`Resources`) -> admin
server -> consumers. A start that fails
part-way closes what it had opened and raises. :meth:`App.stop` is the reverse; roles drain their
work within ``daemon.shutdown_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from huabei_watch import metrics
from huabei_watch.backoff import backoff_delay
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus, ConsumerRunner, Handler
from huabei_watch.bus.keys import Keyring, load_keyring
from huabei_watch.bus.recycle import Recycler
from huabei_watch.clock import Clock, SystemClock
from huabei_watch.config.settings import AdminSettings, CoreSettings
from huabei_watch.db.engine import Database
from huabei_watch.errors import TransientError
from huabei_watch.events import Topics
from huabei_watch.lease import Fence, LeaseTokens
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.runtime import admin, guard
from huabei_watch.runtime.guard import Limits
from huabei_watch.runtime.tasks import Tasks

log = logging.getLogger(__name__)

#: The settings an :class:`App` carries: the root's ``Settings``; the framework only needs
#: :class:`CoreSettings` from it.
S_co = TypeVar("S_co", bound=CoreSettings, covariant=True)
S = TypeVar("S", bound=CoreSettings)

#: Adds routes to the admin server (e.g. the composition root's status page); runs after the roles
#: are built, before the admin server listens.
AdminRoutes = Callable[["App[Any]"], None]
#: Makes the opened database ready for the roles (the root's migrations), or refuses with a
#: :class:`~huabei_watch.errors.HuabeiWatchError` saying what to run.
PrepareDatabase = Callable[[Database], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscription:
    """A consumer group a role runs: group ``<kafka.group_prefix>.<group>`` over ``topics``, every
    record handed to ``handler`` (at-least-once, see :mod:`huabei_watch.bus.kafka`).
    ``fetch_max_wait``: how long the broker may hold this group's fetches (seconds); None takes
    ``kafka.fetch_max_wait``. A role sets it for a group whose records are only acted on at a
    coarser pace, so that an idle consumer costs fewer fetches."""

    group: str
    topics: tuple[str, ...]
    handler: Handler
    fetch_max_wait: float | None = None


class Role(Protocol):
    """A running role, returned whole by its factory. The :class:`App` starts one consumer per
    subscription once every role is built and the admin server listens."""

    @property
    def name(self) -> str: ...

    @property
    def subscriptions(self) -> Sequence[Subscription]: ...

    async def stop(self) -> None:
        """Finish work in progress (bounded by ``daemon.shutdown_timeout``); the consumers and the
        scheduler have stopped already."""
        ...

    async def republish(self) -> None:
        """Publish current state again (after the embedded broker restarted empty)."""
        ...


@dataclass(frozen=True, slots=True)
class Resources(Generic[S_co]):
    """What the process opened for its roles, every part ready to use. The composition root's role
    registry hands each role factory the parts it needs (a role never sees the :class:`App`)."""

    settings: S_co
    clock: Clock
    topics: Topics
    bus: Bus
    db: Database
    registry: MerchantRegistry
    http: aiohttp.ClientSession
    #: Started; jobs added by a role run from then on.
    scheduler: AsyncIOScheduler
    #: The admin server's routes; it starts listening after every role is built.
    router: web.UrlDispatcher
    tasks: Tasks
    #: The lease this process holds (a singleton role's process), else None.
    fence: Fence | None = None


#: Builds one role from the process's resources (an entry of the composition root's role registry).
RoleFactory = Callable[[Resources[S]], Awaitable[Role]]


class App(Generic[S_co]):
    """A running daemon process: the resources it opened and the roles built on them. Names no
    role: the composition root hands in the role factories and the extra admin routes
    (``admin_routes``, e.g. the status page). The database's tables are whatever the root
    registered on :data:`huabei_watch.db.tables.metadata`. Build one with :meth:`start`."""

    def __init__(
        self,
        resources: Resources[S_co],
        *,
        broker: EmbeddedBroker | None,
        keyring: Keyring,
        roles: Sequence[Role],
        admin_server: AdminServer,
        exit_stack: contextlib.AsyncExitStack,
    ) -> None:
        self.resources = resources
        self.settings: S_co = resources.settings
        self.clock = resources.clock
        self.topics = resources.topics
        self.bus = resources.bus
        self.db = resources.db
        self.http = resources.http
        self.scheduler = resources.scheduler
        #: None when Kafka is external (``kafka.bootstrap_servers`` or a given bootstrap).
        self.broker = broker
        self.bootstrap = resources.bus.bootstrap
        #: Signs what this process publishes and verifies what it consumes.
        self.keyring = keyring
        self.roles = list(roles)
        self._admin = admin_server
        self.web = admin_server.web
        self._exit = exit_stack
        #: (runner, task) per subscription, in role order.
        self.consumers: list[tuple[ConsumerRunner, asyncio.Task[None]]] = []
        self.stopping = asyncio.Event()
        self.ready_checks: dict[str, Callable[[], Awaitable[bool]]] = {}
        #: Consumers refuse records stamped with a superseded fencing token.
        self.lease_tokens = LeaseTokens(self.db)
        #: Keeps the embedded broker's memory bounded (None with an outside Kafka).
        self.recycler: Recycler | None = None
        if broker is not None:
            self.recycler = Recycler(broker, self.bus, self.settings.kafka,
                                     runners=lambda: [r for r, _ in self.consumers], consumed=self._consumed_topics)
            broker.on_death.append(self.bus.hold)  # nothing new until the topics exist again
            broker.on_restart.append(self._after_broker_restart)

    @property
    def admin_port(self) -> int:
        """The port the admin server listens on (``admin.listen`` may say 0: any free port)."""
        return self._admin.listener.port

    @property
    def listener(self) -> guard.Listener:
        """The admin server's guarded listener (connection limits and counters)."""
        return self._admin.listener

    def group_id(self, group: str) -> str:
        return f"{self.settings.kafka.group_prefix}.{group}"

    def broker_epoch(self) -> int:
        """Changes when the embedded broker restarts (its consumer groups are gone then)."""
        return self.broker.generation if self.broker is not None else 0

    # -- lifecycle -----------------------------------------------------------------------------
    @classmethod
    async def start(
        cls,
        settings: S,
        roles: Mapping[str, RoleFactory[S]] | None = None,
        *,
        clock: Clock | None = None,
        bootstrap: str | None = None,
        admin_routes: Sequence[AdminRoutes] = (),
        prepare_database: PrepareDatabase | None = None,
        fence: Fence | None = None,
    ) -> App[S]:
        """Open the resources, build the roles (name -> factory, in order), serve the admin server,
        start consuming. ``bootstrap``: an already running Kafka (no embedded broker is started
        then). ``prepare_database`` None: the database is used as it is (its tables made elsewhere).
        ``fence``: the lease this process holds (:mod:`huabei_watch.lease`): every record it
        publishes carries its token, and nothing is published once it is no longer valid."""
        stack = contextlib.AsyncExitStack()
        try:
            app = await _open(settings, roles or {}, clock or SystemClock(), bootstrap, admin_routes, prepare_database,
                              stack, fence)
        except BaseException:
            await stack.aclose()
            raise
        return app

    def _consume(self, sub: Subscription) -> None:
        """A consumer of the subscription: records are verified with the process's keyring, and
        ``/readyz`` says 503 while the group is not joined and assigned."""
        runner = ConsumerRunner(
            group_id=self.group_id(sub.group), topics=list(sub.topics), handler=sub.handler, bus=self.bus,
            settings=self.settings.kafka, verifier=self.keyring.verifier, clock=self.clock, epoch=self.broker_epoch,
            fences=self.lease_tokens, fetch_max_wait=sub.fetch_max_wait,
        )

        async def joined() -> bool:
            return runner.ready()

        self.ready_checks[f"consumer:{runner.group_id}"] = joined
        self.consumers.append((runner, asyncio.create_task(self._run_consumer(runner), name=f"consumer:{runner.group_id}")))

    async def _run_consumer(self, runner: ConsumerRunner) -> None:
        """Join and consume until shutdown. A consumer whose loop dies (it should not: the runner
        dead-letters what it cannot handle) leaves its group and joins again after a pause
        (0.5 s doubling to 30 s); ``/readyz`` says 503 until it is assigned again."""
        crashes = 0
        while not self.stopping.is_set():
            try:
                await retry_startup(f"consumer {runner.group_id}", runner.start, attempts=1_000_000)
                await runner.run()
                return  # asked to stop
            except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
                raise
            except BaseException:
                crashes += 1
                delay = backoff_delay(crashes, 0.5, 30.0)
                metrics.CONSUMER_RESTARTS.labels(runner.group_id).inc()
                log.exception("consumer.crashed", extra={"group": runner.group_id, "restart_in_s": delay})
            await runner.reset()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)

    def _consumed_topics(self) -> set[str]:
        return {t for role in self.roles for sub in role.subscriptions for t in sub.topics}

    async def _after_broker_restart(self) -> None:
        """Recreate the topics, re-send the kept records of unconsumed topics, let new records in,
        then have every role republish its state."""
        if self.broker is not None and self.broker.last_was_recycle:
            metrics.BROKER_RECYCLES.inc()
        else:
            metrics.BROKER_RESTARTS.inc()
        try:
            await retry_startup("kafka topics", self.bus.ensure_topics)
            if self.recycler is not None:
                await self.recycler.restore_kept()
        finally:
            self.bus.release()
        for role in self.roles:
            try:
                await role.republish()
            except Exception:
                log.exception("role.republish_failed", extra={"role": role.name})

    async def stop(self) -> None:
        """Stop consuming (in-flight records drain), let running scheduler jobs finish, stop the
        roles, then close everything :meth:`start` opened, each step within
        ``daemon.shutdown_timeout``."""
        timeout = self.settings.daemon.shutdown_timeout
        self.stopping.set()
        for runner, _ in self.consumers:
            runner.request_stop()
        for runner, task in self.consumers:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await runner.stop(timeout)
        await drain_scheduler(self.scheduler, timeout)
        await self._exit.aclose()  # roles, tasks, admin server, HTTP, database, bus, broker
        log.info("daemon.stopped")


async def _open(
    s: S,
    factories: Mapping[str, RoleFactory[S]],
    clock: Clock,
    bootstrap: str | None,
    admin_routes: Sequence[AdminRoutes],
    prepare_database: PrepareDatabase | None,
    stack: contextlib.AsyncExitStack,
    fence: Fence | None = None,
) -> App[S]:
    timeout = s.daemon.shutdown_timeout
    s.daemon.state_dir.mkdir(parents=True, exist_ok=True)
    keyring = load_keyring(s.daemon, s.security, embedded=s.kafka.embedded, roles=list(factories))
    broker: EmbeddedBroker | None = None
    if s.kafka.embedded and bootstrap is None:
        broker = EmbeddedBroker(binary=s.kafka.embedded_binary, log_path=s.daemon.state_dir / "broker.log",
                                state_dir=s.daemon.state_dir)
        await broker.start()
        stack.push_async_callback(broker.stop)
        bootstrap = broker.bootstrap_servers
    topics = Topics(s.kafka.topic_prefix)
    bus = Bus(s.kafka, bootstrap or s.kafka.bootstrap_servers, topics, signer=keyring.signer)
    bus.fence = fence
    stack.push_async_callback(bus.stop)
    await retry_startup("kafka", bus.start)
    await retry_startup("kafka topics", bus.ensure_topics)
    db = await Database.open(s.database_url(), pool_size=s.database.pool_size, retry_for=s.database.retry_for,
                             sqlite_cache_kb=s.database.sqlite_cache_kb)
    stack.push_async_callback(db.close)
    if prepare_database is not None:
        await prepare_database(db)
    registry = MerchantRegistry(db)
    if s.merchants:
        await registry.upsert_many(s.merchants, origin="config", now=clock.now())
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    stack.push_async_callback(http.close)
    admin_server = AdminServer(s.admin)
    stack.push_async_callback(admin_server.close)
    tasks = Tasks()
    stack.push_async_callback(tasks.cancel_all)
    scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")
    scheduler.start()
    stack.push_async_callback(drain_scheduler, scheduler, timeout)
    resources = Resources(s, clock, topics, bus, db, registry, http, scheduler, admin_server.web.router, tasks, fence)
    roles: list[Role] = []
    stack.push_async_callback(_stop_roles, roles, timeout)
    for factory in factories.values():
        role = await factory(resources)
        roles.append(role)
        log.info("role.started", extra={"role": role.name})
    app = App(resources, broker=broker, keyring=keyring, roles=roles, admin_server=admin_server, exit_stack=stack)
    admin.add_routes(app)
    for add in admin_routes:
        add(app)
    await admin_server.start()
    # Joining a consumer group takes seconds (the broker waits for more members); join all
    # groups concurrently and in the background so the admin server answers meanwhile.
    for role in roles:
        for sub in role.subscriptions:
            app._consume(sub)
    if app.recycler is not None and broker is not None:
        app.resources.tasks.spawn(app.recycler.run(), name="broker-recycler")
        metrics.live_gauge("huabei_embedded_broker_rss_bytes", "Resident memory of the embedded broker process", (),
                           lambda: [((), float(rss))] if (rss := broker.rss_bytes()) is not None else [])
    return app


async def retry_startup(what: str, fn: Callable[[], Awaitable[object]], attempts: int = 10) -> None:
    """Call ``fn`` until it succeeds, retrying :class:`TransientError` with backoff (0.5 s doubling
    to 10 s); the last failure is raised."""
    for attempt in range(1, attempts + 1):
        try:
            await fn()
            return
        except TransientError as exc:
            if attempt == attempts:
                raise
            delay = backoff_delay(attempt, 0.5, 10.0)
            log.warning("startup.retry", extra={"what": what, "reason": exc.reason, "delay_s": delay})
            await asyncio.sleep(delay)


async def drain_scheduler(scheduler: AsyncIOScheduler, timeout: float) -> None:
    """No new timed work, let jobs already running finish (APScheduler's shutdown would cancel
    them mid-way and log the cancellation as a job error), then shut the scheduler down. Does
    nothing when the scheduler is not running."""
    if not scheduler.running:
        return
    scheduler.pause()
    executor = getattr(scheduler, "_executors", {}).get("default")
    running = [f for f in getattr(executor, "_pending_futures", ()) if not f.done()]
    if running:
        await asyncio.wait(running, timeout=timeout)
    scheduler.shutdown(wait=False)


async def _stop_roles(roles: list[Role], timeout: float) -> None:
    for role in reversed(roles):
        try:
            await asyncio.wait_for(role.stop(), timeout)
        except Exception:
            log.exception("role.stop_failed", extra={"role": role.name})


class AdminServer:
    """The admin HTTP server. Routes are added while it does not serve yet; :meth:`start` freezes
    them and listens behind the connection guard (``admin.max_connections``, per-address limits,
    header and body timeouts)."""

    def __init__(self, settings: AdminSettings) -> None:
        self._settings = settings
        self.web = web.Application(client_max_size=settings.max_body_bytes)
        self._runner = web.AppRunner(self.web, access_log=None, keepalive_timeout=settings.keepalive_timeout,
                                     handle_signals=False)
        self._listener: guard.Listener | None = None

    @property
    def listener(self) -> guard.Listener:
        if self._listener is None:
            raise RuntimeError("the admin server is not serving yet")
        return self._listener

    async def start(self) -> None:
        """Listen on ``admin.listen``; TransientError when the address is taken."""
        a = self._settings
        host, _, port = a.listen.rpartition(":")
        await self._runner.setup()
        limits = Limits(max_connections=a.max_connections, max_per_address=a.max_connections_per_address,
                        header_timeout=a.header_timeout, body_timeout=a.body_timeout)
        try:
            self._listener = await guard.serve(self._runner.server, host, int(port), limits)
        except OSError as exc:
            raise TransientError(
                f"admin server cannot listen on {a.listen}: {exc.strerror} (set admin.listen to a free address)"
            ) from None
        log.info("admin.listening", extra={"url": f"http://{host}:{self._listener.port}",
                                           "max_connections": self._listener.guard.max_total})

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
        await self._runner.cleanup()
