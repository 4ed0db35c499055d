"""CROP's labelled-sequence projection (Yang et al., EMNLP Findings 2022, §3.3-3.4), on an LLM.

The English sentence is written with its entities wrapped in numbered markers (``<1>Barack Obama</1> visited
<2>Paris</2> .``); the LLM translates it keeping the markers; the markers are parsed out; each marked phrase is
matched onto the original sentence by CROP's lexical rule: each word of the phrase used at most once, at least 80% of
the phrase's words found as one contiguous run of the original's tokens, phrases of at most 6 words, no overlaps.
Words are whitespace tokens, or characters for Chinese and Japanese (WikiANN's tokens there). Every entity that is
lost gets a reason: ``marker_dropped``, ``marker_unclosed``, ``marker_unbalanced``, ``marker_empty``,
``phrase_too_long``, ``not_found``, ``overlap``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from eat_core.engine.align import fold
from eat_core.languages import is_character_tokenised
from eat_core.types import EnglishEntity, Span

MAX_WORDS = 6
MIN_SHARE = 0.8
# ASCII, full-width and CJK angle brackets: a model may "translate" the markers' brackets too
_MARKER = re.compile(r"[<＜〈《]\s*(/?)\s*([0-9０-９]+)\s*[>＞〉》]")


def labelled_sequence(english: str, entities: Sequence[EnglishEntity]) -> str:
    """The English sentence with entity ``k`` (1-based, in order of appearance) wrapped as ``<k>...</k>``."""
    spans, cursor = [], 0
    for entity in entities:
        start = entity.char_start if entity.char_start >= 0 else english.find(entity.text, cursor)
        end = entity.char_end if entity.char_start >= 0 else start + len(entity.text)
        spans.append((start, end) if start >= 0 else None)
        cursor = max(cursor, end) if start >= 0 else cursor
    out, last = [], 0
    order = sorted((s for s in enumerate(spans) if s[1] is not None), key=lambda item: item[1][0])
    for k, (start, end) in order:
        if start < last:
            continue  # overlapping extractor spans: the first one wins; the other's marker is "dropped"
        out += [english[last:start], f"<{k + 1}>", english[start:end], f"</{k + 1}>"]
        last = end
    out.append(english[last:])
    return "".join(out)


@dataclass(frozen=True)
class Marked:
    """What the translation says for marker ``number``: the phrase, or why there is none."""

    number: int
    phrase: str | None
    reason: str | None = None


def parse_markers(translation: str, expected: int) -> tuple[str, list[Marked]]:
    """(translation without markers, one ``Marked`` per expected marker 1..expected) from the LLM's answer.

    A marker opened twice before it closes, or closed before it opens, is ``marker_unbalanced``; once a number has a
    closed pair, its later markers are ignored: chatty answers explain themselves after the translation
    (``Note: <1> marks the same entity``), and that must not cost the entity found first.
    """
    text = translation or ""
    opened: dict[int, int] = {}
    phrases: dict[int, str] = {}
    reasons: dict[int, str] = {}
    plain: list[str] = []
    last = 0
    positions: dict[int, int] = {}  # marker number -> offset in the plain text where its phrase starts
    for match in _MARKER.finditer(text):
        plain.append(text[last : match.start()])
        last = match.end()
        number = int(match.group(2).translate(str.maketrans("０１２３４５６７８９", "0123456789")))
        offset = sum(len(p) for p in plain)
        if number in phrases and number not in opened:
            continue  # the first closed pair wins: a later mention (an explanation, "<1> marks ...") is not the answer
        if not match.group(1):
            if number in opened:
                reasons.setdefault(number, "marker_unbalanced")
            opened[number] = offset
            positions[number] = offset
        elif number in opened:
            start = opened.pop(number)
            phrases[number] = "".join(plain)[start:offset]
        else:
            reasons.setdefault(number, "marker_unbalanced")
    plain.append(text[last:])
    for number in opened:
        reasons.setdefault(number, "marker_unclosed")
    out = []
    for number in range(1, expected + 1):
        phrase = phrases.get(number)
        if number in reasons:
            out.append(Marked(number, None, reasons[number]))
        elif phrase is None:
            out.append(Marked(number, None, "marker_dropped"))
        elif not phrase.strip():
            out.append(Marked(number, None, "marker_empty"))
        else:
            out.append(Marked(number, phrase.strip()))
    return "".join(plain), out


def _words(phrase: str, lang: str) -> list[str]:
    if is_character_tokenised(lang):
        return [fold(c) for c in phrase if not c.isspace()]
    return [fold(w) for w in phrase.split()]


def crop_match(tokens: Sequence[str], lang: str, phrase: str, label: str,
               taken: Sequence[Span]) -> tuple[Span | None, str | None]:
    """CROP's lexical matching of one phrase onto the original tokens; (span, None) or (None, reason)."""
    words = _words(phrase, lang)
    if not words:
        return None, "marker_empty"
    if len(words) > MAX_WORDS:
        return None, "phrase_too_long"
    need = math.ceil(MIN_SHARE * len(words))
    folded = [fold(t) for t in tokens]
    best: tuple[int, int] | None = None
    blocked = False
    for length in range(len(words), need - 1, -1):
        for start in range(0, len(tokens) - length + 1):
            window = folded[start : start + length]
            if Counter(window) - Counter(words):  # a token of the window that the phrase lacks (or uses twice)
                continue
            span = Span(start, start + length, label)
            if any(span.overlaps(t) for t in taken):
                blocked = True
                continue
            best = (start, length)
            break
        if best:
            break
    if best is None:
        return None, "overlap" if blocked else "not_found"
    return Span(best[0], best[0] + best[1], label), None
