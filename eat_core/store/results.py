"""Reading evaluation runs back for reports: run lookups, configurations, metrics, shard costs and failures.

Every method here only reads (``query`` opens the file read-only), so reports work beside a running evaluation.
"""

from __future__ import annotations

import json
from collections import Counter

from eat_core.errors import ConfigError, StoreError


class ResultsStore:
    """Mixin of :class:`~eat_core.store.Store`; needs ``query`` and ``path``."""

    # -- runs ----------------------------------------------------------------------------------------------------

    def recent_runs(self, limit: int = 5) -> list[str]:
        """The ids of the ``limit`` most recently created runs, newest first."""
        return [r[0] for r in self.query("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT ?", [limit])]

    def list_runs(self) -> list[str]:
        """Every run id in the file, oldest first (ties by id)."""
        return [r[0] for r in self.query("SELECT run_id FROM runs ORDER BY created_at, run_id")]

    def latest_run(self) -> str:
        """The most recently created run; :class:`StoreError` if the file holds none."""
        recent = self.recent_runs(1)
        if not recent:
            raise StoreError(f"{self.path} holds no run yet")
        return recent[0]

    def require_run(self, run_id: str) -> str:
        """``run_id`` if the file has it; else one line naming the most recent runs there (exit 2 in the CLI)."""
        if self.query("SELECT 1 FROM runs WHERE run_id = ?", [run_id]):
            return run_id
        recent = self.recent_runs(5)
        shown = ", ".join(recent) if recent else "none yet"
        raise ConfigError(f"unknown run {run_id!r} in {self.path}; most recent runs: {shown}")

    def run_config(self, run_id: str) -> dict:
        """The stored configuration of a run as a dict (``{}`` if it is missing or unreadable)."""
        rows = self.query("SELECT config FROM runs WHERE run_id = ?", [run_id])
        try:
            return json.loads(rows[0][0]) if rows else {}
        except ValueError:
            return {}

    def run_status(self, run_id: str) -> tuple[str, str] | None:
        """``(status, profile)`` of a run, or None if the file lacks it."""
        rows = self.query("SELECT status, profile FROM runs WHERE run_id = ?", [run_id])
        return (rows[0][0], rows[0][1]) if rows else None

    def run_input_fingerprints(self, run_id: str) -> list[tuple[str, str | None]]:
        """``(name, fingerprint)`` of each input recorded for a run, unordered (read-only: no migration)."""
        return [(r[0], r[1]) for r in self.query("SELECT name, fingerprint FROM run_inputs WHERE run_id = ?",
                                                 [run_id])]

    # -- results -------------------------------------------------------------------------------------------------

    def metrics_by_lang(self, run_id: str) -> dict[str, dict[str, tuple[float, str | None]]]:
        """``{lang: {metric: (value, signature)}}`` of a run."""
        out: dict[str, dict[str, tuple[float, str | None]]] = {}
        for lang, metric, value, signature in self.query(
                "SELECT lang, metric, value, signature FROM metrics WHERE run_id = ?", [run_id]):
            out.setdefault(lang, {})[metric] = (value, signature)
        return out

    def metric_signatures(self, run_id: str) -> list[tuple[str, str]]:
        """The distinct ``(metric, signature)`` pairs of a run, by metric."""
        return [(r[0], r[1]) for r in self.query(
            "SELECT DISTINCT metric, signature FROM metrics WHERE run_id = ? ORDER BY metric", [run_id])]

    def shard_costs(self, run_id: str) -> list[dict]:
        """Per language (sorted): ``shards``, ``shards_done``, ``shards_failed``, ``shards_reused`` (finished shards
        served whole again by a later re-run), ``sentences`` and the sums of ``cache_hits``, ``cache_misses``,
        ``prompt_tokens``, ``completion_tokens`` and ``seconds`` over its shards (NULL as 0): what the computation
        that made them cost, unchanged by reuse."""
        self._ensure_migrated()
        rows = self.query(
            "SELECT lang, count(*), sum(CASE WHEN status = 'done' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), sum(CASE WHEN coalesce(reuses, 0) > 0 THEN 1 "
            "ELSE 0 END), sum(n_sentences), "
            "sum(coalesce(cache_hits, 0)), sum(coalesce(cache_misses, 0)), sum(coalesce(prompt_tokens, 0)), "
            "sum(coalesce(completion_tokens, 0)), sum(coalesce(seconds, 0)) FROM shards WHERE run_id = ? "
            "GROUP BY lang ORDER BY lang", [run_id])
        keys = ("lang", "shards", "shards_done", "shards_failed", "shards_reused", "sentences", "cache_hits",
                "cache_misses", "prompt_tokens", "completion_tokens", "seconds")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def failed_shards(self, run_id: str) -> list[tuple[str, int, str | None]]:
        """``(lang, shard index, last error)`` of every shard of a run that ended failed, by language and index: the
        cause a user needs (``ServiceUnavailable: ...``), where the predictions hold nothing."""
        return [(r[0], r[1], r[2]) for r in self.query(
            "SELECT lang, shard_index, last_error FROM shards WHERE run_id = ? AND status = 'failed' "
            "ORDER BY lang, shard_index", [run_id])]

    def latest_run_with_status(self, status: str) -> str | None:
        """The most recently created run with this status (``done``: the latest completed run), or None."""
        rows = self.query("SELECT run_id FROM runs WHERE status = ? ORDER BY created_at DESC, run_id DESC LIMIT 1",
                          [status])
        return rows[0][0] if rows else None

    def failure_counts(self, run_id: str) -> dict[str, Counter]:
        """``{lang: Counter(reason -> n)}`` over the stored predictions of a run."""
        out: dict[str, Counter] = {}
        for lang, items in self.query("SELECT lang, failures FROM predictions WHERE run_id = ?", [run_id]):
            out.setdefault(lang, Counter()).update(json.loads(items or "[]"))
        return out

    def scored_predictions(self, run_id: str) -> list[tuple[str, list, list, list]]:
        """``(lang, tokens, gold, pred)`` of every prediction with gold tags, by language, shard and sentence."""
        rows = self.query("SELECT lang, tokens, gold, pred FROM predictions WHERE run_id = ? AND gold IS NOT NULL "
                          "ORDER BY lang, shard_index, sentence_id", [run_id])
        return [(lang, json.loads(tokens), json.loads(gold), json.loads(pred)) for lang, tokens, gold, pred in rows]

    def tagged_predictions(self, run_id: str, lang: str) -> list[tuple[str, int, list, list, list, list]]:
        """``(sentence_id, shard_index, tokens, pred, entities, failures)`` of a run's predictions in ``lang``,
        unordered and never with the gold column (what a teacher hands its student)."""
        rows = self.query("SELECT sentence_id, shard_index, tokens, pred, entities, failures FROM predictions "
                          "WHERE run_id = ? AND lang = ?", [run_id, lang])
        return [(sid, shard, json.loads(tokens), json.loads(pred), json.loads(entities) or [],
                 json.loads(failures) or []) for sid, shard, tokens, pred, entities, failures in rows]
