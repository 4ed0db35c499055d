"""Evaluation runs: ``runs``, ``run_inputs``, ``shards``, ``predictions`` and ``metrics``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from eat_core.store.base import to_json
from eat_core.types import RunInput


class RunsStore:
    """Mixin of :class:`~eat_core.store.Store`; needs ``connect``, ``query``, ``_ensure_migrated`` and ``path``."""

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

    def mark_shards_reused(self, run_id: str, shards: Sequence[tuple[str, int]]) -> None:
        """:meth:`mark_shard_reused` for many shards in one transaction (a cached re-run marks every shard)."""
        if not shards:
            return
        with self.connect() as con:
            con.executemany("UPDATE shards SET reuses = coalesce(reuses, 0) + 1 "
                            "WHERE run_id = ? AND lang = ? AND shard_index = ? AND status = 'done'",
                            [[run_id, lang, index] for lang, index in shards])

    def mark_shard_reused(self, run_id: str, lang: str, shard_index: int) -> None:
        """A finished shard served again from a cache (DuckDB or Prefect's): counted in ``reuses``. Its cost (calls,
        tokens, seconds of the computation that made it) stays as computed: the numbers did not change, nor did what
        they cost.

        ``updated_at`` is left alone, so the shard does not look changed to the scorer.
        """
        with self.connect() as con:
            con.execute("UPDATE shards SET reuses = coalesce(reuses, 0) + 1 "
                        "WHERE run_id = ? AND lang = ? AND shard_index = ? AND status = 'done'",
                        [run_id, lang, shard_index])

    def done_shards(self, run_id: str) -> set[tuple[str, int]]:
        """(language, shard index) of every finished shard of a run (none for a file not made yet)."""
        if not self.path.exists():
            return set()
        self.migrate()
        rows = self.query("SELECT lang, shard_index FROM shards WHERE run_id = ? AND status = 'done'", [run_id])
        return {(lang, index) for lang, index in rows}

    def shard_state(self, run_id: str, lang: str, shard_index: int) -> tuple[str, int, int, int] | None:
        """(status, cache hits, cache misses, sentences) of one shard, or None when it was never started."""
        if not self.path.exists():
            return None
        rows = self.query("SELECT status, coalesce(cache_hits, 0), coalesce(cache_misses, 0), n_sentences FROM shards "
                          "WHERE run_id = ? AND lang = ? AND shard_index = ?", [run_id, lang, shard_index])
        return tuple(rows[0]) if rows else None

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
                    [run_id, lang, shard_index, r["sentence_id"], *(to_json(r[k]) for k in ("tokens", "gold", "pred")),
                     r["english"], r["roundtrip"], *(to_json(r[k]) for k in ("entities", "placements", "failures",
                                                                           "transcript"))]
                    for r in rows
                ],
            )
            con.execute(
                "INSERT INTO shards (run_id, lang, shard_index, n_sentences, status, cache_hits, cache_misses, "
                "seconds, prompt_tokens, completion_tokens, worker) "
                "VALUES (?, ?, ?, ?, 'done', ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, lang, shard_index) DO UPDATE SET "
                "status = 'done', last_error = NULL, reuses = 0, cache_hits = excluded.cache_hits, "
                "cache_misses = excluded.cache_misses, seconds = excluded.seconds, "
                "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, "
                "worker = excluded.worker, updated_at = now()",
                [run_id, lang, shard_index, len(rows), hits, misses, seconds, prompt_tokens, completion_tokens,
                 worker],
            )

    def put_run_inputs(self, run_id: str, rows: Iterable[tuple[str, str, str | None, str]]) -> None:
        """(name, kind, path, fingerprint) of every input the run was made from; replaces the run's earlier rows."""
        with self.connect() as con:
            con.execute("DELETE FROM run_inputs WHERE run_id = ?", [run_id])
            con.executemany("INSERT INTO run_inputs (run_id, name, kind, path, fingerprint) VALUES (?, ?, ?, ?, ?)",
                            [[run_id, *row] for row in rows])

    def get_run_inputs(self, run_id: str) -> dict:
        """``{name: RunInput}`` as recorded for ``run_id`` (empty for runs made before inputs were recorded)."""
        self._ensure_migrated()
        rows = self.query("SELECT name, kind, path, fingerprint FROM run_inputs WHERE run_id = ? ORDER BY name",
                          [run_id])
        return {r[0]: RunInput(*r) for r in rows}

    def put_metrics(self, run_id: str, lang: str, rows: Iterable[tuple[str, float, str, dict | None]]) -> None:
        with self.connect() as con:
            con.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, lang, metric, value, signature, details) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [[run_id, lang, m, v, s, to_json(d)] for m, v, s, d in rows],
            )

    def prediction_rows(self, run_id: str, lang: str) -> list[tuple[list[str], list[str], list[str], str]]:
        """(tokens, gold, pred, round trip) of every stored prediction of a language, in shard and sentence order."""
        rows = self.query("SELECT tokens, gold, pred, roundtrip FROM predictions WHERE run_id = ? AND lang = ? "
                          "ORDER BY shard_index, sentence_id", [run_id, lang])
        return [(json.loads(r[0]), json.loads(r[1]), json.loads(r[2]), r[3] or "") for r in rows]

    def stale_languages(self, run_id: str) -> set[str]:
        """Languages with a shard written since their metrics were (or never scored): what a finish re-scores."""
        rows = self.query(
            "SELECT s.lang FROM shards s LEFT JOIN (SELECT lang, min(created_at) AS scored FROM metrics "
            "WHERE run_id = ? GROUP BY lang) m USING (lang) WHERE s.run_id = ? "
            "GROUP BY s.lang, m.scored HAVING m.scored IS NULL OR max(s.updated_at) >= m.scored", [run_id, run_id])
        return {lang for (lang,) in rows}

    def run_metrics(self, run_id: str) -> dict[str, dict[str, float]]:
        """``{language: {metric: value}}`` as stored for a run."""
        out: dict[str, dict[str, float]] = {}
        for lang, metric, value in self.query("SELECT lang, metric, value FROM metrics WHERE run_id = ?", [run_id]):
            out.setdefault(lang, {})[metric] = value
        return out

    def last_run_with_config(self, config: dict, other_than: str) -> str | None:
        """The newest run of exactly this configuration besides ``other_than`` (None for a file not made yet)."""
        if not self.path.exists():
            return None
        self.migrate()
        rows = self.query("SELECT run_id FROM runs WHERE config = ? AND run_id <> ? ORDER BY created_at DESC LIMIT 1",
                          [json.dumps(config, sort_keys=True), other_than])
        return rows[0][0] if rows else None

    def run_config_json(self, run_id: str) -> dict | None:
        """The stored configuration of a run as JSON (None when there is no such run)."""
        rows = self.query("SELECT config FROM runs WHERE run_id = ?", [run_id])
        return json.loads(rows[0][0]) if rows else None
