"""Tag runs of ``eat tag`` (``eat_core/tagging``): ``tag_runs``, ``tag_shards`` and ``tag_predictions``."""

from __future__ import annotations

import json
from collections.abc import Sequence

from eat_core.store.base import to_json


class TagStore:
    """Mixin of :class:`~eat_core.store.Store`; needs ``connect``, ``query``, ``_ensure_migrated`` and ``path``."""

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
        self._ensure_migrated()
        rows = self.query("SELECT shard_index, status FROM tag_shards WHERE tag_run_id = ?", [tag_run_id])
        return dict(rows)

    def tag_shard_state(self, tag_run_id: str, shard_index: int) -> tuple[str, int, int, int | None] | None:
        """(status, cache hits, cache misses, entities) of one tag shard, or None when it was never started."""
        if not self.path.exists():
            return None
        rows = self.query("SELECT status, coalesce(cache_hits, 0), coalesce(cache_misses, 0), n_entities "
                          "FROM tag_shards WHERE tag_run_id = ? AND shard_index = ?", [tag_run_id, shard_index])
        return tuple(rows[0]) if rows else None

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
                     *([to_json(r[k]) for r in rows] for k in ("tokens", "offsets", "tags", "entities")),
                     [r["skipped"] for r in rows],
                     *([to_json(r[k]) for r in rows] for k in ("transcript", "failures"))],
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
