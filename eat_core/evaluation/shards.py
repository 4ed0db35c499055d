"""Shards: how a language is cut into shards, what one shard's run returns, and running one into the store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eat_core.config.run import RunConfig
from eat_core.errors import DiskFullError
from eat_core.evaluation.data import load_language
from eat_core.evaluation.session import prediction_row, session_for, this_worker
from eat_core.store import Store
from eat_core.types import Sentence

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ShardOutcome:
    """What running one shard returns (a Prefect task's result, a Dask result's summary) and
    ``ProgressTracker.update`` reads: small, picklable, the same for ``eat run``, ``eat tag`` and Dask.

    ``status``: ``done`` (computed now) or ``skipped`` (the store had it done: every call it made counts as reused,
    so ``hits`` holds all its calls). ``entities``: tagged entities (tag shards only)."""

    lang: str
    shard: int
    status: Literal["done", "skipped"]
    sentences: int
    hits: int = 0
    misses: int = 0
    entities: int | None = None
    worker: str = ""


SHARD_ERROR_CHARS = 2000


def shard_error(exc: BaseException) -> str:
    """The error stored with a failed shard (``last_error``): its type and message, bounded."""
    return f"{exc.__class__.__name__}: {exc}"[:SHARD_ERROR_CHARS]


def guarded_shard(compute: Callable[[], ShardOutcome], mark_failed: Callable[[str], None]) -> ShardOutcome:
    """Run ``compute``; on any failure record it with ``mark_failed(shard_error(exc))``, then re-raise (for
    retries). A full disk that also stops the mark leaves the shard ``running``: a re-run computes it, as it would
    a failed one."""
    try:
        return compute()
    except BaseException as exc:
        try:
            mark_failed(shard_error(exc))
        except DiskFullError:
            if not isinstance(exc, DiskFullError):
                raise
        raise


def shards_of(sentences: Sequence[Sentence], size: int) -> list[list[Sentence]]:
    return [list(sentences[i : i + size]) for i in range(0, len(sentences), size)]


def plan_shards(cfg: RunConfig) -> list[tuple[str, int, int]]:
    """(language, shard index, sentences) for every shard of the run, in a stable order."""
    return [(lang, i, len(shard)) for lang in cfg.data.languages
            for i, shard in enumerate(shards_of(load_language(cfg, lang), cfg.shard_size))]


def run_shard(cfg: RunConfig, db: str | Path, run_id: str, lang: str, index: int,
              progress: Progress | None = None) -> ShardOutcome:
    """Compute one shard unless DuckDB already has it done; failures are recorded, then re-raised for retries."""
    store = Store(db)
    state = store.shard_state(run_id, lang, index)
    if state and state[0] == "done":
        store.mark_shard_reused(run_id, lang, index)
        return ShardOutcome(lang, index, "skipped", state[3], hits=state[1] + state[2])
    sentences = shards_of(load_language(cfg, lang), cfg.shard_size)[index]
    store.mark_shard(run_id, lang, index, len(sentences), "running", attempt=True)

    def compute() -> ShardOutcome:
        predictions, cost = session_for(cfg, store, progress).run(sentences)
        store.write_shard_result(run_id, lang, index, [prediction_row(p) for p in predictions], cost.hits,
                                 cost.misses, cost.seconds, cost.prompt_tokens, cost.completion_tokens, this_worker())
        return ShardOutcome(lang, index, "done", len(sentences), cost.hits, cost.misses, worker=this_worker())

    return guarded_shard(compute, lambda error: store.mark_shard(run_id, lang, index, len(sentences), "failed",
                                                                  error))
