"""The one writer thread: every store operation runs here, and queued writes share one commit.

Theory of operation: callers submit jobs (a function of a ``Transaction``) and await a future. The
thread takes every job queued at that moment (up to ``MAX_BATCH``), runs each inside its own
SAVEPOINT within one transaction, and commits once; only after that commit returns (the WAL is
fsynced, ``synchronous=FULL``) does it resolve the futures, all of a batch in one
``loop.call_soon_threadsafe`` (one wake-up of the loop per batch, not one per job). So
``await store.enqueue(...)`` never returns before its data is durable, and a burst of concurrent
writers pays for one fsync. A job that raises rolls back its own savepoint only; a failed COMMIT
fails the whole batch with ``StoreError``.

A job may be queued with ``durable=False``: what a power cut may lose without harm, because a
later durable commit always comes before anything leaves on its strength (a claim: the part's
``begin_part`` is durable before its PDU is written), or because its loss only repeats what may
repeat (a publication's acknowledgement: the event is published again). A batch of only such
jobs commits with ``synchronous=NORMAL``: in WAL mode that survives a process crash but skips the
fsync, and the next FULL commit's fsync makes its frames durable too (the WAL is one file).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
import logging
from pathlib import Path
import queue
import sqlite3
import threading
from typing import Any, TypeVar

from gsmgw.errors import StoreError
from gsmgw.store.schema import connect_writer, map_errors

LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

#: Jobs committed together at most; bounds one transaction's size and latency.
MAX_BATCH = 1000


@dataclass(slots=True)
class Transaction:
    """What a job sees: the connection, and hooks that run only if the batch commits."""

    conn: sqlite3.Connection
    #: Run in the writer thread after the commit (in-memory caches of committed data).
    committed: list[Callable[[], None]] = field(default_factory=list)
    #: Run on the event loop after the commit (wake-up events).
    notify: list[Callable[[], None]] = field(default_factory=list)


@dataclass(slots=True)
class _Job:
    run: Callable[[Transaction], Any]
    future: asyncio.Future[Any]
    durable: bool = True
    result: Any = None
    error: BaseException | None = None
    tx: Transaction | None = None


class Writer:
    """Owns the writing connection and its thread; ``submit`` runs a job and awaits its commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        #: How many transactions were committed (tests check batching with it).
        self.commits = 0
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Whether the connection commits with ``synchronous=FULL`` (``connect_writer`` sets it).
        self._full = True

    async def start(self, setup: Callable[[sqlite3.Connection], None]) -> None:
        """Open the database in the thread (migrating it) and run ``setup`` there once."""
        self._loop = asyncio.get_running_loop()
        opened: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._main, args=(setup, opened), name="gsmgw-store", daemon=True
        )
        self._thread.start()
        try:
            await opened
        except BaseException:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
            raise

    async def submit(self, run: Callable[[Transaction], T], *, durable: bool = True) -> T:
        """Run ``run`` in the writer thread; return its result once its batch is committed."""
        return await self.put(run, durable=durable)

    def put(self, run: Callable[[Transaction], T], *, durable: bool = True) -> asyncio.Future[T]:
        """Queue ``run`` now, behind every job queued before it; its future resolves at commit.

        ``durable=False``: the commit may skip its fsync (see the module docstring).
        """
        if self._thread is None or self._loop is None:
            raise StoreError("the store is not open")
        future: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put(_Job(run, future, durable))
        return future

    async def close(self) -> None:
        """Finish the queued jobs, then close the connection and end the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._jobs.put(None)
        await asyncio.shield(asyncio.to_thread(thread.join))

    def _main(
        self, setup: Callable[[sqlite3.Connection], None], opened: asyncio.Future[None]
    ) -> None:
        try:
            conn = connect_writer(self.path)
            try:
                with map_errors(f"cannot read {self.path}"):
                    setup(conn)
            except BaseException:
                conn.close()
                raise
        except BaseException as exc:
            self._resolve(opened, None, exc)
            return
        self._resolve(opened, None, None)
        try:
            while (batch := self._next_batch()) is not None:
                self._run_batch(conn, batch)
        finally:
            conn.close()

    def _next_batch(self) -> list[_Job] | None:
        first = self._jobs.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self._jobs.put(None)  # stop after this batch
                break
            batch.append(job)
        return batch

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        try:
            with map_errors(f"cannot write {self.path}"):
                full = any(job.durable for job in batch)
                if full != self._full:
                    conn.execute(f"PRAGMA synchronous = {'FULL' if full else 'NORMAL'}")
                    self._full = full
                conn.execute("BEGIN IMMEDIATE")
                for job in batch:
                    self._run_job(conn, job)
                conn.execute("COMMIT")
            self.commits += 1
        except StoreError as exc:
            LOGGER.error("store: %s", exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for job in batch:
                job.error, job.tx = exc, None
        self._finish(batch)

    @staticmethod
    def _run_job(conn: sqlite3.Connection, job: _Job) -> None:
        tx = Transaction(conn)
        conn.execute("SAVEPOINT job")
        try:
            job.result = job.run(tx)
        except sqlite3.Error as exc:
            job.error = StoreError(f"{exc}")
            job.error.__cause__ = exc
        except Exception as exc:  # a job's own error goes to its caller, not the batch
            job.error = exc
        if job.error is None:
            conn.execute("RELEASE job")
            job.tx = tx
        else:
            conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")

    def _finish(self, batch: list[_Job]) -> None:
        """Run the batch's hooks, then hand its results to the loop in one wake-up."""
        for job in batch:
            if job.tx is not None:
                for hook in job.tx.committed:
                    hook()
        self._call_soon(_deliver, batch)

    def _call_soon(self, callback: Callable[..., None], *args: object) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody waits any more
            LOGGER.debug("store: no event loop for %r", callback)

    def _resolve(
        self, future: asyncio.Future[Any], result: Any, error: BaseException | None
    ) -> None:
        self._call_soon(_set_future, future, result, error)


def _deliver(batch: list[_Job]) -> None:
    """On the loop: the batch's wake-ups first (each once), then its callers' results.

    One wake-up of the loop per batch, not one per job and hook: a burst of jobs costs the
    loop one self-pipe read, and whoever awaits a job sees the events already set.
    """
    wakeups = dict.fromkeys(hook for job in batch if job.tx is not None for hook in job.tx.notify)
    for callback in wakeups:
        try:
            callback()
        except Exception:  # a wake-up is a loop callback: its failure is logged, as there
            LOGGER.exception("store: wake-up %r failed", callback)
    for job in batch:
        _set_future(job.future, job.result, job.error)


def _set_future(future: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    if future.cancelled():
        return  # the caller gave up waiting; the write itself stands (it is committed)
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
