"""Where Prefect keeps the cache records of shard tasks (a record holds the task's small return value).

Default, :func:`key_storage_for`: a directory beside the workspace file (``eat.duckdb.prefect-cache/``), with the
workspace's id in every key (``ShardCachePolicy``), so records of a deleted or replaced file are never served. Writing
a record there costs 0.1 ms; a DuckDB transaction costs 58 ms and a read 30 ms on our 2-core machines, which was most
of Prefect's per-shard overhead. The records are only read by the process that runs the shard task: the flow process
(in-process shards) or nobody (Dask shards are never cached by Prefect; the flow skips shards DuckDB has as done).

``DuckDBKeyStorage`` keeps the records inside the workspace file instead (one file to copy, slower writes); Prefect
accepts an unsaved ``WritableFileSystem`` block as a cache policy's key storage.
"""

from __future__ import annotations

from pathlib import Path

from prefect.filesystems import LocalFileSystem, WritableFileSystem

from eat_core.store import Store, get_blob, put_blob


class DuckDBKeyStorage(WritableFileSystem):
    """``read_path``/``write_path`` over the ``prefect_cache`` table of a DuckDB workspace file."""

    _block_type_name = "EAT DuckDB Key Storage"
    db_path: str

    # Prefect calls the sync methods with ``_sync=True`` (its async-dispatch convention); the work is sync anyway.
    def read_path(self, path: str, _sync: bool | None = None) -> bytes:
        content = get_blob(Store(self.db_path), path)
        if content is None:
            raise ValueError(f"no cache record {path!r} in {self.db_path}")
        return content

    def write_path(self, path: str, content: bytes, _sync: bool | None = None) -> str:
        put_blob(Store(self.db_path), path, content)
        return path

    async def aread_path(self, path: str) -> bytes:
        return self.read_path(path)

    async def awrite_path(self, path: str, content: bytes) -> str:
        return self.write_path(path, content)


def key_storage_for(db: str | Path) -> LocalFileSystem:
    """The cache-record directory of a workspace file: ``<db>.prefect-cache`` beside it."""
    path = Path(db)
    return LocalFileSystem(basepath=str(path.parent.resolve() / f"{path.name}.prefect-cache"))
