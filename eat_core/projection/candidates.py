"""The n-gram candidates of a translation: the contiguous target spans a source entity may be projected onto.

Politov et al. (2025) extract n-gram candidates from the translation and match entities to them. Every n-gram is a
candidate in principle; we enumerate only spans whose first and last tokens are aligned to a word of *some* entity,
which loses no optimum: under the overlap score of ``matching.py`` a span that begins or ends on a token not aligned
to the entity scores strictly less than the same span without that token (the aligned counts stay, the length
shrinks), and a shorter span can only overlap fewer others. ``max_words`` can cap a candidate's length; by default
there is no cap (WikiANN has 43-word titles, and an English word may become several characters in zh/ja), since the
anchors already keep the candidates few: at most one per pair of aligned tokens.

Contract, by example (links from source words 0-1, the entity, to target tokens 2 and 3)::

    candidate_spans({2, 3}, 6) -> [(2, 3), (2, 4), (3, 4)]
"""

from __future__ import annotations

from collections.abc import Iterable


def candidate_spans(anchors: Iterable[int], n_target: int, max_words: int | None = None) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` spans of the target that start and end on an anchor (an aligned token)."""
    points = sorted({a for a in anchors if 0 <= a < n_target})
    cap = max_words or n_target
    return [(a, b + 1) for k, a in enumerate(points) for b in points[k:] if b + 1 - a <= cap]
