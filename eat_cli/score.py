"""``eat score``: score a predictions file from any system, or rescore a stored run, under named protocols.

``eat-official`` is the official EAT scorer (the paper's tables); ``token`` is the same micro F1 with tags at their
true positions (what we recommend); ``entity`` is strict IOB2 entity F1 (seqeval). Registered in ``eat_cli.main``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

FORMATS = ("table", "json")


def score(
    gold: Path = typer.Argument(None, help="gold column file: token<TAB>tag per line, blank lines between sentences"),
    pred: Path = typer.Argument(None, help="predicted column file with GOLD's tokens in the same order"),
    lang: str = typer.Option(None, "--lang", help="language of the files (eat-official scores zh and ja per "
                                                  "character); with --db, only this language"),
    protocol: str = typer.Option("all", help="eat-official (the paper's scorer), token (true positions, "
                                             "recommended), entity (seqeval strict), all-sentences, or all"),
    fmt: str = typer.Option("table", "--format", help="table (with per-type scores) or json"),
    db: Path = typer.Option(None, help="DuckDB workspace: rescore a stored run instead of two files"),
    run: str = typer.Option(None, "--run", help="run id in --db (default: the latest run)"),
) -> None:
    """Score GOLD against PRED (or a stored run with --db) under the paper's protocol and ours."""
    from eat_cli.app import friendly

    friendly(_score)(gold, pred, lang, protocol, fmt, db, run)


def _score(gold: Path | None, pred: Path | None, lang: str | None, protocol: str, fmt: str, db: Path | None,
           run: str | None) -> None:
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
    return {"title": f"{title}  sentences {len(gold)} ({with_gold} with gold entities)",
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
