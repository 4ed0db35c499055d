"""Parse an LLM's list of typed entities (the answer format of ``direct`` and ``fusion``).

Asked for ``TYPE: entity`` lines, real models also answer ``(PER, 高明)``, ``- **PER**: "高明"``, ``高明 (PER)``, a
JSON list, a numbered list, or wrap the list in a sentence of explanation. Everything parseable is taken; lines that
name no known type are ignored and counted, so an unparseable answer is a reason, never a crash.

    >>> parse_entities('PER: 高明\\nLOC: "北京"\\nNone')
    ParsedEntities(entities=[('PER', '高明'), ('LOC', '北京')], ignored_lines=0, empty=False)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

TYPES = {"PER": "PER", "PERSON": "PER", "ORG": "ORG", "ORGANIZATION": "ORG", "ORGANISATION": "ORG", "LOC": "LOC",
         "LOCATION": "LOC", "GPE": "LOC"}
_TYPE = r"(PER|PERSON|ORG|ORGANI[SZ]ATION|LOC|LOCATION|GPE)"
_QUOTES = "\"'`“”‘’「」『』«»*"
_TUPLE = re.compile(rf"^\s*(?:[-*•]|\d+[.)])?\s*\(\s*{_TYPE}\s*[,，:]\s*(.+?)\s*\)\s*[,;]?\s*$", re.IGNORECASE)
_TYPE_FIRST = re.compile(rf"^\s*(?:[-*•]|\d+[.)])?\s*\[?\s*\**{_TYPE}\**\s*\]?\s*[:：,，\-–=]\s*(.+?)\s*$",
                         re.IGNORECASE)
_TYPE_LAST = re.compile(rf"^\s*(?:[-*•]|\d+[.)])?\s*(.+?)\s*[(\[（]\s*{_TYPE}\s*[)\]）]\s*$", re.IGNORECASE)
_NONE = re.compile(r"^\s*(none|no entities|n/a|无|なし|없음)\.?\s*$", re.IGNORECASE)


@dataclass
class ParsedEntities:
    entities: list[tuple[str, str]] = field(default_factory=list)
    ignored_lines: int = 0
    empty: bool = False


def _clean(text: str) -> str:
    """Quotes and bold marks around the entity, and sentence punctuation glued to its end (``高明。``, ``Paris.``);
    a separate token such as WikiANN's ``Jr .`` is kept."""
    text = text.strip().strip(_QUOTES).strip()
    while text and text[-1] in "。.,，;；" and len(text) > 1 and not text[-2].isspace():
        text = text[:-1]
    return text.strip(_QUOTES).strip()


def _from_json(text: str) -> list[tuple[str, str]] | None:
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end <= start:
        return None
    try:
        rows = json.loads(text[start : end + 1])
    except ValueError:
        return None
    out = []
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict):
            kind = str(row.get("type") or row.get("label") or "").upper()
            name = str(row.get("text") or row.get("entity") or row.get("name") or "")
        elif isinstance(row, (list, tuple)) and len(row) == 2:
            kind, name = str(row[0]).upper(), str(row[1])
        else:
            continue
        if kind in TYPES and _clean(name):
            out.append((TYPES[kind], _clean(name)))
    return out if out or rows == [] else None


def parse_entities(answer: str) -> ParsedEntities:
    """``[(TYPE, text)]`` in answer order (a repeated entity stays repeated: it may occur twice)."""
    text = (answer or "").strip()
    if not text:
        return ParsedEntities(empty=True)
    found = _from_json(text) if "[" in text and "{" in text or text.startswith("[[") else None
    result = ParsedEntities()
    if found is None:
        found = []
        for line in re.split(r"\n|(?<=\))\s*[,;]?\s*(?=\(\s*[A-Za-z]+\s*[,，:])", text):
            line = line.strip()
            if not line or _NONE.match(line):
                continue
            match = _TUPLE.match(line) or _TYPE_FIRST.match(line) or _TYPE_LAST.match(line)
            if not match:
                result.ignored_lines += 1
                continue
            kind, name = (match.group(2), match.group(1)) if match.re is _TYPE_LAST else (match.group(1),
                                                                                          match.group(2))
            if _clean(name) and not _NONE.match(_clean(name)):
                found.append((TYPES[kind.upper()], _clean(name)))
    result.entities = found
    return result
