"""The official EAT scorer, emulated exactly (protocol ``eat-official``): entities rebuilt as strings and searched
for in the text, so a number here is comparable with the paper's tables."""

from __future__ import annotations

import re
from collections.abc import Sequence

from eat_core.scoring.counts import Counts

OFFICIAL_CHARACTER_LANGS = ("zh", "ja")
"""Languages the official code handles with its ``zh`` flag: text and entities concatenated, units are characters."""



OFFICIAL_STOP_WORDS = frozenset({"REDIRECCIÓN", "WEITERLEITUNG", "'", "''", "``", "`", '"', '""'})
"""Words (upper-cased) the official scorer removes from *predicted* entity strings before searching them."""



_NUMBER_SUFFIX = re.compile(r"\( \d+ \)")



def official_entities(tokens: Sequence[str], tags: Sequence[str], lang: str) -> list[tuple[str, str]]:
    """``(string, label)`` of every entity as the official scorer builds it, left to right.

    An entity starts at any ``B-`` or ``I-`` tag and runs over the ``I-`` tags after it, whatever their type; its
    label is the first tag's type. Its string is its tokens joined by a space, or for zh/ja concatenated with every
    ``#`` made a space. ``(["前", "鎮", "#", "區"], ["B-LOC", "I-LOC", "I-LOC", "I-LOC"], "zh")`` ->
    ``[("前鎮 區", "LOC")]``.
    """
    chars = lang in OFFICIAL_CHARACTER_LANGS
    found: list[tuple[str, str]] = []
    start = None
    for i, tag in enumerate([*tags, "O"]):
        if start is not None and not tag.startswith("I-"):
            words = tokens[start:i]
            found.append(("".join(words).replace("#", " ") if chars else " ".join(words), tags[start][2:]))
            start = None
        if start is None and tag[:2] in ("B-", "I-"):
            start = i
    return found



def official_units(tokens: Sequence[str], lang: str) -> list[str]:
    """The units the official scorer labels: characters of the zh/ja text (``'''`` collapsed to ``'``), else tokens."""
    if lang in OFFICIAL_CHARACTER_LANGS:
        text = "".join(tokens).replace("#", " ").replace("'''", "'")
        return list(text.replace(" ", "#"))
    return " ".join(tokens).split(" ")



def without_stop_words(entity: str) -> str:
    """A predicted entity string without the official stop words (``"'' Berlin ''"`` -> ``"Berlin"``)."""
    return " ".join(w for w in entity.split(" ") if w.upper() not in OFFICIAL_STOP_WORDS)



def official_labels(units: Sequence[str], entities: Sequence[tuple[str, str]], lang: str) -> list[str]:
    """Label ``units`` by placing each entity string at its first occurrence whose first unit is still ``O``.

    zh/ja: the string is a literal searched over the characters, occurrences taken left to right without overlap
    (``re.finditer``); it never matches when it holds a space, i.e. a ``#`` token. Elsewhere: the string, with
    ``( 51 )``-style suffixes removed and stripped, split on a space, must equal a run of tokens (any start). A string
    not found labels nothing.
    """
    labels = ["O"] * len(units)
    if lang in OFFICIAL_CHARACTER_LANGS:
        text = "".join(units)
        for string, label in entities:
            if not string:
                continue  # the official loop labels no unit for an empty string
            at = text.find(string)
            while at >= 0 and labels[at] != "O":
                at = text.find(string, at + len(string))
            if at >= 0:
                labels[at : at + len(string)] = [label] * len(string)
        return labels
    units = list(units)
    for string, label in entities:
        words = _NUMBER_SUFFIX.sub("", string).strip().split(" ")
        n = len(words)
        for at in range(len(units) - n + 1):
            if labels[at] == "O" and units[at : at + n] == words:
                labels[at : at + n] = [label] * n
                break
    return labels



def official_counts(
    tokens: Sequence[Sequence[str]], gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], lang: str
) -> Counts:
    """Unit TP/FP/FN exactly as the official EAT scorer counts them (protocol ``eat-official``).

    Per sentence with at least one gold entity: build the text units (:func:`official_units`) and the entity
    strings (:func:`official_entities`; predicted ones through :func:`without_stop_words`), place gold and predicted
    strings separately (:func:`official_labels`), and compare the two label sequences unit by unit. Tags are read as
    written: hand raw tags to reproduce the official scorer on a file (an ``I-X`` after ``B-Y`` continues ``Y``).
    """
    counts = Counts()
    for toks, g_tags, p_tags in zip(tokens, gold, pred, strict=True):
        if not len(toks) == len(g_tags) == len(p_tags):
            raise ValueError(f"{len(toks)} tokens, {len(g_tags)} gold tags, {len(p_tags)} predicted tags")
        g_entities = official_entities(toks, g_tags, lang)
        if not g_entities:
            continue
        p_entities = [(without_stop_words(s), label) for s, label in official_entities(toks, p_tags, lang)]
        units = official_units(toks, lang)
        _add_unit_counts(counts, official_labels(units, g_entities, lang), official_labels(units, p_entities, lang))
    return counts



def _add_unit_counts(counts: Counts, gold: Sequence[str], pred: Sequence[str]) -> None:
    for g, p in zip(gold, pred, strict=True):
        if p != "O" and p == g:
            counts.tp[p] += 1
        else:
            if p != "O":
                counts.fp[p] += 1
            if g != "O":
                counts.fn[g] += 1

