"""Reading results: ``eat results``, ``eat compare``, ``eat report`` and ``eat score``.

``eat score`` scores a predictions file from any system, or rescores a stored run, under named protocols:
``eat-official`` is the official EAT scorer (the paper's tables); ``token`` is the same micro F1 with tags at their
true positions (what we recommend); ``entity`` is strict IOB2 entity F1 (seqeval).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from eat_cli.app import friendly
from eat_cli.options import DEFAULT_DB, Db

FORMATS = ("table", "json")
RunId = Annotated[str, typer.Argument(help="run id (default: the latest run)")]
ReportRunId = Annotated[str, typer.Argument(help="run id (default: the latest completed run)")]


@friendly
def results(run_id: RunId = None, db: Db = DEFAULT_DB,
            fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet (parquet needs "
                                                              "--out)")] = "table",
            out: Annotated[Path, typer.Option(help="write to this file instead of printing")] = None) -> None:
    """Print the per-language results of a run from DuckDB (works while a run is in progress).

    ``table``: the run, its inputs, then one line per language; ``csv``/``json``/``parquet``: one row per language
    with every metric and cost (``eat_core.results.tables.results_frame``).
    """
    from eat_core.results.files import export_results

    typer.echo(export_results(db, run_id, fmt, out))


@friendly
def compare(runs: Annotated[list[str], typer.Argument(help="run ids (default: every run in the file)")] = None,
            db: Db = DEFAULT_DB,
            out: Annotated[Path, typer.Option(help="directory for compare[-RUNS].md and .png")] = Path("reports"),
            fmt: Annotated[str, typer.Option("--format", help="what to print: table, csv or json")] = "table") -> None:
    """Methods side by side (EAT Table 4 layout, with the published rows): token F1 under the paper's protocol
    and true positions, failure reasons and costs; writes Markdown and a PNG into --out."""
    from eat_core.results.compare import check_format, compare_runs
    from eat_core.results.files import write_comparison
    from eat_core.results.render import comparison_csv, comparison_text

    check_format(fmt)
    cmp = compare_runs(db, runs or None)
    md, png = write_comparison(db, runs or None, out, cmp)
    if fmt == "json":
        typer.echo(json.dumps({**cmp.as_json(), "files": {"markdown": str(md), "png": str(png)}},
                              ensure_ascii=False, indent=1))
        return
    typer.echo(comparison_text(cmp) if fmt == "table" else comparison_csv(cmp).rstrip("\n"))
    typer.echo(f"wrote {md} and {png}", err=fmt == "csv")


@friendly
def compare_silver(silver_ids: Annotated[list[str], typer.Argument(help="silver set ids (default: every set in the "
                                                                         "file)")] = None,
                   db: Db = DEFAULT_DB,
                   fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table") -> None:
    """Silver routes side by side: sentences offered, kept and dropped, entities kept, drop reasons, LLM calls and
    tokens per sentence (teacher routes: the teacher run's; projection routes: the set's own shards)."""
    from eat_core.errors import ConfigError
    from eat_core.results.silver import compare_silver as compare
    from eat_core.results.silver import silver_comparison_json, silver_comparison_text

    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    rows = compare(db, silver_ids or None)
    typer.echo(silver_comparison_json(rows) if fmt == "json" else silver_comparison_text(rows))


@friendly
def report(run_id: ReportRunId = None, db: Db = DEFAULT_DB,
           out: Annotated[Path, typer.Option(help="directory for RUN.md and RUN.png")] = Path("reports")) -> None:
    """Write a Markdown report (EAT Table 4 layout) and an F1/BLEU/L_e plot (EAT Figure 3) for a run (default: the
    latest completed run, named in the first line)."""
    from eat_core.errors import ConfigError
    from eat_core.results.files import report_run, write_report

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} is a file; give a directory")
    run, note = report_run(db, run_id)
    if note:
        typer.echo(note)
    md, png = write_report(db, run, out)
    typer.echo(f"wrote {md} and {png}")


@friendly
def score(
    gold: Annotated[Path, typer.Argument(help="gold column file: token<TAB>tag per line, blank lines between "
                                              "sentences")] = None,
    pred: Annotated[Path, typer.Argument(help="predicted column file with GOLD's tokens in the same order")] = None,
    lang: Annotated[str, typer.Option("--lang", help="language of the files (eat-official scores zh and ja per "
                                                     "character); with --db, only this language")] = None,
    protocol: Annotated[str, typer.Option(help="eat-official (the paper's scorer), token (true positions, "
                                               "recommended), entity (seqeval strict), all-sentences, or all")] = "all",
    fmt: Annotated[str, typer.Option("--format", help="table (with per-type scores) or json")] = "table",
    db: Db = None,
    run: Annotated[str, typer.Option("--run", help="run id in --db (default: the latest run)")] = None,
) -> None:
    """Score GOLD against PRED (or rescore a stored run in --db, with --run) under the paper's protocol and ours."""
    from eat_core.errors import ConfigError
    from eat_core.scoring.language import protocol_names

    names = protocol_names(protocol)
    if lang is not None:
        lang = _one_language(lang)
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    if db is not None:
        if gold is not None or pred is not None:
            raise ConfigError("give either GOLD and PRED files or --db (with --run), not both")
        results = _stored_run(db, run, lang, names)
        if fmt == "json":
            typer.echo(json.dumps({key: _json(value) for key, value in results.items()}, ensure_ascii=False))
        else:
            typer.echo("\n\n".join(_table(value) for value in results.values()))
        return
    if gold is None or pred is None or not lang:
        raise ConfigError("usage: eat score GOLD PRED --lang L (or eat score --db FILE --run RUN)")
    result = _files(gold, pred, lang, names)
    typer.echo(json.dumps(_json(result), ensure_ascii=False) if fmt == "json" else _table(result))



def _one_language(value: str) -> str:
    """``--lang`` as every command reads it (``eat_core.config.coerce.parse_languages``): a known code,
    case-insensitive; an unknown one would be scored silently under the wrong convention (per word instead of per
    character)."""
    from eat_core.config.coerce import parse_languages
    from eat_core.errors import ConfigError

    codes = parse_languages(value, "--lang")
    if len(codes) != 1:
        raise ConfigError(f"--lang: one language at a time (got {', '.join(codes)})")
    return codes[0]


def _files(gold: Path, pred: Path, lang: str, names: tuple[str, ...]) -> dict:
    from eat_core.data.columns import read_scoring_pair

    pair = read_scoring_pair(gold, pred, lang)
    return _result(f"GOLD {gold}  PRED {pred}  lang {lang}", pair.tokens, pair.gold, pair.pred, lang, names)


def _stored_run(db: Path, run: str | None, lang: str | None, names: tuple[str, ...]) -> dict[str, dict]:
    from eat_core.errors import ConfigError
    from eat_core.store import Store

    if not Path(db).is_file():
        raise ConfigError(f"--db {db}: no such DuckDB workspace")
    store = Store(db)
    run = run or store.latest_run()
    by_lang: dict[str, list] = {}
    for row_lang, tokens, gold, pred in store.scored_predictions(run):
        if lang is None or row_lang == lang:
            by_lang.setdefault(row_lang, []).append((tokens, gold, pred))
    if not by_lang:
        raise ConfigError(f"run {run!r} in {db} has no scored predictions" + (f" for {lang!r}" if lang else "")
                          + "; see `eat results --db " + str(db) + "`")
    return {code: _result(f"run {run}  lang {code}", [r[0] for r in items], [r[1] for r in items],
                          [r[2] for r in items], code, names) for code, items in by_lang.items()}


def _result(title: str, tokens, gold, pred, lang: str, names: tuple[str, ...]) -> dict:
    from eat_core.scoring.counts import micro, per_type
    from eat_core.scoring.language import protocol_counts

    counts = protocol_counts(tokens, gold, pred, lang, names)
    with_gold = sum(any(t != "O" for t in g) for g in gold)
    return {"title": f"{title}  sentences {len(gold)} ({with_gold} of them with gold entities)",
            "scores": {name: (micro(c), per_type(c)) for name, (c, _) in counts.items()},
            "signatures": {name: str(sig) for name, (_, sig) in counts.items()}}


def _json(result: dict) -> dict:
    out: dict = {name: {"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}
                 for name, (s, _) in result["scores"].items()}
    out["signature"] = result["signatures"]
    return out


def _table(result: dict) -> str:
    from eat_core.scoring.counts import PAPER_PROTOCOL, RECOMMENDED_PROTOCOL

    header = f"{'protocol':<14} {'type':<6} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}"
    lines = [result["title"], header, "-" * len(header)]
    for name, (total, types) in result["scores"].items():
        for k, (label, s) in enumerate([*types.items(), ("micro", total)]):
            lines.append(f"{name if k == 0 else '':<14} {label:<6} {s.precision:>9.2f} {s.recall:>7.2f} "
                         f"{s.f1:>7.2f} {s.support:>8}")
    lines.append(f"{PAPER_PROTOCOL} is the official EAT scorer, the one behind the paper's tables; "
                 f"{RECOMMENDED_PROTOCOL} scores the same labels at their true positions (recommended).")
    scores = result["scores"]
    if PAPER_PROTOCOL in scores and RECOMMENDED_PROTOCOL in scores:
        diff = scores[RECOMMENDED_PROTOCOL][0].f1 - scores[PAPER_PROTOCOL][0].f1
        lines.append(f"{RECOMMENDED_PROTOCOL} F1 - {PAPER_PROTOCOL} F1 = {diff:+.2f} points here.")
    lines += ["signatures:"] + [f"  {name}: {sig}" for name, sig in result["signatures"].items()]
    return "\n".join(lines)
