"""``eat run`` and ``eat resume``: evaluate a method on target languages and print the results table."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from eat_cli.app import _error, flow_result, friendly, progress
from eat_cli.options import (
    DEFAULT_DB,
    Adapter,
    BaseUrl,
    CropMatcher,
    Data,
    Db,
    Demonstrations,
    Direct,
    Extractor,
    ExtractorLabelMap,
    ExtractorModel,
    Languages,
    Limit,
    Llm,
    LlmBackend,
    Method,
    Overlong,
    Profile,
    RepairTags,
    Rounds,
    ShardSize,
    Split,
    StrictTags,
)
from eat_core.config.fields import EXECUTION, SHARED


def _fail_run(db: Path, run_id: str, message: str) -> NoReturn:
    """Print the results table of a failed run, then the failure (its last lines name each failed shard)."""
    from eat_core.errors import EatError
    from eat_core.results.render import results_table

    with contextlib.suppress(EatError):  # a run refused before it was recorded has no table
        typer.echo(results_table(db, run_id, causes=False))  # the message below names each cause
    _error(message)
    raise typer.Exit(1)


@friendly
def run(
    profile: Profile = "smoke",
    db: Db = DEFAULT_DB,
    languages: Languages = None,
    data: Data = None,
    split: Split = None,
    limit: Limit = None,
    llm_backend: LlmBackend = None,
    llm: Llm = None,
    base_url: BaseUrl = None,
    adapter: Adapter = None,
    extractor: Extractor = None,
    extractor_model: ExtractorModel = None,
    extractor_label_map: ExtractorLabelMap = None,
    rounds: Rounds = None,
    shard_size: ShardSize = None,
    run_id: Annotated[str, typer.Option(help=SHARED["run_id"])] = None,
    overlong: Overlong = None,
    repair_tags: RepairTags = False,
    strict_tags: StrictTags = False,
    method: Method = None,
    demonstrations: Demonstrations = None,
    crop_matcher: CropMatcher = None,
    dask_workers: Annotated[int, typer.Option(help=EXECUTION["dask_workers"])] = None,
    dask_address: Annotated[str, typer.Option(help=EXECUTION["dask_address"])] = None,
    dask_gpus_per_shard: Annotated[int, typer.Option(help=EXECUTION["dask_gpus_per_shard"])] = None,
    direct: Direct = False,
) -> None:
    """Evaluate a method (EAT by default) on target languages through the full_eval flow; print the results.

    Every option, name, path and data file is checked before a model loads (exit 2); failed shards exit 1.
    """
    from eat_core.config.coerce import coerce_request
    from eat_core.errors import EatError
    from eat_core.evaluation.checks import validate_request
    from eat_core.results.render import results_table

    request, execution = coerce_request(dict(
        profile=profile, db=str(db), languages=tuple(languages.split(",")) if languages else None,
        data_dir=str(data) if data else None, split=split, limit=limit, repair_tags=False if strict_tags else None,
        llm_backend=llm_backend, llm=llm, base_url=base_url, adapter=adapter, extractor=extractor,
        extractor_model=extractor_model, extractor_label_map=extractor_label_map, rounds=rounds,
        shard_size=shard_size, run_id=run_id, overlong=overlong,
        method=method, demonstrations=demonstrations, crop_matcher=crop_matcher, dask_workers=dask_workers,
        dask_address=dask_address, **({"dask_gpus_per_shard": dask_gpus_per_shard} if dask_gpus_per_shard else {}),
    ))
    if direct and execution.uses_dask:
        raise EatError("--direct runs in this process; --dask-workers/--dask-address need the flow (drop --direct)")
    cfg = validate_request(request)
    if direct:
        from eat_core.evaluation.lifecycle import failure_summary
        from eat_core.evaluation.loop import evaluate

        result = evaluate(cfg, db, run_id=request.run_id, progress=progress)
        if result.failed_shards:
            _fail_run(db, result.run_id, failure_summary(result.run_id, result.failed_shards, retried=False))
        typer.echo(results_table(db, result.run_id))
        return
    from eat_cli.prefect_server import flow_process
    from eat_core.evaluation.identity import run_id_for
    from flows.full_eval import full_eval

    with flow_process():  # temporary server up front (or one line, exit 2); Ctrl-C/SIGTERM: run 'interrupted'
        state = full_eval(request, execution=execution, return_state=True)
    done = flow_result(state, lambda message, _: _fail_run(db, request.run_id or run_id_for(cfg), message))
    typer.echo(results_table(db, done["run_id"]))


@friendly
def resume(run_id: Annotated[str, typer.Argument(help="run id to resume")] = ..., db: Db = DEFAULT_DB) -> None:
    """Re-run only the missing or failed shards of a run (finished shards and cached LLM calls are reused)."""
    from eat_core.evaluation.lifecycle import failure_summary, load_run_config
    from eat_core.evaluation.loop import evaluate
    from eat_core.results.render import results_table

    cfg = load_run_config(db, run_id)
    result = evaluate(cfg, db, run_id=run_id, progress=progress)
    if result.failed_shards:
        _fail_run(db, run_id, failure_summary(run_id, result.failed_shards, retried=False))
    typer.echo(results_table(db, run_id))
