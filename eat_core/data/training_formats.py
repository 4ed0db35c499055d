"""Tagged sentences in the formats NER users train from: a Hugging Face ``datasets`` dataset (``save_to_disk`` or
Parquet) and a spaCy ``DocBin`` (``.spacy``, what ``spacy train`` reads).

Every format holds the same :class:`NerRecord` stream, so a record reads back identically from each:

* ``datasets``: columns ``id``, ``tokens``, ``ner_tags`` (a ``ClassLabel`` in WikiANN's Hub order :data:`LABELS`,
  ``O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC``), ``langs`` and ``spans`` as WikiANN on the Hub has them
  (``["zh", ...]``, ``["PER: 普京"]``), then ``text`` and ``offsets`` (``[start, end]`` per token, code points into
  ``text``). ``load_from_disk(OUT)`` and ``load_dataset("parquet", data_files=OUT)`` read it as WikiANN is read.
* ``DocBin``: one ``Doc`` per record whose text is the record's text exactly: a token followed by one space has
  ``whitespace_``; any other gap between tokens (two spaces, a tab, text before the first token) becomes a
  whitespace token of its own, as spaCy's tokenizer makes them. Entities are ``doc.ents`` spans on those
  character offsets, one doc per record in record order. A record without text (a silver sentence: tokens only)
  gets its tokens joined by single spaces.

Writers read an iterable of records once, build the output beside the target and rename it into place, so the target
is never half-written. ``datasets`` and ``spacy`` are imported only here, inside the writers.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from eat_core.bio import spans_from_tags
from eat_core.data.wikiann import HUB_LABELS
from eat_core.errors import ConfigError, DataError

LABELS: tuple[str, ...] = HUB_LABELS
"""``ner_tags`` class names in WikiANN's order on the Hub (datasets' ``wikiann``/PAN-X): id 0 is ``O``."""

SPACY_HINT = "install it with `pip install 'eat-ner[spacy]'`"


@dataclass(frozen=True)
class NerRecord:
    """One sentence to export: ``text[s:e] == tokens[i]`` for ``(s, e) = offsets[i]``; IOB2 ``tags``."""

    id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    text: str
    offsets: tuple[tuple[int, int], ...]

    @classmethod
    def from_tokens(cls, id: str, tokens: Sequence[str], tags: Sequence[str]) -> NerRecord:
        """A record without its own text: tokens joined by single spaces."""
        offsets, position = [], 0
        for token in tokens:
            offsets.append((position, position + len(token)))
            position += len(token) + 1
        return cls(id, tuple(tokens), tuple(tags), " ".join(tokens), tuple(offsets))

    @classmethod
    def from_row(cls, row: Mapping) -> NerRecord:
        """A tag-run row (``record_id``, ``text``, ``tokens``, ``offsets``, ``tags``)."""
        return cls(str(row["record_id"]), tuple(row["tokens"]), tuple(row["tags"]), row["text"],
                   tuple((int(a), int(b)) for a, b in row["offsets"]))


def entity_spans(record: NerRecord) -> list[tuple[int, int, str]]:
    """``(char_start, char_end, label)`` of each entity: from its first token's start to its last token's end."""
    return [(record.offsets[s.start][0], record.offsets[s.end - 1][1], s.label) for s in spans_from_tags(record.tags)]


# -- datasets --------------------------------------------------------------------------------------------------------


def features():
    """The ``datasets`` schema of every export (WikiANN's columns first)."""
    from datasets import ClassLabel, Features, List, Value

    return Features({"id": Value("string"), "tokens": List(Value("string")),
                     "ner_tags": List(ClassLabel(names=list(LABELS))), "langs": List(Value("string")),
                     "spans": List(Value("string")), "text": Value("string"), "offsets": List(List(Value("int32")))})


def example(record: NerRecord, lang: str) -> dict:
    unknown = sorted(set(record.tags) - set(LABELS))
    if unknown:
        raise DataError(f"record {record.id}: tags {', '.join(unknown)} are not WikiANN labels ({', '.join(LABELS)})")
    spans = [f"{label}: {record.text[start:end]}" for start, end, label in entity_spans(record)]
    return {"id": record.id, "tokens": list(record.tokens), "ner_tags": list(record.tags),
            "langs": [lang] * len(record.tokens), "spans": spans, "text": record.text,
            "offsets": [list(o) for o in record.offsets]}


CHUNK = 2000
"""Records per Arrow record batch: the writers hold one chunk in memory, never the whole set."""


def arrow_batches(records: Iterable[NerRecord], lang: str, feats) -> Iterator:
    """``pyarrow.RecordBatch`` chunks of ``records`` in the schema of ``feats`` (``ClassLabel`` names encoded)."""
    import pyarrow as pa

    schema = feats.arrow_schema
    chunk: list[dict] = []
    for record in records:
        chunk.append(example(record, lang))
        if len(chunk) == CHUNK:
            yield pa.RecordBatch.from_pylist([feats.encode_example(e) for e in chunk], schema=schema)
            chunk = []
    if chunk:
        yield pa.RecordBatch.from_pylist([feats.encode_example(e) for e in chunk], schema=schema)


def build_dataset(records: Iterable[NerRecord], lang: str, scratch: Path):
    """A ``datasets.Dataset`` of ``records``, streamed into an Arrow file under ``scratch`` (memory-mapped)."""
    import pyarrow as pa
    from datasets import Dataset

    feats = features()
    path = scratch / "data.arrow"
    scratch.mkdir(parents=True, exist_ok=True)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, feats.arrow_schema) as writer:
        for batch in arrow_batches(records, lang, feats):
            writer.write_batch(batch)
    return Dataset.from_file(str(path))


def write_hf(splits: Mapping[str, Iterable[NerRecord]], lang: str, out: str | Path) -> Path:
    """``save_to_disk`` at ``out``: one ``Dataset`` when ``splits`` has the single key ``""``, else a
    ``DatasetDict`` (``train``, ``validation``, ... as on the Hub)."""
    from datasets import DatasetDict

    out = Path(out)
    with _quiet(), _staging(out) as (scratch, tmp):
        built = {name: build_dataset(records, lang, scratch / (name or "all")) for name, records in splits.items()}
        data = built[""] if list(built) == [""] else DatasetDict(built)
        data.save_to_disk(str(tmp))
        _replace(tmp, out)
    return out


def write_parquet(records: Iterable[NerRecord], lang: str, out: str | Path) -> Path:
    """One Parquet file whose schema metadata carries the ``datasets`` features (so ``ner_tags`` loads as a
    ``ClassLabel``), written chunk by chunk."""
    import pyarrow.parquet as pq

    out = Path(out)
    feats = features()
    with _staging(out) as (_, tmp):
        with pq.ParquetWriter(str(tmp), feats.arrow_schema) as writer:
            for batch in arrow_batches(records, lang, feats):
                writer.write_batch(batch)
        _replace(tmp, out)
    return out


# -- spaCy -----------------------------------------------------------------------------------------------------------


def require_spacy(option: str = "--out") -> None:
    """A ``.spacy`` export needs spaCy (the ``spacy`` extra): one line before any work when it is missing."""
    import importlib.util

    if importlib.util.find_spec("spacy") is None:
        raise ConfigError(f"{option}: a .spacy DocBin needs spaCy, which is not installed; {SPACY_HINT}")


def words_and_spaces(record: NerRecord) -> tuple[list[str], list[bool], list[int]]:
    """spaCy words and trailing-space flags whose concatenation is ``record.text``, and the word index of each
    record token (gaps other than one space become whitespace words)."""
    words: list[str] = []
    spaces: list[bool] = []
    index: list[int] = []
    position = 0
    for start, end in record.offsets:
        gap = record.text[position:start]
        if gap and words and gap[0] == " " and not spaces[-1]:
            spaces[-1], gap = True, gap[1:]
        if gap:
            words.append(gap)
            spaces.append(False)
        index.append(len(words))
        words.append(record.text[start:end])
        spaces.append(False)
        position = end
    tail = record.text[position:]
    if tail and words and tail[0] == " ":
        spaces[-1], tail = True, tail[1:]
    if tail:
        words.append(tail)
        spaces.append(False)
    return words, spaces, index


def to_doc(vocab, record: NerRecord):
    from spacy.tokens import Doc, Span

    words, spaces, index = words_and_spaces(record)
    doc = Doc(vocab, words=words, spaces=spaces)
    doc.ents = [Span(doc, index[s.start], index[s.end - 1] + 1, label=s.label) for s in spans_from_tags(record.tags)]
    return doc


def write_docbin(records: Iterable[NerRecord], out: str | Path) -> Path:
    """A spaCy ``DocBin`` at ``out``, one doc per record in record order. Record ids are not stored: spaCy packs
    ``user_data`` with a msgpack call that scans the installed entry points per doc (7 ms a doc, measured), which
    would make the export 20 times slower; the i-th doc is the i-th record of the JSONL export."""
    require_spacy()
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    out = Path(out)
    vocab = Vocab()
    docs = DocBin(attrs=["ORTH", "SPACY", "ENT_IOB", "ENT_TYPE"], store_user_data=False)
    for record in records:
        docs.add(to_doc(vocab, record))
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    docs.to_disk(tmp)
    os.replace(tmp, out)
    return out


# -- files into place ------------------------------------------------------------------------------------------------


class _staging:
    """A scratch folder and a temporary target beside ``out``, both removed on the way out."""

    def __init__(self, out: Path) -> None:
        self.scratch = out.with_name(f".{out.name}.scratch{os.getpid()}")
        self.tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")

    def __enter__(self) -> tuple[Path, Path]:
        self.scratch.mkdir(parents=True, exist_ok=True)
        return self.scratch, self.tmp

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
        _remove(self.tmp)


def _replace(tmp: Path, out: Path) -> None:
    """Move ``tmp`` onto ``out``; a directory already at ``out`` is moved aside first and removed after."""
    if out.is_dir() and not out.is_symlink():
        old = out.with_name(f".{out.name}.old{os.getpid()}")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class _quiet:
    """``datasets`` progress bars off while a writer runs (they would interleave with the command's own output)."""

    def __enter__(self) -> None:
        from datasets.utils import logging as ds_logging

        self.was_enabled = ds_logging.is_progress_bar_enabled()
        ds_logging.disable_progress_bar()

    def __exit__(self, *exc) -> None:
        from datasets.utils import logging as ds_logging

        if self.was_enabled:
            ds_logging.enable_progress_bar()
