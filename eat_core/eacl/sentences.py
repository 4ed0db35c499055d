"""The first sentence v1 of a Wikipedia summary, per script (EAT §3.2 uses v1 as the text an entity must appear in).

Sentence ends: ``。！？．`` for Chinese and Japanese, ``।॥`` for Hindi, ``։`` for Armenian, ``؟`` for Arabic, and
``. ! ?`` everywhere. A full stop does not end a sentence inside parentheses or brackets ("Franz Fischler
(* 23. September 1946) ..."), after a known abbreviation or a single initial ("J. R. R. Tolkien", "т. е."), after an
ordinal or date number ("23. März"), or when a lower-case letter or digit follows. Summaries often begin with
infobox residue (a bare title line, "Motto: ..."): the first paragraph that contains a sentence end is used.
"""

from __future__ import annotations

import re

CJK_ENDS = "。！？．!?"
OTHER_ENDS = {"hi": "।॥", "hy": "։", "ar": "؟", "fa": "؟", "ur": "؟۔"}
OPEN, CLOSE = "([{（［【「『《〈", ")]}）］】」』》〉"
ABBREVIATIONS = {
    "en": {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "inc", "ltd", "co", "corp", "no", "vs", "etc", "e.g",
           "i.e", "approx", "ca", "gen", "col", "lt", "sgt", "mt", "ft", "u.s", "u.k"},
    "de": {"bzw", "z.b", "ca", "dr", "nr", "st", "geb", "gest", "u.a", "d.h", "v.chr", "n.chr", "jh", "usw", "evtl"},
    "ru": {"г", "гг", "т.е", "т.д", "т.п", "др", "им", "ул", "св", "см", "род", "ок", "в", "н.э", "до н.э", "т", "е"},
    "fr": {"m", "mme", "dr", "st", "ste", "av", "env", "etc", "cf", "p.ex", "j.-c"},
    "es": {"sr", "sra", "dr", "etc", "ej", "aprox", "a.c", "d.c", "st"},
    "nl": {"dr", "mr", "st", "bijv", "o.a", "ca", "nr", "v.chr", "n.chr"},
}
CASELESS_TEXT = {"ka"}
"""Georgian letters are Unicode lower case, but running text has no capitals: a following letter says nothing."""
_PARAGRAPHS = re.compile(r"\n\s*\n|\n")


def _ends_for(lang: str) -> str:
    if lang in ("zh", "ja"):
        return CJK_ENDS
    return ".!?" + OTHER_ENDS.get(lang, "")


def _is_abbreviation(text: str, dot: int, lang: str) -> bool:
    """Is the full stop at ``dot`` part of an abbreviation, initial or number rather than a sentence end?"""
    before = text[:dot]
    word = re.search(r"([^\s(\[{]+)$", before)
    token = word.group(1).lower() if word else ""
    if not token:
        return False
    if token.isdigit():
        return True  # "23. März", "1. FC Köln", "XIV." handled below
    if len(token) == 1 and token.isalpha():
        return True  # initials: "J. R. R. Tolkien", "т. е."
    if re.fullmatch(r"[ivxlcdm]+", token) and text[dot + 1 : dot + 3].strip()[:1].islower():
        return True
    known = ABBREVIATIONS.get(lang, set()) | ABBREVIATIONS["en"]
    return token.rstrip(".") in known or token in known


def first_sentence(text: str, lang: str) -> str:
    """The first sentence of ``text``; the whole first paragraph when no sentence end is found."""
    text = (text or "").strip()
    if not text:
        return ""
    ends = _ends_for(lang)
    paragraphs = [p.strip() for p in _PARAGRAPHS.split(text) if p.strip()]
    chosen = next((p for p in paragraphs if any(e in p for e in ends)), paragraphs[0])
    depth = 0
    for i, ch in enumerate(chosen):
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth = max(0, depth - 1)
        elif ch in ends and depth == 0:
            following = chosen[i + 1 : i + 2]
            if lang in ("zh", "ja") or ch in OTHER_ENDS.get(lang, "") or ch in "।॥։":
                return chosen[: i + 1].strip()
            if ch in "!?" and (not following or following.isspace()):
                return chosen[: i + 1].strip()
            if ch == ".":
                rest = chosen[i + 1 :].lstrip()
                if not rest:
                    return chosen[: i + 1].strip()
                if not following.isspace():
                    continue  # "3.5", "z.B.", "example.com"
                lower_follows = rest[0].islower() and lang not in CASELESS_TEXT
                if lower_follows or rest[0].isdigit() or _is_abbreviation(chosen, i, lang):
                    continue
                return chosen[: i + 1].strip()
    return chosen.strip()
