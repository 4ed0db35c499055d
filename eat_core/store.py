"""The DuckDB workspace: LLM-call cache, runs, shards, predictions, metrics, EACL pages and pairs.

DuckDB allows one read-write process per file, and even a read-only reader fails while a writer holds it. So every
operation here opens a *brief* connection, does its work in one transaction, and closes: a user can query the file
between writes, and a writer that finds the file busy retries with backoff before giving a clear error. All SQL is
parameterised; nothing user-supplied is formatted into a statement.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eat_core.errors import StoreError

SCHEMA_VERSION = 7

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE llm_cache (
            key VARCHAR PRIMARY KEY,
            model VARCHAR NOT NULL,
            adapter VARCHAR,
            request JSON NOT NULL,
            output VARCHAR NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            latency_s DOUBLE,
            created_at TIMESTAMP DEFAULT current_timestamp)""",
        """CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            profile VARCHAR,
            config JSON NOT NULL,
            status VARCHAR NOT NULL,
            created_at TIMESTAMP DEFAULT current_timestamp,
            finished_at TIMESTAMP)""",
        """CREATE TABLE shards (
            run_id VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            shard_index INTEGER NOT NULL,
            n_sentences INTEGER NOT NULL,
            status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error VARCHAR,
            cache_hits INTEGER DEFAULT 0,
            cache_misses INTEGER DEFAULT 0,
            seconds DOUBLE,
            updated_at TIMESTAMP DEFAULT current_timestamp,
            PRIMARY KEY (run_id, lang, shard_index))""",
        """CREATE TABLE predictions (
            run_id VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            shard_index INTEGER NOT NULL,
            sentence_id VARCHAR NOT NULL,
            tokens JSON NOT NULL,
            gold JSON,
            pred JSON NOT NULL,
            english VARCHAR,
            roundtrip VARCHAR,
            entities JSON,
            placements JSON,
            failures JSON,
            transcript JSON,
            PRIMARY KEY (run_id, sentence_id))""",
        """CREATE TABLE metrics (
            run_id VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,
            value DOUBLE,
            signature VARCHAR NOT NULL,
            details JSON,
            created_at TIMESTAMP DEFAULT current_timestamp,
            PRIMARY KEY (run_id, lang, metric))""",
        """CREATE TABLE eacl_pages (
            lang VARCHAR NOT NULL,
            title VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            pageid BIGINT,
            revision BIGINT,
            resolved_title VARCHAR,
            summary VARCHAR,
            langlinks JSON,
            fetched_at TIMESTAMP NOT NULL,
            PRIMARY KEY (lang, title))""",
        """CREATE TABLE eacl_pairs (
            source VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            eng_entity VARCHAR NOT NULL,
            tgt_entity VARCHAR NOT NULL,
            text VARCHAR NOT NULL,
            first_sentence VARCHAR,
            kept BOOLEAN NOT NULL,
            reason VARCHAR,
            PRIMARY KEY (source, lang, eng_entity, tgt_entity))""",
    ],
    2: [
        """CREATE TABLE IF NOT EXISTS prefect_cache (
            path VARCHAR PRIMARY KEY,
            content BLOB NOT NULL,
            written_at TIMESTAMP DEFAULT current_timestamp)""",
    ],
    3: [
        # why a run ended failed or interrupted (one line); NULL while running or when done
        "ALTER TABLE runs ADD COLUMN IF NOT EXISTS status_reason VARCHAR",
        # a cached answer carries everything the fresh one had, including whether it hit max_new_tokens
        "ALTER TABLE llm_cache ADD COLUMN IF NOT EXISTS truncated BOOLEAN",
        # what a run was made from: every input (prompts, models, data), its path and its content fingerprint
        """CREATE TABLE IF NOT EXISTS run_inputs (
            run_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            path VARCHAR,
            fingerprint VARCHAR NOT NULL,
            PRIMARY KEY (run_id, name))""",
    ],
    4: [
        # what a shard cost: prompt and generated tokens of the LLM calls it answered (fresh or from the cache)
        "ALTER TABLE shards ADD COLUMN IF NOT EXISTS prompt_tokens BIGINT",
        "ALTER TABLE shards ADD COLUMN IF NOT EXISTS completion_tokens BIGINT",
    ],
    5: [
        # `eat tag`: a tag run is keyed by content (configuration, the input file's bytes, model and prompt
        # fingerprints); its shards and one row per input record (eat_core/tagging)
        """CREATE TABLE IF NOT EXISTS tag_runs (
            tag_run_id VARCHAR PRIMARY KEY,
            input_path VARCHAR NOT NULL,
            input_fingerprint VARCHAR NOT NULL,
            input_format VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            method VARCHAR NOT NULL,
            config JSON NOT NULL,
            inputs JSON,
            n_records BIGINT,
            n_shards INTEGER,
            status VARCHAR NOT NULL,
            status_reason VARCHAR,
            created_at TIMESTAMP DEFAULT current_timestamp,
            finished_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS tag_shards (
            tag_run_id VARCHAR NOT NULL,
            shard_index INTEGER NOT NULL,
            first_record BIGINT NOT NULL,
            n_records INTEGER NOT NULL,
            status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error VARCHAR,
            n_tagged INTEGER,
            n_skipped INTEGER,
            n_entities INTEGER,
            cache_hits INTEGER DEFAULT 0,
            cache_misses INTEGER DEFAULT 0,
            seconds DOUBLE,
            prompt_tokens BIGINT,
            completion_tokens BIGINT,
            updated_at TIMESTAMP DEFAULT current_timestamp,
            PRIMARY KEY (tag_run_id, shard_index))""",
        """CREATE TABLE IF NOT EXISTS tag_predictions (
            tag_run_id VARCHAR NOT NULL,
            record_index BIGINT NOT NULL,
            shard_index INTEGER NOT NULL,
            record_id VARCHAR NOT NULL,
            line BIGINT,
            text VARCHAR NOT NULL,
            tokens JSON NOT NULL,
            offsets JSON NOT NULL,
            tags JSON NOT NULL,
            entities JSON NOT NULL,
            skipped VARCHAR,
            transcript JSON,
            failures JSON,
            PRIMARY KEY (tag_run_id, record_index))""",
    ],
    6: [
        # silver training sets (eat_core/distill): one row per set, keyed by content (route, teacher run or input
        # fingerprints, filter settings); its sentences kept or dropped with the reason; projection shards done;
        # students trained on a set and the evaluation run that scored each
        """CREATE TABLE IF NOT EXISTS silver_sets (
            silver_id VARCHAR PRIMARY KEY,
            route VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            teacher_run VARCHAR,
            signature VARCHAR NOT NULL,
            config JSON NOT NULL,
            status VARCHAR NOT NULL,
            kept INTEGER,
            dropped INTEGER,
            reasons JSON,
            export_dir VARCHAR,
            created_at TIMESTAMP DEFAULT current_timestamp,
            finished_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS silver_sentences (
            silver_id VARCHAR NOT NULL,
            sentence_id VARCHAR NOT NULL,
            shard_index INTEGER NOT NULL,
            position INTEGER NOT NULL,
            part VARCHAR,
            tokens JSON NOT NULL,
            tags JSON,
            kept BOOLEAN NOT NULL,
            reason VARCHAR,
            source VARCHAR NOT NULL,
            details JSON,
            PRIMARY KEY (silver_id, sentence_id))""",
        """CREATE TABLE IF NOT EXISTS silver_shards (
            silver_id VARCHAR NOT NULL,
            shard_index INTEGER NOT NULL,
            n_sentences INTEGER NOT NULL,
            status VARCHAR NOT NULL,
            updated_at TIMESTAMP DEFAULT current_timestamp,
            PRIMARY KEY (silver_id, shard_index))""",
        """CREATE TABLE IF NOT EXISTS students (
            student_key VARCHAR PRIMARY KEY,
            silver_id VARCHAR NOT NULL,
            route VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            round INTEGER NOT NULL,
            model_dir VARCHAR NOT NULL,
            eval_run VARCHAR,
            manifest JSON,
            updated_at TIMESTAMP DEFAULT current_timestamp)""",
    ],
    7: [
        # which cached LLM calls a shard of given sentences used: shipped to a remote worker that recomputes it
        """CREATE TABLE IF NOT EXISTS shard_calls (
            lang VARCHAR NOT NULL,
            content VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            PRIMARY KEY (lang, content, key))""",
        # which process computed a shard (host:pid): the flow process, or a Dask worker
        "ALTER TABLE shards ADD COLUMN IF NOT EXISTS worker VARCHAR",
    ],
}

_LOCK_MARKERS = ("Could not set lock", "Conflicting lock")


@dataclass(frozen=True)
class CachedCall:
    key: str
    output: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float | None
    truncated: bool | None = None  # NULL in rows written before migration 3


class Store:
    """One DuckDB file per workspace. Cheap to construct; connections are opened per operation."""

    def __init__(self, path: str | Path, *, lock_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self._migrated = False

    # -- connections -----------------------------------------------------------------------------------------

    def _open(self, read_only: bool):
        import duckdb

        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise StoreError(f"{self.path}: no such DuckDB file (run an evaluation first, or check --db)")
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as exc:
                message = str(exc)
                if any(marker in message for marker in _LOCK_MARKERS):
                    if time.monotonic() >= deadline:
                        raise StoreError(
                            f"{self.path} is in use by another process and stayed locked for "
                            f"{self.lock_timeout_s:.0f} s ({message.split(':', 1)[-1].strip()}); "
                            "wait for it to finish or raise the lock timeout"
                        ) from None
                    time.sleep(delay + random.uniform(0, delay))
                    delay = min(delay * 2, 1.0)
                    continue
                if "not a valid DuckDB database file" in message or "Corrupt" in message:
                    raise StoreError(f"{self.path} is not a valid DuckDB file (corrupt or another format)") from None
                raise StoreError(f"{self.path}: cannot open: {message}") from None
            except duckdb.Error as exc:
                raise StoreError(f"{self.path}: cannot open: {exc}") from None

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Any]:
        """A brief connection; writes run in one transaction that is rolled back on any error.

        Threads of one process (Prefect's thread-pool task runner) take turns on a per-file lock, so their write
        transactions never conflict; other processes are kept apart by DuckDB's file lock (see ``_open``).
        """
        if not read_only and not self._migrated:
            if str(self.path.resolve()) in _MIGRATED and self.path.exists():
                self._migrated = True  # the version is still checked on the connection below
            else:
                self.migrate()
        with _thread_lock(self.path), self._connect(read_only) as con:
            yield con

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
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
        finally:
            con.close()

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
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            self._migrated = True
            return SCHEMA_VERSION
        finally:
            con.close()

    # -- LLM-call cache --------------------------------------------------------------------------------------

    def get_cached_calls(self, keys: Sequence[str]) -> dict[str, CachedCall]:
        if not keys or not self.path.exists():
            return {}
        out: dict[str, CachedCall] = {}
        with self.connect() as con:
            for chunk in _chunks(list(dict.fromkeys(keys)), 500):
                placeholders = ",".join("?" * len(chunk))
                rows = con.execute(
                    "SELECT key, output, prompt_tokens, completion_tokens, latency_s, truncated FROM llm_cache "
                    f"WHERE key IN ({placeholders})",
                    chunk,
                ).fetchall()
                out.update({r[0]: CachedCall(*r) for r in rows})
        return out

    def put_cached_calls(self, rows: Iterable[tuple]):
        """Rows of (key, model, adapter, request, output, prompt_tokens, completion_tokens, latency_s[, truncated])."""
        payload = [(k, m, a, json.dumps(req, ensure_ascii=False), o, pt, ct, lat, *(rest[:1] or [None]))
                   for k, m, a, req, o, pt, ct, lat, *rest in rows]
        if not payload:
            return
        with self.connect() as con:
            con.executemany(
                "INSERT OR REPLACE INTO llm_cache (key, model, adapter, request, output, prompt_tokens, "
                "completion_tokens, latency_s, truncated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                payload,
            )

    # -- runs, shards, predictions, metrics ------------------------------------------------------------------

    def upsert_run(self, run_id: str, profile: str, config: dict, status: str) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT INTO runs (run_id, profile, config, status) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, config = excluded.config",
                [run_id, profile, json.dumps(config, sort_keys=True), status],
            )

    def finish_run(self, run_id: str, status: str, reason: str | None = None) -> None:
        """End a run: ``done``, ``failed`` or ``interrupted``, with a one-line reason unless done."""
        with self.connect() as con:
            con.execute("UPDATE runs SET status = ?, status_reason = ?, finished_at = now() WHERE run_id = ?",
                        [status, reason, run_id])

    def mark_shard_reused(self, run_id: str, lang: str, shard_index: int) -> None:
        """A finished shard served again from a cache (DuckDB or Prefect's): all its LLM calls count as reused.

        ``updated_at`` is left alone, so the shard does not look changed to the scorer.
        """
        with self.connect() as con:
            con.execute("UPDATE shards SET cache_hits = coalesce(cache_hits, 0) + coalesce(cache_misses, 0), "
                        "cache_misses = 0 WHERE run_id = ? AND lang = ? AND shard_index = ? AND status = 'done'",
                        [run_id, lang, shard_index])

    def mark_shard(self, run_id: str, lang: str, shard_index: int, n_sentences: int, status: str,
                   error: str | None = None, *, attempt: bool = False) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT INTO shards (run_id, lang, shard_index, n_sentences, status, attempts, last_error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, lang, shard_index) DO UPDATE SET "
                "status = excluded.status, attempts = shards.attempts + excluded.attempts, "
                "last_error = coalesce(excluded.last_error, shards.last_error), updated_at = now()",
                [run_id, lang, shard_index, n_sentences, status, 1 if attempt else 0, error],
            )

    def write_shard_result(self, run_id: str, lang: str, shard_index: int, rows: Sequence[dict],
                           hits: int, misses: int, seconds: float, prompt_tokens: int | None = None,
                           completion_tokens: int | None = None, worker: str | None = None) -> None:
        """Predictions and the shard's 'done' status in one transaction: a crash leaves neither or both."""
        with self.connect() as con:
            con.execute("DELETE FROM predictions WHERE run_id = ? AND lang = ? AND shard_index = ?",
                        [run_id, lang, shard_index])
            con.executemany(
                "INSERT INTO predictions (run_id, lang, shard_index, sentence_id, tokens, gold, pred, english, "
                "roundtrip, entities, placements, failures, transcript) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [run_id, lang, shard_index, r["sentence_id"], *(_json(r[k]) for k in ("tokens", "gold", "pred")),
                     r["english"], r["roundtrip"], *(_json(r[k]) for k in ("entities", "placements", "failures",
                                                                           "transcript"))]
                    for r in rows
                ],
            )
            con.execute(
                "INSERT INTO shards (run_id, lang, shard_index, n_sentences, status, cache_hits, cache_misses, "
                "seconds, prompt_tokens, completion_tokens, worker) "
                "VALUES (?, ?, ?, ?, 'done', ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, lang, shard_index) DO UPDATE SET "
                "status = 'done', last_error = NULL, cache_hits = excluded.cache_hits, "
                "cache_misses = excluded.cache_misses, seconds = excluded.seconds, "
                "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, "
                "worker = excluded.worker, updated_at = now()",
                [run_id, lang, shard_index, len(rows), hits, misses, seconds, prompt_tokens, completion_tokens,
                 worker],
            )

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

    def put_shard_calls(self, lang: str, content: str, keys: Sequence[str]) -> None:
        """Remember which cached calls a shard of these sentences (``content``) used, for detached re-runs."""
        if not keys:
            return
        with self.connect() as con:
            con.executemany("INSERT OR IGNORE INTO shard_calls (lang, content, key) VALUES (?, ?, ?)",
                            [[lang, content, k] for k in keys])

    def get_shard_calls(self, lang: str, content: str) -> dict[str, CachedCall]:
        if str(self.path.resolve()) not in _MIGRATED:
            self.migrate()
        rows = self.query(
            "SELECT c.key, c.output, c.prompt_tokens, c.completion_tokens, c.latency_s, c.truncated FROM shard_calls s "
            "JOIN llm_cache c ON c.key = s.key WHERE s.lang = ? AND s.content = ?", [lang, content])
        return {r[0]: CachedCall(*r) for r in rows}

    def put_run_inputs(self, run_id: str, rows: Iterable[tuple[str, str, str | None, str]]) -> None:
        """(name, kind, path, fingerprint) of every input the run was made from; replaces the run's earlier rows."""
        with self.connect() as con:
            con.execute("DELETE FROM run_inputs WHERE run_id = ?", [run_id])
            con.executemany("INSERT INTO run_inputs (run_id, name, kind, path, fingerprint) VALUES (?, ?, ?, ?, ?)",
                            [[run_id, *row] for row in rows])

    def get_run_inputs(self, run_id: str) -> dict:
        """``{name: RunInput}`` as recorded for ``run_id`` (empty for runs made before inputs were recorded)."""
        from eat_core.inputs import RunInput

        if str(self.path.resolve()) not in _MIGRATED:
            self.migrate()
        rows = self.query("SELECT name, kind, path, fingerprint FROM run_inputs WHERE run_id = ? ORDER BY name",
                          [run_id])
        return {r[0]: RunInput(*r) for r in rows}

    def put_metrics(self, run_id: str, lang: str, rows: Iterable[tuple[str, float, str, dict | None]]) -> None:
        with self.connect() as con:
            con.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, lang, metric, value, signature, details) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [[run_id, lang, m, v, s, _json(d)] for m, v, s, d in rows],
            )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Read-only query for reports; ``sql`` is ours, values travel as parameters."""
        with self.connect(read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()

    # -- tag runs (`eat tag`, eat_core/tagging) --------------------------------------------------------------

    def upsert_tag_run(self, tag_run_id: str, *, input_path: str, fingerprint: str, input_format: str, lang: str,
                       method: str, config: dict, inputs: dict, n_records: int, n_shards: int) -> None:
        """Register (or re-open) a tag run as ``running``; its id already hashes everything in it but the path."""
        with self.connect() as con:
            con.execute(
                "INSERT INTO tag_runs (tag_run_id, input_path, input_fingerprint, input_format, lang, method, config, "
                "inputs, n_records, n_shards, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running') "
                "ON CONFLICT (tag_run_id) DO UPDATE SET status = 'running', status_reason = NULL, finished_at = NULL, "
                "input_path = excluded.input_path",
                [tag_run_id, input_path, fingerprint, input_format, lang, method, json.dumps(config, sort_keys=True),
                 json.dumps(inputs, sort_keys=True), n_records, n_shards],
            )

    def finish_tag_run(self, tag_run_id: str, status: str, reason: str | None = None) -> None:
        """End a tag run: ``done``, ``failed`` or ``interrupted``, with a one-line reason unless done."""
        with self.connect() as con:
            con.execute("UPDATE tag_runs SET status = ?, status_reason = ?, finished_at = now() WHERE tag_run_id = ?",
                        [status, reason, tag_run_id])

    def tag_shard_status(self, tag_run_id: str) -> dict[int, str]:
        """``{shard index: status}`` of a tag run (empty for a new file or run)."""
        if not self.path.exists():
            return {}
        if str(self.path.resolve()) not in _MIGRATED:
            self.migrate()
        rows = self.query("SELECT shard_index, status FROM tag_shards WHERE tag_run_id = ?", [tag_run_id])
        return dict(rows)

    def mark_tag_shard(self, tag_run_id: str, shard_index: int, first_record: int, n_records: int, status: str,
                       error: str | None = None, *, attempt: bool = False) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT INTO tag_shards (tag_run_id, shard_index, first_record, n_records, status, attempts, "
                "last_error) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tag_run_id, shard_index) DO UPDATE SET "
                "status = excluded.status, attempts = tag_shards.attempts + excluded.attempts, "
                "last_error = coalesce(excluded.last_error, tag_shards.last_error), updated_at = now()",
                [tag_run_id, shard_index, first_record, n_records, status, 1 if attempt else 0, error],
            )

    def write_tag_shard(self, tag_run_id: str, shard_index: int, first_record: int, rows: Sequence[dict],
                        stats: dict) -> None:
        """A shard's rows and its 'done' status in one transaction: a crash leaves neither or both.

        ``rows``: dicts with record_index, record_id, line, text, tokens, offsets, tags, entities, skipped,
        transcript, failures. ``stats``: n_tagged, n_skipped, n_entities, hits, misses, seconds, prompt_tokens,
        completion_tokens.
        """
        with self.connect() as con:
            con.execute("DELETE FROM tag_predictions WHERE tag_run_id = ? AND shard_index = ?",
                        [tag_run_id, shard_index])
            if rows:
                # one statement, column by column (unnest zips the lists): far faster than a row-by-row executemany
                con.execute(
                    "INSERT INTO tag_predictions (tag_run_id, record_index, shard_index, record_id, line, text, "
                    "tokens, offsets, tags, entities, skipped, transcript, failures) SELECT ?, unnest(?::BIGINT[]), ?, "
                    "unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
                    "unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
                    "unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
                    [tag_run_id, [r["record_index"] for r in rows], shard_index, [r["record_id"] for r in rows],
                     [r["line"] for r in rows], [r["text"] for r in rows],
                     *([_json(r[k]) for r in rows] for k in ("tokens", "offsets", "tags", "entities")),
                     [r["skipped"] for r in rows], *([_json(r[k]) for r in rows] for k in ("transcript", "failures"))],
                )
            con.execute(
                "INSERT INTO tag_shards (tag_run_id, shard_index, first_record, n_records, status, n_tagged, "
                "n_skipped, n_entities, cache_hits, cache_misses, seconds, prompt_tokens, completion_tokens) "
                "VALUES (?, ?, ?, ?, 'done', ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tag_run_id, shard_index) DO UPDATE "
                "SET status = 'done', last_error = NULL, n_records = excluded.n_records, n_tagged = excluded.n_tagged, "
                "n_skipped = excluded.n_skipped, n_entities = excluded.n_entities, cache_hits = excluded.cache_hits, "
                "cache_misses = excluded.cache_misses, seconds = excluded.seconds, "
                "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, "
                "updated_at = now()",
                [tag_run_id, shard_index, first_record, len(rows), stats["n_tagged"], stats["n_skipped"],
                 stats["n_entities"], stats["hits"], stats["misses"], stats["seconds"], stats["prompt_tokens"],
                 stats["completion_tokens"]],
            )

    def tag_shard_rows(self, tag_run_id: str, shard_index: int) -> list[dict]:
        """The stored rows of one tag shard in input order (what the exporters write)."""
        rows = self.query("SELECT record_index, record_id, line, text, tokens, offsets, tags, entities, skipped "
                          "FROM tag_predictions WHERE tag_run_id = ? AND shard_index = ? ORDER BY record_index",
                          [tag_run_id, shard_index])
        return [{"record_index": r[0], "record_id": r[1], "line": r[2], "text": r[3], "tokens": json.loads(r[4]),
                 "offsets": json.loads(r[5]), "tags": json.loads(r[6]), "entities": json.loads(r[7]),
                 "skipped": r[8]} for r in rows]

    # -- silver training sets and students (`eat silver`, `eat distill`, eat_core/distill) -------------------

    def write_silver_set(self, silver_id: str, meta: dict, rows: Sequence[dict]) -> None:
        """A silver set's sentences and its ``done`` row in one transaction (a crash leaves neither or both).

        ``meta``: route, lang, teacher_run, signature, config, kept, dropped, reasons, export_dir. ``rows``: dicts
        with sentence_id, shard_index, position, part, tokens, tags, kept, reason, source, details.
        """
        with self.connect() as con:
            con.execute("DELETE FROM silver_sentences WHERE silver_id = ?", [silver_id])
            self._insert_silver_rows(con, silver_id, rows)
            con.execute(
                "INSERT INTO silver_sets (silver_id, route, lang, teacher_run, signature, config, status, kept, "
                "dropped, reasons, export_dir, finished_at) VALUES (?, ?, ?, ?, ?, ?, 'done', ?, ?, ?, ?, now()) "
                "ON CONFLICT (silver_id) DO UPDATE SET status = 'done', signature = excluded.signature, "
                "config = excluded.config, kept = excluded.kept, dropped = excluded.dropped, "
                "reasons = excluded.reasons, export_dir = excluded.export_dir, finished_at = now()",
                [silver_id, meta["route"], meta["lang"], meta["teacher_run"], meta["signature"],
                 _json(meta["config"]), meta["kept"], meta["dropped"], _json(meta["reasons"]), meta["export_dir"]])

    @staticmethod
    def _insert_silver_rows(con, silver_id: str, rows: Sequence[dict]) -> None:
        con.executemany(
            "INSERT INTO silver_sentences (silver_id, sentence_id, shard_index, position, part, tokens, tags, kept, "
            "reason, source, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[silver_id, r["sentence_id"], r["shard_index"], r["position"], r["part"], _json(r["tokens"]),
              _json(r["tags"]), r["kept"], r["reason"], r["source"], _json(r["details"])] for r in rows])

    def start_silver_set(self, silver_id: str, meta: dict) -> None:
        """Register a set built shard by shard (the projection route) as ``building``; a finished one is kept."""
        with self.connect() as con:
            con.execute(
                "INSERT INTO silver_sets (silver_id, route, lang, teacher_run, signature, config, status) "
                "VALUES (?, ?, ?, ?, ?, ?, 'building') ON CONFLICT (silver_id) DO NOTHING",
                [silver_id, meta["route"], meta["lang"], meta["teacher_run"], meta["signature"],
                 _json(meta["config"])])

    def write_silver_shard(self, silver_id: str, shard_index: int, rows: Sequence[dict]) -> None:
        """One shard's sentences and its ``done`` status in one transaction."""
        with self.connect() as con:
            con.execute("DELETE FROM silver_sentences WHERE silver_id = ? AND shard_index = ?",
                        [silver_id, shard_index])
            self._insert_silver_rows(con, silver_id, rows)
            con.execute(
                "INSERT INTO silver_shards (silver_id, shard_index, n_sentences, status) VALUES (?, ?, ?, 'done') "
                "ON CONFLICT (silver_id, shard_index) DO UPDATE SET status = 'done', "
                "n_sentences = excluded.n_sentences, updated_at = now()",
                [silver_id, shard_index, len(rows)])

    def silver_shards_done(self, silver_id: str) -> set[int]:
        if not self.path.exists():
            return set()
        self.migrate()
        return {r[0] for r in self.query("SELECT shard_index FROM silver_shards WHERE silver_id = ? AND "
                                         "status = 'done'", [silver_id])}

    def get_silver_set(self, silver_id: str) -> dict | None:
        """The ``silver_sets`` row of ``silver_id`` as a dict (config and reasons parsed), or None."""
        if not self.path.exists():
            return None
        self.migrate()
        rows = self.query("SELECT silver_id, route, lang, teacher_run, signature, config, status, kept, dropped, "
                          "reasons, export_dir FROM silver_sets WHERE silver_id = ?", [silver_id])
        if not rows:
            return None
        keys = ("silver_id", "route", "lang", "teacher_run", "signature", "config", "status", "kept", "dropped",
                "reasons", "export_dir")
        row = dict(zip(keys, rows[0], strict=True))
        for k in ("config", "reasons"):
            row[k] = json.loads(row[k]) if row[k] else None
        return row

    def put_student(self, student_key: str, *, silver_id: str, route: str, lang: str, round: int, model_dir: str,
                    eval_run: str | None, manifest: dict | None) -> None:
        """A student trained on a silver set, and the evaluation run that scored it (``eval_run``)."""
        with self.connect() as con:
            con.execute(
                "INSERT INTO students (student_key, silver_id, route, lang, round, model_dir, eval_run, manifest) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (student_key) DO UPDATE SET "
                "model_dir = excluded.model_dir, eval_run = coalesce(excluded.eval_run, students.eval_run), "
                "manifest = coalesce(excluded.manifest, students.manifest), updated_at = now()",
                [student_key, silver_id, route, lang, round, model_dir, eval_run, _json(manifest)])

_MIGRATED: set[str] = set()
_THREAD_LOCKS: dict[str, threading.RLock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(path: Path) -> threading.RLock:
    key = str(path.resolve())
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(key, threading.RLock())


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def default_db_path() -> Path:
    """``$EAT_DB`` or ``./eat.duckdb``: never inside the installed package."""
    return Path(os.environ.get("EAT_DB", "eat.duckdb"))


def put_blob(store: Store, path: str, content: bytes) -> None:
    """Key-value blobs (Prefect cache records) in the same workspace file (table ``prefect_cache``)."""
    with store.connect() as con:
        con.execute("INSERT OR REPLACE INTO prefect_cache (path, content) VALUES (?, ?)", [path, content])


def get_blob(store: Store, path: str) -> bytes | None:
    if not store.path.exists():
        return None
    if str(store.path.resolve()) not in _MIGRATED:
        store.migrate()  # an older file may lack the table; the read-only connection checks the version anyway
    with store.connect(read_only=True) as con:
        row = con.execute("SELECT content FROM prefect_cache WHERE path = ?", [path]).fetchone()
    return bytes(row[0]) if row else None
