"""The EACL corpus files released with the EAT code: a JSON list of ``{eng_entity, tgt_entity, text}``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from eat_core.errors import DataError

REQUIRED_FIELDS = ("eng_entity", "tgt_entity", "text")
_CORPUS_NAME = re.compile(r"corpus_([a-z]{2,3})\.json$")


@dataclass(frozen=True)
class EaclPair:
    """An English entity, the linked target-language page title ``u`` and the text ``v`` it should appear in."""

    lang: str
    eng_entity: str
    tgt_entity: str
    text: str


def read_eacl_file(path: str | Path, lang: str | None = None) -> list[EaclPair]:
    path = Path(path)
    if lang is None:
        match = _CORPUS_NAME.search(path.name)
        if not match:
            raise DataError("cannot tell the language from the file name; name it corpus_<lang>.json", path)
        lang = match.group(1)
    if not path.is_file():
        raise DataError("file not found", path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataError("not valid UTF-8", path) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON: {exc.msg}", path, exc.lineno) from None
    if not isinstance(data, list):
        raise DataError(f"expected a JSON list of objects, got {type(data).__name__}", path)
    if not data:
        raise DataError("corpus is empty", path)
    pairs = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise DataError(f"entry {index}: expected an object, got {type(item).__name__}", path)
        missing = [f for f in REQUIRED_FIELDS if not isinstance(item.get(f), str)]
        if missing:
            raise DataError(f"entry {index}: missing or non-string field(s) {', '.join(missing)}", path)
        pairs.append(EaclPair(lang, item["eng_entity"], item["tgt_entity"], item["text"]))
    return pairs


def read_eacl_dir(directory: str | Path) -> dict[str, list[EaclPair]]:
    """Every ``corpus_<lang>.json`` of a directory, by language."""
    directory = Path(directory)
    files = sorted(directory.glob("corpus_*.json"))
    if not files:
        raise DataError("no corpus_<lang>.json files here", directory)
    return {(_CORPUS_NAME.search(f.name).group(1)): read_eacl_file(f) for f in files}  # type: ignore[union-attr]
