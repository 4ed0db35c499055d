"""The one interface of a word aligner: sentence pairs of tokens in, one set of links per pair out.

Contract, by example::

    aligner.align([(("Paris", "is", "big"), ("Paris", "ist", "groß"))])
    -> [frozenset({(0, 0), (1, 1), (2, 2)})]

One alignment per pair, in order; a link ``(i, j)`` joins source token ``i`` and target token ``j``. A pair with an
empty side has no link. The base class owns these guarantees (and drops out-of-range links an aligner might
return); subclasses implement :meth:`_align` over the non-empty pairs, all at once (eflomal learns from the batch).
``identity()`` is everything that changes the answers: it goes into the alignment cache key.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence

from eat_core.projection.links import Links

Pair = tuple[tuple[str, ...], tuple[str, ...]]


class WordAligner(ABC):
    name: str = "abstract"

    def __init__(self) -> None:
        self.seconds = 0.0
        self.pairs = 0

    @abstractmethod
    def identity(self) -> dict:
        """What makes this aligner's answers differ (name, settings, weights fingerprint)."""

    @property
    def corpus_dependent(self) -> bool:
        """True when a pair's alignment depends on the other pairs of the batch (a statistical aligner)."""
        return False

    @abstractmethod
    def _align(self, pairs: Sequence[Pair]) -> list[Links]: ...

    def align(self, pairs: Sequence[Pair]) -> list[Links]:
        pairs = [(tuple(s), tuple(t)) for s, t in pairs]
        todo = [k for k, (s, t) in enumerate(pairs) if s and t]
        out: list[Links] = [frozenset() for _ in pairs]
        if not todo:
            return out
        start = time.perf_counter()
        found = self._align([pairs[k] for k in todo])
        self.seconds += time.perf_counter() - start
        self.pairs += len(todo)
        if len(found) != len(todo):
            raise RuntimeError(f"{self.name} returned {len(found)} alignments for {len(todo)} pairs")
        for k, links in zip(todo, found, strict=True):
            s, t = pairs[k]
            out[k] = frozenset((i, j) for i, j in links if 0 <= i < len(s) and 0 <= j < len(t))
        return out
