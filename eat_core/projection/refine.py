"""Refining a word alignment with a back-translation (Politov et al., NoDaLiDa 2025, the first of their two
enhancements), as implemented here.

The route has the English source ``S`` (tokens with gold entities), its translation ``T`` and the back-translation
``B`` of ``T`` into English. Besides the forward alignment ``F`` (``S``-``T``, from the word aligner), a second,
independent estimate of the same links goes through the back-translation:

1. ``M``: ``S``-``B``, a monolingual English-English alignment (:func:`monolingual_links`: equal words after case
   folding and NFKC, matched in order by the longest common subsequence, then the remaining equal words by nearest
   relative position): reliable, because both sides are English;
2. ``K``: ``B``-``T``, from the same word aligner as ``F``;
3. ``C = M ∘ K``: source word ``s`` links target word ``t`` when ``s`` equals a back-translated word aligned to ``t``.

``F`` and ``C`` are then combined (``mode``):

* ``intersect``: ``F ∩ C``: keep only forward links the back-translation confirms (precision);
* ``union``: ``F ∪ C``: add the links the back-translation found (recall);
* ``grow`` (default): ``F ∩ C`` grown with neighbouring links of ``F ∪ C``, then union links of words still
  unaligned on both sides (grow-diag-final-and with ``C`` in the role of the reverse direction);
* ``none``: ``F`` unchanged.

When ``C`` is empty (no back-translation, or nothing in it aligned) every mode returns ``F``: refinement adds
evidence, it never turns a missing back-translation into a lost sentence.

What we could not check: the paper's text beyond its abstract was not available to us, so the combination rule
above is our reading of "refining word alignments using back-translation" (intersection/union of the forward
alignment with the alignment through the back-translation), not a copy of the authors' rule.
``benchmarks/projection_noise.py`` measures each mode against alignment noise.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence

from eat_core.projection.links import Links, compose, grow_diag_final_and

REFINEMENTS: tuple[str, ...] = ("grow", "intersect", "union", "none")
DEFAULT_REFINEMENT = "grow"


def _norm(token: str) -> str:
    text = unicodedata.normalize("NFKC", token).casefold()
    core = "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "S")))
    return core or text


def monolingual_links(left: Sequence[str], right: Sequence[str]) -> Links:
    """Links between two same-language token lists: equal words (case-folded, NFKC, punctuation ignored unless the
    token is only punctuation) in order along their longest common subsequence, then leftover equal words paired by
    nearest relative position."""
    a, b = [_norm(t) for t in left], [_norm(t) for t in right]
    links: set[tuple[int, int]] = set()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for block in matcher.get_matching_blocks():
        links |= {(block.a + k, block.b + k) for k in range(block.size)}
    used_a = {i for i, _ in links}
    used_b = {j for _, j in links}
    for i, word in enumerate(a):
        if i in used_a:
            continue
        free = [j for j, other in enumerate(b) if other == word and j not in used_b]
        if free:
            j = min(free, key=lambda j: abs(j / max(len(b), 1) - i / max(len(a), 1)))
            links.add((i, j))
            used_a.add(i)
            used_b.add(j)
    return frozenset(links)


def through_backtranslation(source: Sequence[str], back: Sequence[str], back_to_target: Links) -> Links:
    """``C``: source -> target links through the back-translation (``back_to_target``: back-translation word ->
    translation word, from the word aligner)."""
    return compose(monolingual_links(source, back), back_to_target)


def refine(forward: Links, composed: Links, mode: str = DEFAULT_REFINEMENT) -> Links:
    """Combine the forward alignment with the one through the back-translation (see the module docstring)."""
    if mode not in REFINEMENTS:
        raise ValueError(f"unknown refinement {mode!r}; use one of {', '.join(REFINEMENTS)}")
    if mode == "none" or not composed:
        return forward
    if mode == "intersect":
        return frozenset(forward & composed)
    if mode == "union":
        return frozenset(forward | composed)
    return grow_diag_final_and(forward, composed)
