"""Tokenise raw text the way WikiANN does, keeping each token's character offsets into the original text.

Space-delimited scripts: a token is a run of letters, digits and marks (``_`` too), or one punctuation or symbol
character; whitespace and invisible format characters separate tokens and belong to none. Chinese and Japanese
(``languages.is_character_tokenised``): one token per character, as WikiANN zh/ja. In both, combining marks, variation
selectors, emoji skin-tone modifiers and ZWJ/ZWNJ stay with the character before them, and a character after a ZWJ
joins it (``👩‍💻`` is one token), so no token starts with a mark. Thai, Lao, Khmer, Burmese and the other scripts
written without spaces (``data.segmentation.segments_words``): each run of such a script is cut into words by
an installed segmenter (Thai: pythainlp), else into characters with their marks
(``data.segmentation.split_unspaced``); ``data.segmentation.segmentation_note`` says which.

Contract, by example::

    tokenize("Putin visited Paris.", "ru") -> Tokens(("Putin", "visited", "Paris", "."),
                                                     ((0, 5), (6, 13), (14, 19), (19, 20)))
    tokenize("普京 访问", "zh")           -> Tokens(("普", "京", "访", "问"), ((0, 1), (1, 2), (3, 4), (4, 5)))

Always ``text[start:end] == token``; offsets are in code points (Python ``str`` indices).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from eat_core.data.segmentation import segments_words, split_unspaced
from eat_core.languages import is_character_tokenised, join_tokens, token_separator

ZWJ, ZWNJ = "\u200d", "\u200c"
_SEPARATE, _WORD, _MARK, _OTHER = 0, 1, 2, 3


@dataclass(frozen=True)
class Tokens:
    tokens: tuple[str, ...]
    offsets: tuple[tuple[int, int], ...]


def _kind(ch: str) -> int:
    if ch in (ZWJ, ZWNJ):
        return _MARK
    if ch.isspace():
        return _SEPARATE
    category = unicodedata.category(ch)
    if category[0] == "M" or 0x1F3FB <= ord(ch) <= 0x1F3FF:  # marks, variation selectors, skin-tone modifiers
        return _MARK
    if category[0] in "LN" or ch == "_":
        return _WORD
    if category in ("Cc", "Cf", "Zs", "Zl", "Zp"):  # controls, invisible format characters (U+200B, U+FEFF)
        return _SEPARATE
    return _OTHER


def tokenize(text: str, lang: str) -> Tokens:
    """Tokens of ``text`` with half-open character offsets (see the module docstring)."""
    per_char = is_character_tokenised(lang)
    spans: list[list[int]] = []
    open_kind = None  # kind of the token still open at the previous character, None after a separator
    previous = ""
    for i, ch in enumerate(text):
        kind = _kind(ch)
        if kind == _SEPARATE:
            open_kind, previous = None, ch
            continue
        joins = open_kind is not None and (kind == _MARK or previous == ZWJ or (
            not per_char and kind == _WORD and open_kind == _WORD))
        if joins:
            spans[-1][1] = i + 1
        else:
            spans.append([i, i + 1])
            open_kind = _WORD if kind == _WORD else _OTHER
        previous = ch
    offsets = tuple((s, e) for s, e in spans)
    if not per_char and segments_words(lang):
        offsets = tuple(piece for s, e in offsets for piece in split_unspaced(text[s:e], s))
    return Tokens(tuple(text[s:e] for s, e in offsets), offsets)


def from_tokens(tokens: Sequence[str], lang: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Text of pre-tokenised input, joined as the language writes it (``join_tokens``), and each token's offsets."""
    sep = len(token_separator(lang))
    offsets, position = [], 0
    for token in tokens:
        offsets.append((position, position + len(token)))
        position += len(token) + sep
    return join_tokens(list(tokens), lang), tuple(offsets)


def locate_tokens(text: str, tokens: Sequence[str]) -> tuple[tuple[int, int], ...] | int:
    """Offsets of ``tokens`` found in order in ``text``; the index of the first token not found otherwise."""
    offsets, position = [], 0
    for k, token in enumerate(tokens):
        start = text.find(token, position)
        if start < 0 or not token:
            return k
        offsets.append((start, start + len(token)))
        position = start + len(token)
    return tuple(offsets)
