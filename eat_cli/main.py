"""The ``eat`` command line. Errors a user can act on print as one line (exit 2), never as a traceback.

Exit codes: 0 success; 1 the run failed (shards failed after their retries: the last lines name each with its
cause); 2 a user error (an option value, a name, a path, a data file, an unknown run), found before any model loads;
130 interrupted (Ctrl-C; the run is marked ``interrupted`` and a re-run resumes it); 143 terminated (SIGTERM, on
the flow path: the same). On the flow path (no ``--direct``) a temporary Prefect server that does not start within
PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS is exit 2, before any shard (``eat_cli/prefect_server.py``).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

from eat_cli.prefect_server import set_prefect_defaults  # noqa: E402

set_prefect_defaults()  # before Prefect reads its settings (no telemetry, time for a temporary server's first start)

import typer  # noqa: E402

from eat_cli.app import EatApp, _error, friendly  # noqa: E402
from eat_cli.score import score as _score  # noqa: E402
from eat_core.config.coerce import coerce_request, parse_languages  # noqa: E402
from eat_core.config.run import PROFILES  # noqa: E402
from eat_core.errors import EatError  # noqa: E402
from eat_core.evaluation.checks import validate_request  # noqa: E402
from eat_core.evaluation.identity import run_id_for  # noqa: E402
from eat_core.evaluation.lifecycle import failure_summary, load_run_config  # noqa: E402
from eat_core.evaluation.loop import evaluate  # noqa: E402
from eat_core.results.files import export_results, write_report  # noqa: E402
from eat_core.results.render import results_table  # noqa: E402

_PAPER, _SMOKE = PROFILES["paper"].student, PROFILES["smoke"].student  # student defaults shown in help



app = EatApp(help="eat-ner: zero-shot cross-lingual NER by entity-aligned translation (EAT).",
                  no_args_is_help=True, add_completion=False)



eacl_app = typer.Typer(help="EACL corpus from Wikipedia interlanguage links (EAT §3.2).", no_args_is_help=True)



data_app = typer.Typer(help="Inspect and validate datasets.", no_args_is_help=True)



app.add_typer(eacl_app, name="eacl")



app.add_typer(data_app, name="data")



def _fail_run(db: Path, run_id: str, message: str) -> None:
    """Print the results table of a failed run, then the failure (its last lines name each failed shard)."""

    with contextlib.suppress(EatError):  # a run refused before it was recorded has no table
        typer.echo(results_table(db, run_id))
    _error(message)
    raise typer.Exit(1)



@app.command()
@friendly
def run(
    profile: str = typer.Option("smoke", help="named profile: smoke, paper, paper-ft"),
    db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file"),
    languages: str = typer.Option(None, help="comma-separated ISO codes, e.g. zh,ja,ar"),
    data: Path = typer.Option(None, help="local WikiANN directory (switches the data source to 'local')"),
    split: str = typer.Option(None, help="train, dev or test"),
    limit: int = typer.Option(None, help="at most this many sentences per language"),
    llm_backend: str = typer.Option(None, "--llm-backend", help="transformers or openai"),
    llm: str = typer.Option(None, "--llm", help="LLM model id, local path or served name"),
    base_url: str = typer.Option(None, help="OpenAI-compatible endpoint(s) for --llm-backend openai; several, "
                                             "comma-separated, share the load and fail over"),
    adapter: str = typer.Option(None, help="PEFT LoRA adapter directory (EAT w/ FT)"),
    extractor: str = typer.Option(None, help="English NER extractor: t5, token-classification, heuristic"),
    extractor_model: str = typer.Option(None, help="extractor checkpoint (id or path)"),
    rounds: int = typer.Option(None, help="MrCoT rounds: 1, 3 or 5"),
    shard_size: int = typer.Option(None, help="sentences per shard"),
    run_id: str = typer.Option(None, help="run id (default: derived from the configuration)"),
    overlong: str = typer.Option(None, help="a token or sentence over the input limits: error (default: refused "
                                            "with file and line) or truncate (cut and counted)"),
    repair_tags: bool = typer.Option(False, "--repair-tags", hidden=True,
                                     help="no-op, kept for old scripts: orphan I- tags are repaired by default"),
    strict_tags: bool = typer.Option(False, "--strict-tags", help="refuse orphan I- tags instead of reading them "
                                     "as entity starts (the default, counted in the summary)"),
    method: str = typer.Option(None, help="eat (default), eat-ft, direct, crop, fusion or model-transfer "
                                          "(README: Methods)"),
    demonstrations: int = typer.Option(None, help="direct: English in-context examples (default 4; 0 allowed)"),
    crop_matcher: str = typer.Option(None, help="crop: 'crop' (CROP's lexical rule, default) or 'eat' (our aligner)"),
    dask_workers: int = typer.Option(None, help="run shards on a local Dask cluster of N worker processes"),
    dask_address: str = typer.Option(None, help="run shards on an existing Dask scheduler, e.g. tcp://10.0.0.5:8786"),
    dask_gpus_per_shard: int = typer.Option(None, help="Dask worker resources: each shard needs GPU=N on its worker"),
    direct: bool = typer.Option(False, "--direct", help="run the plain eat_core loop instead of the Prefect flow"),
) -> None:
    """Evaluate a method (EAT by default) on target languages through the full_eval flow; print the results.

    Every option, name, path and data file is checked before a model loads (exit 2); failed shards exit 1.
    """

    request, execution = coerce_request(dict(
        profile=profile, db=str(db), languages=tuple(languages.split(",")) if languages else None,
        data_dir=str(data) if data else None, split=split, limit=limit, repair_tags=False if strict_tags else None,
        llm_backend=llm_backend, llm=llm, base_url=base_url, adapter=adapter, extractor=extractor,
        extractor_model=extractor_model, rounds=rounds, shard_size=shard_size, run_id=run_id, overlong=overlong,
        method=method, demonstrations=demonstrations, crop_matcher=crop_matcher, dask_workers=dask_workers,
        dask_address=dask_address, **({"dask_gpus_per_shard": dask_gpus_per_shard} if dask_gpus_per_shard else {}),
    ))
    if direct and execution.uses_dask:
        raise EatError("--direct runs in this process; --dask-workers/--dask-address need the flow (drop --direct)")
    cfg = validate_request(request)
    if direct:
        from eat_core.evaluation.lifecycle import failure_summary
        from eat_core.evaluation.loop import evaluate

        result = evaluate(cfg, db, run_id=request.run_id, progress=lambda msg: typer.echo(msg, err=True))
        if result.failed_shards:
            _fail_run(db, result.run_id, failure_summary(result.run_id, result.failed_shards, retried=False))
        typer.echo(results_table(db, result.run_id))
        return
    from eat_cli.prefect_server import flow_process
    from flows.full_eval import full_eval

    with flow_process():  # temporary server up front (or one line, exit 2); Ctrl-C/SIGTERM: run 'interrupted'
        state = full_eval(request, execution=execution, return_state=True)
    logging.getLogger("prefect").setLevel(logging.WARNING)  # the result is the last thing printed, not the server
    if state.is_completed():
        typer.echo(results_table(db, state.result()["run_id"]))
        return
    try:
        outcome = state.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001 - a failed state without a stored exception
        outcome = exc
    message = state.message or state.name
    if isinstance(outcome, EatError | RuntimeError | OSError):
        message = str(outcome)  # an exception the flow raised: its own text, without Prefect's prefix
    _fail_run(db, request.run_id or _run_id(cfg), message)



def _run_id(cfg) -> str:

    return run_id_for(cfg)



@app.command()
@friendly
def tag(
    input: Path = typer.Argument(..., metavar="INPUT", show_default=False,
                                 help="corpus to tag: JSONL, CoNLL/PAN-X columns or plain text"),
    lang: str = typer.Option(..., "--lang", help="language of the corpus (ISO code: zh, ja, ar, ru, ...)"),
    out: Path = typer.Option(..., "--out", help="output file: OUT.jsonl (entities with character offsets) or "
                                                "OUT.conll (token and IOB2 tag columns)"),
    fmt: str = typer.Option("auto", "--format", help="input format: auto (by suffix), jsonl, conll or text"),
    profile: str = typer.Option("smoke", help="named profile: smoke, paper, paper-ft"),
    db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file"),
    method: str = typer.Option(None, help="eat (default), eat-ft, direct, crop, fusion or model-transfer"),
    llm_backend: str = typer.Option(None, "--llm-backend", help="transformers or openai"),
    llm: str = typer.Option(None, "--llm", help="LLM model id, local path or served name"),
    base_url: str = typer.Option(None, help="OpenAI-compatible endpoint for --llm-backend openai"),
    adapter: str = typer.Option(None, help="PEFT LoRA adapter directory (EAT w/ FT)"),
    extractor: str = typer.Option(None, help="English NER extractor: t5, token-classification, heuristic"),
    extractor_model: str = typer.Option(None, help="extractor (or model-transfer tagger) checkpoint"),
    rounds: int = typer.Option(None, help="MrCoT rounds: 1, 3 or 5"),
    shard_size: int = typer.Option(None, help="records per shard (default: the profile's)"),
    overlong: str = typer.Option(None, help="a token or sentence over the input limits: error (default) or "
                                            "truncate (tag what fits, count the rest)"),
    demonstrations: int = typer.Option(None, help="direct: English in-context examples"),
    crop_matcher: str = typer.Option(None, help="crop: crop (CROP's rule) or eat (the EAT aligner)"),
    direct: bool = typer.Option(False, "--direct", help="run the plain eat_core loop instead of the Prefect flow"),
) -> None:
    """Tag your own corpus: entities with character offsets (JSONL) or IOB2 columns (CoNLL).

    \b
    INPUT (--format auto picks by suffix: .jsonl, .conll/.tsv, .txt):
      JSONL  {"id": "s1", "text": "普京访问了巴黎。"}
             {"id": "s2", "tokens": ["Путин", "посетил", "Париж"]}
      text   one sentence per line (a blank line: a record, no entities)
      CoNLL  one token per line, a blank line between sentences

    \b
    OUT.jsonl, one line per record in input order (start, end: character
    offsets into text, so the span's text is the entity's text):
      {"id": "s1", "text": "普京访问了巴黎。",
       "entities": [{"start": 0, "end": 2, "label": "PER", "text": "普京"}]}

    \b
    Example:
      eat tag news.jsonl --lang zh --out news.tags.jsonl --profile smoke

    Sharded, cached in --db and resumable: the same command after a crash or Ctrl-C tags only what is missing.
    Bad input (invalid UTF-8, a record without text, an over-long sentence) is one line naming file and line, exit 2.
    """
    from eat_core.tagging.request import coerce_tag_request

    request = coerce_tag_request(dict(
        input=str(input), lang=lang, out=str(out), format=fmt, profile=profile, db=str(db), method=method,
        llm_backend=llm_backend, llm=llm, base_url=base_url, adapter=adapter, extractor=extractor,
        extractor_model=extractor_model, rounds=rounds, shard_size=shard_size, overlong=overlong,
        demonstrations=demonstrations, crop_matcher=crop_matcher))
    if direct:
        from eat_core.evaluation.lifecycle import TAG_RUN
        from eat_core.tagging.runner import tag_corpus

        result = tag_corpus(request, progress=lambda msg: typer.echo(msg, err=True))
        if result.failed_shards:
            _error(failure_summary(result.run_id, result.failed_shards, kind=TAG_RUN))
            raise typer.Exit(1)
        typer.echo(f"tag run {result.run_id}: {result.records} records, {result.entities} entities -> {result.out}")
        return
    from eat_core.tagging.runner import plan_tag

    plan_tag(request)  # options and every input record checked (one line, exit 2) before a Prefect server starts
    from eat_cli.prefect_server import flow_process
    from flows.tag import tag_corpus as tag_corpus_flow

    with flow_process():  # temporary server up front (or one line, exit 2); Ctrl-C/SIGTERM: run 'interrupted'
        state = tag_corpus_flow(request, return_state=True)
    logging.getLogger("prefect").setLevel(logging.WARNING)
    if state.is_completed():
        done = state.result()
        typer.echo(f"tag run {done['run_id']}: {done['records']} records, {done['entities']} entities -> "
                   f"{done['out']}")
        return
    try:
        outcome = state.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001 - a failed state without a stored exception
        outcome = exc
    message = str(outcome) if isinstance(outcome, EatError | RuntimeError | OSError) else (state.message or state.name)
    _error(message)
    raise typer.Exit(2 if isinstance(outcome, EatError) and not outcome.retryable else 1)



@app.command()
@friendly
def results(run_id: str = typer.Argument(None, help="run id (default: the latest run)"),
            db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file"),
            fmt: str = typer.Option("table", "--format", help="table, csv, json or parquet (parquet needs --out)"),
            out: Path = typer.Option(None, help="write to this file instead of printing")) -> None:
    """Print the per-language results of a run from DuckDB (works while a run is in progress).

    ``table``: the run, its inputs, then one line per language; ``csv``/``json``/``parquet``: one row per language
    with every metric and cost (``eat_core.results.tables.results_frame``).
    """

    typer.echo(export_results(db, run_id, fmt, out))



@app.command()
@friendly
def compare(runs: list[str] = typer.Argument(None, help="run ids (default: every run in the file)"),
            db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file"),
            out: Path = typer.Option(Path("reports"), help="directory for compare[-RUNS].md and .png"),
            fmt: str = typer.Option("table", "--format", help="what to print: table, csv or json")) -> None:
    """Methods side by side (EAT Table 4 layout, with the published rows): token F1 under the paper's protocol
    and true positions, failure reasons and costs; writes Markdown and a PNG into --out."""
    from eat_core.results.compare import check_format, compare_runs
    from eat_core.results.files import write_comparison
    from eat_core.results.render import comparison_csv, comparison_text

    check_format(fmt)
    cmp = compare_runs(db, runs or None)
    md, png = write_comparison(db, runs or None, out, cmp)
    if fmt == "json":
        import json

        typer.echo(json.dumps({**cmp.as_json(), "files": {"markdown": str(md), "png": str(png)}},
                              ensure_ascii=False, indent=1))
        return
    typer.echo(comparison_text(cmp) if fmt == "table" else comparison_csv(cmp).rstrip("\n"))
    typer.echo(f"wrote {md} and {png}", err=fmt == "csv")



app.command("score")(_score)



@app.command()
@friendly
def resume(run_id: str = typer.Argument(..., help="run id to resume"),
           db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file")) -> None:
    """Re-run only the missing or failed shards of a run (finished shards and cached LLM calls are reused)."""
    from eat_core.results.render import results_table

    cfg = load_run_config(db, run_id)
    result = evaluate(cfg, db, run_id=run_id, progress=lambda msg: typer.echo(msg, err=True))
    if result.failed_shards:
        _fail_run(db, run_id, failure_summary(run_id, result.failed_shards, retried=False))
    typer.echo(results_table(db, run_id))



@app.command()
@friendly
def report(run_id: str = typer.Argument(None, help="run id (default: the latest run)"),
           db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file"),
           out: Path = typer.Option(Path("reports"), help="directory for RUN.md and RUN.png")) -> None:
    """Write a Markdown report (EAT Table 4 layout) and an F1/BLEU/L_e plot (EAT Figure 3) for a run."""
    from eat_core.errors import ConfigError

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} is a file; give a directory")
    md, png = write_report(db, run_id, out)
    typer.echo(f"wrote {md} and {png}")



@app.command("train-extractor")
@friendly
def train_extractor(
    data: Path = typer.Option(..., help="WikiANN-format directory holding en/train.tsv and en/dev.tsv"),
    output: Path = typer.Option(..., help="output directory (checkpoints; the best model goes to OUTPUT/final)"),
    kind: str = typer.Option("t5", help="t5 (text-to-text) or token-classification"),
    base_model: str = typer.Option(None, help="base checkpoint (default: google/flan-t5-base or bert-base-"
                                              "multilingual-cased); tiny:t5 / tiny:bert-tc build tiny local ones"),
    train_splits: str = typer.Option("train", help="comma-separated splits to train on (paper: train,dev)"),
    eval_split: str = typer.Option("dev", help="split for early stopping and the final entity F1"),
    epochs: float = typer.Option(50, help="epochs (EAT §4.2: 50)"),
    learning_rate: float = typer.Option(1e-4, help="learning rate (EAT §4.2: 1e-4)"),
    batch_size: int = typer.Option(16),
    max_steps: int = typer.Option(-1, help="stop after this many steps (overrides epochs)"),
    patience: int = typer.Option(3, help="early-stopping patience in evaluations"),
    seed: int = typer.Option(42),
    limit_train: int = typer.Option(None, help="use only the first N training sentences"),
    limit_eval: int = typer.Option(None, help="use only the first N evaluation sentences"),
) -> None:
    """Train and evaluate an English NER extractor (Flan-T5 text-to-text or token classification); prints F1."""
    from eat_core.training.extractor import ExtractorTrainConfig
    from eat_core.training.extractor import train_extractor as train

    defaults = {"t5": "google/flan-t5-base", "token-classification": "bert-base-multilingual-cased"}
    if kind not in defaults:
        raise typer.BadParameter(f"unknown kind {kind!r}; use t5 or token-classification", param_hint="--kind")
    cfg = ExtractorTrainConfig(kind=kind, base_model=base_model or defaults[kind], data_dir=str(data),
                               output_dir=str(output), train_splits=tuple(train_splits.split(",")),
                               eval_split=eval_split, epochs=epochs, learning_rate=learning_rate,
                               batch_size=batch_size, max_steps=max_steps, patience=patience, seed=seed,
                               limit_train=limit_train, limit_eval=limit_eval)
    manifest = train(cfg, progress=lambda msg: typer.echo(msg, err=True))
    m = manifest["metrics"]
    typer.echo(f"{eval_split} entity_f1={m['entity_f1']:.2f} precision={m['entity_precision']:.2f} "
               f"recall={m['entity_recall']:.2f} token_f1={m['token_f1']:.2f}  model={output / 'final'}")



@app.command()
@friendly
def finetune(
    train: Path = typer.Option(..., help="ShareGPT training file (from `eat eacl build`)"),
    output: Path = typer.Option(..., help="output directory; the adapter goes to OUTPUT/adapter"),
    valid: Path = typer.Option(None, help="ShareGPT validation file (loss reported per epoch)"),
    base_model: str = typer.Option("Qwen/Qwen2.5-14B-Instruct", help="chat model id or path (tiny:qwen2 for a test)"),
    four_bit: bool = typer.Option(True, "--4bit/--no-4bit", help="QLoRA: NF4 4-bit base with double quantisation"),
    lora_r: int = typer.Option(64, help="LoRA rank (EAT §4.2: 64)"),
    lora_alpha: int = typer.Option(16, help="LoRA alpha (EAT §4.2: 16)"),
    learning_rate: float = typer.Option(1e-4, help="EAT §4.2: 1e-4"),
    epochs: float = typer.Option(5, help="EAT §4.2: 5"),
    max_steps: int = typer.Option(-1, help="stop after this many optimiser steps"),
    batch_size: int = typer.Option(4),
    gradient_accumulation: int = typer.Option(4),
    max_length: int = typer.Option(512, help="longer conversations are skipped and counted"),
    limit: int = typer.Option(None, help="use only the first N conversations of each file"),
    seed: int = typer.Option(42),
) -> None:
    """QLoRA fine-tune the LLM on an EACL ShareGPT export (EAT §3.3); writes a PEFT adapter and its manifest."""
    from eat_core.training.finetune import FinetuneConfig
    from eat_core.training.finetune import finetune as run_finetune

    cfg = FinetuneConfig(base_model=base_model, train_file=str(train), valid_file=str(valid) if valid else None,
                         output_dir=str(output), load_in_4bit=four_bit, lora_r=lora_r, lora_alpha=lora_alpha,
                         learning_rate=learning_rate, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
                         gradient_accumulation=gradient_accumulation, max_length=max_length, limit=limit, seed=seed)
    manifest = run_finetune(cfg, progress=lambda msg: typer.echo(msg, err=True))
    evals = ", ".join(f"epoch {e['epoch']:.0f}: {e['eval_loss']:.4f}" for e in manifest["eval_loss_per_epoch"])
    typer.echo(f"adapter={output / 'adapter'} train_loss={manifest['train_loss']:.4f}"
               + (f" eval_loss=[{evals}]" if evals else ""))



def _wiki_languages(value: str) -> list[str]:
    """Wikipedia language codes (``zh``, ``zh-yue``, ``be-tarask``): they name files, so nothing else passes."""
    import re

    from eat_core.errors import ConfigError

    codes = list(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    bad = [c for c in codes if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", c)]
    if bad or not codes:
        raise ConfigError(f"--languages: {', '.join(map(repr, bad)) or 'nothing'} is not a Wikipedia language code "
                          "(like zh, ja, zh-yue)")
    return codes



def _entities(entities: Path | None, conll: Path | None, official: Path | None) -> list[str]:
    from eat_core.errors import ConfigError

    found: list[str] = []
    if entities:
        if not entities.is_file():
            raise ConfigError(f"{entities}: entity list not found")
        found += [line.strip() for line in entities.read_text(encoding="utf-8").splitlines() if line.strip()]
    if conll:
        from eat_core.data.conll2003 import entity_strings, read_conll2003

        found += entity_strings(read_conll2003(conll)[0])
    if official:
        from eat_core.data.eacl_files import read_eacl_dir

        found += [p.eng_entity for pairs in read_eacl_dir(official).values() for p in pairs]
    if not found:
        raise ConfigError("no English entities: pass --entities FILE, --conll FILE or --official DIR")
    return list(dict.fromkeys(found))



@eacl_app.command("harvest")
@friendly
def eacl_harvest(
    languages: str = typer.Option(..., help="target languages, e.g. zh,ja,ko,ru"),
    db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file (pages are stored here)"),
    entities: Path = typer.Option(None, help="plain list of English entities, one per line"),
    conll: Path = typer.Option(None, help="CoNLL-2003 English file: every entity in it (EAT §3.2: train, 8,082)"),
    official: Path = typer.Option(None, help="directory of official corpus_<lang>.json files (their eng_entity)"),
    user_agent: str = typer.Option(..., help="descriptive User-Agent with contact, as Wikimedia asks"),
    endpoint: str = typer.Option(None, help="MediaWiki server to use instead of <lang>.wikipedia.org "
                                             "(requests go to ENDPOINT/<lang>/w/api.php)"),
    rate: float = typer.Option(5.0, help="at most this many requests per second"),
    max_retries: int = typer.Option(3, help="retries on 429/5xx/timeouts (Retry-After honoured)"),
    max_age_days: float = typer.Option(30, help="re-fetch stored pages older than this"),
    max_seconds: float = typer.Option(None, help="stop after this many seconds (resume later)"),
    limit: int = typer.Option(None, help="only the first N entities"),
) -> None:
    """Harvest target-language titles and summaries from Wikipedia interlanguage links into DuckDB."""
    from eat_core.eacl.harvest import Harvester
    from eat_core.store import Store

    names = _entities(entities, conll, official)[:limit]
    harvester = Harvester(Store(db), _wiki_languages(languages), user_agent=user_agent, rate_per_s=rate,
                          max_retries=max_retries, max_age_days=max_age_days, max_seconds=max_seconds,
                          endpoint=endpoint, progress=lambda msg: typer.echo(msg, err=True))
    report = harvester.harvest(names)
    typer.echo(f"entities={report.entities} fetched={report.fetched_pages} reused={report.reused_pages} "
               f"requests={report.requests} seconds={report.seconds:.1f}")
    for key, n in sorted(report.statuses.items()):
        typer.echo(f"  {key}={n}")
    if report.stopped_early:
        typer.echo(f"stopped early: {report.stopped_early}; run the same command again to continue")



@eacl_app.command("build")
@friendly
def eacl_build(
    out: Path = typer.Option(..., help="directory for eacl_<lang>_{train,valid}.json and dataset_info.json"),
    languages: str = typer.Option(None, help="languages to build (default: all found)"),
    db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace with harvested pages"),
    official: Path = typer.Option(None, help="build from official corpus_<lang>.json files instead of the harvest"),
    seed: int = typer.Option(42, help="seed of the 90/10 split"),
    valid_ratio: float = typer.Option(0.1, help="validation share (EAT §4.2: 0.1)"),
) -> None:
    """Filter pairs (u must appear in v1), store them with drop reasons, export ShareGPT train/valid per language."""
    from eat_core.data.eacl_files import read_eacl_dir
    from eat_core.eacl.corpus import export_sharegpt, judge_pairs, stats_table, store_pairs
    from eat_core.eacl.harvest import harvested_pairs
    from eat_core.store import Store

    store = Store(db)
    wanted = _wiki_languages(languages) if languages else None
    if official:
        source = "official"
        raw = [p for pairs in read_eacl_dir(official).values() for p in pairs]
    else:
        source = "harvest"
        found = store.eacl_languages()
        raw = harvested_pairs(store, wanted or found)
    judged = [j for j in judge_pairs(raw, source) if wanted is None or j.lang in wanted]
    store_pairs(store, judged)
    for lang in sorted({j.lang for j in judged}):
        files = export_sharegpt([j for j in judged if j.lang == lang], out, name=f"eacl_{lang}", seed=seed,
                                valid_ratio=valid_ratio)
        typer.echo(f"{lang}: {files['train']} {files['valid']}")
    typer.echo(stats_table(judged))



@eacl_app.command("stats")
@friendly
def eacl_stats(
    directory: Path = typer.Argument(..., help="directory of corpus_<lang>.json files (e.g. the official ones)"),
    samples: int = typer.Option(3, help="kept pairs per language that plain matching would have lost"),
) -> None:
    """Per-language kept/dropped counts beside EAT Table 2, drops by reason, and what normalisation recovers."""
    from eat_core.data.eacl_files import read_eacl_dir
    from eat_core.eacl.corpus import judge_pairs, recovered_samples, stats_table

    judged = [j for pairs in read_eacl_dir(directory).values() for j in judge_pairs(pairs, "official")]
    typer.echo(stats_table(judged))
    typer.echo("\nkept by normalisation, lost by plain containment (u in v1):")
    for j in recovered_samples(judged, samples):
        typer.echo(f"  {j.lang} u={j.tgt_entity!r} v1={j.first_sentence[:90]!r}")



@data_app.command("check")
@friendly
def data_check(
    data: Path = typer.Argument(..., help="WikiANN-format directory"),
    languages: str = typer.Option("ar,hi,hy,ja,ka,ko,ru,zh", help="comma-separated ISO codes"),
    split: str = typer.Option("dev"),
    repair_tags: bool = typer.Option(False, "--repair-tags", hidden=True,
                                     help="no-op, kept for old scripts: orphan I- tags are repaired by default"),
    strict_tags: bool = typer.Option(False, "--strict-tags", help="fail on orphan I- tags instead of repairing"),
) -> None:
    """Validate WikiANN files and print sentence, token and entity counts per language."""
    from eat_core.bio import spans_from_tags
    from eat_core.data.wikiann import load_wikiann_local

    codes = parse_languages(languages)
    typer.echo(f"{'lang':<5} {'sentences':>9} {'tokens':>8} {'entities':>8} {'repaired':>8}  file")
    for lang in codes:
        sentences, rep = load_wikiann_local(data, lang, split, repair=not strict_tags)
        entities = sum(len(spans_from_tags(s.tags)) for s in sentences)
        typer.echo(f"{lang:<5} {rep.sentences:>9} {rep.tokens:>8} {entities:>8} {rep.repaired_orphan_inside:>8}  "
                   f"{rep.path}")



_ROUTE_HELP = "eat (EAT as teacher), crop (CROP as teacher) or projection (translate-train label projection)"



def _distill_fields(route, lang, profile, data, db, split, limit, llm_backend, llm, base_url, extractor,
                    extractor_model, rounds, shard_size, max_words, max_entities, keep_empty, dev_share, seed) -> dict:
    return dict(route=route, lang=lang, profile=profile, data_dir=str(data) if data else None, db=str(db),
                split=split, limit=limit, llm_backend=llm_backend, llm=llm, base_url=base_url, extractor=extractor,
                extractor_model=extractor_model, rounds=rounds, shard_size=shard_size, max_words=max_words,
                max_entities=max_entities, keep_empty=keep_empty, dev_share=dev_share, seed=seed)



def _teacher_failed(exc) -> None:
    """A teacher's or student's evaluation run with failed shards: one line, exit 1 (the same command resumes)."""
    _error(" ".join(str(exc).split()))
    raise typer.Exit(1)



@app.command()
@friendly
def silver(
    route: str = typer.Option("eat", help=_ROUTE_HELP),
    lang: str = typer.Option(..., help="target language(s), comma-separated, e.g. zh or zh,ja"),
    out: Path = typer.Option(..., help="export directory: OUT/<lang>/train.tsv, dev.tsv and silver.json"),
    profile: str = typer.Option("smoke", help="the LLM, extractor and data of this profile: smoke, paper"),
    data: Path = typer.Option(None, help="local WikiANN directory (target corpus; en/ for the projection)"),
    db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file"),
    split: str = typer.Option(None, help=f"split to label, its tags ignored (default: {_PAPER.split}; smoke: "
                                         f"{_SMOKE.split})"),
    limit: int = typer.Option(None, help="at most this many sentences per language"),
    llm_backend: str = typer.Option(None, "--llm-backend", help="transformers or openai"),
    llm: str = typer.Option(None, "--llm", help="LLM model id, local path or served name"),
    base_url: str = typer.Option(None, help="OpenAI-compatible endpoint for --llm-backend openai"),
    extractor: str = typer.Option(None, help="the teacher's English extractor: t5, token-classification, heuristic"),
    extractor_model: str = typer.Option(None, help="extractor checkpoint (id or path)"),
    rounds: int = typer.Option(None, help="MrCoT rounds: 1, 3 or 5"),
    shard_size: int = typer.Option(None, help="sentences per shard"),
    max_words: int = typer.Option(128, help="drop sentences longer than this many tokens (CROP: 128)"),
    max_entities: int = typer.Option(None, help="drop sentences with more entities (default: crop 5, else none)"),
    keep_empty: bool = typer.Option(False, "--keep-empty", help="keep sentences the labeller found no entity in"),
    dev_share: float = typer.Option(0.1, help="share of kept sentences held out as the silver dev split"),
    seed: int = typer.Option(42, help="seed of the train/dev assignment"),
) -> None:
    """Build a silver training set (teacher EAT or CROP, or label projection); print counts and drop reasons."""
    from eat_core.distill.pipeline import TeacherFailed, coerce_distill, silver_only

    fields = _distill_fields(route, lang, profile, data, db, split, limit, llm_backend, llm, base_url, extractor,
                             extractor_model, rounds, shard_size, max_words, max_entities, keep_empty, dev_share,
                             seed)
    requests = [coerce_distill({**fields, "lang": code, "out": str(out)}) for code in parse_languages(lang, "--lang")]
    for request in requests:
        try:
            summary = silver_only(request, out, progress=lambda msg: typer.echo(msg, err=True))
        except TeacherFailed as exc:
            _teacher_failed(exc)
        typer.echo(summary.line())
        typer.echo(f"  {Path(summary.export_dir) / summary.lang / 'train.tsv'}  signature={summary.signature}")



@app.command()
@friendly
def distill(
    route: str = typer.Option("eat", help=_ROUTE_HELP),
    lang: str = typer.Option(..., help="target language, e.g. zh"),
    out: Path = typer.Option(..., help="directory for OUT/<route>/silver/ and the student OUT/<route>/student-<lang>/"),
    profile: str = typer.Option("smoke", help="the teacher's LLM, extractor and data: smoke, paper"),
    data: Path = typer.Option(None, help="local WikiANN directory (target corpus and evaluation split)"),
    db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file"),
    split: str = typer.Option(None, help=f"split the teacher labels, its tags ignored (default: {_PAPER.split}; "
                                         f"smoke: {_SMOKE.split})"),
    eval_split: str = typer.Option(None, help=f"split the student is evaluated on (default: {_PAPER.eval_split}; "
                                              f"smoke: {_SMOKE.eval_split})"),
    limit: int = typer.Option(None, help="at most this many sentences per language"),
    base_model: str = typer.Option(None, help=f"student base: {_PAPER.base_model} (default), xlm-roberta-base, "
                                              f"{_SMOKE.base_model} (smoke default)"),
    self_train_rounds: int = typer.Option(0, help="CROP self-training: the student relabels what the teacher "
                                                  "dropped and is retrained, N times"),
    epochs: float = typer.Option(None, help=f"student epochs (default {_PAPER.epochs:g}, CROP §4.2)"),
    learning_rate: float = typer.Option(None, help=f"student learning rate (default {_PAPER.learning_rate:g})"),
    batch_size: int = typer.Option(None, help=f"student batch size (default {_PAPER.batch_size}, CROP §4.2)"),
    max_steps: int = typer.Option(None, help="stop training after this many steps"),
    llm_backend: str = typer.Option(None, "--llm-backend", help="transformers or openai"),
    llm: str = typer.Option(None, "--llm", help="LLM model id, local path or served name"),
    base_url: str = typer.Option(None, help="OpenAI-compatible endpoint for --llm-backend openai"),
    extractor: str = typer.Option(None, help="the teacher's English extractor: t5, token-classification, heuristic"),
    extractor_model: str = typer.Option(None, help="extractor checkpoint (id or path)"),
    rounds: int = typer.Option(None, help="MrCoT rounds: 1, 3 or 5"),
    shard_size: int = typer.Option(None, help="sentences per shard"),
    max_words: int = typer.Option(128, help="drop sentences longer than this many tokens (CROP: 128)"),
    max_entities: int = typer.Option(None, help="drop sentences with more entities (default: crop 5, else none)"),
    keep_empty: bool = typer.Option(False, "--keep-empty", help="keep sentences the labeller found no entity in"),
    dev_share: float = typer.Option(0.1, help="share of kept sentences held out as the silver dev split"),
    seed: int = typer.Option(42),
    direct: bool = typer.Option(False, "--direct", help="run the plain eat_core steps instead of the Prefect flow"),
) -> None:
    """Distil a fast student: teacher -> silver set -> student -> evaluation run; each step resumable."""
    from eat_core.distill.pipeline import StudentFailed, TeacherFailed, coerce_distill, plan_distill

    fields = _distill_fields(route, lang, profile, data, db, split, limit, llm_backend, llm, base_url, extractor,
                             extractor_model, rounds, shard_size, max_words, max_entities, keep_empty, dev_share,
                             seed)
    request = coerce_distill({**fields, "out": str(out), "eval_split": eval_split, "base_model": base_model,
                              "self_train_rounds": self_train_rounds, "epochs": epochs,
                              "learning_rate": learning_rate, "batch_size": batch_size, "max_steps": max_steps})
    plan_distill(request)  # every option, path and data file checked before a model loads
    say = lambda msg: typer.echo(msg, err=True)  # noqa: E731
    if direct:
        from eat_core.distill.pipeline import distill as run_distill

        try:
            result = run_distill(request, progress=say)
        except (TeacherFailed, StudentFailed) as exc:
            _teacher_failed(exc)
        outcome = {"silver": [s.as_dict() for s in result.silver], "evaluations": result.evaluations,
                   "students": [s["model_dir"] for s in result.students]}
    else:
        from flows.distill import distill_flow

        state = distill_flow(request, return_state=True)
        logging.getLogger("prefect").setLevel(logging.WARNING)
        if not state.is_completed():
            try:
                raised = state.result(raise_on_failure=False)
            except Exception as exc:  # noqa: BLE001 - a failed state without a stored exception
                raised = exc
            message = str(raised) if isinstance(raised, EatError) else (state.message or state.name)
            _error(" ".join(message.split()))
            raise typer.Exit(1 if isinstance(raised, TeacherFailed | StudentFailed) or not isinstance(raised, EatError)
                             else 2)
        outcome = state.result()
    from eat_core.distill.silver import SilverSummary

    for s in outcome["silver"]:
        typer.echo(SilverSummary.from_dict(s).line())
    for model_dir, e in zip(outcome["students"], outcome["evaluations"], strict=True):
        typer.echo(f"\n{e['label']}: student {model_dir}, run {e['run_id']}")
        typer.echo(results_table(db, e["run_id"]))



def main() -> None:  # pragma: no cover
    sys.exit(app())

