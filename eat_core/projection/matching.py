"""Matching source entities to target candidates (Politov et al., NoDaLiDa 2025, their second enhancement).

**Score.** An entity ``e`` (source words) and a candidate ``c`` (target tokens) score the Dice overlap of the links
between them::

    score(e, c) = (|words of e linked into c| + |tokens of c linked to e|) / (|e| + |c|)

which is ``2 * aligned / (|e| + |c|)`` for a one-to-one alignment, 1 for a perfect match, and stays at most 1 when
one word aligns to several (``New York`` -> ``NY``). A zero score is never matched.

**Assignment.** Each entity goes to at most one candidate, and the chosen candidates must not overlap (a token has
one tag). Two solvers, chosen by name (``--matching``):

* ``greedy``: the best-scoring pair first, then the best pair compatible with the ones taken, and so on (the
  paper's greedy approximation of its ILP);
* ``optimal``: the maximum total score. ``scipy.optimize.linear_sum_assignment`` solves the assignment without the
  overlap constraint; when its candidates do not overlap that is the optimum of the constrained problem too (the
  usual case), otherwise an exact branch-and-bound over the entities (candidates in descending score, bounded by
  the best remaining scores) solves it. This is the paper's ILP with at most one projection per entity.

Ties break towards the shorter candidate, then the earlier entity and position, so results are deterministic.

Contract, by example (the two solvers differ)::

    scores = [[0.9, 0.8], [0.85, 0.0]]; candidates = [(0, 2), (3, 5)]
    greedy  -> {0: 0}             (total 0.9: entity 1's only candidate is taken)
    optimal -> {0: 1, 1: 0}       (total 1.65)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from eat_core.projection.links import Links
from eat_core.registry import LazyRegistry

Scores = Sequence[Sequence[float]]


def overlap_score(entity: tuple[int, int], candidate: tuple[int, int], links: Links) -> float:
    """The Dice overlap of links between source words ``[a, b)`` and target tokens ``[x, y)``."""
    (a, b), (x, y) = entity, candidate
    inside = [(i, j) for i, j in links if a <= i < b and x <= j < y]
    if not inside:
        return 0.0
    return (len({i for i, _ in inside}) + len({j for _, j in inside})) / ((b - a) + (y - x))


def score_matrix(entities: Sequence[tuple[int, int]], candidates: Sequence[tuple[int, int]], links: Links
                 ) -> list[list[float]]:
    """:func:`overlap_score` of every (entity, candidate) pair, with prefix sums and bisection instead of a scan of
    every link per pair (the same numbers; the projection runs it for every sentence)."""
    from bisect import bisect_left

    n = max((y for _, y in candidates), default=0)
    by_source: dict[int, list[int]] = {}
    for i, j in links:
        by_source.setdefault(i, []).append(j)
    out = []
    for a, b in entities:
        words = [sorted(by_source[i]) for i in range(a, b) if i in by_source]
        linked = [0] * (n + 1)
        for targets in words:
            for j in targets:
                if j < n:
                    linked[j + 1] = 1
        prefix = [0] * (n + 1)
        for j in range(n):
            prefix[j + 1] = prefix[j] + linked[j + 1]
        row = []
        for x, y in candidates:
            tokens = prefix[y] - prefix[x]
            if not tokens:
                row.append(0.0)
                continue
            hits = sum(1 for targets in words if (k := bisect_left(targets, x)) < len(targets) and targets[k] < y)
            row.append((hits + tokens) / ((b - a) + (y - x)))
        out.append(row)
    return out


def _overlaps(one: tuple[int, int], other: tuple[int, int]) -> bool:
    return one[0] < other[1] and other[0] < one[1]


class Matcher(ABC):
    """Entities (rows) to candidates (columns): ``{entity index: candidate index}``, candidates non-overlapping."""

    name = "abstract"

    @abstractmethod
    def match(self, scores: Scores, candidates: Sequence[tuple[int, int]]) -> dict[int, int]: ...

    @staticmethod
    def _pairs(scores: Scores, candidates: Sequence[tuple[int, int]]) -> list[tuple[float, int, int]]:
        """Every positive pair as (score, entity, candidate), best first, ties to the shorter, earlier one."""
        pairs = [(s, e, c) for e, row in enumerate(scores) for c, s in enumerate(row) if s > 0]
        pairs.sort(key=lambda p: (-p[0], candidates[p[2]][1] - candidates[p[2]][0], p[1], candidates[p[2]][0]))
        return pairs


class GreedyMatcher(Matcher):
    name = "greedy"

    def match(self, scores: Scores, candidates: Sequence[tuple[int, int]]) -> dict[int, int]:
        chosen: dict[int, int] = {}
        for _, e, c in self._pairs(scores, candidates):
            if e in chosen or any(_overlaps(candidates[c], candidates[o]) for o in chosen.values()):
                continue
            chosen[e] = c
        return chosen


class OptimalMatcher(Matcher):
    name = "optimal"

    def match(self, scores: Scores, candidates: Sequence[tuple[int, int]]) -> dict[int, int]:
        if not scores or not candidates:
            return {}
        import numpy as np
        from scipy.optimize import linear_sum_assignment

        matrix = np.asarray(scores, dtype=float)
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        chosen = {int(e): int(c) for e, c in zip(rows, cols, strict=True) if matrix[e, c] > 0}
        picked = [candidates[c] for c in chosen.values()]
        if not any(_overlaps(p, q) for k, p in enumerate(picked) for q in picked[k + 1:]):
            return chosen
        return _branch_and_bound(matrix, candidates, self._pairs(scores, candidates))


def _branch_and_bound(matrix, candidates: Sequence[tuple[int, int]], pairs: list[tuple[float, int, int]]
                      ) -> dict[int, int]:
    """The exact optimum with non-overlapping candidates: entities in turn, each given one of its candidates (best
    first) or none, a branch cut when even the best remaining scores cannot beat the best total found."""
    options: dict[int, list[tuple[float, int]]] = {}
    for s, e, c in pairs:
        options.setdefault(e, []).append((s, c))
    entities = sorted(options, key=lambda e: -options[e][0][0])
    tail = [0.0] * (len(entities) + 1)
    for k in range(len(entities) - 1, -1, -1):
        tail[k] = tail[k + 1] + options[entities[k]][0][0]
    best: list = [-1.0, {}]

    def search(k: int, total: float, chosen: dict[int, int]) -> None:
        if total + tail[k] <= best[0] + 1e-12:
            return
        if k == len(entities):
            best[0], best[1] = total, dict(chosen)
            return
        e = entities[k]
        for s, c in options[e]:
            if not any(_overlaps(candidates[c], candidates[o]) for o in chosen.values()):
                chosen[e] = c
                search(k + 1, total + s, chosen)
                del chosen[e]
        search(k + 1, total, chosen)

    search(0, 0.0, {})
    return best[1]


MATCHERS = LazyRegistry("matching", {"greedy": GreedyMatcher(), "optimal": OptimalMatcher()})
"""``--matching``: the assignment of entities to candidates."""
DEFAULT_MATCHING = "optimal"
