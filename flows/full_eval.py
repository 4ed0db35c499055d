"""``full_eval``: every language split into shards, each shard a retried, cached task; then metrics.

The request is validated first (``eat_core.config.coerce``): a bad parameter fails the run at once, its one line as the
state message. Failed shards do not stop the others: the flow waits for all of them, scores what finished, and ends
Failed naming each shard that still failed with its cause (errors a retry cannot fix are not retried). Re-running
with the same parameters (a new deployment run, or ``prefect flow-run retry``) recomputes only missing or failed
shards: finished ones come back Cached.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.exceptions import TerminationSignal
from prefect.futures import wait
from prefect.states import Failed

from eat_core.config.coerce import coerce_request, named_as_typed
from eat_core.config.labels import run_labels
from eat_core.config.requests import EvalRequest, ExecutionOptions
from eat_core.errors import EatError, one_line
from eat_core.evaluation.checks import validate_request
from eat_core.evaluation.identity import run_id_for
from eat_core.evaluation.lifecycle import end_run, failure_summary
from eat_core.evaluation.progress import ProgressTracker
from eat_core.evaluation.shards import ShardOutcome
from eat_core.store import Store
from flows.naming import add_run_tags, flow_run_namer
from tasks import interrupt
from tasks.artifacts import publish_results
from tasks.distributed import run_on_dask, uses_dask
from tasks.evaluation import plan_shards_task, score_run_task, shard_task
from tasks.logs import quiet_failure_tracebacks


@flow(name="eat", flow_run_name=flow_run_namer("full-eval", EvalRequest), log_prints=True,
      validate_parameters=False)
def full_eval(request: EvalRequest = EvalRequest(), retries: int = 2, retry_delay_s: float = 2.0,
              execution: ExecutionOptions | None = None) -> dict:
    """Evaluate a method (EAT by default) on every requested language; returns the run id and per-language scores.

    The request is validated first, as ``eat run`` does (parameters are validated here, not by Prefect, so a bad
    one fails the run at once with one line naming the parameter as its state message: no shard is planned,
    nothing is retried). The flow name stays ``eat`` so the deployment is still ``eat/full-eval``.

    Args:
        request: what to evaluate: a profile plus overrides; fields left empty take the profile's value.
        retries: retries of a failed shard (an error no retry can fix, such as a missing model, is not retried).
        retry_delay_s: seconds between a shard's retries.
        execution: where shards run (Dask, a Prefect concurrency tag), not what they compute.
    """
    logger = get_run_logger()
    quiet_failure_tracebacks()  # a failed shard: one line here, its traceback at debug level
    try:
        with named_as_typed(request, EvalRequest, ExecutionOptions):
            request, execution = coerce_request(request, execution)
            cfg = validate_request(request)
    except EatError as exc:
        logger.error("%s", exc)
        return Failed(message=str(exc))
    add_run_tags(run_labels("full-eval", request).tags)
    run_id = request.run_id or run_id_for(cfg)
    try:
        with interrupt.reclaim_sigterm():
            return _evaluate(request, execution, cfg, run_id, int(retries), float(retry_delay_s), logger)
    except (KeyboardInterrupt, TerminationSignal):  # Ctrl-C, or SIGTERM (Prefect's own handler during a flow)
        end_run(Store(request.db), run_id, "interrupted", "interrupted; re-run the same parameters to resume")
        raise
    except BaseException as exc:
        end_run(Store(request.db), run_id, "failed", one_line(exc))
        raise


def _evaluate(request: EvalRequest, execution: ExecutionOptions, cfg, run_id: str, retries: int,
              retry_delay_s: float, logger):
    plan = plan_shards_task(cfg, request.db, run_id)
    languages = list(dict.fromkeys(cfg.data.languages))
    logger.info("run %s: %d shards in %d language(s): %s", run_id, len(plan), len(languages), ", ".join(languages))
    shard = shard_task(request.db, retries, retry_delay_s, execution.concurrency_tag)
    tracker = ProgressTracker(sum(len(p["sentence_ids"]) for p in plan))
    failed: list[tuple[str, int, str]] = []
    reused: list[tuple[str, int]] = []

    def record(p: dict, state) -> None:
        if state.is_completed():
            cached = state.name == "Cached"
            if cached:
                reused.append((p["lang"], p["index"]))
            logger.info(tracker.update(state.result(), reused=cached) + (" (cached)" if cached else ""))
        else:
            try:
                exc = state.result(raise_on_failure=False)
            except Exception:  # noqa: BLE001 - fall back to the state's own message
                exc = None
            cause = one_line(exc) if isinstance(exc, BaseException) else (state.message or state.name)
            failed.append((p["lang"], p["index"], cause))
            logger.error("%s shard %s failed: %s", p["lang"], p["index"], cause)

    args = [(cfg, request.db, run_id, p["lang"], p["index"], p["sentence_ids"]) for p in plan]
    if uses_dask(execution):
        # Shards compute on Dask workers (no DuckDB there); this process persists each result as it arrives.
        def done(p: dict, outcome: ShardOutcome, before: bool) -> None:
            if before:
                reused.append((p["lang"], p["index"]))
            logger.info(tracker.update(outcome, reused=before)
                        + (" (done before)" if before else f" (on {outcome.worker or '?'})"))

        def fail(p: dict, cause: str) -> None:
            failed.append((p["lang"], p["index"], cause))
            logger.error("%s shard %s failed: %s", p["lang"], p["index"], cause)

        run_on_dask(request, execution, cfg, run_id, plan, retries, retry_delay_s, done, fail)
    elif cfg.llm.backend == "transformers":
        # One in-process model serves one shard at a time; running them in order in this thread avoids the
        # contention of idle threads and reports progress as each shard ends.
        for p, a in zip(plan, args, strict=True):
            interrupt.check()  # Ctrl-C during a DuckDB query fails the shard instead of raising: stop here
            record(p, shard(*a, return_state=True))
    else:
        # A served model batches concurrent requests: submit every shard, then collect (a failure cancels nothing).
        futures = [shard.submit(*a) for a in args]
        wait(futures)
        for p, future in zip(plan, futures, strict=True):
            record(p, future.state)
    interrupt.check()
    summary = failure_summary(run_id, failed, retried=False) if failed else None  # permanent errors skip retries
    scores = score_run_task(cfg, request.db, run_id, bool(failed), summary, reused)
    publish_results(request.db, run_id, logger)  # on the flow run, in the Prefect UI; never fails the run
    if failed:  # a Failed state with the summary as its message (raising would print a traceback of the flow)
        return Failed(message=summary)
    return {"run_id": run_id, "scores": scores}
