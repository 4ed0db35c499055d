"""Tagged records out: entities with character offsets, JSONL and CoNLL/IOB2 files written shard by shard.

JSONL, one object per input record in input order::

    {"id": "3", "text": "普京访问了巴黎。", "entities": [{"start": 0, "end": 2, "label": "PER", "text": "普京"},
                                                    {"start": 5, "end": 7, "label": "LOC", "text": "巴黎"}]}

with ``text[start:end] == entity["text"]`` (offsets in code points, into the text as read). CoNLL: ``token<TAB>IOB2
tag`` per line, a blank line after each sentence; a record without tokens (a blank input line) writes nothing there.

The formats NER users train from (``eat_core/data/training_formats.py``): ``OUT.hf`` a ``datasets`` directory
(``save_to_disk``; ``datasets.load_from_disk``), ``OUT.parquet`` (``load_dataset("parquet", data_files=OUT)``), both
with ``tokens`` and ``ner_tags`` (a ``ClassLabel`` in WikiANN's Hub order) plus ``text`` and token ``offsets``, and
``OUT.spacy``, a spaCy ``DocBin`` whose docs keep the text and its entities' character offsets (``spacy train``).
As for ``--format`` of the input, the output's format follows the output's name, nothing else.

The writer appends each shard as soon as every shard before it is written, to ``.OUT.partial`` beside ``OUT``, and
moves it onto ``OUT`` when the run is complete: ``OUT`` is never a half-written file. For the training formats the
partial file holds the records as JSON lines, converted beside ``OUT`` and renamed onto it at the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from eat_core.bio import spans_from_tags
from eat_core.data.training_formats import NerRecord, require_spacy, write_docbin, write_hf, write_parquet
from eat_core.errors import ConfigError

OUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".conll": "conll", ".iob2": "conll",
               ".iob": "conll", ".bio": "conll", ".tsv": "conll", ".hf": "hf", ".parquet": "parquet",
               ".spacy": "spacy"}
TRAINING_FORMATS = ("hf", "parquet", "spacy")
"""Formats written once the run is complete, from the records staged as JSON lines."""


def out_format(out: str | Path) -> str:
    """The output format from ``--out``'s suffix; anything else is a one-line error (``.spacy`` without spaCy too)."""
    suffix = Path(out).suffix.lower()
    if suffix not in OUT_FORMATS:
        raise ConfigError(f"--out: cannot tell the output format from {str(out)!r}; end it in .jsonl (entities with "
                          "character offsets), .conll (IOB2 columns), .hf (a datasets directory), .parquet or "
                          ".spacy (a spaCy DocBin)")
    fmt = OUT_FORMATS[suffix]
    if fmt == "spacy":
        require_spacy("--out")
    return fmt


def entities_of(text: str, offsets: Sequence[Sequence[int]], tags: Sequence[str]) -> list[dict]:
    """IOB2 tags over tokens -> entities with character offsets into ``text`` (from the first token's start to the
    last token's end, so what lies between the tokens is part of the entity)."""
    out = []
    for span in spans_from_tags(tags):
        start, end = offsets[span.start][0], offsets[span.end - 1][1]
        out.append({"start": start, "end": end, "label": span.label, "text": text[start:end]})
    return out


def jsonl_line(row: dict) -> str:
    obj = {"id": row["record_id"], "text": row["text"], "entities": row["entities"]}
    return json.dumps(obj, ensure_ascii=False) + "\n"


def record_line(row: dict) -> str:
    """A staged record of a training format: everything :class:`NerRecord` needs."""
    obj = {k: row[k] for k in ("record_id", "text", "tokens", "offsets", "tags")}
    return json.dumps(obj, ensure_ascii=False) + "\n"


def staged_records(path: Path):
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield NerRecord.from_row(json.loads(line))


def write_training_format(fmt: str, staged: Path, out: Path, lang: str) -> None:
    if fmt == "hf":
        write_hf({"": staged_records(staged)}, lang, out)
    elif fmt == "parquet":
        write_parquet(staged_records(staged), lang, out)
    else:
        write_docbin(staged_records(staged), out)


def conll_block(row: dict) -> str:
    if not row["tokens"]:
        return ""
    return "".join(f"{token}\t{tag}\n" for token, tag in zip(row["tokens"], row["tags"], strict=True)) + "\n"


_LINE = {"jsonl": jsonl_line, "conll": conll_block}


class OrderedWriter:
    """Append shards to ``OUT`` in shard order as they become ready (out-of-order shards wait in memory)."""

    def __init__(self, out: str | Path, fmt: str | None = None, lang: str = "und") -> None:
        self.out = Path(out)
        self.format = fmt or out_format(out)
        self.lang = lang
        self._line = record_line if self.format in TRAINING_FORMATS else _LINE[self.format]
        self.partial = self.out.with_name(f".{self.out.name}.partial")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.partial.open("w", encoding="utf-8", newline="\n")
        self._pending: dict[int, Sequence[dict]] = {}
        self.next = 0
        self.records = 0
        self.entities = 0

    def add(self, index: int, rows: Sequence[dict]) -> None:
        self._pending[index] = rows
        while self.next in self._pending:
            for row in self._pending.pop(self.next):
                self._handle.write(self._line(row))
                self.records += 1
                self.entities += len(row["entities"])
            self._handle.flush()
            self.next += 1

    def commit(self) -> Path:
        """Every shard written: move the file onto ``OUT``."""
        if self._pending:
            raise RuntimeError(f"shards {sorted(self._pending)} are waiting for shard {self.next}")
        self._handle.close()
        if self.format in TRAINING_FORMATS:
            try:
                write_training_format(self.format, self.partial, self.out, self.lang)
            finally:
                self.partial.unlink(missing_ok=True)
        else:
            os.replace(self.partial, self.out)
        return self.out

    def abort(self) -> None:
        """The run did not finish: keep ``OUT`` as it was and drop the partial file (a re-run rewrites it)."""
        self._handle.close()
        self.partial.unlink(missing_ok=True)
