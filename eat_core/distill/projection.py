"""Label projection (translate-train, EasyProject-style): English labelled sentences translated with their entities.

Each English sentence of the labelled source (WikiANN-en train) is written with its gold entities in numbered markers
(CROP's ``labelled_sequence``: ``<1>Barack Obama</1> visited <2>Paris</2> .``), translated into the target language
by the LLM in one request (the ``crop_system``/``crop_translate`` prompts through ``DualTranslator.ask``, every call
cached by ``CachedLLM``), the markers are parsed (``parse_markers``), the translation is tokenised (whitespace with
punctuation split off; one token per character for zh/ja, as WikiANN) and each marked phrase becomes the tags of the
tokens it covers (a marker inside a word takes the whole word, as WikiANN tags Korean words with their particles).
A lost or mangled marker drops the sentence with the parser's reason.

Contract, by example::

    project_answer("<1>普京</1>访问了<2>巴黎</2>。", ["PER", "LOC"], "zh")
    -> Projection(tokens=("普", "京", "访", "问", "了", "巴", "黎", "。"),
                  tags=("B-PER", "I-PER", "O", "O", "O", "B-LOC", "I-LOC", "O"), failures=())
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eat_core.bio import spans_from_tags
from eat_core.data.segmentation import segments_words, split_unspaced
from eat_core.languages import is_character_tokenised, language_name
from eat_core.methods.crop_projection import _MARKER, labelled_sequence, parse_markers
from eat_core.types import EnglishEntity, Sentence, Span

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Projection:
    """A translated sentence, its tokens, the projected IOB2 tags, and why it cannot be used (empty when it can)."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    failures: tuple[str, ...] = ()


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith(("P", "S"))


def tokenise(text: str, lang: str) -> list[tuple[int, int]]:
    """Character spans of the tokens of ``text``: one per non-space character for zh/ja; elsewhere whitespace chunks
    with leading and trailing punctuation split off (one token per mark; a run of one repeated mark such as ``''``
    or ``**`` stays whole), internal punctuation kept (``l'Union``, ``2010-11``), and a full stop kept, except at
    the end of the text, on an abbreviation with an inner one (``U.S.``), an ordinal (``1.``) or an initial
    (``B.``), as WikiANN tokenises them. Runs of a script written without spaces (Thai, Burmese, ...) are then cut
    into words or characters as ``eat tag`` cuts them (``data.segmentation.split_unspaced``)."""
    spans: list[tuple[int, int]] = []
    if is_character_tokenised(lang):
        return [(i, i + 1) for i, ch in enumerate(text) if not ch.isspace()]
    chunks = list(re.finditer(r"\S+", text))
    for n, match in enumerate(chunks):
        start, end = match.span()
        chunk = text[start:end]
        if all(_is_punct(c) for c in chunk):
            spans += [(start, end)] if len(set(chunk)) == 1 else [(i, i + 1) for i in range(start, end)]
            continue
        head = start
        while _is_punct(text[head]):
            head += 1
        tail = end
        while _is_punct(text[tail - 1]):
            tail -= 1
        core = text[head:tail]
        if text[tail:end].startswith(".") and ("." in core or (n < len(chunks) - 1 and (
                core.isdigit() or (len(core) == 1 and core.isupper())))):
            tail += 1  # U.S., 1., B. keep their full stop
        spans += [(i, i + 1) for i in range(start, head)] + [(head, tail)] + [(i, i + 1) for i in range(tail, end)]
    if segments_words(lang):
        spans = [piece for s, e in spans for piece in split_unspaced(text[s:e], s)]
    return spans


def marker_spans(translation: str) -> dict[int, tuple[int, int]]:
    """Character span, in the text without markers, of each well-formed marker pair's phrase (whitespace trimmed).

    The same scan as ``parse_markers`` (whose plain text these offsets index), keeping where each phrase lies.
    """
    opened: dict[int, int] = {}
    spans: dict[int, tuple[int, int]] = {}
    plain_len, last = 0, 0
    plain_parts: list[str] = []
    for match in _MARKER.finditer(translation or ""):
        piece = translation[last : match.start()]
        plain_parts.append(piece)
        plain_len += len(piece)
        last = match.end()
        number = int(match.group(2).translate(str.maketrans("０１２３４５６７８９", "0123456789")))
        if not match.group(1):
            opened[number] = plain_len
        elif number in opened:
            spans[number] = (opened.pop(number), plain_len)
    plain = "".join(plain_parts) + (translation or "")[last:]
    trimmed = {}
    for number, (start, end) in spans.items():
        while start < end and plain[start].isspace():
            start += 1
        while end > start and plain[end - 1].isspace():
            end -= 1
        trimmed[number] = (start, end)
    return trimmed


_LABEL_PREFIX = re.compile(r"^\s*(?:\*\*)?[A-Za-z ]{2,30}(?:\*\*)?\s*[:：]\s*")


def clean_answer(text: str, lang: str) -> str:
    """The translation line of an answer: the first line holding a marker (else the first non-empty line), without
    a ``Chinese:`` / ``Translation:`` label or surrounding quotes."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return ""
    line = next((candidate for candidate in lines if _MARKER.search(candidate)), lines[0])
    prefix = _LABEL_PREFIX.match(line)
    if prefix and prefix.group(0).strip(" :：*").lower() in {language_name(lang).lower(), "translation",
                                                             f"{language_name(lang).lower()} translation"}:
        line = line[prefix.end():]
    return line.strip().strip('"“”「」').strip()


def project_answer(answer: str, labels: Sequence[str], lang: str) -> Projection:
    """Tokens and tags of a marked translation; ``labels[k]`` is the type of marker ``k + 1``."""
    text = clean_answer(answer, lang)
    if not text:
        return Projection((), (), ("empty_translation",))
    plain, marked = parse_markers(text, len(labels))
    spans = tokenise(plain, lang)
    tokens = tuple(plain[a:b] for a, b in spans)
    failures = [m.reason for m in marked if m.reason]
    numbers = {int(m.group(2).translate(str.maketrans("０１２３４５６７８９", "0123456789")))
               for m in _MARKER.finditer(text)}
    if any(n > len(labels) or n < 1 for n in numbers):
        failures.append("marker_unexpected")
    if failures:
        return Projection(tokens, ("O",) * len(tokens), tuple(dict.fromkeys(failures)))
    where = marker_spans(text)
    entity_spans: list[Span] = []
    for k, label in enumerate(labels, start=1):
        start, end = where[k]
        covered = [i for i, (a, b) in enumerate(spans) if a < end and start < b]
        if not covered:
            return Projection(tokens, ("O",) * len(tokens), ("marker_empty",))
        span = Span(covered[0], covered[-1] + 1, label)
        if any(span.overlaps(other) for other in entity_spans):
            return Projection(tokens, ("O",) * len(tokens), ("overlap",))
        entity_spans.append(span)
    tags = ["O"] * len(tokens)
    for span in entity_spans:
        tags[span.start] = f"B-{span.label}"
        for i in range(span.start + 1, span.end):
            tags[i] = f"I-{span.label}"
    return Projection(tokens, tuple(tags))


def english_request(sentence: Sentence) -> tuple[str, list[str]]:
    """The labelled English sequence of a gold-tagged English sentence and the type of each numbered marker."""
    starts = [0]
    for token in sentence.tokens:
        starts.append(starts[-1] + len(token) + 1)
    text = " ".join(sentence.tokens)
    entities = [EnglishEntity(text[starts[s.start] : starts[s.end] - 1], s.label, starts[s.start], starts[s.end] - 1)
                for s in spans_from_tags(sentence.tags or ())]
    return labelled_sequence(text, entities), [e.label for e in entities]


def project_shard(engine, sentences: Sequence[Sentence], lang: str) -> list[tuple[Sentence, Projection, int]]:
    """Translate a shard of English sentences with markers into ``lang`` (one batched request) and project them.

    ``engine`` is a ``DualTranslator`` (its ``ask`` renders the ``crop_*`` prompts and calls the cached LLM).
    Returns (source sentence, projection, markers expected) per sentence, in order.
    """
    requests = [english_request(s) for s in sentences]
    todo = [i for i, (_, labels) in enumerate(requests) if labels]
    answers, _ = engine.ask("crop_system", "crop_translate", [
        {"language": language_name(lang), "english": requests[i][0]} for i in todo])
    by_index = dict(zip(todo, answers, strict=True))
    out = []
    for i, sentence in enumerate(sentences):
        labels = requests[i][1]
        if i not in by_index:
            out.append((sentence, Projection((), (), ("no_entity",)), 0))
            continue
        answer = by_index[i]
        projection = project_answer(answer.text, labels, lang)
        if answer.truncated and not projection.failures:
            projection = Projection(projection.tokens, projection.tags, ("translation_truncated",))
        out.append((sentence, projection, len(labels)))
    return out
