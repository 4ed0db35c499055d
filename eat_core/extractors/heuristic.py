"""A rule-based English extractor: maximal runs of capitalised words, typed by cue words.

A weak baseline that needs no model, used by the ``smoke`` profile so the whole pipeline runs offline in seconds.
It is not a stand-in for the trained extractors (T5, token classification): expect low F1 from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from eat_core.types import EnglishEntity

_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
_CONNECTORS = {"of", "de", "la", "del", "von", "van", "der", "and", "the", "upon", "for"}
_ORG = {"inc", "corp", "company", "university", "club", "fc", "party", "council", "association", "bank", "group",
        "institute", "league", "union", "committee", "ministry", "records", "band", "school", "college", "agency"}
_LOC = {"river", "city", "county", "province", "state", "island", "islands", "mountain", "mount", "lake", "sea",
        "street", "kingdom", "republic", "district", "valley", "bay", "ocean", "north", "south", "east", "west"}
_STOP = {"The", "A", "An", "In", "On", "At", "It", "He", "She", "They", "This", "That", "These", "Those", "I",
         "We", "You", "His", "Her", "Its", "Their", "After", "Before", "During", "When", "While", "If", "But", "And"}


class CapitalisedSpanExtractor:
    def __init__(self, max_words: int = 6) -> None:
        self.max_words = max_words

    @classmethod
    def from_config(cls, config) -> CapitalisedSpanExtractor:
        return cls()

    def extract(self, sentences: Sequence[str]) -> list[list[EnglishEntity]]:
        return [self._one(s) for s in sentences]

    def _one(self, text: str) -> list[EnglishEntity]:
        words = list(_WORD.finditer(text))
        out: list[EnglishEntity] = []
        i = 0
        while i < len(words):
            if not self._starts(words[i].group()):
                i += 1
                continue
            j = i + 1
            while j < len(words) and j - i < self.max_words:
                w = words[j].group()
                if w[0].isupper() or (w.lower() in _CONNECTORS and j + 1 < len(words)
                                      and words[j + 1].group()[0].isupper()):
                    j += 1
                else:
                    break
            while j - 1 > i and words[j - 1].group().lower() in _CONNECTORS:
                j -= 1
            start, end = words[i].start(), words[j - 1].end()
            surface = text[start:end]
            out.append(EnglishEntity(surface, self._label(surface), start, end))
            i = j
        return out

    @staticmethod
    def _starts(word: str) -> bool:
        return word[0].isupper() and word not in _STOP

    @staticmethod
    def _label(surface: str) -> str:
        lowered = {w.lower().strip(".") for w in surface.split()}
        if lowered & _ORG:
            return "ORG"
        if lowered & _LOC:
            return "LOC"
        return "PER"
