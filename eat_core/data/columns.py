"""Reader for column files: one ``token<TAB or spaces>...tag`` line per token, blank lines between sentences.

Shared by the WikiANN/PAN-X reader (two columns, optionally ``xx:``-prefixed tokens) and the CoNLL-2003 reader
(four columns, ``-DOCSTART-`` lines, IOB1). Every problem is reported with file and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eat_core.bio import find_orphan_inside, is_valid_tag, split_tag
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
    repair: bool = False,
    skip_token: Callable[[str], bool] | None = None,
    id_prefix: str | None = None,
) -> tuple[list[Sentence], ReadReport]:
    """Read sentences from a column file.

    ``convert`` rewrites a sentence's tags before validation (IOB1 -> IOB2 for CoNLL-2003). An ``I-X`` that does not
    continue an ``X`` span is an error unless ``repair`` is set, in which case it becomes ``B-X`` and is counted.
    """
    path = Path(path)
    lines = read_text_lines(path)
    report = ReadReport(path=str(path))
    sentences: list[Sentence] = []
    prefix: str | None = None
    for block in _blocks(lines):
        tokens: list[str] = []
        tags: list[str] = []
        numbers: list[int] = []
        for number, line in block:
            token, tag = _split_line(line, path, number, tag_column)
            if skip_token and skip_token(token):
                continue
            if prefix is None:
                match = _LANG_PREFIX.match(token)
                prefix = match.group(0) if match and match.group(1) == lang else ""
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
        for index in find_orphan_inside(tags):
            if not repair:
                raise DataError(
                    f"tag {tags[index]!r} does not continue an entity of its type (invalid IOB2); "
                    "pass repair=True (CLI: --repair-tags) to turn such tags into B- tags",
                    path,
                    numbers[index],
                )
            tags[index] = "B-" + split_tag(tags[index])[1]
            report.repaired_orphan_inside += 1
        sid = f"{id_prefix or lang}-{len(sentences)}"
        sentences.append(Sentence(id=sid, lang=lang, tokens=tuple(tokens), tags=tuple(tags)))
        report.tokens += len(tokens)
    if not sentences:
        raise DataError("no sentences found (only -DOCSTART- or blank lines?)", path)
    report.sentences = len(sentences)
    return sentences, report
