"""``eat eacl``: the EACL corpus from Wikipedia interlanguage links (EAT §3.2): harvest, build, stats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eat_cli.app import friendly, progress
from eat_cli.options import DEFAULT_DB, Db, Languages, Official, Seed

app = typer.Typer(help="EACL corpus from Wikipedia interlanguage links (EAT §3.2).", no_args_is_help=True)


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


@app.command("harvest")
@friendly
def harvest(
    languages: Languages = ...,
    db: Db = DEFAULT_DB,
    entities: Annotated[Path, typer.Option(help="plain list of English entities, one per line")] = None,
    conll: Annotated[Path, typer.Option(help="CoNLL-2003 English file: every entity in it (EAT §3.2: train, "
                                             "8,082)")] = None,
    official: Official = None,
    user_agent: Annotated[str, typer.Option(help="descriptive User-Agent with contact, as Wikimedia asks")] = ...,
    endpoint: Annotated[str, typer.Option(help="MediaWiki server to use instead of <lang>.wikipedia.org "
                                               "(requests go to ENDPOINT/<lang>/w/api.php)")] = None,
    rate: Annotated[float, typer.Option(help="at most this many requests per second")] = 5.0,
    max_retries: Annotated[int, typer.Option(help="retries on 429/5xx/timeouts (Retry-After honoured)")] = 3,
    max_age_days: Annotated[float, typer.Option(help="re-fetch stored pages older than this")] = 30,
    max_seconds: Annotated[float, typer.Option(help="stop after this many seconds (resume later)")] = None,
    limit: Annotated[int, typer.Option(help="only the first N entities")] = None,
) -> None:
    """Harvest target-language titles and summaries from Wikipedia interlanguage links into DuckDB (--db)."""
    from eat_core.eacl.harvest import Harvester
    from eat_core.store import Store

    names = _entities(entities, conll, official)[:limit]
    harvester = Harvester(Store(db), _wiki_languages(languages), user_agent=user_agent, rate_per_s=rate,
                          max_retries=max_retries, max_age_days=max_age_days, max_seconds=max_seconds,
                          endpoint=endpoint, progress=progress)
    report = harvester.harvest(names)
    typer.echo(f"entities={report.entities} fetched={report.fetched_pages} reused={report.reused_pages} "
               f"requests={report.requests} seconds={report.seconds:.1f}")
    for key, n in sorted(report.statuses.items()):
        typer.echo(f"  {key}={n}")
    if report.stopped_early:
        typer.echo(f"stopped early: {report.stopped_early}; run the same command again to continue")


@app.command("build")
@friendly
def build(
    out: Annotated[Path, typer.Option(help="directory for eacl_<lang>_{train,valid}.json and "
                                           "dataset_info.json")] = ...,
    languages: Languages = None,
    db: Db = DEFAULT_DB,
    official: Official = None,
    seed: Seed = 42,
    valid_ratio: Annotated[float, typer.Option(help="validation share (EAT §4.2: 0.1)")] = 0.1,
) -> None:
    """Filter pairs (u must appear in v1), store them with drop reasons, export ShareGPT train/valid per language.

    Reads the pages harvested into --db (or --official files); --languages defaults to all found; --seed fixes the
    90/10 split.
    """
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


@app.command("stats")
@friendly
def stats(
    directory: Annotated[Path, typer.Argument(help="directory of corpus_<lang>.json files (e.g. the official "
                                                   "ones)")] = ...,
    samples: Annotated[int, typer.Option(help="kept pairs per language that plain matching would have lost")] = 3,
) -> None:
    """Per-language kept/dropped counts beside EAT Table 2, drops by reason, and what normalisation recovers."""
    from eat_core.data.eacl_files import read_eacl_dir
    from eat_core.eacl.corpus import judge_pairs, recovered_samples, stats_table

    judged = [j for pairs in read_eacl_dir(directory).values() for j in judge_pairs(pairs, "official")]
    typer.echo(stats_table(judged))
    typer.echo("\nkept by normalisation, lost by plain containment (u in v1):")
    for j in recovered_samples(judged, samples):
        typer.echo(f"  {j.lang} u={j.tgt_entity!r} v1={j.first_sentence[:90]!r}")
