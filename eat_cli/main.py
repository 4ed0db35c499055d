"""The ``eat`` command line. Errors a user can act on print as one line (exit 2), never as a traceback."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

# Defaults for Prefect when `eat` starts it: no telemetry (machines without internet log an error per attempt) and
# enough time for a temporary server's first start on an empty PREFECT_HOME (migrations take over 20 s). A user's
# own settings win.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

import typer

from eat_core.errors import EatError

app = typer.Typer(help="eat-ner: zero-shot cross-lingual NER by entity-aligned translation (EAT).",
                  no_args_is_help=True, add_completion=False)
eacl_app = typer.Typer(help="EACL corpus from Wikipedia interlanguage links (EAT §3.2).", no_args_is_help=True)
data_app = typer.Typer(help="Inspect and validate datasets.", no_args_is_help=True)
app.add_typer(eacl_app, name="eacl")
app.add_typer(data_app, name="data")


def friendly(func):
    """Turn our own errors into one readable line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except EatError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None

    return wrapper


def not_yet(issue: int, what: str) -> None:
    typer.secho(f"{what} is not implemented yet (tracked in issue {issue}).", fg=typer.colors.YELLOW, err=True)
    raise typer.Exit(3)


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
    base_url: str = typer.Option(None, help="OpenAI-compatible endpoint for --llm-backend openai"),
    adapter: str = typer.Option(None, help="PEFT LoRA adapter directory (EAT w/ FT)"),
    extractor: str = typer.Option(None, help="English NER extractor: t5, token-classification, heuristic"),
    extractor_model: str = typer.Option(None, help="extractor checkpoint (id or path)"),
    rounds: int = typer.Option(None, help="MrCoT rounds: 1, 3 or 5"),
    shard_size: int = typer.Option(None, help="sentences per shard"),
    run_id: str = typer.Option(None, help="run id (default: derived from the configuration)"),
    repair_tags: bool = typer.Option(False, "--repair-tags", help="turn orphan I- tags into B- tags (counted)"),
    direct: bool = typer.Option(False, "--direct", help="run the plain eat_core loop instead of the Prefect flow"),
) -> None:
    """Evaluate EAT on target languages through the full_eval flow and print the results table."""
    from eat_core.config import EvalRequest
    from eat_core.report import results_table

    request = EvalRequest(
        profile=profile, db=str(db), languages=tuple(languages.split(",")) if languages else None,
        data_dir=str(data) if data else None, split=split, limit=limit, repair_tags=repair_tags or None,
        llm_backend=llm_backend, llm=llm, base_url=base_url, adapter=adapter, extractor=extractor,
        extractor_model=extractor_model, rounds=rounds, shard_size=shard_size, run_id=run_id,
    )
    cfg = request.resolve()
    if direct:
        from eat_core.evaluate import evaluate

        result = evaluate(cfg, db, run_id=run_id, progress=lambda msg: typer.echo(msg, err=True))
        typer.echo(results_table(db, result.run_id))
        return
    from flows.full_eval import full_eval

    state = full_eval(request, return_state=True)
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        typer.echo(results_table(db, run_id or _run_id(cfg)))
        typer.secho(f"error: {summary}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(results_table(db, summary["run_id"]))


def _run_id(cfg) -> str:
    from eat_core.evaluate import run_id_for

    return run_id_for(cfg)


@app.command()
@friendly
def results(run_id: str = typer.Argument(None, help="run id (default: the latest run)"),
            db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file")) -> None:
    """Print the per-language results table of a run from DuckDB (works while a run is in progress)."""
    from eat_core.report import results_table

    typer.echo(results_table(db, run_id))


@app.command()
@friendly
def resume(run_id: str = typer.Argument(..., help="run id to resume"),
           db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file")) -> None:
    """Re-run only the missing or failed shards of a run (finished shards and cached LLM calls are reused)."""
    from eat_core.evaluate import evaluate, load_run_config
    from eat_core.report import results_table

    cfg = load_run_config(db, run_id)
    evaluate(cfg, db, run_id=run_id, progress=lambda msg: typer.echo(msg, err=True))
    typer.echo(results_table(db, run_id))


@app.command()
@friendly
def report(run_id: str = typer.Argument(None, help="run id (default: the latest run)"),
           db: Path = typer.Option(Path("eat.duckdb"), help="DuckDB workspace file"),
           out: Path = typer.Option(Path("reports"), help="directory for RUN.md and RUN.png")) -> None:
    """Write a Markdown report (EAT Table 4 layout) and an F1/BLEU/L_e plot (EAT Figure 3) for a run."""
    from eat_core.report import write_report

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
    from eat_core.extractors.training import ExtractorTrainConfig
    from eat_core.extractors.training import train_extractor as train

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
def finetune() -> None:
    """QLoRA fine-tune the LLM on an EACL ShareGPT export (EAT §3.3)."""
    not_yet(5, "eat finetune")


@eacl_app.command("harvest")
def eacl_harvest() -> None:
    """Harvest target-language titles and first sentences from Wikipedia interlanguage links."""
    not_yet(5, "eat eacl harvest")


@eacl_app.command("build")
def eacl_build() -> None:
    """Filter harvested pairs and export ShareGPT train/valid files."""
    not_yet(5, "eat eacl build")


@eacl_app.command("stats")
def eacl_stats() -> None:
    """Per-language kept/dropped counts of an EACL corpus beside EAT Table 2."""
    not_yet(5, "eat eacl stats")


@data_app.command("check")
@friendly
def data_check(
    data: Path = typer.Argument(..., help="WikiANN-format directory"),
    languages: str = typer.Option("ar,hi,hy,ja,ka,ko,ru,zh", help="comma-separated ISO codes"),
    split: str = typer.Option("dev"),
    repair_tags: bool = typer.Option(False, "--repair-tags", help="repair orphan I- tags instead of failing"),
) -> None:
    """Validate WikiANN files and print sentence, token and entity counts per language."""
    from eat_core.bio import spans_from_tags
    from eat_core.data.wikiann import load_wikiann_local

    typer.echo(f"{'lang':<5} {'sentences':>9} {'tokens':>8} {'entities':>8} {'repaired':>8}  file")
    for lang in languages.split(","):
        sentences, rep = load_wikiann_local(data, lang, split, repair=repair_tags)
        entities = sum(len(spans_from_tags(s.tags)) for s in sentences)
        typer.echo(f"{lang:<5} {rep.sentences:>9} {rep.tokens:>8} {entities:>8} {rep.repaired_orphan_inside:>8}  "
                   f"{rep.path}")


def main() -> None:  # pragma: no cover
    sys.exit(app())
