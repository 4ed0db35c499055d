"""Word alignments as sets of links, and the classic ways of combining the two directions of an aligner.

A link ``(i, j)`` says source word ``i`` and target word ``j`` translate each other (0-based, over the two token
lists). ``Links`` is a frozenset of them, so combining alignments is set arithmetic. Pharaoh text (``"0-0 1-2"``) is
what eflomal, fast_align and GIZA++ write.

Symmetrisation (Och and Ney, 2003; Koehn et al., 2005) of a forward (source -> target) and a reverse alignment:
``intersection`` (precise), ``union`` (complete), and ``grow-diag-final-and`` (the intersection, grown with union
links next to it, then union links of words still unaligned on both sides), the default of phrase-based SMT and of
eflomal's own ``align.py`` recipe.
"""

from __future__ import annotations

from collections.abc import Iterable

Links = frozenset[tuple[int, int]]

_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def parse_pharaoh(line: str) -> Links:
    """``"0-0 1-2"`` -> ``{(0, 0), (1, 2)}``; an empty line is no link."""
    out = set()
    for item in line.split():
        left, _, right = item.partition("-")
        out.add((int(left), int(right)))
    return frozenset(out)


def to_pharaoh(links: Iterable[tuple[int, int]]) -> str:
    return " ".join(f"{i}-{j}" for i, j in sorted(links))


def grow_diag_final_and(forward: Links, reverse: Links) -> Links:
    """The intersection, grown with neighbouring union links that align a word not yet aligned, then ("final-and")
    union links whose source *and* target words are both still unaligned."""
    union = forward | reverse
    links = set(forward & reverse)
    src = {i for i, _ in links}
    tgt = {j for _, j in links}
    grown = True
    while grown:
        grown = False
        for i, j in sorted(links):
            for di, dj in _NEIGHBOURS:
                cand = (i + di, j + dj)
                if cand in union and cand not in links and (cand[0] not in src or cand[1] not in tgt):
                    links.add(cand)
                    src.add(cand[0])
                    tgt.add(cand[1])
                    grown = True
    for direction in (forward, reverse):
        for i, j in sorted(direction):
            if i not in src and j not in tgt:
                links.add((i, j))
                src.add(i)
                tgt.add(j)
    return frozenset(links)


SYMMETRISATIONS = {
    "intersection": lambda f, r: frozenset(f & r),
    "union": lambda f, r: frozenset(f | r),
    "grow-diag-final-and": grow_diag_final_and,
}
"""Name -> function of (forward, reverse) links; both given as (source, target) pairs."""


def compose(left: Links, right: Links) -> Links:
    """``{(a, c) : (a, b) in left, (b, c) in right}``: a source -> pivot and a pivot -> target alignment chained."""
    by_pivot: dict[int, list[int]] = {}
    for b, c in right:
        by_pivot.setdefault(b, []).append(c)
    return frozenset((a, c) for a, b in left for c in by_pivot.get(b, ()))


def invert(links: Links) -> Links:
    """Swap the two sides: a target -> source alignment as source -> target."""
    return frozenset((j, i) for i, j in links)
