"""Words in text written without spaces between them (Thai, Lao, Khmer, Burmese, Tai scripts).

Whitespace tokenisation would make a whole Thai line one token, so nothing inside it could be tagged. A run of
such a script inside a token is cut by a real word segmenter where one is installed (Thai: ``pythainlp``'s
dictionary-based ``newmm``, the optional extra ``eat-ner[thai]``), else into grapheme clusters: each character
with the combining marks after it (a vowel sign or tone mark never starts a token). :func:`segmentation_note` says
which, for the tag run's summary line. Chinese and Japanese are not handled here: WikiANN tokenises them one
character per token (``languages.is_character_tokenised``).

Contract, by example::

    split_unspaced("ไทย2020") -> [(0, 3), (3, 7)]       # pythainlp installed: the word ไทย, then 2020
    split_unspaced("မြန်မာ")  -> [(0, 2), (2, 4), (4, 6)]  # no Burmese segmenter: မြ န် မာ
"""

from __future__ import annotations

import functools
import importlib.util
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from eat_core.languages import UNSPACED_SCRIPTS, script_of
from eat_core.registry import LazyRegistry

_NAME_PREFIXES = (("NEW TAI LUE ", "Talu"), ("TAI LE ", "Tale"), ("TAI THAM ", "Lana"), ("TAI VIET ", "Tavt"),
                  ("THAI ", "Thai"), ("LAO ", "Laoo"), ("KHMER ", "Khmr"), ("MYANMAR ", "Mymr"), ("AHOM ", "Ahom"))
"""Unicode character names start with their block's script (``THAI CHARACTER KO KAI``): ISO 15924 codes."""

ZWJ, ZWNJ = "\u200d", "\u200c"
STACKERS = frozenset("\u1039\u17d2\u1a60")
"""Myanmar virama, Khmer coeng, Tai Tham sakot: the next consonant is written below, in the same cluster."""


@dataclass(frozen=True)
class SegmenterInfo:
    """What a word segmenter needs: the package to import and the extra that installs it."""

    name: str
    package: str
    extra: str


SEGMENTERS = LazyRegistry("word segmenter", {"Thai": "eat_core.data.segmentation:thai_words"})
"""Script (ISO 15924) -> a function ``str -> list[str]`` whose pieces concatenate to its input."""

SEGMENTER_INFO: dict[str, SegmenterInfo] = {"Thai": SegmenterInfo("pythainlp newmm", "pythainlp", "thai")}

SCRIPT_NAMES = {"Thai": "Thai", "Laoo": "Lao", "Khmr": "Khmer", "Mymr": "Myanmar", "Tale": "Tai Le",
                "Talu": "New Tai Lue", "Lana": "Tai Tham", "Tavt": "Tai Viet", "Ahom": "Ahom"}


@functools.cache
def unspaced_script(ch: str) -> str | None:
    """ISO 15924 code of a character of a script written without spaces, else None."""
    name = unicodedata.name(ch, "")
    return next((code for prefix, code in _NAME_PREFIXES if name.startswith(prefix)), None)


def thai_words(text: str) -> list[str]:
    """Thai words by pythainlp's maximal-matching ``newmm`` over its dictionary (imported on first use)."""
    from pythainlp.tokenize import word_tokenize  # lazy: optional extra eat-ner[thai]

    return word_tokenize(text, engine="newmm", keep_whitespace=True)


@functools.cache
def segmenter(script: str) -> Callable[[str], list[str]] | None:
    """The installed word segmenter of a script, or None (not on the registry, or its package not installed)."""
    info = SEGMENTER_INFO.get(script)
    if info is None or importlib.util.find_spec(info.package) is None:
        return None
    return SEGMENTERS.get(script)


def script_note(script: str) -> str:
    """``words (pythainlp newmm)`` or ``character (no segmenter installed for Thai; pip install 'eat-ner[thai]')``."""
    info = SEGMENTER_INFO.get(script)
    name = SCRIPT_NAMES.get(script, script)
    if info is None:
        return f"character (grapheme clusters; no word segmenter for {name} text)"
    if segmenter(script) is None:
        return f"character (no segmenter installed for {name}; pip install 'eat-ner[{info.extra}]')"
    return f"words ({info.name})"


def segments_words(lang: str) -> bool:
    """Whether tokenising ``lang`` cuts runs of unspaced scripts: its script is one, or unknown (then the text's
    own characters decide)."""
    script = script_of(lang)
    return script is None or script in UNSPACED_SCRIPTS


def segmentation_note(lang: str) -> str | None:
    """The line a tag run prints for ``lang``: None for spaced scripts and for zh/ja (one token per character)."""
    script = script_of(lang)
    if script in UNSPACED_SCRIPTS:
        return f"{script_note(script)} for {lang}"
    if script is None:
        return f"unspaced scripts in {lang} text are cut into words where a segmenter is installed, else characters"
    return None


def clusters(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Grapheme-cluster-like pieces: a character with the marks (and ZWJ/ZWNJ) after it; one after a ZWJ or a
    stacking sign (:data:`STACKERS`) joins."""
    spans: list[list[int]] = []
    for i, ch in enumerate(text):
        joins = spans and (unicodedata.category(ch)[0] == "M" or ch in (ZWJ, ZWNJ) or text[i - 1] == ZWJ
                           or text[i - 1] in STACKERS)
        if joins:
            spans[-1][1] = offset + i + 1
        else:
            spans.append([offset + i, offset + i + 1])
    return [(s, e) for s, e in spans]


def _segment_run(run: str, script: str, offset: int) -> list[tuple[int, int]]:
    split = segmenter(script)
    pieces = split(run) if split else None
    if not pieces or "".join(pieces) != run or any(not p or p.isspace() for p in pieces):
        return clusters(run, offset)
    spans, position = [], offset
    for piece in pieces:
        spans.append((position, position + len(piece)))
        position += len(piece)
    return spans


def split_unspaced(token: str, offset: int = 0) -> list[tuple[int, int]]:
    """Spans (shifted by ``offset``) of ``token`` with each run of an unspaced script cut into words or clusters;
    the rest of the token (digits, Latin letters) stays whole. A token with no such run comes back whole."""
    runs: list[tuple[int, int, str | None]] = []
    for i, ch in enumerate(token):
        script = unspaced_script(ch)
        if script is None and runs and (unicodedata.category(ch)[0] == "M" or ch in (ZWJ, ZWNJ)):
            script = runs[-1][2]  # a mark or joiner belongs to the run before it
        if runs and runs[-1][2] == script:
            runs[-1] = (runs[-1][0], i + 1, script)
        else:
            runs.append((i, i + 1, script))
    spans: list[tuple[int, int]] = []
    for start, end, script in runs:
        if script is None:
            spans.append((offset + start, offset + end))
        else:
            spans += _segment_run(token[start:end], script, offset + start)
    return spans
