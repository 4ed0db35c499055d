"""Translations with a known word alignment, built from a tagged sentence: for measuring projection without a
translation model (``benchmarks/projection_noise.py``) and for testing the aligners on real sentences.

The "translation" of a tagged sentence is the sentence itself, transformed the way translations differ, each step
keeping track of which source token every target token came from:

* **reordered spans**: the sentence is cut at a token boundary outside every entity and the two halves swapped
  (SVO -> OVS-like movement of whole phrases);
* **inserted function words**: a short token with no source (``la``, ``de``, ...) is inserted between tokens,
  never inside an entity: an unaligned target word;
* **deleted function words**: a short source token outside entities is dropped: an unaligned source word;
* **split tokens**: a token of six or more characters becomes two tokens, both linked to it (one-to-many);
* **merged tokens**: two neighbouring tokens of the same entity (or both outside entities) become one (many-to-one).

The gold tags of the target follow from the construction; the gold links are ``(source index, target index)``.
:func:`corrupt` then damages a share of the links: a chosen link is deleted or moved to a wrong target token.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from eat_core.bio import spans_from_tags, tags_from_spans
from eat_core.projection.links import Links
from eat_core.types import Span

FUNCTION_WORDS = ("la", "de", "el", "ta", "ni", "ko", "wa", "na")
"""Made-up short words a transformed sentence gains (never part of an entity, aligned to nothing)."""


@dataclass(frozen=True)
class SyntheticPair:
    source: tuple[str, ...]
    source_tags: tuple[str, ...]
    target: tuple[str, ...]
    target_tags: tuple[str, ...]
    links: Links


def _label_of(tags: Sequence[str], i: int) -> str:
    return tags[i][2:] if tags[i] != "O" else "O"


def synthetic_pair(tokens: Sequence[str], tags: Sequence[str], rng: random.Random, *, insert_p: float = 0.15,
                   delete_p: float = 0.1, split_p: float = 0.2, merge_p: float = 0.1) -> SyntheticPair:
    """A transformed copy of a tagged sentence and its gold alignment (see the module docstring)."""
    source, source_tags = tuple(tokens), tuple(tags)
    spans = spans_from_tags(source_tags)
    entity_of = {i: k for k, s in enumerate(spans) for i in range(s.start, s.end)}
    # each target item: (text, source indices, entity number or None)
    items: list[tuple[str, tuple[int, ...], int | None]] = [(t, (i,), entity_of.get(i)) for i, t in enumerate(source)]
    # deleted function words (outside entities, short)
    items = [it for it in items if not (it[2] is None and len(it[0]) <= 3 and rng.random() < delete_p)] or items
    # merged neighbours (same entity, or both outside): many-to-one
    merged: list[tuple[str, tuple[int, ...], int | None]] = []
    for it in items:
        if merged and merged[-1][2] == it[2] and len(merged[-1][1]) == 1 and rng.random() < merge_p:
            prev = merged.pop()
            merged.append((prev[0] + it[0], prev[1] + it[1], it[2]))
        else:
            merged.append(it)
    # split long tokens: one-to-many
    split: list[tuple[str, tuple[int, ...], int | None]] = []
    for text, src, ent in merged:
        if len(text) >= 6 and rng.random() < split_p:
            cut = len(text) // 2
            split += [(text[:cut], src, ent), (text[cut:], src, ent)]
        else:
            split.append((text, src, ent))
    # reorder: swap the halves at a boundary outside every entity
    cuts = [k for k in range(1, len(split)) if split[k][2] is None or split[k][2] != split[k - 1][2]]
    if cuts and rng.random() < 0.5:
        k = rng.choice(cuts)
        split = split[k:] + split[:k]
    # inserted function words, never inside an entity
    target: list[tuple[str, tuple[int, ...], int | None]] = []
    for k, it in enumerate(split):
        inside = k > 0 and it[2] is not None and split[k - 1][2] == it[2]
        if not inside and rng.random() < insert_p:
            target.append((rng.choice(FUNCTION_WORDS), (), None))
        target.append(it)
    links = frozenset((i, j) for j, (_, src, _) in enumerate(target) for i in src)
    positions: dict[int, list[int]] = {}
    for j, (_, _, ent) in enumerate(target):
        if ent is not None:
            positions.setdefault(ent, []).append(j)
    target_spans = [Span(min(p), max(p) + 1, spans[k].label) for k, p in sorted(positions.items())]
    return SyntheticPair(source, source_tags, tuple(t for t, _, _ in target), tags_from_spans(target_spans,
                                                                                                len(target)), links)


def corrupt(links: Links, n_source: int, n_target: int, share: float, rng: random.Random) -> Links:
    """``share`` of the links (rounded, at random) damaged: about half deleted, half moved to a target token the
    source word is not linked to (so the damaged links never coincide with gold ones)."""
    ordered = sorted(links)
    n = round(share * len(ordered))
    if not n or n_target < 2:
        return frozenset(ordered)
    chosen = set(rng.sample(range(len(ordered)), n))
    out = set()
    for k, (i, j) in enumerate(ordered):
        if k not in chosen:
            out.add((i, j))
        elif rng.random() < 0.5:
            gold = {t for s, t in links if s == i}
            wrong = [t for t in range(n_target) if t not in gold]
            if wrong:  # moved onto a target its source word is not linked to
                out.add((i, rng.choice(wrong)))
    return frozenset(out)
