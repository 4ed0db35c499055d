"""Dataset readers. ``load_split`` picks a source by name; each reader returns typed ``Sentence`` objects."""

from __future__ import annotations

from pathlib import Path

from eat_core.data.columns import ReadReport
from eat_core.data.wikiann import HUB_DATASET, load_wikiann_hub, load_wikiann_local
from eat_core.errors import ConfigError
from eat_core.types import Sentence

SOURCES = ("local", "hub", "sample")
SAMPLE_DIR = Path(__file__).parent / "sample"
"""A few real WikiANN dev sentences per language, bundled so that the smoke profile runs anywhere."""


def load_split(source: str, lang: str, split: str, data_dir: str | Path | None = None,
               *, repair: bool = True, limit: int | None = None) -> list[Sentence]:
    """Load ``split`` of ``lang`` from ``local`` files (``data_dir``), the ``hub``, or the bundled ``sample``."""
    return load_split_with_report(source, lang, split, data_dir, repair=repair, limit=limit)[0]


def load_split_with_report(source: str, lang: str, split: str, data_dir: str | Path | None = None,
                           *, repair: bool = True, limit: int | None = None) -> tuple[list[Sentence], ReadReport]:
    """:func:`load_split` plus what the reader did to the data (``report.repaired_orphan_inside``: orphan ``I-``
    tags read as entity starts, counted over the whole split before ``limit``). ``repair=False`` refuses them."""
    if source == "local":
        if data_dir is None:
            raise ConfigError("data source 'local' needs a data directory (--data DIR)")
        sentences, report = load_wikiann_local(data_dir, lang, split, repair=repair)
    elif source == "sample":
        sentences, report = load_wikiann_local(SAMPLE_DIR, lang, split, repair=repair)
    elif source == "hub":
        report = ReadReport(path=f"hub:{HUB_DATASET}/{lang}/{split}")
        sentences = load_wikiann_hub(lang, split, repair=repair, report=report)
    else:
        raise ConfigError(f"unknown data source {source!r}; available: {', '.join(SOURCES)}")
    return (sentences[:limit] if limit else sentences), report
