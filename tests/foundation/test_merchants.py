"""Merchant registry: config and CSV import, bad rows reported by line, streaming reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from huabei_watch.db.engine import Database
from huabei_watch.merchants.model import token_matches
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.root.cli import main

CSV = """id,name,mode,token,payments_secret,phone,channels,plugin,wecom_robot_key
m1,一号店,auto,tok1,sec1,13800000001,wecom;sms,woo-alipay/3.2.1,robot-1
m2,二号店,notify_only,,,13800000002,sms,,
m3,三号店,sometimes,,,,,,
,无名店,auto,,,,,,
m4,四号店,pinned_off,,,call-me,,,
m5,五号店,auto,,,,wecom,,
"""


async def test_csv_import_upserts_good_rows_and_reports_bad_ones_by_line(db: Database) -> None:
    reg = MerchantRegistry(db)
    report = await reg.import_csv(CSV)
    assert report.imported == 2
    assert [p.split(":")[0] for p in report.problems] == ["line 4", "line 5", "line 6", "line 7"]
    assert report.problems[3] == "line 7: contacts.wecom_robot_key: required by the channels listed (wecom)"
    assert "mode: must be one of" in report.problems[0]
    m1 = await reg.get("m1")
    assert m1 is not None and m1.mode == "auto" and m1.channels == ("wecom", "sms")
    assert m1.contacts.phone == "13800000001" and m1.payments_secret == "sec1"
    assert token_matches("tok1", m1.token_hash) and not token_matches("tok2", m1.token_hash)
    assert "tok1" not in repr(m1) and "sec1" not in repr(m1)
    again = await reg.import_csv(CSV.replace("一号店", "一号店(新)"))
    assert again.imported == 2
    renamed = await reg.get("m1")
    assert renamed is not None and renamed.name == "一号店(新)"
    assert await reg.count() == 2


async def test_registry_streams_many_merchants_in_id_order(db: Database) -> None:
    reg = MerchantRegistry(db)
    rows = "id,mode\n" + "".join(f"m{i:06d},auto\n" for i in range(5000))
    report = await reg.import_csv(rows, batch=700)
    assert report.imported == 5000 and not report.problems
    ids = [m.id async for m in reg.iter_all(chunk=999)]
    assert ids == sorted(ids) and len(ids) == 5000


async def test_a_merchant_is_found_by_its_token_through_the_token_hash_index(db: Database) -> None:
    reg = MerchantRegistry(db)
    report = await reg.import_csv("id,mode,token\n" + "".join(f"m{i},auto,tok-{i}\n" for i in range(300)))
    assert report.imported == 300
    found = await reg.by_token("tok-217")
    assert found is not None and found.id == "m217"
    assert await reg.by_token("tok-none") is None
    if db.engine.dialect.name == "sqlite":  # the plan names the index: no scan of every merchant per lookup
        async with db.engine.connect() as conn:
            plan = (await conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM merchants WHERE token_hash = 'x'")).all()
        assert any("ix_merchants_token_hash" in str(row[-1]) for row in plan), plan


async def test_merchants_changed_since_a_time_are_read_through_the_updated_at_index(db: Database) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan is checked on SQLite; PostgreSQL gets the index from the same migration")
    async with db.engine.connect() as conn:
        plan = (await conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM merchants WHERE updated_at >= '2026-01-01'")).all()
    assert any("ix_merchants_updated_at" in str(row[-1]) for row in plan), plan


async def test_postgresql_streams_ids_in_code_point_order_through_their_own_index(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite compares bytes: its primary key serves the code-point order")
    async with db.engine.begin() as conn:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):  # an empty table: make the
            await conn.exec_driver_sql(f"SET LOCAL {setting} = off")               # planner say what it can use
        plan = (await conn.exec_driver_sql(
            'EXPLAIN SELECT id FROM merchants WHERE id COLLATE "C" > \'m1\' ORDER BY id COLLATE "C" LIMIT 2000')).all()
    assert any("ix_merchants_id_c" in str(row[0]) for row in plan), plan


def test_merchants_import_command_reports_problems_and_exits_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[daemon]\nstate_dir = "{(tmp_path / "s").as_posix()}"\n', "utf-8")
    f = tmp_path / "m.csv"
    f.write_text(CSV, "utf-8")
    assert main(["--config", str(cfg), "merchants", "import", str(f)]) == 1
    captured = capsys.readouterr()
    assert "imported 2 merchants, 4 problems" in captured.out
    assert "line 4: mode" in captured.err
    assert main(["--config", str(cfg), "merchants", "list"]) == 0
    assert '"id": "m1"' in capsys.readouterr().out
