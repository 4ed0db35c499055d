"""``eat data``: inspect and validate datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eat_cli.app import friendly
from eat_cli.options import Languages, RepairTags, Split, StrictTags

app = typer.Typer(help="Inspect and validate datasets.", no_args_is_help=True)


@app.command("check")
@friendly
def check(
    data: Annotated[Path, typer.Argument(help="WikiANN-format directory")] = ...,
    languages: Languages = "ar,hi,hy,ja,ka,ko,ru,zh",
    split: Split = "dev",
    repair_tags: RepairTags = False,
    strict_tags: StrictTags = False,
) -> None:
    """Validate WikiANN files and print sentence, token and entity counts per language."""
    from eat_core.bio import spans_from_tags
    from eat_core.config.coerce import parse_languages
    from eat_core.data.wikiann import load_wikiann_local

    codes = parse_languages(languages)
    typer.echo(f"{'lang':<5} {'sentences':>9} {'tokens':>8} {'entities':>8} {'repaired':>8}  file")
    for lang in codes:
        sentences, rep = load_wikiann_local(data, lang, split, repair=not strict_tags)
        entities = sum(len(spans_from_tags(s.tags)) for s in sentences)
        typer.echo(f"{lang:<5} {rep.sentences:>9} {rep.tokens:>8} {entities:>8} {rep.repaired_orphan_inside:>8}  "
                   f"{rep.path}")
