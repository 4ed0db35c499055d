"""Keep an EACL pair (u, v1) when the target title u appears in the first sentence v1 (EAT §3.2, App. C).

The paper checks plain containment. We compare normalised forms, which recovers pairs exact matching loses with no
false pairs: NFKC, case folding, Traditional = Simplified Chinese, whitespace ignored (all as in alignment:
``eat_core.engine.align.fold``), Latin/Cyrillic stress and accent marks ignored ("Москва́"), and a trailing disambiguator
removed from the title ("Paris (film)" -> "Paris", "메시 (축구 선수)" -> "메시"). Every drop has a reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from eat_core.engine.align import fold

DROP_REASONS = ("empty_title", "empty_text", "title_not_in_text")
_DISAMBIGUATOR = re.compile(r"\s*[(（][^()（）]+[)）]\s*$")


def strip_disambiguator(title: str) -> str:
    stripped = _DISAMBIGUATOR.sub("", title).strip()
    return stripped or title.strip()


def normalise(text: str) -> str:
    """Comparison form: accents (U+0300-U+036F) dropped, then NFKC, case folding, T->S Chinese, no whitespace."""
    decomposed = unicodedata.normalize("NFD", text)
    without_marks = "".join(c for c in decomposed if not 0x300 <= ord(c) <= 0x36F)
    return fold(unicodedata.normalize("NFC", without_marks))


@dataclass(frozen=True)
class Verdict:
    kept: bool
    reason: str | None
    exact: bool  # would the paper's plain containment have kept it?


def judge(title: str, first: str) -> Verdict:
    if not title.strip():
        return Verdict(False, "empty_title", False)
    if not first.strip():
        return Verdict(False, "empty_text", False)
    exact = title in first
    if exact:
        return Verdict(True, None, True)
    needle = normalise(strip_disambiguator(title))
    if needle and needle in normalise(first):
        return Verdict(True, None, False)
    return Verdict(False, "title_not_in_text", False)
