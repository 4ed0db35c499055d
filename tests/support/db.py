"""Rows of a run's DuckDB file, read the way every test compares runs: keyed by sentence id, JSON decoded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from eat_core.store import Store

# predictions columns stored as JSON text; decoded so that a comparison sees values, not their spelling
JSON_COLUMNS = frozenset({"tokens", "gold", "pred", "entities", "placements", "failures", "transcript"})


def rows(db: str | Path, sql: str, params: Sequence = ()) -> list[tuple]:
    """The rows of one query (waits for a writer's lock like the code under test does)."""
    return Store(db).query(sql, list(params))


def predictions(db: str | Path, run_id: str | None = None,
                columns: Sequence[str] = ("pred", "english", "roundtrip")) -> dict[str, tuple]:
    """``{sentence_id: (column, ...)}`` of one run's stored predictions (every run's when ``run_id`` is None)."""
    where, params = ("WHERE run_id = ?", [run_id]) if run_id is not None else ("", [])
    found = rows(db, f"SELECT sentence_id, {', '.join(columns)} FROM predictions {where} ORDER BY sentence_id",
                 params)
    return {r[0]: tuple(json.loads(v) if c in JSON_COLUMNS and v is not None else v
                        for c, v in zip(columns, r[1:], strict=True)) for r in found}


def count(db: str | Path, table: str) -> int:
    """How many rows ``table`` holds."""
    return rows(db, f"SELECT count(*) FROM {table}")[0][0]
