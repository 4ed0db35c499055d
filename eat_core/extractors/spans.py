"""English text <-> words and character spans, shared by every extractor and by extractor evaluation."""

from __future__ import annotations

import re
from collections.abc import Sequence

from eat_core.bio import tags_from_spans
from eat_core.types import EnglishEntity, Span

_WORD = re.compile(r"\w+(?:[-'’.&]\w+)*|[^\w\s]", re.UNICODE)


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of an English sentence (punctuation split off, hyphenated words kept)."""
    return [(m.start(), m.end()) for m in _WORD.finditer(text)]


def locate_in_text(text: str, pairs: Sequence[tuple[str, str]]) -> tuple[list[EnglishEntity], dict[str, int]]:
    """Give each (label, surface) a character span in ``text``.

    Repeated surfaces take successive occurrences; an exact-case match is preferred, then a case-insensitive one.
    Returns the entities found and counts of what was not (``not_in_sentence``, ``duplicate``).
    """
    counts = {"not_in_sentence": 0, "duplicate": 0}
    taken: list[tuple[int, int]] = []
    out: list[EnglishEntity] = []
    lowered = text.lower()
    for label, surface in pairs:
        surface = surface.strip()
        if not surface:
            counts["not_in_sentence"] += 1
            continue
        span = None
        seen_any = False
        for haystack, needle in ((text, surface), (lowered, surface.lower())):
            start = haystack.find(needle)
            while start != -1:
                seen_any = True
                end = start + len(needle)
                if not any(start < e and s < end for s, e in taken):
                    span = (start, end)
                    break
                start = haystack.find(needle, start + 1)
            if span:
                break
        if span is None:
            counts["duplicate" if seen_any else "not_in_sentence"] += 1
            continue
        taken.append(span)
        out.append(EnglishEntity(text[span[0] : span[1]], label, span[0], span[1]))
    out.sort(key=lambda e: e.char_start)
    return out, counts


def token_offsets(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans of tokens in ``" ".join(tokens)``."""
    spans, pos = [], 0
    for token in tokens:
        spans.append((pos, pos + len(token)))
        pos += len(token) + 1
    return spans


def entities_to_tags(tokens: Sequence[str], entities: Sequence[EnglishEntity]) -> tuple[str, ...]:
    """Project character-span entities of ``" ".join(tokens)`` onto IOB2 token tags (first entity wins overlaps)."""
    offsets = token_offsets(tokens)
    spans: list[Span] = []
    for entity in sorted(entities, key=lambda e: (e.char_start, -e.char_end)):
        covered = [i for i, (s, e) in enumerate(offsets) if s < entity.char_end and entity.char_start < e]
        if not covered:
            continue
        span = Span(covered[0], covered[-1] + 1, entity.label)
        if not any(span.overlaps(other) for other in spans):
            spans.append(span)
    return tags_from_spans(spans, len(tokens))
