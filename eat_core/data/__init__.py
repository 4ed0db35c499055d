"""Dataset readers. ``load_split`` picks a source by name; each reader returns typed ``Sentence`` objects."""

from __future__ import annotations

from pathlib import Path

from eat_core.data.wikiann import load_wikiann_hub, load_wikiann_local
from eat_core.errors import ConfigError
from eat_core.types import Sentence

SOURCES = ("local", "hub", "sample")
SAMPLE_DIR = Path(__file__).parent / "sample"
"""A few real WikiANN dev sentences per language, bundled so that the smoke profile runs anywhere."""


def load_split(source: str, lang: str, split: str, data_dir: str | Path | None = None,
               *, repair: bool = False, limit: int | None = None) -> list[Sentence]:
    """Load ``split`` of ``lang`` from ``local`` files (``data_dir``), the ``hub``, or the bundled ``sample``."""
    if source == "local":
        if data_dir is None:
            raise ConfigError("data source 'local' needs a data directory (--data DIR)")
        sentences, _ = load_wikiann_local(data_dir, lang, split, repair=repair)
    elif source == "sample":
        sentences, _ = load_wikiann_local(SAMPLE_DIR, lang, split, repair=repair)
    elif source == "hub":
        sentences = load_wikiann_hub(lang, split)
    else:
        raise ConfigError(f"unknown data source {source!r}; available: {', '.join(SOURCES)}")
    return sentences[:limit] if limit else sentences
