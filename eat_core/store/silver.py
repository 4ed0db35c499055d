"""Silver training sets and students (``eat silver``, ``eat distill``; ``eat_core/distill``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from eat_core.store.base import to_json


class SilverStore:
    """Mixin of :class:`~eat_core.store.Store`; needs ``connect``, ``query``, ``_ensure_migrated`` and ``path``."""

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
                 to_json(meta["config"]), meta["kept"], meta["dropped"], to_json(meta["reasons"]), meta["export_dir"]])

    @staticmethod
    def _insert_silver_rows(con, silver_id: str, rows: Sequence[dict]) -> None:
        con.executemany(
            "INSERT INTO silver_sentences (silver_id, sentence_id, shard_index, position, part, tokens, tags, kept, "
            "reason, source, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[silver_id, r["sentence_id"], r["shard_index"], r["position"], r["part"], to_json(r["tokens"]),
              to_json(r["tags"]), r["kept"], r["reason"], r["source"], to_json(r["details"])] for r in rows])

    def start_silver_set(self, silver_id: str, meta: dict) -> None:
        """Register a set built shard by shard (the projection route) as ``building``; a finished one is kept."""
        with self.connect() as con:
            con.execute(
                "INSERT INTO silver_sets (silver_id, route, lang, teacher_run, signature, config, status) "
                "VALUES (?, ?, ?, ?, ?, ?, 'building') ON CONFLICT (silver_id) DO NOTHING",
                [silver_id, meta["route"], meta["lang"], meta["teacher_run"], meta["signature"],
                 to_json(meta["config"])])

    def write_silver_shard(self, silver_id: str, shard_index: int, rows: Sequence[dict],
                           cost: dict | None = None) -> None:
        """One shard's sentences and its ``done`` status in one transaction; ``cost``: the LLM calls, prompt and
        completion tokens that labelling it took (cached answers included: what the route costs)."""
        cost = cost or {}
        with self.connect() as con:
            con.execute("DELETE FROM silver_sentences WHERE silver_id = ? AND shard_index = ?",
                        [silver_id, shard_index])
            self._insert_silver_rows(con, silver_id, rows)
            con.execute(
                "INSERT INTO silver_shards (silver_id, shard_index, n_sentences, status, llm_calls, prompt_tokens, "
                "completion_tokens) VALUES (?, ?, ?, 'done', ?, ?, ?) ON CONFLICT (silver_id, shard_index) DO UPDATE "
                "SET status = 'done', n_sentences = excluded.n_sentences, llm_calls = excluded.llm_calls, "
                "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, "
                "updated_at = now()",
                [silver_id, shard_index, len(rows), cost.get("llm_calls"), cost.get("prompt_tokens"),
                 cost.get("completion_tokens")])

    def silver_shards_done(self, silver_id: str) -> set[int]:
        if not self.path.exists():
            return set()
        self._ensure_migrated()
        return {r[0] for r in self.query("SELECT shard_index FROM silver_shards WHERE silver_id = ? AND "
                                         "status = 'done'", [silver_id])}

    def get_silver_set(self, silver_id: str) -> dict | None:
        """The ``silver_sets`` row of ``silver_id`` as a dict (config and reasons parsed), or None."""
        if not self.path.exists():
            return None
        self._ensure_migrated()
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
                [student_key, silver_id, route, lang, round, model_dir, eval_run, to_json(manifest)])

    def silver_part_counts(self, silver_id: str) -> list[tuple[str | None, int]]:
        """``(part, n)`` of the kept sentences of a silver set (``part``: train, dev or train+dev)."""
        return [(r[0], r[1]) for r in self.query(
            "SELECT part, count(*) FROM silver_sentences WHERE silver_id = ? AND kept GROUP BY part", [silver_id])]

    def silver_rows(self, silver_id: str) -> list[dict]:
        """Every sentence of a silver set, kept or not, in shard and position order (JSON columns parsed)."""
        rows = self.query("SELECT sentence_id, tokens, tags, kept, reason, part, source, details, shard_index "
                          "FROM silver_sentences WHERE silver_id = ? ORDER BY shard_index, position", [silver_id])
        return [{"sentence_id": sid, "tokens": json.loads(tokens), "tags": json.loads(tags) if tags else None,
                 "kept": bool(kept), "reason": reason, "part": part, "source": source,
                 "details": (json.loads(details) or []) if details else [], "shard_index": shard}
                for sid, tokens, tags, kept, reason, part, source, details, shard in rows]

    def silver_set_rows(self, silver_ids: Sequence[str] | None = None) -> list[dict]:
        """``silver_sets`` rows (all, or those of ``silver_ids``, in that order), oldest first, config and reasons
        parsed; an unknown id is simply absent."""
        if not self.path.exists():
            return []
        self._ensure_migrated()
        columns = ("silver_id", "route", "lang", "teacher_run", "signature", "config", "status", "kept", "dropped",
                   "reasons")
        rows = self.query(f"SELECT {', '.join(columns)} FROM silver_sets ORDER BY created_at, silver_id")
        out = [dict(zip(columns, row, strict=True)) for row in rows]
        for row in out:
            for k in ("config", "reasons"):
                row[k] = json.loads(row[k]) if row[k] else None
        if silver_ids is not None:
            by_id = {row["silver_id"]: row for row in out}
            out = [by_id[i] for i in silver_ids if i in by_id]
        return out

    def silver_kept_tags(self, silver_id: str) -> list[list[str]]:
        """The tags of every kept sentence of a silver set."""
        return [json.loads(r[0]) for r in self.query(
            "SELECT tags FROM silver_sentences WHERE silver_id = ? AND kept AND tags IS NOT NULL", [silver_id])]

    def silver_shard_costs(self, silver_id: str) -> dict:
        """Sums over a set's shards: ``sentences``, ``llm_calls``, ``prompt_tokens``, ``completion_tokens``, and
        ``costed`` (shards that recorded a cost; 0 for sets built before costs were recorded, or teacher routes)."""
        row = self.query(
            "SELECT sum(n_sentences), sum(coalesce(llm_calls, 0)), sum(coalesce(prompt_tokens, 0)), "
            "sum(coalesce(completion_tokens, 0)), count(llm_calls) FROM silver_shards WHERE silver_id = ?",
            [silver_id])[0]
        keys = ("sentences", "llm_calls", "prompt_tokens", "completion_tokens", "costed")
        return {k: int(v or 0) for k, v in zip(keys, row, strict=True)}
