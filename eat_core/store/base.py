"""Connections to the workspace file: brief transactions, lock retries, migrations, the version check.

DuckDB allows one read-write process per file, and even a read-only reader fails while a writer holds it. So every
operation opens a *brief* connection, does its work in one transaction, and closes: a user can query the file
between writes, and a writer that finds the file busy retries with backoff before giving a clear error. All SQL is
parameterised; nothing user-supplied is formatted into a statement.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eat_core.errors import DiskFullError, StoreError, StoreLocked
from eat_core.store.schema import MIGRATIONS, SCHEMA_VERSION

_LOCK_MARKERS = ("Could not set lock", "Conflicting lock")
_NO_SPACE = re.compile(r"No space left on device|[Dd]isk (is )?full")
_WRITING = re.compile(r'[Cc]ould not (?:write|truncate|sync|extend|create)[^"]*"([^"]+)"')


def disk_full(exc: BaseException, db: str | Path) -> DiskFullError | None:
    """``exc`` as a :class:`DiskFullError` naming the file that could not be written, or None if it is not a full
    disk. DuckDB says so inside a ``TransactionException`` ("Failed to commit: Could not write file "X.wal": No
    space left on device") or an ``IOException`` (a checkpoint into the file itself); Python with ``ENOSPC``."""
    if isinstance(exc, DiskFullError):
        return exc
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        file = str(exc.filename or db)
    elif _NO_SPACE.search(str(exc)) and type(exc).__module__.lstrip("_").startswith("duckdb"):
        found = _WRITING.search(str(exc))
        file = found.group(1) if found else str(db)
    else:
        return None
    what = ("the write-ahead log of the DuckDB workspace" if file.endswith(".wal") else
            "the DuckDB workspace" if Path(file).name == Path(db).name else "a file")
    return DiskFullError(f"no space left on device: could not write {file} ({what}); free space there, then re-run "
                         "the same command: finished work is kept and it resumes", file)


class StoreBase:
    """One DuckDB file per workspace. Cheap to construct; connections are opened per operation."""

    def __init__(self, path: str | Path, *, lock_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self._migrated = False
        self._tx = threading.local()

    # -- connections -----------------------------------------------------------------------------------------

    def _open(self, read_only: bool):
        import duckdb

        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise StoreError(f"{self.path}: no such DuckDB file (run an evaluation first, or check --db)")
        _OPENED.add(str(self.path.resolve()))
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as exc:
                message = str(exc)
                if any(marker in message for marker in _LOCK_MARKERS):
                    if time.monotonic() >= deadline:
                        raise StoreLocked(
                            f"{self.path} is in use by another process and stayed locked for "
                            f"{self.lock_timeout_s:.0f} s ({message.split(':', 1)[-1].strip()}); "
                            "wait for it to finish or raise the lock timeout"
                        ) from None
                    time.sleep(delay + random.uniform(0, delay))
                    delay = min(delay * 2, 1.0)
                    continue
                full = disk_full(exc, self.path)
                if full is not None:
                    raise full from None
                if "not a valid DuckDB database file" in message or "Corrupt" in message:
                    raise StoreError(f"{self.path} is not a valid DuckDB file (corrupt or another format)") from None
                raise StoreError(f"{self.path}: cannot open: {message}") from None
            except duckdb.Error as exc:
                raise disk_full(exc, self.path) or StoreError(f"{self.path}: cannot open: {exc}") from None

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Any]:
        """A brief connection; writes run in one transaction that is rolled back on any error.

        Threads of one process (Prefect's thread-pool task runner) take turns on a per-file lock, so their write
        transactions never conflict; other processes are kept apart by DuckDB's file lock (see ``_open``).
        """
        open_tx = getattr(self._tx, "con", None)
        if open_tx is not None:
            if read_only:
                raise StoreError("a read inside transaction(): read before it, or use its connection")
            yield open_tx  # part of the enclosing transaction(): one open, one commit
            return
        if not read_only and not self._migrated:
            if str(self.path.resolve()) in _MIGRATED and self.path.exists():
                self._migrated = True  # the version is still checked on the connection below
            else:
                self.migrate()
        with _thread_lock(self.path), self._connect(read_only) as con:
            yield con

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """Several writes of this thread in one connection and one transaction: all or nothing, and one open and
        commit (about 60 ms each on our machines) instead of one per write. Reads are refused inside it."""
        if getattr(self._tx, "con", None) is not None:
            yield self._tx.con
            return
        with self.connect() as con:
            self._tx.con = con
            try:
                yield con
            finally:
                self._tx.con = None

    @contextmanager
    def _connect(self, read_only: bool) -> Iterator[Any]:
        con = self._open(read_only)
        try:
            if read_only:
                self._check_version(con)
                yield con
            else:
                self._check_version(con)
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                    con.execute("COMMIT")
                except BaseException as exc:
                    _rollback(con)
                    full = disk_full(exc, self.path)
                    if full is not None and full is not exc:
                        raise full from exc
                    raise
        finally:
            self._close(con)

    def _close(self, con) -> None:
        """Close, which checkpoints the log into the file: that write can find the disk full too."""
        try:
            con.close()
        except Exception as exc:
            full = disk_full(exc, self.path)
            if full is not None:
                raise full from exc
            raise

    # -- schema ----------------------------------------------------------------------------------------------

    def schema_version(self, con) -> int:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", ["eat_meta"]
        ).fetchone()[0]
        if not exists:
            return 0
        row = con.execute("SELECT value FROM eat_meta WHERE key = ?", ["schema_version"]).fetchone()
        return int(row[0]) if row else 0

    def _check_version(self, con) -> int:
        version = self.schema_version(con)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this eat-ner understands ({SCHEMA_VERSION}); "
                "upgrade eat-ner or use another --db"
            )
        return version

    def migrate(self) -> int:
        """Bring the file to ``SCHEMA_VERSION``; each migration commits atomically with its version bump.

        Checked once per file per process (a file that disappears is checked again when it comes back).
        """
        key = str(self.path.resolve())
        if key in _MIGRATED and self.path.exists():
            with _thread_lock(self.path), self._connect(read_only=True) as con:
                self._check_version(con)
            self._migrated = True
            return SCHEMA_VERSION
        with _thread_lock(self.path):
            version = self._migrate()
        _MIGRATED.add(key)
        return version

    def _migrate(self) -> int:
        con = self._open(read_only=False)
        try:
            version = self._check_version(con)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                con.execute("BEGIN TRANSACTION")
                try:
                    con.execute("CREATE TABLE IF NOT EXISTS eat_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
                    for statement in MIGRATIONS[target]:
                        con.execute(statement)
                    con.execute("INSERT OR REPLACE INTO eat_meta VALUES (?, ?)", ["schema_version", str(target)])
                    con.execute("COMMIT")
                except BaseException as exc:
                    _rollback(con)
                    full = disk_full(exc, self.path)
                    if full is not None and full is not exc:
                        raise full from exc
                    raise
            self._migrated = True
            return SCHEMA_VERSION
        finally:
            self._close(con)

    def _ensure_migrated(self) -> None:
        """Migrate before a read that needs the newest tables (an older file may lack them), once per file per
        process; a file migrated earlier in this process is only version-checked, by the read's own connection."""
        if str(self.path.resolve()) not in _MIGRATED:
            self.migrate()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Read-only query for reports; ``sql`` is ours, values travel as parameters."""
        with self.connect(read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()

    def workspace_id(self) -> str:
        """A random id minted once per workspace file: cache records kept outside the file carry it in their keys,
        so a deleted or replaced file never meets the records of its predecessor."""
        with self.connect() as con:
            row = con.execute("SELECT value FROM eat_meta WHERE key = 'workspace_id'").fetchone()
            if row:
                return row[0]
            import uuid

            value = uuid.uuid4().hex
            con.execute("INSERT INTO eat_meta VALUES ('workspace_id', ?)", [value])
            return value


def _rollback(con) -> None:
    """Roll back after an error; a COMMIT that failed (a full disk) has ended the transaction already, and DuckDB's
    "cannot rollback - no transaction is active" must not replace the error that says why."""
    with contextlib.suppress(Exception):
        con.execute("ROLLBACK")


def opened_here(path: str | Path) -> bool:
    """Whether this process has opened ``path`` with DuckDB. If so, nothing may open and close the file by other
    means: closing any descriptor of a file drops every POSIX lock the process holds on it, DuckDB's among them."""
    return str(Path(path).resolve()) in _OPENED


_OPENED: set[str] = set()
_MIGRATED: set[str] = set()
_THREAD_LOCKS: dict[str, threading.RLock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(path: Path) -> threading.RLock:
    key = str(path.resolve())
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(key, threading.RLock())


def to_json(value: Any) -> str | None:
    """A stored JSON column: ``None`` stays NULL; dataclasses, sets and tuples become objects and lists."""
    return None if value is None else json.dumps(value, ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def chunks(items: list, size: int) -> Iterator[list]:
    """``items`` in slices of ``size``: statements with one placeholder per item stay under DuckDB's limits."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


@contextmanager
def read_only(db: str | Path, *, timeout_s: float = 60.0) -> Iterator[Any]:
    """A read-only DuckDB connection to a workspace that a run may be writing right now.

    A plain ``duckdb.connect(db, read_only=True)`` fails while the run holds the file for one of its brief write
    transactions (DuckDB locks the whole file; in our measurement about one try in ten during a smoke run). This
    waits for the write to end, retrying with backoff for up to ``timeout_s`` seconds, then gives a clear
    :class:`StoreError`. Keep the block short: while it is open the run's next write waits for it (up to that
    writer's own lock timeout)::

        from eat_core.store import read_only
        with read_only("eat.duckdb") as con:
            print(con.execute("SELECT run_id, status FROM runs").fetchall())
    """
    store = StoreBase(db, lock_timeout_s=timeout_s)
    con = store._open(read_only=True)
    try:
        yield con
    finally:
        con.close()


def default_db_path() -> Path:
    """``$EAT_DB`` or ``./eat.duckdb``: never inside the installed package."""
    return Path(os.environ.get("EAT_DB", "eat.duckdb"))


def put_blob(store: StoreBase, path: str, content: bytes) -> None:
    """Key-value blobs (Prefect cache records) in the same workspace file (table ``prefect_cache``)."""
    with store.connect() as con:
        con.execute("INSERT OR REPLACE INTO prefect_cache (path, content) VALUES (?, ?)", [path, content])


def get_blob(store: StoreBase, path: str) -> bytes | None:
    if not store.path.exists():
        return None
    store._ensure_migrated()  # an older file may lack the table
    with store.connect(read_only=True) as con:
        row = con.execute("SELECT content FROM prefect_cache WHERE path = ?", [path]).fetchone()
    return bytes(row[0]) if row else None
