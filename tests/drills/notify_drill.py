"""What the notify drills share: a daemon config for the notify role against the WeCom and Aliyun SMS
fakes, and a reader of the daemon's tables that tolerates tables not created yet."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import write_daemon_config


def notify_config(path: Path, *, state_dir: Path, merchants: Iterable[tuple[str, int]], port: int, prefix: str,
                  bootstrap: str, wecom: str, sms: str, db_url: str, partitions: int, sms_timeout: int,
                  unconfirmed_after: int, fanout: str = "") -> Path:
    """A notify daemon's config: ``merchants`` as (id, n) with robot ``robot-n`` and phone ``1390000nnnn``,
    ops on WeCom, quiet hours off, one request at a time per provider, plus ``fanout`` lines."""
    blocks = "".join(
        f'\n[[merchants]]\nid = "{mid}"\nmode = "auto"\ntoken = "tok-{n}"\nchannels = ["wecom", "sms"]\n'
        f'contacts = {{ wecom_robot_key = "robot-{n}", phone = "1390000{n:04d}" }}\n'
        for mid, n in merchants
    )
    return write_daemon_config(
        path, state_dir=state_dir, bootstrap=bootstrap, prefix=prefix, db_url=db_url,
        partitions=partitions, listen=f"127.0.0.1:{port}",
        body=f"""
[notify]
ops = [{{ channel = "wecom", address = "ops-robot" }}]
replan_every = "5s"
[notify.wecom]
base_url = "{wecom}"
[notify.aliyun_sms]
base_url = "{sms}"
access_key_id = "AK"
access_key_secret = "SK"
sign_name = "花呗助手"
default_template_code = "SMS_1"
timeout_seconds = {sms_timeout}
[notify.plan.quiet_hours]
start = "00:00"
end = "00:00"
[notify.delivery]
lease = 5
unconfirmed_after = {unconfirmed_after}
[notify.fanout]
{fanout}concurrency = {{ wecom = 1, aliyun_sms = 1 }}
{blocks}
""",
    )


async def read_rows(db: AsyncEngine, query: str) -> list[tuple[Any, ...]]:
    """Rows of ``query``, read beside the daemons; [] before a daemon created its tables."""
    try:
        async with db.connect() as conn:
            return [tuple(r) for r in await conn.execute(text(query))]
    except (OperationalError, ProgrammingError):
        return []
