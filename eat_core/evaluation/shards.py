"""Shards: how a language is cut into shards, which are done, and running one shard into the store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from eat_core.config.run import RunConfig
from eat_core.errors import DiskFullError
from eat_core.evaluation.data import load_language
from eat_core.evaluation.session import pipeline_for
from eat_core.store import Store
from eat_core.types import Sentence

Progress = Callable[[str], None]




def shards_of(sentences: Sequence[Sentence], size: int) -> list[list[Sentence]]:
    return [list(sentences[i : i + size]) for i in range(0, len(sentences), size)]



def done_shards(store: Store, run_id: str) -> set[tuple[str, int]]:
    if not store.path.exists():
        return set()
    store.migrate()
    rows = store.query("SELECT lang, shard_index FROM shards WHERE run_id = ? AND status = 'done'", [run_id])
    return {(lang, index) for lang, index in rows}



def plan_shards(cfg: RunConfig) -> list[tuple[str, int, int]]:
    """(language, shard index, sentences) for every shard of the run, in a stable order."""
    return [(lang, i, len(shard)) for lang in cfg.data.languages
            for i, shard in enumerate(shards_of(load_language(cfg, lang), cfg.shard_size))]



def run_shard(cfg: RunConfig, db: str | Path, run_id: str, lang: str, index: int,
              progress: Progress | None = None) -> dict:
    """Compute one shard unless DuckDB already has it done; failures are recorded, then re-raised for retries."""
    store = Store(db)
    row = store.query("SELECT status, cache_hits, cache_misses, n_sentences FROM shards WHERE run_id = ? AND "
                      "lang = ? AND shard_index = ?", [run_id, lang, index]) if store.path.exists() else []
    if row and row[0][0] == "done":
        store.mark_shard_reused(run_id, lang, index)
        calls = (row[0][1] or 0) + (row[0][2] or 0)
        return {"lang": lang, "shard": index, "status": "skipped", "sentences": row[0][3], "hits": calls,
                "misses": 0}
    sentences = shards_of(load_language(cfg, lang), cfg.shard_size)[index]
    store.mark_shard(run_id, lang, index, len(sentences), "running", attempt=True)
    try:
        hits, misses = pipeline_for(cfg, store, progress).run_shard(run_id, lang, index, sentences)
    except BaseException as exc:
        try:
            store.mark_shard(run_id, lang, index, len(sentences), "failed",
                             f"{exc.__class__.__name__}: {exc}"[:2000])
        except DiskFullError:
            if not isinstance(exc, DiskFullError):
                raise
            # the disk is still full: the shard stays 'running' and a re-run computes it, as it would a failed one
        raise
    return {"lang": lang, "shard": index, "status": "done", "sentences": len(sentences), "hits": hits,
            "misses": misses}

