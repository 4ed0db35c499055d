"""One sentence pair: English entities, a word alignment, and the translation's IOB2 tags with a reason for each
entity that could not be placed.

Steps: the n-gram candidates of the translation (``candidates.py``), the overlap score of every (entity, candidate)
pair and the assignment of entities to candidates (``matching.py``), then the tags. Reasons, one per lost entity:

* ``align_no_link``: no word of the entity is linked to any target token;
* ``align_unmatched``: the entity had candidates, but the assignment gave them to other entities (their candidates
  overlap), so it has none.

Contract, by example::

    project_entities([Span(0, 2, "PER")], 4, frozenset({(0, 1), (1, 2)}), MATCHERS.get("optimal"))
    -> Projected(tags=("O", "B-PER", "I-PER", "O"), outcomes=(Outcome(Span(0, 2, "PER"), Span(1, 3, "PER"),
       1.0, None),))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eat_core.bio import tags_from_spans
from eat_core.projection.candidates import candidate_spans
from eat_core.projection.links import Links
from eat_core.projection.matching import Matcher, score_matrix
from eat_core.types import Span


@dataclass(frozen=True)
class Outcome:
    """Where one source entity landed (``target``, with its score), or why it did not (``reason``)."""

    source: Span
    target: Span | None
    score: float = 0.0
    reason: str | None = None


@dataclass(frozen=True)
class Projected:
    tags: tuple[str, ...]
    outcomes: tuple[Outcome, ...]

    @property
    def failures(self) -> tuple[str, ...]:
        """One reason per lost entity, in entity order."""
        return tuple(o.reason for o in self.outcomes if o.reason)


TIE_BREAK = 1e-6
"""Weight of coverage in the ranking: far below any difference of two overlap scores (at least 1 / 256**2 apart on
sentences of up to 128 tokens), so it only decides between equal scores."""


def _with_tie_break(scores: list[list[float]], spans: Sequence[tuple[int, int]],
                    candidates: Sequence[tuple[int, int]], links: Links) -> list[list[float]]:
    """Scores plus ``TIE_BREAK`` times the share of the entity's linked target tokens a candidate covers: a word
    split into two target tokens scores 1 on either half and on both, and the whole is the right answer."""
    out = []
    for (a, b), row in zip(spans, scores, strict=True):
        linked = sorted({j for i, j in links if a <= i < b})
        out.append([s + TIE_BREAK * sum(x <= j < y for j in linked) / len(linked) if s > 0 else s
                    for s, (x, y) in zip(row, candidates, strict=True)])
    return out


def project_entities(entities: Sequence[Span], n_target: int, links: Links, matcher: Matcher,
                     max_words: int | None = None) -> Projected:
    """Place ``entities`` (spans of the source tokens) on a target of ``n_target`` tokens through ``links``."""
    spans = [(e.start, e.end) for e in entities]
    anchors = {j for i, j in links for a, b in spans if a <= i < b}
    candidates = candidate_spans(anchors, n_target, max_words)
    scores = score_matrix(spans, candidates, links)
    chosen = matcher.match(_with_tie_break(scores, spans, candidates, links), candidates) if candidates else {}
    outcomes = []
    for k, entity in enumerate(entities):
        if k in chosen:
            start, end = candidates[chosen[k]]
            outcomes.append(Outcome(entity, Span(start, end, entity.label), scores[k][chosen[k]]))
        elif any(s > 0 for s in (scores[k] if candidates else ())):
            outcomes.append(Outcome(entity, None, reason="align_unmatched"))
        else:
            outcomes.append(Outcome(entity, None, reason="align_no_link"))
    placed = [o.target for o in outcomes if o.target is not None]
    return Projected(tags_from_spans(placed, n_target), tuple(outcomes))
