"""Strict entity F1 with seqeval (IOB2, exact span and type), the convention most NER papers report."""

from __future__ import annotations

from collections.abc import Sequence

from eat_core.scoring.counts import Counts, Signature


def entity_counts(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> Counts:
    """Strict IOB2 entities as seqeval extracts them; exact (start, end, type) matches are true positives."""
    from seqeval.scheme import IOB2, Entities

    g_entities = Entities([list(s) for s in gold], IOB2, suffix=False).entities
    p_entities = Entities([list(s) for s in pred], IOB2, suffix=False).entities
    counts = Counts()
    for g_sent, p_sent in zip(g_entities, p_entities, strict=True):
        g_set = {e.to_tuple() for e in g_sent}
        p_set = {e.to_tuple() for e in p_sent}
        for _, label, _, _ in g_set & p_set:  # seqeval tuples are (sentence, tag, start, end)
            counts.tp[label] += 1
        for _, label, _, _ in p_set - g_set:
            counts.fp[label] += 1
        for _, label, _, _ in g_set - p_set:
            counts.fn[label] += 1
    return counts



def entity_signature() -> Signature:
    return Signature.make("entity_f1", {"mode": "strict", "scheme": "IOB2", "average": "micro"}, ["seqeval"])

