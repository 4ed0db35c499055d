"""``tag_corpus``: tag any corpus shard by shard, each shard a retried, cached task; the output in input order.

The request is validated first (``eat_core.tagging.request``) and the corpus scanned (every record checked): a bad
parameter or input line fails the run at once with one line as its state message. Failed shards do not stop the
others; the flow ends Failed naming each with its cause and leaves ``out`` untouched. Re-running with the same
parameters recomputes only missing or failed shards (finished ones come back Cached) and rewrites ``out``, appending
each shard as soon as those before it are written.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.exceptions import TerminationSignal
from prefect.futures import wait
from prefect.states import Failed

from eat_core.config.coerce import named_as_typed
from eat_core.config.labels import run_labels
from eat_core.errors import EatError, one_line
from eat_core.evaluation.lifecycle import TAG_RUN, end_run, failure_summary
from eat_core.evaluation.progress import ProgressTracker
from eat_core.store import Store
from eat_core.tagging.export import OrderedWriter
from eat_core.tagging.request import TagRequest, coerce_tag_request, validate_tag_request
from flows.naming import add_run_tags, flow_run_namer
from tasks import interrupt
from tasks.logs import quiet_failure_tracebacks
from tasks.tagging import finish_tag_task, plan_tag_task, tag_shard_task


def _input_name(request: TagRequest) -> str:
    return Path(request.input).name


@flow(name="tag", flow_run_name=flow_run_namer("tag", TagRequest, _input_name), log_prints=True,
      validate_parameters=False)
def tag_corpus(request: TagRequest, retries: int = 2, retry_delay_s: float = 2.0) -> dict:
    """Tag ``request.input`` into ``request.out``; returns the tag run id and counts (deployment ``tag/corpus``).

    Args:
        request: the corpus, its language, the output file, and a profile plus overrides.
        retries: retries of a failed shard (an error no retry can fix, such as a missing model, is not retried).
        retry_delay_s: seconds between a shard's retries.
    """
    logger = get_run_logger()
    quiet_failure_tracebacks()  # a failed shard: one line here, its traceback at debug level
    try:
        with named_as_typed(request, TagRequest):
            request = coerce_tag_request(request)
            validate_tag_request(request)
            plan = plan_tag_task(request)
    except EatError as exc:
        logger.error("%s", exc)
        return Failed(message=str(exc))
    add_run_tags(run_labels("tag", request, _input_name(request)).tags)
    run_id, store = plan["run_id"], Store(request.db)
    writer = OrderedWriter(request.out)
    try:
        with interrupt.reclaim_sigterm():
            result = _tag(request, plan, int(retries), float(retry_delay_s), writer, logger)
    except (KeyboardInterrupt, TerminationSignal):  # Ctrl-C, or SIGTERM (Prefect's own handler during a flow)
        writer.abort()
        end_run(store, run_id, "interrupted", "interrupted; re-run the same parameters to resume", TAG_RUN)
        raise
    except BaseException as exc:
        writer.abort()
        end_run(store, run_id, "failed", one_line(exc), TAG_RUN)
        raise
    if isinstance(result, str):
        writer.abort()
        return Failed(message=result)
    writer.commit()
    return {"run_id": run_id, "out": str(writer.out), "records": writer.records, "entities": writer.entities}


def _tag(request: TagRequest, plan: dict, retries: int, retry_delay_s: float, writer: OrderedWriter, logger):
    run_id, cfg, store = plan["run_id"], plan["cfg"], Store(request.db)
    logger.info(plan["summary"])
    shard = tag_shard_task(request.db, retries, retry_delay_s)
    tracker = ProgressTracker(sum(s["count"] for s in plan["shards"]))
    failed: list[tuple[int, str]] = []

    def record(s: dict, state) -> None:
        if state.is_completed():
            cached = state.name == "Cached"
            logger.info(tracker.update(state.result(), reused=cached) + (" (cached)" if cached else ""))
            writer.add(s["index"], store.tag_shard_rows(run_id, s["index"]))
            return
        try:
            exc = state.result(raise_on_failure=False)
        except Exception:  # noqa: BLE001 - fall back to the state's own message
            exc = None
        cause = one_line(exc) if isinstance(exc, BaseException) else (state.message or state.name)
        failed.append((s["index"], cause))
        logger.error("shard %s failed: %s", s["index"], cause)

    args = [(cfg, request.db, run_id, plan["source"], s) for s in plan["shards"]]
    if cfg.llm.backend == "transformers":  # one in-process model: shards in order, output appended as each ends
        for s, a in zip(plan["shards"], args, strict=True):
            interrupt.check()  # Ctrl-C during a DuckDB query fails the shard instead of raising: stop here
            record(s, shard(*a, return_state=True))
    else:  # a served model batches concurrent requests: submit every shard, then collect
        futures = [shard.submit(*a) for a in args]
        wait(futures)
        for s, future in zip(plan["shards"], futures, strict=True):
            record(s, future.state)
    interrupt.check()
    finish_tag_task(request.db, run_id, failed)
    return failure_summary(run_id, failed, kind=TAG_RUN) if failed else None
