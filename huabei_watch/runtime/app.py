"""One daemon process: shared resources and the roles it runs.

Start order: embedded broker (if configured) -> bus (producer, topics) -> database (schema made ready
by the root's ``prepare_database``: a SQLite file upgrades itself, other databases must be current) ->
scheduler -> roles -> admin server. Stop order is the reverse; roles drain their work within
``daemon.shutdown_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from huabei_watch import metrics
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus, ConsumerRunner, Handler
from huabei_watch.bus.keys import Keyring, load_keyring
from huabei_watch.clock import Clock, SystemClock
from huabei_watch.config.settings import CoreSettings
from huabei_watch.db.engine import Database
from huabei_watch.errors import TransientError
from huabei_watch.events import Topics
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.runtime import admin, guard
from huabei_watch.runtime.guard import Limits

log = logging.getLogger(__name__)

#: The settings an :class:`App` carries: the root's ``Settings``; a role names the protocol of the
#: sections it reads (``App[CashierConfig]``), the framework only :class:`CoreSettings`.
S_co = TypeVar("S_co", bound=CoreSettings, covariant=True)

#: Adds routes to the admin server (e.g. the composition root's status page); runs before roles start.
AdminRoutes = Callable[["App[Any]"], None]
#: Makes the opened database ready for the roles (the root's migrations), or refuses with a
#: :class:`~huabei_watch.errors.HuabeiWatchError` saying what to run.
PrepareDatabase = Callable[[Database], Awaitable[None]]


class Role(Protocol):
    """A role, built by the composition root. ``start`` may add routes to ``app.web`` (the admin
    server starts after every role started) and consumers via ``app.consume``."""

    name: str

    async def start(self, app: App[Any]) -> None: ...

    async def stop(self) -> None: ...

    async def republish(self) -> None:
        """Publish current state again (after the embedded broker restarted empty)."""
        ...


class App(Generic[S_co]):
    """The process's shared resources. Names no role: the composition root builds the roles and the
    extra admin routes (``admin_routes``, e.g. the status page) and hands them in. The database's
    tables are whatever the root registered on :data:`huabei_watch.db.tables.metadata`."""

    def __init__(
        self,
        settings: S_co,
        *,
        clock: Clock | None = None,
        bootstrap: str | None = None,
        admin_routes: Sequence[AdminRoutes] = (),
        prepare_database: PrepareDatabase | None = None,
    ) -> None:
        """``prepare_database`` None: the database is used as it is (its tables made elsewhere)."""
        self.settings = settings
        self._admin_routes = tuple(admin_routes)
        self._prepare_database = prepare_database
        self.clock: Clock = clock or SystemClock()
        self.topics = Topics(settings.kafka.topic_prefix)
        self.broker: EmbeddedBroker | None = None
        self._bootstrap = bootstrap
        self.bus: Bus | None = None
        self.keyring = Keyring.disabled()
        self.db: Database | None = None
        self.scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")
        self.web = web.Application(client_max_size=settings.admin.max_body_bytes)
        self.runner: web.AppRunner | None = None
        self.listener: guard.Listener | None = None
        self.http: aiohttp.ClientSession | None = None
        self.roles: list[Role] = []
        self.consumers: list[tuple[ConsumerRunner, asyncio.Task[None] | None]] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.admin_port: int | None = None
        self.stopping = asyncio.Event()
        self.ready_checks: dict[str, Callable[[], Awaitable[bool]]] = {}

    # -- resources -----------------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        if self._bootstrap is not None:
            return self._bootstrap
        if self.broker is not None:
            return self.broker.bootstrap_servers
        return self.settings.kafka.bootstrap_servers

    def require_bus(self) -> Bus:
        if self.bus is None:
            raise RuntimeError("bus not started")
        return self.bus

    def require_db(self) -> Database:
        if self.db is None:
            raise RuntimeError("database not open")
        return self.db

    def require_http(self) -> aiohttp.ClientSession:
        if self.http is None:
            raise RuntimeError("http session not open")
        return self.http

    def group_id(self, role: str) -> str:
        return f"{self.settings.kafka.group_prefix}.{role}"

    def broker_epoch(self) -> int:
        """Changes when the embedded broker restarts (its consumer groups are gone then)."""
        return self.broker.generation if self.broker is not None else 0

    def consume(self, role: str, topics: list[str], handler: Handler) -> ConsumerRunner:
        """A consumer of ``topics`` in group ``<group_prefix>.<role>``: records are verified with the
        process's keyring, and ``/readyz`` says 503 while the group is not joined and assigned."""
        runner = ConsumerRunner(
            group_id=self.group_id(role),
            topics=topics,
            handler=handler,
            bus=self.require_bus(),
            settings=self.settings.kafka,
            verifier=self.keyring.verifier,
            clock=self.clock,
            epoch=self.broker_epoch,
        )
        self.consumers.append((runner, None))

        async def joined() -> bool:
            return runner.ready()

        self.ready_checks[f"consumer:{runner.group_id}"] = joined
        return runner

    def spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("task.crashed", extra={"task": name})

        task = asyncio.create_task(guarded(), name=name)
        self.tasks.append(task)
        return task

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, roles: list[Role]) -> None:
        s = self.settings
        s.daemon.state_dir.mkdir(parents=True, exist_ok=True)
        self.keyring = load_keyring(s.daemon, s.security, embedded=s.kafka.embedded, roles=[r.name for r in roles])
        if s.kafka.embedded and self._bootstrap is None:
            self.broker = EmbeddedBroker(binary=s.kafka.embedded_binary, log_path=s.daemon.state_dir / "broker.log",
                                         state_dir=s.daemon.state_dir)
            await self.broker.start()
            self.broker.on_restart.append(self._after_broker_restart)
        self.bus = Bus(s.kafka, self.bootstrap, self.topics, signer=self.keyring.signer)
        await self._retry("kafka", self.bus.start)
        await self._retry("kafka topics", self.bus.ensure_topics)
        self.db = await Database.open(s.database_url(), pool_size=s.database.pool_size, retry_for=s.database.retry_for)
        if self._prepare_database is not None:
            await self._prepare_database(self.db)
        if s.merchants:
            await MerchantRegistry(self.db).upsert_many(s.merchants, origin="config", now=self.clock.now())
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.scheduler.start()
        self._add_admin_routes()
        for role in roles:
            await role.start(self)
            self.roles.append(role)
            log.info("role.started", extra={"role": role.name})
        await self._start_admin()
        # Joining a consumer group takes seconds (the broker waits for more members); join all
        # groups concurrently and in the background so the admin server answers meanwhile.
        for i, (runner, _) in enumerate(self.consumers):
            self.consumers[i] = (runner, asyncio.create_task(self._consume(runner), name=f"consumer:{runner.group_id}"))

    async def _consume(self, runner: ConsumerRunner) -> None:
        """Join and consume until shutdown. A consumer whose loop dies (it should not: the runner
        dead-letters what it cannot handle) leaves its group and joins again after a pause;
        ``/readyz`` says 503 until it is assigned again."""
        delay = 0.5
        while not self.stopping.is_set():
            try:
                await self._retry(f"consumer {runner.group_id}", runner.start, attempts=1_000_000)
                await runner.run()
                return  # asked to stop
            except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
                raise
            except BaseException:
                metrics.CONSUMER_RESTARTS.labels(runner.group_id).inc()
                log.exception("consumer.crashed", extra={"group": runner.group_id, "restart_in_s": delay})
            await runner.reset()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)
            delay = min(delay * 2, 30.0)

    async def _retry(self, what: str, fn: Callable[[], Awaitable[object]], attempts: int = 10) -> None:
        delay = 0.5
        for i in range(attempts):
            try:
                await fn()
                return
            except TransientError as exc:
                if i == attempts - 1:
                    raise
                log.warning("startup.retry", extra={"what": what, "reason": exc.reason, "delay_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _after_broker_restart(self) -> None:
        metrics.BROKER_RESTARTS.inc()
        bus = self.require_bus()
        await bus.ensure_topics()
        for role in self.roles:
            try:
                await role.republish()
            except Exception:
                log.exception("role.republish_failed", extra={"role": role.name})

    async def stop(self) -> None:
        timeout = self.settings.daemon.shutdown_timeout
        self.stopping.set()
        for runner, _ in self.consumers:
            runner.request_stop()
        for runner, task in self.consumers:
            if task is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(task), timeout)
                except TimeoutError:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await runner.stop(timeout)
        await self._drain_scheduler(timeout)
        for role in reversed(self.roles):
            try:
                await asyncio.wait_for(role.stop(), timeout)
            except Exception:
                log.exception("role.stop_failed", extra={"role": role.name})
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self.listener is not None:
            await self.listener.close()
        if self.runner is not None:
            await self.runner.cleanup()
        if self.http is not None:
            await self.http.close()
        if self.bus is not None:
            await self.bus.stop()
        if self.db is not None:
            await self.db.close()
        if self.broker is not None:
            await self.broker.stop()
        log.info("daemon.stopped")

    async def _drain_scheduler(self, timeout: float) -> None:
        """No new timed work, let jobs already running finish (APScheduler's shutdown would cancel
        them mid-way and log the cancellation as a job error), then shut the scheduler down."""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        executor = getattr(self.scheduler, "_executors", {}).get("default")
        running = [f for f in getattr(executor, "_pending_futures", ()) if not f.done()]
        if running:
            await asyncio.wait(running, timeout=timeout)
        self.scheduler.shutdown(wait=False)

    # -- admin server ----------------------------------------------------------------------------
    def _add_admin_routes(self) -> None:
        admin.add_routes(self)
        for add in self._admin_routes:
            add(self)

    async def _start_admin(self) -> None:
        a = self.settings.admin
        host, _, port = a.listen.rpartition(":")
        self.runner = web.AppRunner(self.web, access_log=None, keepalive_timeout=a.keepalive_timeout,
                                    handle_signals=False)
        await self.runner.setup()
        limits = Limits(max_connections=a.max_connections, max_per_address=a.max_connections_per_address,
                        header_timeout=a.header_timeout, body_timeout=a.body_timeout)
        try:
            self.listener = await guard.serve(self.runner.server, host, int(port), limits)
        except OSError as exc:
            raise TransientError(
                f"admin server cannot listen on {a.listen}: {exc.strerror} (set admin.listen to a free address)"
            ) from None
        self.admin_port = self.listener.port
        log.info("admin.listening", extra={"url": f"http://{host}:{self.admin_port}",
                                           "max_connections": self.listener.guard.max_total})
