"""Prefect cache records stored in the DuckDB workspace, beside the results they describe.

``DuckDBKeyStorage`` is a ``WritableFileSystem`` that Prefect's cache policies use as ``key_storage``. Prefect
refuses an unsaved block as a task's ``result_storage`` but accepts one for a cache policy's key storage; the cache
record written there holds the task's (small) return value, so a cached task needs nothing else.
"""

from __future__ import annotations

from prefect.filesystems import WritableFileSystem

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
