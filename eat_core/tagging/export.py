"""Tagged records out: entities with character offsets, JSONL and CoNLL/IOB2 files written shard by shard.

JSONL, one object per input record in input order::

    {"id": "3", "text": "普京访问了巴黎。", "entities": [{"start": 0, "end": 2, "label": "PER", "text": "普京"},
                                                    {"start": 5, "end": 7, "label": "LOC", "text": "巴黎"}]}

with ``text[start:end] == entity["text"]`` (offsets in code points, into the text as read). CoNLL: ``token<TAB>IOB2
tag`` per line, a blank line after each sentence; a record without tokens (a blank input line) writes nothing there.

The writer appends each shard as soon as every shard before it is written, to ``.OUT.partial`` beside ``OUT``, and
moves it onto ``OUT`` when the run is complete: ``OUT`` is never a half-written file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from eat_core.bio import spans_from_tags
from eat_core.errors import ConfigError

OUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".conll": "conll", ".iob2": "conll",
               ".iob": "conll", ".bio": "conll", ".tsv": "conll"}


def out_format(out: str | Path) -> str:
    """``jsonl`` or ``conll`` from the output file's suffix; anything else is a one-line error."""
    suffix = Path(out).suffix.lower()
    if suffix not in OUT_FORMATS:
        raise ConfigError(f"--out: cannot tell the output format from {str(out)!r}; end it in .jsonl (entities with "
                          "character offsets) or .conll (IOB2 columns)")
    return OUT_FORMATS[suffix]


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


def conll_block(row: dict) -> str:
    if not row["tokens"]:
        return ""
    return "".join(f"{token}\t{tag}\n" for token, tag in zip(row["tokens"], row["tags"], strict=True)) + "\n"


class OrderedWriter:
    """Append shards to ``OUT`` in shard order as they become ready (out-of-order shards wait in memory)."""

    def __init__(self, out: str | Path, fmt: str | None = None) -> None:
        self.out = Path(out)
        self.format = fmt or out_format(out)
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
                self._handle.write(jsonl_line(row) if self.format == "jsonl" else conll_block(row))
                self.records += 1
                self.entities += len(row["entities"])
            self._handle.flush()
            self.next += 1

    def commit(self) -> Path:
        """Every shard written: move the file onto ``OUT``."""
        if self._pending:
            raise RuntimeError(f"shards {sorted(self._pending)} are waiting for shard {self.next}")
        self._handle.close()
        os.replace(self.partial, self.out)
        return self.out

    def abort(self) -> None:
        """The run did not finish: keep ``OUT`` as it was and drop the partial file (a re-run rewrites it)."""
        self._handle.close()
        self.partial.unlink(missing_ok=True)
