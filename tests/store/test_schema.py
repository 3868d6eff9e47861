"""Migrations, refusals of foreign or newer databases, error mapping and query plans."""

from __future__ import annotations

import os
from pathlib import Path
import sqlite3

import pytest

from gsmgw.errors import StoreError
from gsmgw.store import SCHEMA_VERSION, Store, StoreReader, schema
from gsmgw.store.inbox import SHIFT_WAITING_SQL
from gsmgw.store.outbox import (
    CLAIM_SQL,
    EXPIRE_SQL,
    PROMOTE_SQL,
    SHIFT_EXPIRY_SQL,
    SHIFT_RETRY_SQL,
)
from gsmgw.store.progress import REPORT_SQL


def user_version(path: Path) -> int:
    """Return the file's ``PRAGMA user_version``."""
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def tables(path: Path) -> set[str]:
    """Return the names of the file's tables."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        return {name for (name,) in rows}


async def test_migrates_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "gsmgw.db"
    async with Store(path):
        pass
    assert user_version(path) == SCHEMA_VERSION == 5
    assert {"outbox", "outbox_part", "inbox", "inbox_part", "publication", "opt_out"} <= tables(
        path
    )
    assert "inbox_undecodable" in tables(path)
    assert {"smpp_message", "smpp_part", "smpp_delivery"} <= tables(path)
    assert "delivery" in tables(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_reopening_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "gsmgw.db"
    async with Store(path) as store:
        await store.opt_out_add("+4917011")
    async with Store(path) as store:
        assert await store.opt_out_contains("+4917011")


async def test_a_later_step_runs_on_an_existing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gsmgw.db"
    async with Store(path) as store:
        await store.opt_out_add("+4917011")
    step = "ALTER TABLE opt_out ADD COLUMN note TEXT;\nUPDATE opt_out SET note = 'migrated';"
    monkeypatch.setitem(schema.MIGRATIONS, SCHEMA_VERSION + 1, step)
    async with Store(path) as store:
        assert await store.opt_out_contains("+4917011")
    assert user_version(path) == SCHEMA_VERSION + 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT note FROM opt_out").fetchone() == ("migrated",)


async def test_failed_migration_leaves_the_database_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gsmgw.db"
    async with Store(path):
        pass
    before = tables(path)
    broken = "CREATE TABLE half_done (a INTEGER);\nINSERT INTO no_such_table VALUES (1);"
    monkeypatch.setitem(schema.MIGRATIONS, SCHEMA_VERSION + 1, broken)
    with pytest.raises(
        StoreError, match=f"migration to schema version {SCHEMA_VERSION + 1} failed"
    ):
        await Store(path).open()
    assert user_version(path) == SCHEMA_VERSION
    assert tables(path) == before


async def test_a_version_1_database_migrates_with_its_data(tmp_path: Path) -> None:
    """Schema 3 (undecodable PDUs kept raw) comes on top of a version 1 file in use."""
    path = tmp_path / "gsmgw.db"
    with sqlite3.connect(path) as conn:
        for statement in schema._statements(schema.MIGRATIONS[1]):
            conn.execute(statement)
        conn.execute("INSERT INTO opt_out VALUES ('+4917011', 0, 'cli')")
        conn.execute("PRAGMA user_version = 1")
    async with Store(path) as store:
        assert await store.opt_out_contains("+4917011")
        kept = await store.store_undecodable("sim1", b"\x07\x91", error="short")
    assert user_version(path) == SCHEMA_VERSION
    with StoreReader(path) as reader:
        assert [u.id for u in reader.list_undecodable()] == [kept.id]


async def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "gsmgw.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer than this gsmgw knows"):
        await Store(path).open()


async def test_refuses_foreign_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StoreError, match=r"not a gsmgw database|file is not a database"):
        await Store(garbage).open()
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (a)")
    with pytest.raises(StoreError, match="no schema version"):
        await Store(foreign).open()


async def test_unwritable_location_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot open"):
        await Store(blocker / "gsmgw.db").open()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
async def test_read_only_directory_is_a_store_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(StoreError):
            await Store(locked / "gsmgw.db").open()
    finally:
        locked.chmod(0o755)


async def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = Store(tmp_path / "gsmgw.db")
    with pytest.raises(StoreError, match="not open"):
        await store.opt_out_contains("+49")


def test_reader_needs_an_existing_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such database"):
        StoreReader(tmp_path / "missing.db")


async def test_reader_works_beside_the_writer(store: Store) -> None:
    await store.opt_out_add("+4917011")
    with StoreReader(store.path) as reader:
        assert [e.number for e in reader.opt_out_list()] == ["+4917011"]
        await store.opt_out_add("+4917022")
        assert len(reader.opt_out_list()) == 2


@pytest.mark.parametrize(
    ("sql", "args", "index"),
    [
        (CLAIM_SQL, (0,), "outbox_ready"),
        (PROMOTE_SQL, (0, 10), "outbox_waiting"),
        (EXPIRE_SQL, (0, 10), "outbox_expiry"),
        (REPORT_SQL, ("sim1", 5, 0, 1, 1, "1", "+1", "1", "+1"), "outbox_part_awaiting"),
        # After a wall-clock jump: touch what waits, not the whole history.
        (SHIFT_RETRY_SQL, (1000,), "outbox_state"),
        (SHIFT_EXPIRY_SQL, (1000,), "outbox_state"),
        (SHIFT_WAITING_SQL, (1000,), "inbox_part_message"),
    ],
)
async def test_hot_queries_use_their_index(
    store: Store, sql: str, args: tuple[object, ...], index: str
) -> None:
    with sqlite3.connect(store.path) as conn:
        plan = " / ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args))
    assert f"INDEX {index}" in plan
    assert "SCAN" not in plan
    assert "TEMP B-TREE" not in plan
