"""Reader for column files: one ``token<TAB or spaces>...tag`` line per token, blank lines between sentences.

Shared by the WikiANN/PAN-X reader (two columns, optionally ``xx:``-prefixed tokens) and the CoNLL-2003 reader
(four columns, ``-DOCSTART-`` lines, IOB1). Every problem is reported with file and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eat_core.bio import is_valid_tag, repair_orphan_inside
from eat_core.errors import DataError
from eat_core.types import ENTITY_TYPES, Sentence

_LANG_PREFIX = re.compile(r"^([a-z]{2,3}):(?=.)")


@dataclass
class ReadReport:
    """What a reader had to do to the data: repairs are counted, never silent."""

    path: str
    sentences: int = 0
    tokens: int = 0
    repaired_orphan_inside: int = 0
    notes: list[str] = field(default_factory=list)


def read_text_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 file; a decoding failure names the line, an empty file is an error."""
    if not path.is_file():
        raise DataError("file not found", path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"not valid UTF-8 (byte {exc.start}); re-encode the file as UTF-8", path, line) from None
    if not text.strip():
        raise DataError("file is empty", path)
    return text.splitlines()


def _blocks(lines: Sequence[str]) -> Iterator[list[tuple[int, str]]]:
    block: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _split_line(line: str, path: Path, number: int, tag_column: int) -> tuple[str, str]:
    parts = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
    if len(parts) < 2:
        raise DataError(
            f"expected a token and a tag separated by a tab or spaces, got {line.strip()!r}", path, number
        )
    return parts[0], parts[tag_column].strip()


def read_column_file(
    path: str | Path,
    lang: str,
    *,
    tag_column: int = -1,
    entity_types: Sequence[str] = ENTITY_TYPES,
    convert: Callable[[list[str]], list[str]] | None = None,
    repair: bool = True,
    skip_token: Callable[[str], bool] | None = None,
    id_prefix: str | None = None,
) -> tuple[list[Sentence], ReadReport]:
    """Read sentences from a column file.

    ``convert`` rewrites a sentence's tags before validation (IOB1 -> IOB2 for CoNLL-2003). An ``I-X`` that does not
    continue an ``X`` span (an orphan) starts an entity, as in conlleval and seqeval: it becomes ``B-X`` and is
    counted in ``ReadReport.repaired_orphan_inside``. ``repair=False`` is the strict reading: an orphan is an error
    naming file and line.
    """
    path = Path(path)
    report = ReadReport(path=str(path))
    sentences: list[Sentence] = []
    for block in iter_tagged_blocks(path, lang, tag_column=tag_column, entity_types=entity_types, convert=convert,
                                    skip_token=skip_token):
        tags, repaired = repair_orphan_inside(block.tags)
        if repaired and not repair:
            index = repaired[0]
            raise DataError(
                f"tag {block.tags[index]!r} does not continue an entity of its type (invalid IOB2) and strict "
                "reading is on (repair=False, CLI: --strict-tags); without it such a tag starts an entity, counted",
                path,
                block.lines[index],
            )
        report.repaired_orphan_inside += len(repaired)
        sid = f"{id_prefix or lang}-{len(sentences)}"
        sentences.append(Sentence(id=sid, lang=lang, tokens=block.tokens, tags=tuple(tags)))
        report.tokens += len(block.tokens)
    if not sentences:
        raise DataError("no sentences found (only -DOCSTART- or blank lines?)", path)
    report.sentences = len(sentences)
    return sentences, report


@dataclass(frozen=True)
class TaggedBlock:
    """One sentence of a column file as written: tokens (``xx:`` prefix removed), tags, and their line numbers."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    lines: tuple[int, ...]


def iter_tagged_blocks(
    path: str | Path,
    lang: str,
    *,
    tag_column: int = -1,
    entity_types: Sequence[str] = ENTITY_TYPES,
    convert: Callable[[list[str]], list[str]] | None = None,
    skip_token: Callable[[str], bool] | None = None,
) -> Iterator[TaggedBlock]:
    """Sentences of a column file with every tag checked against ``entity_types``; orphan ``I-`` tags are kept."""
    path = Path(path)
    prefix: str | None = None
    for block in _blocks(read_text_lines(path)):
        tokens: list[str] = []
        tags: list[str] = []
        numbers: list[int] = []
        for number, line in block:
            token, tag = _split_line(line, path, number, tag_column)
            if skip_token and skip_token(token):
                continue
            if prefix is None:
                match = _LANG_PREFIX.match(token)
                prefix = match.group(0) if match and match.group(1) == lang.split("-")[0] else ""
            if prefix and token.startswith(prefix):
                token = token[len(prefix) :]
            tokens.append(token)
            tags.append(tag)
            numbers.append(number)
        if not tokens:
            continue
        if convert:
            tags = convert(tags)
        for tag, number in zip(tags, numbers, strict=True):
            if not is_valid_tag(tag, entity_types):
                allowed = ", ".join(["O"] + [f"B-{t}, I-{t}" for t in entity_types])
                raise DataError(f"unknown tag {tag!r}; allowed: {allowed}", path, number)
        yield TaggedBlock(tuple(tokens), tuple(tags), tuple(numbers))


SCORING_TYPES: tuple[str, ...] = (*ENTITY_TYPES, "MISC")
"""Tags accepted in files given to ``eat score``; only PER/ORG/LOC are scored, as in the paper."""


@dataclass
class ScoringPair:
    """Gold and predicted tags over the same tokens, as written in two column files (orphans kept)."""

    tokens: list[tuple[str, ...]]
    gold: list[tuple[str, ...]]
    pred: list[tuple[str, ...]]


def read_scoring_pair(gold_path: str | Path, pred_path: str | Path, lang: str) -> ScoringPair:
    """Read a GOLD and a PRED column file that must hold the same tokens in the same sentences.

    ``-DOCSTART-`` lines are skipped. The first difference is an error naming both files and lines.
    """
    gold_path, pred_path = Path(gold_path), Path(pred_path)
    read = {"entity_types": SCORING_TYPES, "skip_token": lambda token: token == "-DOCSTART-"}
    gold_blocks = list(iter_tagged_blocks(gold_path, lang, **read))
    pred_blocks = list(iter_tagged_blocks(pred_path, lang, **read))
    for k, (g, p) in enumerate(zip(gold_blocks, pred_blocks, strict=False)):
        for i, (g_token, p_token) in enumerate(zip(g.tokens, p.tokens, strict=False)):
            if g_token != p_token:
                raise DataError(f"token {g_token!r} differs from {p_token!r} at {pred_path}:{p.lines[i]} (sentence "
                                f"{k + 1}); PRED must hold GOLD's tokens in the same order", gold_path, g.lines[i])
        if len(g.tokens) != len(p.tokens):
            n = min(len(g.tokens), len(p.tokens))
            longer, path, line, other, other_line = (
                ("GOLD", gold_path, g.lines[n], pred_path, p.lines[-1]) if len(g.tokens) > n
                else ("PRED", pred_path, p.lines[n], gold_path, g.lines[-1]))
            raise DataError(f"sentence {k + 1} goes on in {longer} ({len(g.tokens)} tokens in GOLD, {len(p.tokens)} "
                            f"in PRED) while it ended at {other}:{other_line}; a blank line is missing or extra",
                            path, line)
    if len(gold_blocks) != len(pred_blocks):
        n = min(len(gold_blocks), len(pred_blocks))
        longer, path, blocks = (("GOLD", gold_path, gold_blocks) if len(gold_blocks) > n
                                else ("PRED", pred_path, pred_blocks))
        shorter = pred_path if longer == "GOLD" else gold_path
        raise DataError(f"{longer} has {len(blocks)} sentences, {shorter} only {n}; sentence {n + 1} starts here",
                        path, blocks[n].lines[0])
    return ScoringPair([g.tokens for g in gold_blocks], [g.tags for g in gold_blocks], [p.tags for p in pred_blocks])
