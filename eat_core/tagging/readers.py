"""Read a corpus to tag as a stream of records with character offsets, shard by shard, never whole.

Formats (``--format``; ``auto`` picks by suffix, else a first line starting with ``{`` means JSONL, else text):

* ``jsonl``: one JSON object per line, ``{"id": "s1", "text": "..."}`` or ``{"id": "s1", "tokens": ["...", ...]}``
  (``text`` and ``tokens`` together: the tokens are found in order in the text). ``id`` is optional (default: the
  line number). Blank lines are ignored.
* ``conll``: one token per line (a second column, such as a tag, is ignored), a blank line between sentences,
  ``-DOCSTART-`` lines skipped, an ``xx:`` prefix removed when the file's first token carries the ``--lang`` code
  (PAN-X, as ``eat_core/data/columns.py``). The text is the tokens joined as the language writes them; id: the line
  of the sentence's first token.
* ``text``: one sentence per line, tokenised by ``tokenize``; id: the line number. An empty or blank line is a
  record with nothing to tag (kept in the JSONL output, so output line N is input line N).

A record with no token (a blank line, a text of only spaces) is kept and skipped: ``skipped="empty"``. A token or a
sentence over the input limits (``eat_core/data/limits.py``) is refused with file and line (``overlong="error"``), or
only its first tokens that fit are tagged and the rest counted (``overlong="truncate"``). Invalid UTF-8, a line
that is not a JSON object, a record without text or tokens: one :class:`DataError` naming file and line.

:func:`scan_corpus` reads the file once (content fingerprint, validation, shard boundaries as byte offsets);
:func:`read_shard` seeks to one shard and parses only it, checking it still holds what the scan saw.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from eat_core.data.columns import _LANG_PREFIX
from eat_core.data.limits import InputLimits, model_tokens_bound
from eat_core.errors import DataError
from eat_core.hashing import canonical_json
from eat_core.languages import token_separator
from eat_core.tagging.tokenize import from_tokens, locate_tokens, tokenize

FORMATS = ("auto", "jsonl", "conll", "text")
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".conll": "conll", ".conllu": "conll",
            ".iob": "conll", ".iob2": "conll", ".bio": "conll", ".tsv": "conll", ".txt": "text", ".text": "text"}
MAX_LINE_BYTES = 64 << 20
"""A physical line longer than this is refused before it is decoded (a sentence limit refuses far less anyway)."""


@dataclass(frozen=True)
class Record:
    """One unit of input, in input order. ``text[s:e] == tokens[i]`` for ``(s, e) = offsets[i]``.

    ``n_tagged`` tokens go to the method (all of them unless the input limits truncated the record); ``skipped``
    says why a record was not tagged at all (``"empty"``).
    """

    index: int
    line: int
    id: str
    text: str
    tokens: tuple[str, ...]
    offsets: tuple[tuple[int, int], ...]
    n_tagged: int
    skipped: str | None = None
    cut: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        return canonical_json([self.index, self.id, self.text, self.tokens])


@dataclass(frozen=True)
class Source:
    """Where and how to read a corpus: enough for any process to read one shard of it."""

    path: str
    format: str
    lang: str
    prefix: str = ""  # conll: the ``xx:`` token prefix found on the first token
    limits: InputLimits = InputLimits()

    def as_dict(self) -> dict:
        return {"path": self.path, "format": self.format, "lang": self.lang, "prefix": self.prefix,
                "limits": self.limits.__dict__}

    @classmethod
    def from_dict(cls, data: dict) -> Source:
        return cls(data["path"], data["format"], data["lang"], data.get("prefix", ""),
                   InputLimits(**data.get("limits", {})))


@dataclass(frozen=True)
class ShardSpan:
    """Records ``[first, first + count)``, found between bytes ``[start, end)`` of the file; ``digest`` of them."""

    index: int
    first: int
    count: int
    start: int
    end: int
    line: int
    digest: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class CorpusPlan:
    source: Source
    fingerprint: str  # sha256 of the file's bytes
    records: int = 0
    tokens: int = 0
    shards: list[ShardSpan] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)  # skipped_empty, token_truncated, sentence_truncated


def detect_format(path: str | Path, fmt: str = "auto") -> str:
    if fmt != "auto":
        return fmt
    path = Path(path)
    if path.suffix.lower() in SUFFIXES:
        return SUFFIXES[path.suffix.lower()]
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                return "jsonl" if raw.lstrip().startswith(b"{") else "text"
    return "text"


# -- lines ------------------------------------------------------------------------------------------------------


def _lines(handle, path: Path, offset: int, number: int,
           on_bytes: Callable[[bytes], None] | None = None) -> Iterator[tuple[int, int, int, str]]:
    """(line number, byte offset, byte end, decoded line without its newline) from ``offset`` on."""
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if on_bytes:
            on_bytes(raw)
        if len(raw) > MAX_LINE_BYTES:
            raise DataError(f"line longer than {MAX_LINE_BYTES >> 20} MiB; split it into sentences", path, number)
        body = raw[:-1] if raw.endswith(b"\n") else raw
        body = body[:-1] if body.endswith(b"\r") else body
        if offset == 0 and body.startswith(b"\xef\xbb\xbf"):
            body = body[3:]  # a UTF-8 byte order mark
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"not valid UTF-8 (byte {offset + exc.start} of the file); re-encode the file as UTF-8",
                            path, number) from None
        yield number, offset, offset + len(raw), text
        offset += len(raw)
        number += 1


# -- records of each format -------------------------------------------------------------------------------------

_Raw = tuple[int, int, int, str, tuple[str, ...] | None, str]  # line, start byte, end byte, id, tokens, text


def _text_records(lines, path: Path, source: Source) -> Iterator[_Raw]:
    for number, start, end, text in lines:
        yield number, start, end, str(number), None, text


def _jsonl_records(lines, path: Path, source: Source) -> Iterator[_Raw]:
    for number, start, end, line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"not a JSON object: {exc.msg} (column {exc.colno}); each line must be one object like "
                            '{"id": "s1", "text": "..."}', path, number) from None
        if not isinstance(obj, dict):
            raise DataError(f"expected a JSON object like {{\"id\": \"s1\", \"text\": \"...\"}}, got "
                            f"{type(obj).__name__}", path, number)
        text, tokens = obj.get("text"), obj.get("tokens")
        if text is None and tokens is None:
            raise DataError('record has no "text" (a string) or "tokens" (a list of strings)', path, number)
        if text is not None and not isinstance(text, str):
            raise DataError(f'"text" must be a string, got {type(text).__name__}', path, number)
        if tokens is not None:
            if not isinstance(tokens, list) or not all(isinstance(t, str) and t and not t.isspace() for t in tokens):
                raise DataError('"tokens" must be a list of non-blank strings', path, number)
            tokens = tuple(tokens)
        rid = obj.get("id", number)
        if not isinstance(rid, (str, int)) or isinstance(rid, bool):
            raise DataError(f'"id" must be a string or an integer, got {type(rid).__name__}', path, number)
        yield number, start, end, str(rid), tokens, text if text is not None else ""


def _conll_records(lines, path: Path, source: Source) -> Iterator[_Raw]:
    tokens: list[str] = []
    first = start = end = 0
    for number, line_start, line_end, line in lines:
        parts = line.split("\t") if "\t" in line else line.split()
        token = parts[0].strip() if parts else ""
        if not token:
            if tokens:
                yield first, start, end, str(first), tuple(tokens), ""
                tokens = []
            continue
        if token == "-DOCSTART-":
            continue
        if source.prefix and token.startswith(source.prefix) and len(token) > len(source.prefix):
            token = token[len(source.prefix):]
        if not tokens:
            first, start = number, line_start
        tokens.append(token)
        end = line_end
    if tokens:
        yield first, start, end, str(first), tuple(tokens), ""


_READERS = {"text": _text_records, "jsonl": _jsonl_records, "conll": _conll_records}


def _conll_prefix(path: Path, lang: str) -> str:
    """``"zh:"`` when the first token of the file is ``zh:...`` and ``lang`` is ``zh`` (PAN-X), else ``""``."""
    with path.open("rb") as handle:
        for _, _, _, line in _lines(handle, path, 0, 1):
            parts = line.split("\t") if "\t" in line else line.split()
            token = parts[0].strip() if parts else ""
            if token and token != "-DOCSTART-":
                match = _LANG_PREFIX.match(token)
                return match.group(0) if match and match.group(1) == lang.split("-")[0] else ""
    return ""


# -- records with offsets and limits ----------------------------------------------------------------------------


def fit_limits(tokens: tuple[str, ...], lang: str, limits: InputLimits, path: Path,
               line: int) -> tuple[int, tuple[str, ...]]:
    """How many leading tokens go to the method, and what was cut (``token_truncated``, ``sentence_truncated``).

    Error mode refuses an over-long token or sentence with file and line, naming the option, as
    ``limits.apply_limits`` does; truncate mode tags the tokens that fit (a long token is cut to the limit).
    Linear in the sentence length (a 100,000-character line is judged at once).
    """
    sep = len(token_separator(lang))
    cut: list[str] = []
    chars = nbytes = 0
    keep = 0
    for k, token in enumerate(tokens):
        if len(token) > limits.max_token_chars:
            if limits.overlong != "truncate":
                raise DataError(
                    f"token {k + 1} of {len(token)} characters is longer than the limit of {limits.max_token_chars} "
                    "(data.max_token_chars); raise it, or use --overlong truncate to tag only what fits",
                    path, line)
            token = token[: limits.max_token_chars]
            cut.append("token_truncated")
        more_chars = len(token) + (sep if k else 0)
        more_bytes = model_tokens_bound(token) + (sep if k else 0)
        if chars + more_chars > limits.max_sentence_chars or nbytes + more_bytes > limits.max_sentence_tokens:
            if limits.overlong != "truncate" or k == 0:
                total = sum(len(t) for t in tokens) + sep * (len(tokens) - 1)
                raise DataError(
                    f"sentence of {total} characters is longer than the limits of {limits.max_sentence_chars} "
                    f"characters (data.max_sentence_chars) and {limits.max_sentence_tokens} model tokens "
                    "(data.max_sentence_tokens); split it, or use --overlong truncate to tag only what fits",
                    path, line)
            cut.append("sentence_truncated")
            break
        chars += more_chars
        nbytes += more_bytes
        keep = k + 1
    return keep, tuple(dict.fromkeys(cut))


def _record(raw: _Raw, index: int, path: Path, source: Source) -> Record:
    line, _, _, rid, tokens, text = raw
    if tokens is None:
        toks = tokenize(text, source.lang)
        tokens, offsets = toks.tokens, toks.offsets
    elif text:
        found = locate_tokens(text, tokens)
        if isinstance(found, int):
            raise DataError(f"token {found + 1} ({tokens[found]!r}) is not in \"text\" after the tokens before it; "
                            'give "tokens" that appear in order in "text", or only one of the two', path, line)
        offsets = found
    else:
        text, offsets = from_tokens(tokens, source.lang)
    if not tokens:
        return Record(index, line, rid, text, (), (), 0, skipped="empty")
    n_tagged, cut = fit_limits(tokens, source.lang, source.limits, path, line)
    return Record(index, line, rid, text, tuple(tokens), tuple(offsets), n_tagged, cut=cut)


def iter_records(source: Source, start: int = 0, line: int = 1, first_index: int = 0,
                 on_bytes: Callable[[bytes], None] | None = None) -> Iterator[tuple[Record, int, int]]:
    """(record, start byte, end byte) from byte ``start`` (a record boundary) to the end of the file."""
    path = Path(source.path)
    with path.open("rb") as handle:
        handle.seek(start)
        lines = _lines(handle, path, start, line, on_bytes)
        for index, raw in enumerate(_READERS[source.format](lines, path, source), start=first_index):
            yield _record(raw, index, path, source), raw[1], raw[2]


def scan_corpus(source: Source, shard_size: int) -> CorpusPlan:
    """One pass over the file: its content fingerprint, every record checked, shard boundaries (no record kept)."""
    path = Path(source.path)
    if not path.is_file():
        raise DataError("file not found" if not path.exists() else "not a file", path)
    stat = path.stat()
    return _scan(source, shard_size, (stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _scan(source: Source, shard_size: int, stamp: tuple) -> CorpusPlan:
    # ``stamp`` (size, mtime) keys the memo: the plan task and a direct run in one process scan once
    path = Path(source.path)
    if source.format == "conll" and not source.prefix:
        prefix = _conll_prefix(path, source.lang)
        if prefix:
            source = Source(source.path, source.format, source.lang, prefix, source.limits)
    whole = hashlib.sha256()
    plan = CorpusPlan(source, "")
    shard = hashlib.sha256()
    first = None
    for record, start, end in iter_records(source, on_bytes=whole.update):
        if first is None:
            first, count = (record.index, start, record.line), 0
            shard = hashlib.sha256()
        shard.update(record.fingerprint().encode("utf-8"))
        count += 1
        plan.records += 1
        plan.tokens += len(record.tokens)
        plan.counts.update(["skipped_empty"] if record.skipped else record.cut)
        if count == shard_size:
            plan.shards.append(ShardSpan(len(plan.shards), first[0], count, first[1], end, first[2],
                                         shard.hexdigest()[:16]))
            first = None
    if first is not None:
        plan.shards.append(ShardSpan(len(plan.shards), first[0], count, first[1], end, first[2],
                                     shard.hexdigest()[:16]))
    if plan.records == plan.counts["skipped_empty"]:
        raise DataError("no records to tag (the file is empty or holds only blank lines)", path)
    plan.fingerprint = whole.hexdigest()
    return plan


def read_shard(source: Source, shard: ShardSpan) -> list[Record]:
    """The records of one shard, read from its byte range; the file must still hold what the scan saw."""
    records: list[Record] = []
    digest = hashlib.sha256()
    for record, _, _ in iter_records(source, shard.start, shard.line, shard.first):
        records.append(record)
        digest.update(record.fingerprint().encode("utf-8"))
        if len(records) == shard.count:
            break
    if len(records) != shard.count or digest.hexdigest()[:16] != shard.digest:
        raise DataError(f"changed since this tag run was planned (shard {shard.index} differs); run the same "
                        "command again to tag the new content", source.path)
    return records
