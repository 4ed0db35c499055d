"""Where the DuckDB workspace may live: checked before a server starts or a model loads, so a bad ``--db`` is
one line (a directory, a missing or read-only folder, a file that is not DuckDB)."""

from __future__ import annotations

from pathlib import Path

from eat_core.config.coerce import check_writable_dir, existing_parent
from eat_core.errors import ConfigError
from eat_core.store.base import opened_here

DUCKDB_MAGIC = b"DUCK"
"""Bytes 8 to 11 of every DuckDB database file."""



def check_db(db: str | Path, option: str = "--db") -> Path:
    """The workspace file can be written before anything starts (a Prefect server, a model): an existing DuckDB
    file we may write, or a new one in an existing, writable directory; DuckDB also writes ``DB.wal`` beside it."""
    path = Path(db).expanduser()
    if path.is_dir():
        raise ConfigError(f"{option}: {path} is a directory; give a DuckDB file path")
    parent = existing_parent(path, option, "for the DuckDB file")

    if path.exists() and not opened_here(path):  # a file this process has open is known good, and must stay shut
        try:
            with path.open("r+b") as handle:
                head = handle.read(12)
        except OSError as exc:
            raise ConfigError(f"{option}: cannot open {path} for writing ({exc.strerror or exc})") from None
        if head[8:12] != DUCKDB_MAGIC:
            kind = "an empty file" if not head else "another kind of file"
            raise ConfigError(f"{option}: {path} is not a DuckDB file ({kind}); give a new path or a workspace "
                              "written by eat")
    check_writable_dir(parent, option, f"the DuckDB file {path.name} and its write-ahead log {path.name}.wal")
    return path

