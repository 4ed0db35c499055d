"""CoNLL-2003 English: ``token POS chunk NER`` columns, ``-DOCSTART-`` lines, IOB1 tags (rewritten to IOB2)."""

from __future__ import annotations

from pathlib import Path

from eat_core.bio import iob1_to_iob2, spans_from_tags
from eat_core.data.columns import ReadReport, read_column_file
from eat_core.types import Sentence

CONLL_TYPES = ("PER", "ORG", "LOC", "MISC")


def read_conll2003(path: str | Path, *, iob1: bool = True) -> tuple[list[Sentence], ReadReport]:
    """Read an English CoNLL-2003 file. ``iob1=False`` for the IOB2 copies some mirrors ship."""
    return read_column_file(
        path,
        "en",
        entity_types=CONLL_TYPES,
        convert=iob1_to_iob2 if iob1 else None,
        skip_token=lambda token: token == "-DOCSTART-",
        id_prefix=f"conll-{Path(path).stem}",
    )


def entity_strings(sentences: list[Sentence], types: tuple[str, ...] = ("PER", "ORG", "LOC", "MISC")) -> list[str]:
    """Distinct entity surface strings in first-seen order: the harvester's input (EAT §3.2 uses 8,082)."""
    seen: dict[str, None] = {}
    for sentence in sentences:
        for span in spans_from_tags(sentence.tags or ()):
            if span.label in types:
                seen.setdefault(" ".join(sentence.tokens[span.start : span.end]), None)
    return list(seen)
