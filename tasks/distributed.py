"""Shards on a Dask cluster (prefect-dask): compute anywhere, persist in the flow process only.

The compute task never sees the DuckDB file: it gets the shard's configuration and the LLM calls the workspace
already has for those sentences, and returns predictions, counters and the calls it made. The flow process, the
one writer, persists each result as it arrives. Finished shards are not submitted at all (the flow reads their
status from DuckDB), so Prefect's cache records need no storage that every worker reaches. Models load once per
Dask worker process (``eat_core.evaluation.session.session_for`` keeps them) and serve every shard sent there.
"""

from __future__ import annotations

import contextlib
import logging

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed

from eat_core.config.requests import EvalRequest, ExecutionOptions
from eat_core.config.run import RunConfig
from eat_core.errors import one_line
from eat_core.evaluation.detached import ShardOutput, compute_shard, persist_shard, shard_content
from eat_core.evaluation.shards import ShardOutcome, shard_error
from eat_core.store import Store
from tasks.evaluation import retry_unless_permanent


@task(name="compute_shard", cache_policy=NO_CACHE, persist_result=False,
      task_run_name="{lang}-shard-{index}")
def compute_shard_task(cfg: RunConfig, lang: str, index: int, calls: dict, torch_threads: int = 0) -> ShardOutput:
    """Translate, tag and align one shard on whatever worker Dask picked; no DuckDB here.

    ``torch_threads``: intra-op threads of a local model in this worker (its Dask threads), so several workers on
    one machine do not each spread over every core (0: leave torch's default)."""
    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    logging.getLogger("eat").info("computing %s shard %s", lang, index)
    return compute_shard(cfg, lang, index, calls)


def dask_runner(execution: ExecutionOptions):
    """A ``DaskTaskRunner`` for the run: an existing scheduler, or a LocalCluster of worker processes."""
    from prefect_dask import DaskTaskRunner

    if execution.dask_address:
        return DaskTaskRunner(address=execution.dask_address)
    worker = {"resources": {"GPU": execution.dask_gpus_per_shard}} if execution.dask_gpus_per_shard else {}
    return DaskTaskRunner(cluster_kwargs={"n_workers": execution.dask_workers, "processes": True,
                                          "threads_per_worker": execution.dask_threads_per_worker, **worker})


def uses_dask(execution: ExecutionOptions) -> bool:
    return execution.uses_dask


def run_on_dask(request: EvalRequest, execution: ExecutionOptions, cfg: RunConfig, run_id: str, plan: list[dict],
                retries: int, retry_delay_s: float, on_done, on_failed) -> None:
    """Submit every unfinished shard to Dask and persist results here as they arrive (any order)."""
    store = Store(request.db)
    done = store.done_shards(run_id)
    compute = compute_shard_task.with_options(retries=retries, retry_delay_seconds=retry_delay_s,
                                              retry_condition_fn=retry_unless_permanent,
                                              tags={execution.concurrency_tag} if execution.concurrency_tag else set())
    todo = []
    for p in plan:
        if (p["lang"], p["index"]) in done:
            store.mark_shard_reused(run_id, p["lang"], p["index"])
            _, hits, misses, sentences = store.shard_state(run_id, p["lang"], p["index"])
            on_done(p, ShardOutcome(p["lang"], p["index"], "skipped", sentences, hits + misses), True)
        else:
            todo.append(p)
    keys = [(p["lang"], shard_content(cfg, p["lang"], p["index"])) for p in todo]
    shipped = store.get_shard_calls_many(keys) if store.path.exists() else {}  # one query for every shard
    with store.transaction():  # one commit for every shard's "running" mark
        for p in todo:
            store.mark_shard(run_id, p["lang"], p["index"], len(p["sentence_ids"]), "running", attempt=True)
    with dask_runner(execution) as runner:
        futures = {}
        for p, key in zip(todo, keys, strict=True):
            with _resources(execution):
                future = runner.submit(compute, parameters={
                    "cfg": cfg, "lang": p["lang"], "index": p["index"], "calls": shipped.get(key, {}),
                    "torch_threads": 0 if execution.dask_address else execution.dask_threads_per_worker})
            futures[future] = p
        for future in as_completed(list(futures)):
            p = futures[future]
            try:  # the Dask result itself: the future's Prefect state may not be up to date yet
                out: ShardOutput = future.result()
            except Exception as exc:  # noqa: BLE001 - a failed shard must not stop the others
                store.mark_shard(run_id, p["lang"], p["index"], len(p["sentence_ids"]), "failed", shard_error(exc))
                on_failed(p, one_line(exc))
                continue
            persist_shard(store, run_id, out)
            on_done(p, out.outcome(), False)


def _resources(execution: ExecutionOptions):
    if not execution.dask_gpus_per_shard:
        return contextlib.nullcontext()
    import dask

    return dask.annotate(resources={"GPU": execution.dask_gpus_per_shard})
