"""The LLM-call cache (``llm_cache``) and which calls a shard of given sentences used (``shard_calls``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eat_core.store.base import chunks


@dataclass(frozen=True)
class CachedCall:
    key: str
    output: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float | None
    truncated: bool | None = None  # NULL in rows written before migration 3


class LLMCallsStore:
    """Mixin of :class:`~eat_core.store.Store`; needs ``connect``, ``query``, ``_ensure_migrated`` and ``path``."""

    def get_cached_calls(self, keys: Sequence[str]) -> dict[str, CachedCall]:
        if not keys or not self.path.exists():
            return {}
        out: dict[str, CachedCall] = {}
        with self.connect() as con:
            for chunk in chunks(list(dict.fromkeys(keys)), 500):
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
        payload = {k: (k, m, a, json.dumps(req, ensure_ascii=False), o, pt, ct, lat, *(rest[:1] or [None]))
                   for k, m, a, req, o, pt, ct, lat, *rest in rows}  # one row per key, the last one wins
        if not payload:
            return
        columns = list(zip(*payload.values(), strict=True))
        # One column-wise statement (lists unnested in DuckDB): 35-95x faster than a row-wise executemany, which
        # made this the single writer's bottleneck (2.5 ms a row; docs/capacity.md).
        with self.connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO llm_cache (key, model, adapter, request, output, prompt_tokens, "
                "completion_tokens, latency_s, truncated) SELECT * FROM (SELECT unnest(?::VARCHAR[]), "
                "unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])::JSON, unnest(?::VARCHAR[]), "
                "unnest(?::INTEGER[]), unnest(?::INTEGER[]), unnest(?::DOUBLE[]), unnest(?::BOOLEAN[]))",
                [list(c) for c in columns],
            )

    def put_shard_calls(self, lang: str, content: str, keys: Sequence[str]) -> None:
        """Remember which cached calls a shard of these sentences (``content``) used, for detached re-runs."""
        if not keys:
            return
        with self.connect() as con:
            con.executemany("INSERT OR IGNORE INTO shard_calls (lang, content, key) VALUES (?, ?, ?)",
                            [[lang, content, k] for k in keys])

    def get_shard_calls_many(self, shards: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """:meth:`get_shard_calls` for many (lang, content) pairs in one query."""
        if not shards or not self.path.exists():
            return {}
        self._ensure_migrated()
        langs, contents = [list(x) for x in zip(*shards, strict=True)]
        rows = self.query(
            "SELECT s.lang, s.content, c.key, c.output, c.prompt_tokens, c.completion_tokens, c.latency_s, "
            "c.truncated FROM shard_calls s JOIN llm_cache c ON c.key = s.key JOIN (SELECT unnest(?::VARCHAR[]) AS "
            "lang, unnest(?::VARCHAR[]) AS content) w ON w.lang = s.lang AND w.content = s.content",
            [langs, contents])
        out: dict[tuple[str, str], dict] = {pair: {} for pair in shards}
        for lang, content, *call in rows:
            out[(lang, content)][call[0]] = CachedCall(*call)
        return out

    def get_shard_calls(self, lang: str, content: str) -> dict[str, CachedCall]:
        self._ensure_migrated()
        rows = self.query(
            "SELECT c.key, c.output, c.prompt_tokens, c.completion_tokens, c.latency_s, c.truncated FROM shard_calls s "
            "JOIN llm_cache c ON c.key = s.key WHERE s.lang = ? AND s.content = ?", [lang, content])
        return {r[0]: CachedCall(*r) for r in rows}
