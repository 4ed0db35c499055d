"""``full_eval``: every language split into shards, each shard a retried, cached task; then metrics.

Failed shards do not stop the others: the flow waits for all of them, scores what finished, and ends Failed naming
the shards that still failed after their retries. Re-running with the same parameters (a new deployment run, or
``prefect flow-run retry``) recomputes only missing or failed shards: finished ones come back Cached.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.futures import wait

from eat_core.config import EvalRequest
from eat_core.evaluate import ProgressTracker, run_id_for
from tasks.evaluation import plan_shards_task, score_run_task, shard_task


class ShardsFailed(RuntimeError):
    pass


@flow(name="eat", flow_run_name="full-eval-{request.profile}", log_prints=True)
def full_eval(request: EvalRequest = EvalRequest(), retries: int = 2, retry_delay_s: float = 2.0) -> dict:
    """Evaluate EAT on every requested language; returns the run id and per-language scores."""
    logger = get_run_logger()
    cfg = request.resolve()
    run_id = request.run_id or run_id_for(cfg)
    plan = plan_shards_task(cfg, request.db, run_id)
    logger.info("run %s: %d shards over %s", run_id, len(plan), ", ".join(cfg.data.languages))
    shard = shard_task(request.db, retries, retry_delay_s)
    tracker = ProgressTracker(sum(len(p["sentence_ids"]) for p in plan))
    failed = []

    def record(p: dict, state) -> None:
        if state.is_completed():
            logger.info(tracker.update(state.result()) + (" (cached)" if state.name == "Cached" else ""))
        else:
            failed.append(f"{p['lang']}/{p['index']}")
            logger.error("%s shard %s failed: %s", p["lang"], p["index"], state.message)

    args = [(cfg, request.db, run_id, p["lang"], p["index"], p["sentence_ids"]) for p in plan]
    if cfg.llm.backend == "transformers":
        # One in-process model serves one shard at a time; running them in order in this thread avoids the
        # contention of idle threads and reports progress as each shard ends.
        for p, a in zip(plan, args, strict=True):
            record(p, shard(*a, return_state=True))
    else:
        # A served model batches concurrent requests: submit every shard, then collect (a failure cancels nothing).
        futures = [shard.submit(*a) for a in args]
        wait(futures)
        for p, future in zip(plan, futures, strict=True):
            record(p, future.state)
    scores = score_run_task(cfg, request.db, run_id, bool(failed))
    if failed:
        raise ShardsFailed(f"run {run_id}: {len(failed)} shard(s) failed after retries: {', '.join(failed)}; "
                           f"re-run the same parameters to resume them")
    return {"run_id": run_id, "scores": scores}
