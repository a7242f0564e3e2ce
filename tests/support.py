"""Test helpers: wait on a condition with a deadline (never sleep-and-hope); a migrated database; daemon
processes with a shared broker, database and keys."""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast, overload

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from huabei_watch.db.engine import Database
from huabei_watch.events import Event, EventData
from huabei_watch.root import schema

if TYPE_CHECKING:
    from consumers.notify.role import NotifyRole
    from huabei_watch.bus.keys import Keyring

T = TypeVar("T")
D = TypeVar("D", bound=EventData)


def data_as(event: Event[EventData], kind: type[D]) -> D:
    """``event``'s data, which the test knows to be a ``kind`` (from the event's type or topic);
    fails the test when it is not."""
    assert isinstance(event.data, kind), f"{event.type}: {type(event.data).__name__}, not {kind.__name__}"
    return event.data


async def migrated_database(url: str, *, retry_for: float = 5.0) -> Database:
    """A :class:`Database` on ``url`` upgraded to the newest revision (what ``huabei-watch db
    upgrade`` does): the one way tests, drills and benchmarks get their tables."""
    db = await Database.open(url, retry_for=retry_for)
    try:
        await schema.migrations().upgrade(db)
    except BaseException:
        await db.close()
        raise
    return db


CREATED_PG_DATABASES: list[tuple[str, str]] = []
"""(server URL, name) of every database :func:`fresh_pg_database` made in this process; the
session's end drops them (``tests/conftest.py``)."""


async def fresh_pg_database(base_url: str, *, icu_locale: str | None = None) -> str:
    """Create an empty database for one test on the PostgreSQL server at ``base_url``; its URL.
    It is dropped when the test session (this worker) ends. ``icu_locale`` (e.g. ``en-US``): its
    default collation is that ICU locale's (as images that default to en_US.utf8 sort), not the
    server's."""
    name = f"hbw_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
    locale = f" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{icu_locale}'" if icu_locale else ""
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"{locale}'))
    await admin.dispose()
    CREATED_PG_DATABASES.append((base_url, name))
    return base_url.rsplit("/", 1)[0] + "/" + name


async def drop_created_pg_databases() -> list[str]:
    """Drop every database this process created (``WITH (FORCE)``: a killed daemon's sessions
    may linger); the names that could not be dropped, with why."""
    failed: list[str] = []
    while CREATED_PG_DATABASES:
        base_url, name = CREATED_PG_DATABASES.pop()
        admin = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except Exception as exc:  # reported by the caller; never hides a test result
            failed.append(f"{name}: {exc}")
        finally:
            await admin.dispose()
    return failed


@overload
async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 30.0, what: str = "condition"
) -> T: ...


@overload
async def eventually(check: Callable[[], T], *, timeout: float = 30.0, what: str = "condition") -> T: ...


async def eventually(
    check: Callable[[], Awaitable[T]] | Callable[[], T], *, timeout: float = 30.0, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns a truthy value (awaiting it first if it returns an
    awaitable); that value. Fails with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            # The overloads tie T to what ``check`` returns or what its awaitable yields.
            return cast(T, result)
        last = result
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


async def notify_idle(notify: NotifyRole, *, timeout: float = 60.0) -> None:
    """Wait until a notify role's fan-out has no work left (no lane, no delivery in progress)."""
    fanout = notify.fanout
    await eventually(lambda: not (fanout.lanes or fanout.in_progress), timeout=timeout, what="notify fan-out idle")


# -- event-signing keys for tests --------------------------------------------------------------------
ROLES = ("watcher", "incidents", "cashier", "notify")


def fixed_private_key(principal: str) -> str:
    """A fixed key per principal, so a test's own Bus and the daemon it feeds agree on keys."""
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(b"huabei-watch test key " + principal.encode()).digest()).decode()


def security_section(*principals: str) -> dict[str, object]:
    """The ``[security]`` section giving ``principals`` (default: every role) their test keys."""
    return {"principals": {p: {"private_key": fixed_private_key(p)} for p in (principals or ROLES)}}


def fixed_keyring(*principals: str) -> Keyring:
    """Signer and verifier over the test keys (``huabei_watch.bus.keys.Keyring``)."""
    from huabei_watch.bus.keys import load_keyring
    from huabei_watch.config.settings import DaemonSettings, SecuritySettings

    security = SecuritySettings.model_validate(security_section(*principals))
    return load_keyring(DaemonSettings(), security, embedded=False, roles=principals or ROLES)


def security_toml(*principals: str) -> str:
    """The same as :func:`security_section`, as TOML text for a daemon's configuration file."""
    return "".join(
        f'\n[security.principals.{p}]\nprivate_key = "{fixed_private_key(p)}"\n' for p in (principals or ROLES)
    )


# -- daemon processes for multi-process tests and drills ------------------------------------------

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def write_daemon_config(
    path: Path,
    *,
    state_dir: Path,
    bootstrap: str,
    prefix: str,
    db_url: str,
    partitions: int,
    listen: str = "127.0.0.1:0",
    shutdown_timeout: str = "5s",
    ops_token: str | None = None,
    body: str = "",
    log_level: str = "info",
    pool_size: int = 5,
) -> Path:
    """Write the TOML of one daemon process in a multi-process test and return ``path``.

    Every process gets its own state directory and admin address; they share one broker (topics and
    groups under ``prefix``), one database and the fixed test keys (:func:`security_toml`). The sandbox
    platform is off. ``body`` holds the role sections and merchants the test needs.
    """
    admin = f'listen = "{listen}"' + (f'\nops_token = "{ops_token}"' if ops_token else "")
    path.write_text(
        f"""
[daemon]
state_dir = "{state_dir.as_posix()}"
log_format = "json"
log_level = "{log_level}"
shutdown_timeout = "{shutdown_timeout}"
[admin]
{admin}
[database]
url = "{db_url}"
pool_size = {pool_size}
[kafka]
bootstrap_servers = "{bootstrap}"
topic_prefix = "{prefix}"
group_prefix = "{prefix}"
partitions = {partitions}
session_timeout = "6s"
idempotence = "off"  # the embedded broker lacks InitProducerId
{security_toml()}
[sandbox]
enabled = false
{body}
""",
        "utf-8",
    )
    return path


async def start_role(
    config: Path, role: str, *, log: Path, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """Start ``huabei-watch run --role ROLE`` as a subprocess; its output is appended to ``log``."""
    full_env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})}
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "huabei_watch.root.cli", "--config", str(config), "run", "--role", role,
            stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL, cwd=str(config.parent), env=full_env,
        )


async def readyz(port: int) -> bool:
    """Whether the admin server on ``port`` answers ``/readyz`` with 200 (False while it cannot be reached)."""
    import aiohttp

    try:
        async with aiohttp.ClientSession() as s, s.get(
            f"http://127.0.0.1:{port}/readyz", timeout=aiohttp.ClientTimeout(total=3)
        ) as r:
            return r.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False
