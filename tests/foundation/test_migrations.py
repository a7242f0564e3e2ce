"""Alembic migrations: a fresh database and one made by the pre-Alembic runner both reach the newest
revision with their data, the check catches models that drift from the migrations, a database
behind the code is refused with the command to run, and the scripts ship inside the package."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import warnings
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, inspect, text

from consumers.incidents.engine import IncidentEngine
from consumers.incidents.ledger import Mark
from consumers.incidents.settings import IncidentSettings
from consumers.incidents.store import IncidentStore
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.db.engine import Database
from huabei_watch.db.migrate import LEGACY_VERSION_TABLE, Migrations, SchemaNotCurrent
from huabei_watch.root import schema
from huabei_watch.root.cli import main
from tests.incidents.factories import T0, maintenance
from tests.support import fresh_pg_database, security_toml

#: Older than anything stored: load every incident.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

LEGACY = json.loads((Path(__file__).parents[1] / "fixtures" / "legacy_schema.json").read_text("utf-8"))
PG_URL = os.environ.get("HUABEI_TEST_PG_URL") or None


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database with no table at all."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    else:
        if PG_URL is None:
            pytest.skip("PostgreSQL not configured (HUABEI_TEST_PG_URL)")
        url = await fresh_pg_database(PG_URL)
    db = await Database.open(url, retry_for=5)
    yield db
    await db.close()


async def tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def make_legacy(db: Database) -> None:
    """What the previous code left: its DDL, its version row, and a few rows of data."""
    async with db.begin() as conn:
        for stmt in LEGACY[db.engine.dialect.name]:
            await conn.execute(text(stmt))
        await conn.execute(text(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'create tables', '2026-11-20 08:00:00')"))
        await conn.execute(text(
            "INSERT INTO merchants (id, name, mode, channels, contacts, origin, updated_at) "
            "VALUES ('m1', '一号店', 'auto', '[\"wecom\"]', '{}', 'config', '2026-11-20 08:00:00')"))
        await conn.execute(text(
            "INSERT INTO cashier_state (subject, version, data, updated_at) "
            "VALUES ('*', 3, '{\"off\": [\"pcredit\"]}', '2026-11-20 08:00:00')"))


async def test_a_fresh_database_upgrades_to_head_and_matches_the_models(empty: Database) -> None:
    m = schema.migrations()
    assert (await m.status(empty)).current == ()
    applied = await m.upgrade(empty)
    assert applied[-1] == m.head() and applied[0] == "0001"
    status = await m.status(empty)
    assert status.at_head and status.pending == ()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert await m.check(empty) == []
    assert [str(w.message) for w in caught] == []  # the indexes left out on purpose raise no warning
    assert set(schema.load_tables().tables) <= await tables(empty)
    assert await m.upgrade(empty) == ()  # nothing pending: a no-op


async def test_a_database_made_by_the_previous_runner_is_adopted_with_its_rows(empty: Database) -> None:
    await make_legacy(empty)
    m = schema.migrations()
    assert (await m.status(empty)).current == ()
    await m.upgrade(empty)
    assert (await m.status(empty)).at_head
    assert await m.check(empty) == []
    async with empty.engine.connect() as conn:
        merchants = (await conn.execute(text("SELECT id, name FROM merchants"))).all()
        state = (await conn.execute(text("SELECT subject, version FROM cashier_state"))).all()
        legacy = (await conn.execute(text(f"SELECT version FROM {LEGACY_VERSION_TABLE}"))).all()
    assert [tuple(r) for r in merchants] == [("m1", "一号店")]
    assert [tuple(r) for r in state] == [("*", 3)]
    assert [tuple(r) for r in legacy] == [(1,)]  # the old bookkeeping is left alone


async def test_the_check_names_what_differs_when_the_models_drift_from_the_migrations(empty: Database) -> None:
    await schema.migrations().upgrade(empty)
    drifted = MetaData(naming_convention=schema.load_tables().naming_convention)
    for table in schema.load_tables().tables.values():
        table.to_metadata(drifted)
    Table("probe_states", drifted, Column("checked_by", String(50)), extend_existing=True)
    Table("brand_new", drifted, Column("id", Integer, primary_key=True))
    diffs = await Migrations(schema.SCRIPT_LOCATION, drifted).check(empty)
    assert any("add_column" in d and "probe_states.checked_by" in d for d in diffs), diffs
    assert any("add_table" in d and "brand_new" in d for d in diffs), diffs


async def test_a_database_behind_the_code_is_refused_with_the_command_to_run(empty: Database) -> None:
    m = schema.migrations()
    with pytest.raises(SchemaNotCurrent, match="run `huabei-watch db upgrade`"):
        await m.require_current(empty)
    with pytest.raises(SchemaNotCurrent, match="huabei-watch db upgrade"):
        await m.check(empty)
    await m.upgrade(empty, target="0001")  # what the previous release left
    with pytest.raises(SchemaNotCurrent, match=r"revision 0001, needs .*run `huabei-watch db upgrade`"):
        await m.require_current(empty)
    await m.upgrade(empty)
    assert (await m.require_current(empty)).at_head


async def test_sqlite_upgrades_itself_at_start_and_other_databases_must_be_current(empty: Database) -> None:
    if empty.engine.dialect.name == "sqlite":
        await make_legacy(empty)
        await schema.prepare_database(empty)
        assert (await schema.migrations().status(empty)).at_head
    else:
        with pytest.raises(SchemaNotCurrent, match="huabei-watch db upgrade"):
            await schema.prepare_database(empty)
        assert await tables(empty) == set()  # nothing was created behind the operator's back


def test_the_head_a_process_checks_without_alembic_is_alembic_head() -> None:
    assert schema.migrations().head() == schema.HEAD_REVISION


async def test_a_process_whose_database_is_at_head_starts_without_loading_alembic(
    tmp_path: Path, python_exe: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    db = await Database.open(url, retry_for=5)
    try:
        await schema.migrations().upgrade(db)
    finally:
        await db.close()
    script = (
        "import asyncio, sys\n"
        "from huabei_watch.db.engine import Database\n"
        "from huabei_watch.root import schema\n"
        "async def main():\n"
        f"    db = await Database.open({url!r}, retry_for=5)\n"
        "    await schema.prepare_database(db)\n"
        "    await db.close()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    proc = await asyncio.create_subprocess_exec(python_exe, "-c", script, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0 and out.decode().strip() == "[]", err.decode()[-2000:]


async def test_two_processes_upgrading_at_once_apply_each_revision_once(
    empty: Database, tmp_path: Path, python_exe: str
) -> None:
    """Like an init container per pod: two `huabei-watch db upgrade` processes on one database."""
    url = empty.engine.url.render_as_string(hide_password=False)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[daemon]\nstate_dir = "{tmp_path.as_posix()}"\n[database]\nurl = "{url}"\n', "utf-8")
    procs = [
        await asyncio.create_subprocess_exec(
            python_exe, "-m", "huabei_watch.root.cli", "--config", str(cfg), "db", "upgrade",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    said = sorted(out.decode() for out, _ in outs)
    m = schema.migrations()
    assert said[0].startswith("already at") and said[1].startswith("upgraded: applied 0001"), said
    assert (await m.status(empty)).at_head


@pytest.mark.skipif(PG_URL is None, reason="PostgreSQL not configured (HUABEI_TEST_PG_URL); SQLite upgrades itself")
async def test_a_role_refuses_to_start_on_a_postgresql_database_behind_the_code(
    broker: EmbeddedBroker, tmp_path: Path, python_exe: str
) -> None:
    assert PG_URL is not None
    url = await fresh_pg_database(PG_URL)
    empty = await Database.open(url, retry_for=5)
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[daemon]\nstate_dir = "{tmp_path.as_posix()}"\n[database]\nurl = "{url}"\n[sandbox]\nenabled = false\n'
        f'[admin]\nlisten = "127.0.0.1:0"\n[kafka]\nbootstrap_servers = "{broker.bootstrap_servers}"\n'
        f'topic_prefix = "{tmp_path.name[-20:]}"\nidempotence = "off"\n' + security_toml(),
        "utf-8",
    )
    proc = await asyncio.create_subprocess_exec(
        python_exe, "-m", "huabei_watch.root.cli", "--config", str(cfg), "run", "--role", "cashier",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 1
    assert "schema is behind" in err.decode() and "run `huabei-watch db upgrade`" in err.decode()
    try:
        assert await tables(empty) == set()
    finally:
        await empty.close()


def test_db_commands_upgrade_check_and_report_the_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[daemon]\nstate_dir = "{tmp_path.as_posix()}"\n', "utf-8")
    head = schema.migrations().head()
    assert main(["--config", str(cfg), "db", "current"]) == 0
    assert capsys.readouterr().out.strip() == f"none (behind: head is {head}, pending {pending_all()}; run `huabei-watch db upgrade`)"
    assert main(["--config", str(cfg), "db", "check"]) == 1
    assert "run `huabei-watch db upgrade` first" in capsys.readouterr().err
    assert main(["--config", str(cfg), "db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == f"upgraded: applied {pending_all()}; now at {head}"
    assert main(["--config", str(cfg), "db", "check"]) == 0
    assert capsys.readouterr().out.strip() == f"ok: at {head}, the models and the migrations agree"
    assert main(["--config", str(cfg), "db", "current"]) == 0
    assert capsys.readouterr().out.strip() == f"{head} (head)"


def test_db_commands_report_a_bad_configuration_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[database]\npool_size = 0\n', "utf-8")
    assert main(["--config", str(cfg), "db", "upgrade"]) == 2
    assert "database.pool_size" in capsys.readouterr().err


def pending_all() -> str:
    return ", ".join(reversed([s.revision for s in schema.migrations().script.walk_revisions()]))


@pytest.mark.slow
def test_the_migrations_ship_inside_the_wheel(tmp_path: Path, python_exe: str) -> None:
    """`pip install .` users get env.py, every revision and the template (package data)."""
    root = Path(__file__).resolve().parents[2]
    src = tmp_path / "src"  # a copy: building in place would leave build/ in the work tree
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("huabei_watch", "watcher", "consumers"):
        shutil.copytree(root / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    done = subprocess.run(
        [python_exe, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("huabei_watch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.removeprefix("huabei_watch/root/migrations/") for n in names if n.startswith("huabei_watch/root/migrations/")}
    revisions = {f"versions/{p.name}" for p in (schema.SCRIPT_LOCATION / "versions").glob("v*.py")}
    assert {"env.py", "script.py.mako"} | revisions <= shipped
    assert revisions


async def test_an_incident_stored_with_the_old_refs_gets_its_ledger_in_the_new_tables(empty: Database) -> None:
    """Revision 0002: marks and ``event:`` entries leave ``refs`` for incident_marks/incident_events."""
    notice = maintenance()
    old = IncidentEngine(IncidentSettings()).apply(notice, T0)[0].model_copy(update={"refs": (
        "https://example.invalid/n1", f"notice:n1=scheduled@{T0.isoformat()}", f"event:{notice.id}")})
    await make_legacy(empty)
    async with empty.begin() as conn:
        await conn.execute(text(
            "INSERT INTO incidents (incident_id, kind, phase, revision, published_revision, data, updated_at) "
            "VALUES ('maint:n1', 'maintenance', 'scheduled', 1, 1, :data, '2026-11-27 02:00:00')"),
            {"data": old.model_dump_json()})
    await schema.migrations().upgrade(empty)
    assert await schema.migrations().check(empty) == []
    [record] = await IncidentStore(empty).load_recent(EPOCH)
    assert record.incident.refs == ("https://example.invalid/n1", "notice:n1")
    assert record.ledger.marks == (Mark("notice:n1", "scheduled", T0),)
    assert record.ledger.event_ids == (notice.id,)
    restored = IncidentEngine.restore(IncidentSettings(), [record])
    assert restored.apply(notice, T0 + timedelta(minutes=1)) == []  # seen before the upgrade
    assert restored.apply(maintenance(revision="r0", at=T0 - timedelta(hours=1)), T0) == []  # older than the mark
