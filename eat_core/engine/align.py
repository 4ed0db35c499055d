"""Alignment: an LLM's backward-translation answer -> a token span of the original sentence -> IOB2 tags.

This step decides the F1. How it works:

1. **Clean** the answer into candidate phrases (:func:`answer_candidates`): strip markdown, quotes, labels such as
   "Final result:", trailing explanations and parentheticals; quoted fragments and first lines become candidates.
2. **Normalise** sentence and candidate the same way, per character, keeping a map back to token indexes
   (:class:`SentenceIndex`): NFKC, case folding, Traditional -> Simplified Chinese, whitespace removed (so spaces
   the LLM inserts or drops do not matter).
3. **Locate** each candidate: ``exact`` (a substring that starts and ends on token boundaries), then ``partial``
   (a substring inside tokens, snapped to the tokens that contain it: Korean particles, Arabic clitics), then
   ``fuzzy`` (the best token window whose similarity ratio reaches the threshold).
4. **Place** the entities of a sentence together (:func:`place_entities`). The rule, in order:

   * better match methods first (exact, partial, fuzzy), and within a method longer phrases first, so
     "New York City" claims its tokens before "York";
   * each entity takes the first occurrence (in sentence order) that overlaps nothing already placed;
   * an occurrence that is not the first is used only when earlier ones are taken, so two English mentions of the
     same name fill two target occurrences;
   * an entity whose every occurrence is taken is reported as ``duplicate`` (same span and type as a placed one)
     or ``overlap``.

   The rule never depends on the order in which entities arrive.

Every entity that is not placed gets a reason: ``empty_answer``, ``answer_too_long``, ``not_found``,
``duplicate`` or ``overlap``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from pathlib import Path

from eat_core.bio import tags_from_spans
from eat_core.languages import is_character_tokenised, writes_without_spaces
from eat_core.types import EnglishEntity, Placement, Span

METHOD_RANK = {"exact": 0, "partial": 1, "fuzzy": 2}
REASONS = ("empty_answer", "answer_too_long", "not_found", "duplicate", "overlap")


# --- normalisation ----------------------------------------------------------------------------------------------


@functools.cache
def _t2s_table() -> dict[str, str]:
    """Traditional -> Simplified, one character to one character (OpenCC's TSCharacters table, first choice)."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 1 and len(parts[1]) == 1:
            table[parts[0]] = parts[1]
    return table


@functools.cache
def fold_char(char: str) -> str:
    """The comparison form of one character: NFKC, case-folded, Simplified; whitespace vanishes."""
    table = _t2s_table()
    folded = unicodedata.normalize("NFKC", char).casefold()
    return "".join(table.get(c, c) for c in folded if not c.isspace())


def fold(text: str) -> str:
    return "".join(fold_char(c) for c in text)


# --- answer cleaning --------------------------------------------------------------------------------------------

_LABEL = re.compile(
    r"^\s*(?:\**\s*)?(?:final\s+(?:result|answer|phrase|translation)|result|answer|phrase|entity|output|translation|"
    r"the\s+(?:exact\s+)?(?:phrase|entity|result)(?:\s+is)?|最终结果|最终答案|结果|答案|回答|最終結果|結果|答え|결과|답)"
    r"\s*(?:\**\s*)?[:：]\s*",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[\"“”„«»「『《〈‘'](.+?)[\"“”«»」』》〉’']")
_MARKDOWN = re.compile(r"(\*\*|__|^#+\s*|^\s*[-*•]\s+)", re.MULTILINE)
_BACKTICKS = re.compile(r"`+")
_LIST_NUMBER = re.compile(r"^\s*\d+[.)]\s+", re.MULTILINE)
_TRAILING_PAREN = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")
_EDGE_PUNCT = " \t\"'“”„«»「」『』《》〈〉‘’.,;:!?。，、；：！？…"
_PAIRS = {'"': '"', "“": "”", "„": "“”", "«": "»", "»": "«", "「": "」", "『": "』", "《": "》", "〈": "〉", "‘": "’"}
_EXPLANATION = re.compile(r"\s+(?:-|–|—|=|->|→)\s+|[，,;；]\s*(?:which|meaning|i\.e\.|意思|即)")


def _strip_edges(text: str) -> str:
    return text.strip().strip(_EDGE_PUNCT).strip()


def _unwrap(text: str) -> str:
    """Outer pairs of quotes removed, one pair at a time: ``"Група «Поўдзень»"`` -> ``Група «Поўдзень»``."""
    out = text.strip()
    while len(out) > 2 and out[-1] in _PAIRS.get(out[0], ""):
        out = out[1:-1].strip()
    return out


def _keep_detached(text: str) -> str:
    """``"Stokkhólmi."`` -> ``Stokkhólmi`` but ``"F.C ."`` -> ``F.C .``: quotes and punctuation written onto the
    phrase go, a punctuation token the answer copied with its space (WikiANN's ``Páll 2 .``) stays."""
    out = _unwrap(text)
    run = len(out) - len(out.rstrip(_EDGE_PUNCT.strip()))
    if run and run < len(out) and not out[-run - 1].isspace():
        out = _unwrap(out[:-run])
    return out.strip()


def _without_attached_stop(raw: str) -> str | None:
    """A verbatim answer with sentence punctuation written onto its last word (``Stokkhólmi.``) says less than the
    same answer without it: folding drops spaces, so ``Stokkhólmi.`` would take the sentence's ``.`` token."""
    text = raw.strip()
    if len(text) > 1 and text[-1] in ".,;:!?。，、；：！？…" and not text[-2].isspace():
        return text[:-1]
    return None


def _before_explanation(line: str) -> list[str]:
    """What precedes each explanation separator, longest first: ``A – B - the name`` -> ``A – B``, ``A``."""
    cuts = [m.start() for m in _EXPLANATION.finditer(line)]
    return [line[:cut] for cut in reversed(cuts)] or [line]


def _lines(text: str) -> list[str]:
    """Non-empty lines without labels, and without an introduction line (``The phrase is:``) before the answer."""
    lines = [line for line in (_LABEL.sub("", ln) for ln in text.splitlines()) if line.strip()]
    while len(lines) > 1 and lines[0].rstrip().rstrip("*").rstrip().endswith((":", "：")):
        lines = lines[1:]
    return lines


def answer_candidates(raw: str, lang: str | None = None) -> list[str]:
    r"""Candidate phrases in priority order; empty when the answer holds nothing usable.

    Built from up to four readings of the answer: keeping a leading number with a full stop (``19. maí``,
    ``1. FC Köln``) or reading it as a list marker (``1. Paris``), keeping backticks (WikiANN's ``\`\` Weird Al ''``)
    or reading them as code spans; each phrase first with a punctuation token it copied with its space, then
    without. Only exact matches are tried on all candidates before any partial one, so a reading that matches
    nothing costs nothing.
    """
    text = _MARKDOWN.sub("", raw or "")
    if not _lines(_BACKTICKS.sub("", text)):
        return []
    ordered: list[str] = []
    # where words are spaced, a full stop written onto the last word is the answer's, not the phrase's; in zh/ja
    # every character is a token, so nothing tells them apart and the verbatim answer stays first (モーニング娘。)
    unstopped = None if lang is None or writes_without_spaces(lang) else _without_attached_stop(raw or "")
    if unstopped:
        ordered.append(unstopped)
    ordered.append(raw.strip())  # an answer copied verbatim is the strongest evidence
    ordered.append(_unwrap(raw))  # ... and so is one in quotes (with its own `` '' kept)
    plain = _BACKTICKS.sub("", text)  # code spans; kept first, as WikiANN writes quotes as `` ''
    for variant in dict.fromkeys((text, _LIST_NUMBER.sub("", text), plain, _LIST_NUMBER.sub("", plain))):
        lines = _lines(variant)
        if not lines:
            continue
        first = lines[0]
        ordered.append(first)
        ordered.append(_TRAILING_PAREN.sub("", first))
        ordered += _before_explanation(first)
        ordered += _QUOTED.findall(variant)
        ordered += lines[1:]
    out: list[str] = []
    for k, candidate in enumerate(ordered):
        forms = [candidate.strip()] if k < (3 if unstopped else 2) else [_keep_detached(candidate),
                                                                          _strip_edges(candidate)]
        for form in forms:
            if form and form not in out:
                out.append(form)
    return out


# --- locating a phrase in the sentence ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    method: str
    score: float
    candidate: str
    candidate_raw: str = ""


class SentenceIndex:
    """The folded sentence as one string, with the token index and boundary flags of every folded character."""

    def __init__(self, tokens: Sequence[str], lang: str) -> None:
        self.tokens = list(tokens)
        self.lang = lang
        chars: list[str] = []
        owner: list[int] = []
        for t, token in enumerate(self.tokens):
            for c in token:
                for f in fold_char(c):
                    chars.append(f)
                    owner.append(t)
        self.text = "".join(chars)
        self.owner = owner
        self.starts = {i for i in range(len(owner)) if i == 0 or owner[i - 1] != owner[i]}
        self.ends = {i + 1 for i in range(len(owner)) if i + 1 == len(owner) or owner[i + 1] != owner[i]}
        self.token_text = [fold(t) for t in self.tokens]

    def occurrences(self, phrase: str) -> list[Match]:
        """Every exact or partial occurrence of a folded phrase, as token spans in sentence order."""
        if not phrase:
            return []
        found: dict[tuple[int, int], Match] = {}
        start = self.text.find(phrase)
        while start != -1:
            end = start + len(phrase)
            exact = start in self.starts and end in self.ends
            span = (self.owner[start], self.owner[end - 1] + 1)
            method = "exact" if exact else "partial"
            score = 1.0 if exact else len(phrase) / sum(len(self.token_text[t]) for t in range(*span))
            if span not in found or METHOD_RANK[method] < METHOD_RANK[found[span].method]:
                found[span] = Match(span[0], span[1], method, score, phrase)
            start = self.text.find(phrase, start + 1)
        return sorted(found.values(), key=lambda m: m.start)

    def fuzzy(self, phrase: str, threshold: float) -> list[Match]:
        """Best token windows by similarity ratio, all of them tied at the best score >= threshold."""
        if not phrase or threshold >= 1.0:
            return []
        n = len(self.tokens)
        target = len(phrase)
        best: list[Match] = []
        best_score = threshold
        for i in range(n):
            window = ""
            for j in range(i, n):
                window += self.token_text[j]
                if len(window) > 2 * target + 2:
                    break
                if len(window) * 2 < target:
                    continue
                score = SequenceMatcher(None, phrase, window, autojunk=False).ratio()
                if score > best_score + 1e-9:
                    best_score, best = score, [Match(i, j + 1, "fuzzy", score, phrase)]
                elif abs(score - best_score) <= 1e-9 and best and best[0].score == score:
                    best.append(Match(i, j + 1, "fuzzy", score, phrase))
        return best


def locate(index: SentenceIndex, candidates: Sequence[str], fuzzy_threshold: float) -> list[Match]:
    """Occurrences of the best candidate: the first candidate with an exact match wins, then partial, then fuzzy."""
    folded = [(fold(c), c) for c in candidates]
    for wanted in ("exact", "partial"):
        for phrase, raw in folded:
            matches = [replace(m, candidate_raw=raw) for m in index.occurrences(phrase) if m.method == wanted]
            if matches:
                return matches
    for phrase, raw in folded:
        matches = [replace(m, candidate_raw=raw) for m in index.fuzzy(phrase, fuzzy_threshold)]
        if matches:
            return matches
    return []


# --- placing all entities of a sentence --------------------------------------------------------------------------


def place_entities(
    tokens: Sequence[str],
    lang: str,
    answers: Sequence[tuple[EnglishEntity, str]],
    *,
    fuzzy_threshold: float = 0.8,
    max_answer_chars: int = 400,
) -> list[Placement]:
    """Place every (entity, answer) pair on the sentence; one :class:`Placement` per pair, in input order."""
    index = SentenceIndex(tokens, lang)
    results: list[Placement | None] = [None] * len(answers)
    located: list[tuple[int, list[Match]]] = []
    for i, (entity, answer) in enumerate(answers):
        if not answer or not answer.strip():
            results[i] = Placement(entity, answer, reason="empty_answer")
            continue
        if len(answer) > max_answer_chars:
            results[i] = Placement(entity, answer, reason="answer_too_long")
            continue
        candidates = answer_candidates(answer, lang)
        matches = locate(index, candidates, fuzzy_threshold) if candidates else []
        if not candidates:
            results[i] = Placement(entity, answer, reason="empty_answer")
        elif not matches:
            results[i] = Placement(entity, answer, reason="not_found")
        else:
            located.append((i, matches))

    def priority(item: tuple[int, list[Match]]):
        i, matches = item
        best = matches[0]
        return (METHOD_RANK[best.method], -(best.end - best.start), -len(best.candidate), answers[i][0].label,
                best.candidate, matches[0].start)

    taken: list[Span] = []
    for i, matches in sorted(located, key=priority):
        entity, answer = answers[i]
        chosen = None
        for match in sorted(matches, key=lambda m: (occurrence_penalty(index, m), m.start)):
            span = Span(match.start, match.end, entity.label)
            if not any(span.overlaps(t) for t in taken):
                chosen = (span, match)
                break
        if chosen is None:
            first = Span(matches[0].start, matches[0].end, entity.label)
            reason = "duplicate" if first in taken else "overlap"
            results[i] = Placement(entity, answer, reason=reason, method=matches[0].method)
            continue
        taken.append(chosen[0])
        results[i] = Placement(entity, answer, span=chosen[0], method=chosen[1].method)
    return results  # type: ignore[return-value]


SUFFIXES_AFTER_NAME = frozenset("语語人族文系式")
"""Characters that turn a zh/ja name into another word when they follow it directly (西班牙语 'Spanish', 日本人
'Japanese person'): an occurrence followed by one is tried after the others."""


def occurrence_penalty(index: SentenceIndex, match: Match) -> int:
    """0 for the likeliest occurrence of a repeated phrase; higher values are tried later.

    Measured on WikiANN dev (benchmarks/alignment_ceiling.py), where only the linked mention of a repeated name is
    labelled: prefer occurrences whose surface equals the answer before ones equal only after folding (科泽/科澤),
    for zh/ja prefer occurrences not followed by a word-forming suffix, and not inside a bold ``'''title'''``.
    """
    penalty = 0
    surface = "".join(index.tokens[match.start : match.end])
    if unicodedata.normalize("NFKC", surface).casefold().replace(" ", "") != _plain(match.candidate_raw):
        penalty += 1
    if is_character_tokenised(index.lang):
        following = index.tokens[match.end] if match.end < len(index.tokens) else ""
        if following[:1] in SUFFIXES_AFTER_NAME:
            penalty += 1
        before = "".join(index.tokens[: match.start])
        if before.count("'''") % 2 == 1:
            penalty += 1
    return penalty


def _plain(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def tags_from_placements(placements: Sequence[Placement], length: int) -> tuple[str, ...]:
    return tags_from_spans([p.span for p in placements if p.span is not None], length)
