"""IOB2 tag sequences <-> labelled spans, validation and repair."""

from __future__ import annotations

from collections.abc import Sequence

from eat_core.types import ENTITY_TYPES, Span

OUTSIDE = "O"


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, _, label = tag.partition("-")
    return prefix, label


def is_valid_tag(tag: str, types: Sequence[str] = ENTITY_TYPES) -> bool:
    prefix, label = split_tag(tag)
    return tag == OUTSIDE or (prefix in ("B", "I") and label in types)


def spans_from_tags(tags: Sequence[str]) -> list[Span]:
    """Strict IOB2 decoding: a span starts at ``B-X`` and continues over ``I-X``.

    An ``I-X`` that does not continue an ``X`` span starts a new one (seqeval's lenient reading); strict data has
    none, and readers repair or reject them before this point.
    """
    spans: list[Span] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        prefix, lab = split_tag(tag)
        continues = prefix == "I" and lab == label and start >= 0
        if start >= 0 and not continues:
            spans.append(Span(start, i, label))
            start, label = -1, ""
        if prefix in ("B", "I") and not continues:
            start, label = i, lab
    if start >= 0:
        spans.append(Span(start, len(tags), label))
    return spans


def tags_from_spans(spans: Sequence[Span], length: int) -> tuple[str, ...]:
    """IOB2 tags for non-overlapping spans; overlapping spans are a caller bug."""
    tags = [OUTSIDE] * length
    for span in sorted(spans):
        if span.end > length:
            raise ValueError(f"span {span} beyond sentence length {length}")
        if any(t != OUTSIDE for t in tags[span.start : span.end]):
            raise ValueError(f"span {span} overlaps another span")
        tags[span.start] = f"B-{span.label}"
        for i in range(span.start + 1, span.end):
            tags[i] = f"I-{span.label}"
    return tuple(tags)


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    """CoNLL-2003 ships IOB1 (``I-`` starts a span unless it follows the same type); rewrite to IOB2."""
    out: list[str] = []
    prev = OUTSIDE
    for tag in tags:
        prefix, label = split_tag(tag)
        if prefix == "I":
            _, prev_label = split_tag(prev)
            if prev == OUTSIDE or prev_label != label:
                tag = f"B-{label}"
        out.append(tag)
        prev = tag
    return out


def find_orphan_inside(tags: Sequence[str]) -> list[int]:
    """Indexes of ``I-X`` tags that do not continue an ``X`` span (invalid in strict IOB2)."""
    bad = []
    prev_label = ""
    for i, tag in enumerate(tags):
        prefix, label = split_tag(tag)
        if prefix == "I" and prev_label != label:
            bad.append(i)
        prev_label = label if prefix in ("B", "I") else ""
    return bad


def repair_orphan_inside(tags: Sequence[str]) -> tuple[list[str], list[int]]:
    """Turn every orphan ``I-X`` into ``B-X``, so that it starts an entity (conlleval's and seqeval's default
    reading); returns the new tags and the repaired indexes. ``["O", "I-PER", "I-PER"]`` ->
    ``(["O", "B-PER", "I-PER"], [1])``."""
    out = list(tags)
    bad = find_orphan_inside(out)
    for i in bad:
        out[i] = "B-" + split_tag(out[i])[1]
    return out, bad


def to_io(tags: Sequence[str]) -> list[str]:
    """IO scheme (``B-X``/``I-X`` -> ``X``): what the paper's token-level F1 scores."""
    return [split_tag(t)[1] or OUTSIDE for t in tags]
