"""Opening the database and migrating it, one ``PRAGMA user_version`` step at a time.

``schema_v1.sql`` creates version 1 from an empty file; a later version N adds ``schema_vN.sql``
holding the migration from N-1 to N. Each step runs in one transaction together with its
``user_version`` update, so a failed step leaves the file as it was (zigpy ``appdb.py`` habit).
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from importlib import resources
import logging
from pathlib import Path
import sqlite3

from gsmgw.errors import StoreError

LOGGER = logging.getLogger(__name__)

#: How long a connection waits for another process's lock (the CLI beside the daemon).
BUSY_TIMEOUT = 10.0
#: ``PRAGMA auto_vacuum`` value of INCREMENTAL.
AUTO_VACUUM_INCREMENTAL = 2


def _load_migrations() -> dict[int, str]:
    files = resources.files("gsmgw.store")
    migrations = {}
    for entry in files.iterdir():
        name = entry.name
        if name.startswith("schema_v") and name.endswith(".sql"):
            migrations[int(name[len("schema_v") : -len(".sql")])] = entry.read_text("utf-8")
    return migrations


#: Version -> the SQL that brings the previous version to it. Tests swap in broken ones.
MIGRATIONS: dict[int, str] = _load_migrations()
SCHEMA_VERSION = max(MIGRATIONS)


@contextlib.contextmanager
def map_errors(what: str) -> Iterator[None]:
    """Turn ``sqlite3.Error`` and ``OSError`` into ``StoreError`` naming ``what`` failed."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"{what}: {exc}") from exc


def connect_writer(path: Path) -> sqlite3.Connection:
    """Open the database for writing: WAL, ``synchronous=FULL``, migrated to ``SCHEMA_VERSION``.

    ``synchronous=FULL`` makes a commit fsync the WAL: SPEC.md promises that an acknowledged
    request survives a power cut, and NORMAL (also safe against a process crash in WAL mode) may
    lose the last commits when the power goes. The writer switches to NORMAL only for batches a
    power cut may undo without harm (``writer.py``).
    """
    with map_errors(f"cannot open {path}"):
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        with map_errors(f"cannot open {path}"):
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
                # A new file: only now, before its first page is written (WAL mode writes it),
                # can auto_vacuum be chosen without a VACUUM.
                conn.execute(f"PRAGMA auto_vacuum = {AUTO_VACUUM_INCREMENTAL}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{path}: cannot use WAL mode (journal_mode is {mode})")
            conn.execute("PRAGMA synchronous = FULL")
        migrate(conn, path)
        use_incremental_vacuum(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def use_incremental_vacuum(conn: sqlite3.Connection, path: Path) -> None:
    """Turn on ``auto_vacuum = INCREMENTAL`` in a file made without it (once: one VACUUM).

    With it, the pages that retention frees can be given back to the file system
    (``retention.release_free_pages``); without it they are only reused. The VACUUM rewrites the
    file and needs as much free space again; when it fails (a full disk) the store opens anyway
    and tries again at the next start.
    """
    with map_errors(f"cannot read {path}"):
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == AUTO_VACUUM_INCREMENTAL:
            return
    LOGGER.info("%s: turning on incremental vacuum (rewrites the file once)", path)
    try:
        conn.execute(f"PRAGMA auto_vacuum = {AUTO_VACUUM_INCREMENTAL}")
        conn.execute("VACUUM")
    except sqlite3.Error as exc:
        LOGGER.warning(
            "%s: cannot turn on incremental vacuum (next start tries again): %s", path, exc
        )


def connect_reader(path: Path) -> sqlite3.Connection:
    """Open the database read-only, safe beside a running daemon (WAL readers never block it)."""
    if not path.exists():
        raise StoreError(f"{path}: no such database")
    with map_errors(f"cannot open {path}"):
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        with map_errors(f"cannot read {path}"):
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise StoreError(f"{path}: schema version {version}, this gsmgw reads {SCHEMA_VERSION}")
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the database to ``SCHEMA_VERSION``, one transaction per step."""
    with map_errors(f"{path}: not a gsmgw database"):
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").fetchone()
    latest = max(MIGRATIONS)
    if version > latest:
        raise StoreError(
            f"{path}: schema version {version} is newer than this gsmgw knows ({latest}); "
            "upgrade gsmgw or restore a backup"
        )
    if version == 0 and tables[0]:
        raise StoreError(f"{path}: has tables but no schema version; not a gsmgw database")
    for step in range(version + 1, latest + 1):
        _run_step(conn, path, step)


def _run_step(conn: sqlite3.Connection, path: Path, step: int) -> None:
    try:
        conn.execute("BEGIN IMMEDIATE")
        # executescript would commit first; run statement by statement inside our transaction.
        for statement in _statements(MIGRATIONS[step]):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {step}")
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StoreError(f"{path}: migration to schema version {step} failed: {exc}") from exc


def _statements(script: str) -> Iterator[str]:
    """Split a schema script into complete statements (``sqlite3.complete_statement``)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            pending = ""
            if statement.strip(";").strip() and not _only_comments(statement):
                yield statement
    if pending.strip() and not _only_comments(pending):
        raise sqlite3.OperationalError(f"incomplete statement at the end: {pending.strip()!r}")


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())
