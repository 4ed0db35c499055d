"""Thin Prefect tasks over ``eat_core.evaluation.loop``: one core call each."""

from __future__ import annotations

import logging

from prefect import task

from eat_core.config.run import RunConfig
from eat_core.errors import is_retryable
from eat_core.evaluation.data import input_notes, load_language
from eat_core.evaluation.lifecycle import finish_run, start_run
from eat_core.evaluation.shards import ShardOutcome, plan_shards, run_shard, shards_of
from eat_core.store import Store
from tasks import interrupt
from tasks.policies import ShardCachePolicy
from tasks.storage import key_storage_for


@task(name="plan_shards")
def plan_shards_task(cfg: RunConfig, db: str, run_id: str) -> list[dict]:
    """Register the run and list its shards with their sentence ids (the ids feed the cache key); log which inputs
    changed since the last run of this configuration and what the readers did to the data."""
    from prefect.logging import get_run_logger

    logger = get_run_logger()
    for note in start_run(Store(db), run_id, cfg) + input_notes(cfg):
        logger.info(note)
    plan = []
    for lang, index, _ in plan_shards(cfg):
        shard = shards_of(load_language(cfg, lang), cfg.shard_size)[index]
        plan.append({"lang": lang, "index": index, "sentence_ids": [s.id for s in shard]})
    return plan


def retry_unless_permanent(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry I/O trouble, never an error the same attempt would hit again (a missing
    model, an unknown name, bad data: ``EatError.retryable`` is False), nor anything once Ctrl-C or SIGTERM asked the
    process to stop (DuckDB turns the interrupt into ``RuntimeError('Query interrupted')``: ``tasks/interrupt.py``)."""
    if interrupt.requested() is not None:
        return False
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - no exception to judge: retry as configured
        return True
    if isinstance(exc, BaseException) and _from_interrupt(exc):
        return False
    return not isinstance(exc, BaseException) or is_retryable(exc)


def _from_interrupt(exc: BaseException) -> bool:
    """True for a ``KeyboardInterrupt`` or an error raised while handling one (its cause or context chain)."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def shard_task(db: str, retries: int, retry_delay_s: float, tag: str | None = None):
    """The shard task, configured per run: retries (not for permanent errors), and the cache records kept in the
    run's DuckDB file."""
    return run_shard_task.with_options(
        retries=retries, retry_delay_seconds=retry_delay_s, retry_condition_fn=retry_unless_permanent,
        cache_policy=ShardCachePolicy(workspace=Store(db).workspace_id()).configure(key_storage=key_storage_for(db)),
        tags={tag} if tag else set(),
    )


@task(name="run_shard", persist_result=True, task_run_name="{lang}-shard-{index}")
def run_shard_task(cfg: RunConfig, db: str, run_id: str, lang: str, index: int,
                   sentence_ids: list[str]) -> ShardOutcome:
    """Translate, tag and align one shard; DuckDB holds its predictions, this returns its small outcome.

    Round-by-round progress goes to the ``eat`` Python logger, not to the Prefect API: shipping a record per LLM
    round costs the server (often on the same machine) more than the round itself on small shards. The flow logs
    one line per shard (counts, ETA, cache hit rate) to the run.
    """
    interrupt.check()  # a shard queued on a thread pool does not start after Ctrl-C
    return run_shard(cfg, db, run_id, lang, index, progress=logging.getLogger("eat").info)


@task(name="score_run")
def score_run_task(cfg: RunConfig, db: str, run_id: str, failed: bool, reason: str | None = None,
                   reused: list[tuple[str, int]] | None = None) -> dict:
    """Per-language metrics from the stored predictions, and the run's final status (with the failure reason)."""
    return finish_run(Store(db), run_id, cfg, failed, reason, [tuple(r) for r in reused or ()])
