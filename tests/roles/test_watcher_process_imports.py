"""What a watcher process loads: only its own role (issue 17, memory).

The watcher's RSS budget rests on a process of one role not importing the others, SQLAlchemy's
ORM, ``cryptography``'s bindings, jinja2, BeautifulSoup or the notify channel adapters (see bench/README.md,
"Watcher memory"). A child process starts ``run --role watcher`` the way the console script does
(the CLI module first, then the daemon) on a migrated database, and reports ``sys.modules`` once
the daemon is ready. It runs twice: with a minimal file, and with the ``[notify]`` tables of
config/production.example.toml, as every shipped deployment mounts them (``[notify]``'s model
loads then, like every section's, but none of what the notify role needs to send). Nor does it load
the other roles' engines through their settings models.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.security.daemon import free_port

DRIVER = """
import asyncio, json, os, signal, sys

import huabei_watch.root.cli  # what the console script imports first
from huabei_watch.root.daemon import run_daemon
from huabei_watch.root.settings import load_settings


async def main() -> None:
    ready = asyncio.Event()
    daemon = asyncio.create_task(run_daemon(load_settings(sys.argv[1]), ["watcher"], ready=ready))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([daemon, waiting], return_when=asyncio.FIRST_COMPLETED)
    if daemon.done():
        daemon.result()  # raises what stopped it
        raise SystemExit("the daemon stopped before it was ready")
    loaded = sorted(sys.modules)
    os.kill(os.getpid(), signal.SIGTERM)  # the daemon's own handler: drain and return
    print(json.dumps({"code": await daemon, "modules": loaded}))


asyncio.run(main())
"""

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ROOT / "config" / "production.example.toml"

#: Modules a watcher-only process must not load, and why.
NOT_LOADED = {
    "consumers.notify.role": "the notify role",
    "consumers.cashier.role": "the cashier role",
    "consumers.incidents.role": "the incidents role",
    **{f"consumers.{m}": "a role's own code (the settings every process validates are apart from it)" for m in (
        "incidents.engine", "incidents.ledger", "cashier.policy", "cashier.reconcile", "notify.plan", "notify.templates",
        "notify.delivery", "notify.fanout", "notify.reservations")},
    **{f"consumers.notify.channels.{m}": "a notify channel adapter (built by the notify role only)" for m in (
        "_http", "sms_batch", "wecom", "wecom_app", "wechat_oa", "aliyun_sms", "tencent_sms", "dingtalk", "feishu",
        "webhook", "console", "file")},
    "sqlalchemy.orm": "SQLAlchemy's ORM (the Core's asyncio side is enough)",
    "cryptography": "cryptography's bindings (signing is libsodium's; no TLS probe or Alipay key here)",
    "jinja2": "the pages' and messages' templates (no page opened, no message rendered)",
    "alembic": "migrations (run by `db upgrade` before the roles start)",
    "sqlalchemy.dialects.postgresql": "SQLAlchemy's PostgreSQL dialect (the database here is SQLite)",
    "bs4": "BeautifulSoup (pages are read with lxml; bs4 only for a selector XPath does not take)",
    "soupsieve": "soupsieve (BeautifulSoup's selectors)",
    **{f"huabei_watch.root.{m}": "a status, incident or merchant page's reads (imported when a page is first asked for)"
       for m in ("status_data", "status_history", "incident_data", "merchant_page", "reads")},
    **{f"consumers.{m}.store": "a role's store (read by the pages, imported when a page is first asked for)"
       for m in ("cashier", "incidents", "notify")},
}


def production_notify_tables() -> str:
    """The ``[notify]`` and ``[notify.*]`` tables of config/production.example.toml, verbatim."""
    out: list[str] = []
    keep = False
    for line in PRODUCTION.read_text("utf-8").splitlines():
        if line.startswith("["):
            keep = line.startswith(("[notify]", "[notify."))
        if keep:
            out.append(line)
    assert out and out[0] == "[notify]", "config/production.example.toml has no [notify] table any more"
    return "\n".join(out) + "\n"


async def _run(python_exe: str, *args: str, timeout: float = 120) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        python_exe, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out, err


@pytest.mark.parametrize("notify", ["no [notify]", "production [notify]"])
async def test_a_watcher_process_loads_no_other_role_nor_the_orm_cryptography_or_jinja2(
    notify: str, tmp_path: Path, python_exe: str, embedded_kafka: dict[str, str]
) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text(
        f"""
[daemon]
state_dir = "{(tmp_path / 'state').as_posix()}"
log_format = "json"
shutdown_timeout = "5s"
[admin]
listen = "127.0.0.1:{free_port()}"
[kafka]
bootstrap_servers = "{embedded_kafka['bootstrap_servers']}"
[sandbox]
enabled = false
[[sources]]
kind = "html"
id = "s1"
list_url = "http://127.0.0.1:{free_port()}/list"
item_selector = "ul li"
interval = 60
"""
        + (production_notify_tables() if notify == "production [notify]" else ""),
        "utf-8",
    )
    code, _, err = await _run(python_exe, "-m", "huabei_watch.root.cli", "--config", str(config), "db", "upgrade")
    assert code == 0, err.decode()[-2000:]
    code, out, err = await _run(python_exe, "-c", DRIVER, str(config))
    assert code == 0, err.decode()[-2000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert report["code"] == 0
    loaded = set(report["modules"])
    assert "watcher.role" in loaded and "sqlalchemy.ext.asyncio.engine" in loaded  # it did start the watcher
    assert "consumers.notify.settings" in loaded  # [notify]'s model is validated in every process
    wrongly = {name: why for name, why in NOT_LOADED.items() if name in loaded}
    assert not wrongly, f"a watcher process loaded {wrongly}"


async def test_the_orm_side_of_sqlalchemy_asyncio_still_loads_when_asked_for(python_exe: str) -> None:
    """``huabei_watch.db`` installs the Core side only; code that asks for ``AsyncSession`` (or any
    other name of the package) gets the real one, and the ORM with it."""
    script = (
        "import sys\n"
        "import huabei_watch.db\n"
        "from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine\n"
        "assert 'sqlalchemy.orm' not in sys.modules\n"
        "from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker\n"
        "import sqlalchemy.ext.asyncio.session as real\n"
        "assert AsyncSession is real.AsyncSession and 'sqlalchemy.orm' in sys.modules\n"
        "try:\n"
        "    from sqlalchemy.ext.asyncio import NoSuchName\n"
        "except ImportError:\n"
        "    print('ok')\n"
    )
    code, out, err = await _run(python_exe, "-c", script)
    assert code == 0, err.decode()[-2000:]
    assert out.decode().strip() == "ok"
