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
    from eat_core.finetune import FinetuneConfig
    from eat_core.finetune import finetune as run_finetune

    cfg = FinetuneConfig(base_model=base_model, train_file=str(train), valid_file=str(valid) if valid else None,
                         output_dir=str(output), load_in_4bit=four_bit, lora_r=lora_r, lora_alpha=lora_alpha,
                         learning_rate=learning_rate, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
                         gradient_accumulation=gradient_accumulation, max_length=max_length, limit=limit, seed=seed)
    manifest = run_finetune(cfg, progress=lambda msg: typer.echo(msg, err=True))
    evals = ", ".join(f"epoch {e['epoch']:.0f}: {e['eval_loss']:.4f}" for e in manifest["eval_loss_per_epoch"])
    typer.echo(f"adapter={output / 'adapter'} train_loss={manifest['train_loss']:.4f}"
               + (f" eval_loss=[{evals}]" if evals else ""))


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
    harvester = Harvester(Store(db), languages.split(","), user_agent=user_agent, rate_per_s=rate,
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
    wanted = languages.split(",") if languages else None
    if official:
        source = "official"
        raw = [p for pairs in read_eacl_dir(official).values() for p in pairs]
    else:
        source = "harvest"
        found = [r[0] for r in store.query("SELECT DISTINCT lang FROM eacl_pages WHERE lang <> 'en'")]
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
