"""Word-alignment projection, the pure parts: links, refinement, candidates, matching, one sentence projected.

Case tables with literal expected values; the aligners that need eflomal or an encoder are in
``tests/test_projection_aligners.py``.
"""

from __future__ import annotations

import random

import pytest

from eat_core.bio import spans_from_tags
from eat_core.errors import ConfigError
from eat_core.projection.aligners import ALIGNERS, build_aligner, check_aligner
from eat_core.projection.aligners.embedding import argmax_links, itermax_links
from eat_core.projection.candidates import candidate_spans
from eat_core.projection.links import compose, grow_diag_final_and, invert, parse_pharaoh, to_pharaoh
from eat_core.projection.matching import MATCHERS, overlap_score, score_matrix
from eat_core.projection.project import project_entities
from eat_core.projection.refine import monolingual_links, refine, through_backtranslation
from eat_core.projection.synthetic import corrupt, synthetic_pair
from eat_core.types import Span


def test_pharaoh_round_trip_and_set_operations():
    links = parse_pharaoh("0-0 2-1 1-2")
    assert links == {(0, 0), (1, 2), (2, 1)} and to_pharaoh(links) == "0-0 1-2 2-1"
    assert parse_pharaoh("") == frozenset()
    assert compose(frozenset({(0, 5), (1, 6)}), frozenset({(5, 9), (6, 8), (6, 7)})) == {(0, 9), (1, 8), (1, 7)}
    assert invert(frozenset({(0, 3)})) == {(3, 0)}


def test_grow_diag_final_and_grows_from_the_intersection():
    forward = frozenset({(0, 0), (1, 1), (2, 3)})
    reverse = frozenset({(0, 0), (1, 1), (1, 2), (3, 3)})
    # grown from the intersection {(0, 0), (1, 1)}: (1, 2) neighbours (1, 1) and aligns target 2, then (2, 3)
    # neighbours (1, 2) and aligns source 2, then (3, 3) neighbours (2, 3) and aligns source 3
    assert grow_diag_final_and(forward, reverse) == {(0, 0), (1, 1), (1, 2), (2, 3), (3, 3)}
    # final-and: a union link that is nobody's neighbour joins only when both its words are unaligned
    assert grow_diag_final_and(frozenset({(0, 0)}), frozenset({(0, 0), (3, 5), (0, 7)})) == {(0, 0), (3, 5)}


def test_argmax_is_mutual_nearest_neighbours_and_itermax_adds_recall():
    sim = [[0.9, 0.1, 0.0],
           [0.8, 0.2, 0.75],
           [0.1, 0.6, 0.0]]
    assert argmax_links(sim) == {(0, 0), (2, 1)}  # row 1's best is column 0, whose best is row 0
    # IterMax: row 1 against column 0 (aligned already) counts 0.9 * 0.8 = 0.72 < 0.75 for the free column 2
    assert itermax_links(sim) == {(0, 0), (2, 1), (1, 2)}
    assert argmax_links([[0.0, 0.0]]) == frozenset()  # a word with no vector is never linked


def test_monolingual_links_match_equal_words_in_order():
    links = monolingual_links(["Barack", "Obama", "visited", "Paris", "."], ["Obama", "went", "to", "paris", "."])
    assert links == {(1, 0), (3, 3), (4, 4)}
    assert monolingual_links(["a", "b", "a"], ["a", "a"]) == {(0, 0), (2, 1)}


@pytest.mark.parametrize(("mode", "expected"), [
    ("none", {(0, 0), (1, 5), (2, 2)}),
    ("intersect", {(0, 0), (2, 2)}),
    ("union", {(0, 0), (1, 5), (1, 1), (2, 2)}),
    ("grow", {(0, 0), (1, 1), (2, 2)}),
])
def test_refinement_modes(mode, expected):
    forward = frozenset({(0, 0), (1, 5), (2, 2)})  # (1, 5) is a wrong link
    composed = frozenset({(0, 0), (1, 1), (2, 2)})
    assert refine(forward, composed, mode) == expected
    assert refine(forward, frozenset(), mode) == forward  # no back-translation: nothing lost


def test_refinement_through_a_back_translation():
    source = ["Obama", "visited", "Paris"]
    back = ["Obama", "saw", "Paris"]
    back_to_target = frozenset({(0, 2), (2, 0)})  # the target has Paris first
    assert through_backtranslation(source, back, back_to_target) == {(0, 2), (2, 0)}
    with pytest.raises(ValueError, match="unknown refinement"):
        refine(frozenset(), frozenset({(0, 0)}), "both")


def test_candidates_start_and_end_on_aligned_tokens():
    assert candidate_spans({2, 3}, 6) == [(2, 3), (2, 4), (3, 4)]
    assert candidate_spans({0, 9, 40}, 10) == [(0, 1), (0, 10), (9, 10)]
    assert candidate_spans({0, 5}, 10, max_words=3) == [(0, 1), (5, 6)]
    assert (0, 43) in candidate_spans(range(43), 50)  # no cap by default: WikiANN has 43-word titles


@pytest.mark.parametrize(("entity", "candidate", "links", "score"), [
    ((0, 2), (1, 3), {(0, 1), (1, 2)}, 1.0),  # one to one
    ((0, 2), (4, 5), {(0, 4), (1, 4)}, 1.0),  # New York -> NY
    ((0, 2), (1, 4), {(0, 1), (1, 2)}, 0.8),  # one token too many: 2 * 2 / 5
    ((0, 1), (3, 4), {(0, 1)}, 0.0),  # no link between them
])
def test_overlap_score(entity, candidate, links, score):
    assert overlap_score(entity, candidate, frozenset(links)) == pytest.approx(score)


def test_score_matrix_agrees_with_the_definition():
    rng = random.Random(3)
    for _ in range(100):
        links = frozenset((rng.randrange(6), rng.randrange(9)) for _ in range(8))
        entities = [(0, 2), (3, 5), (5, 6)]
        candidates = [(x, y) for x in range(9) for y in range(x + 1, 10)]
        matrix = score_matrix(entities, candidates, links)
        assert all(matrix[e][c] == pytest.approx(overlap_score(entities[e], candidates[c], links))
                   for e in range(3) for c in range(len(candidates)))


def test_greedy_and_optimal_differ_on_a_constructed_case():
    scores = [[0.9, 0.8], [0.85, 0.0]]
    candidates = [(0, 2), (3, 5)]
    assert MATCHERS.get("greedy").match(scores, candidates) == {0: 0}
    assert MATCHERS.get("optimal").match(scores, candidates) == {0: 1, 1: 0}


def test_optimal_respects_overlapping_candidates():
    # the plain assignment would give entity 0 the second candidate and entity 1 the first, which overlap
    scores = [[0.9, 0.5, 0.0], [0.8, 0.7, 0.3]]
    candidates = [(0, 3), (2, 5), (6, 7)]
    assert MATCHERS.get("optimal").match(scores, candidates) == {0: 0, 1: 2}
    assert MATCHERS.get("greedy").match(scores, candidates) == {0: 0, 1: 2}


def test_the_optimum_is_never_below_greedy_and_never_overlaps():
    rng = random.Random(5)
    for _ in range(300):
        n_e, n_c = rng.randint(1, 4), rng.randint(1, 6)
        candidates = [(a, a + rng.randint(1, 3)) for a in (rng.randrange(8) for _ in range(n_c))]
        scores = [[rng.choice([0.0, rng.random()]) for _ in range(n_c)] for _ in range(n_e)]
        total = {}
        for name in ("greedy", "optimal"):
            chosen = MATCHERS.get(name).match(scores, candidates)
            picked = [candidates[c] for c in chosen.values()]
            assert not any(p[0] < q[1] and q[0] < p[1] for k, p in enumerate(picked) for q in picked[k + 1:])
            total[name] = sum(scores[e][c] for e, c in chosen.items())
        assert total["optimal"] >= total["greedy"] - 1e-9


def test_project_entities_gives_tags_and_a_reason_per_lost_entity():
    matcher = MATCHERS.get("optimal")
    placed = project_entities([Span(0, 2, "PER")], 4, frozenset({(0, 1), (1, 2)}), matcher)
    assert placed.tags == ("O", "B-PER", "I-PER", "O") and placed.failures == ()
    assert placed.outcomes[0].target == Span(1, 3, "PER") and placed.outcomes[0].score == 1.0
    lost = project_entities([Span(0, 1, "PER"), Span(2, 3, "LOC")], 3, frozenset({(0, 0)}), matcher)
    assert lost.tags == ("B-PER", "O", "O") and lost.failures == ("align_no_link",)
    # two entities linked to the same token: one gets it, the other is unmatched
    clash = project_entities([Span(0, 1, "PER"), Span(1, 2, "LOC")], 2, frozenset({(0, 0), (1, 0)}), matcher)
    assert sorted(o.reason or "placed" for o in clash.outcomes) == ["align_unmatched", "placed"]


def test_synthetic_pairs_project_perfectly_with_their_gold_links():
    rng = random.Random(11)
    tokens = ("The", "University", "of", "Cambridge", "lies", "in", "Cambridgeshire", ",", "England", ".")
    tags = ("O", "B-ORG", "I-ORG", "I-ORG", "O", "O", "B-LOC", "O", "B-LOC", "O")
    for _ in range(50):
        pair = synthetic_pair(tokens, tags, rng, insert_p=0.5, delete_p=0.5, split_p=0.5, merge_p=0.5)
        assert len(spans_from_tags(pair.target_tags)) == 3
        projected = project_entities(spans_from_tags(tags), len(pair.target), pair.links, MATCHERS.get("greedy"))
        assert projected.tags == pair.target_tags
        noisy = corrupt(pair.links, len(tokens), len(pair.target), 0.5, rng)
        assert len(noisy & pair.links) == len(pair.links) - round(0.5 * len(pair.links))


def test_aligner_names_are_checked_with_one_line():
    assert set(ALIGNERS) == {"eflomal", "embedding", "embedding-itermax"}
    with pytest.raises(ConfigError, match=r"--aligner: unknown aligner 'eflomol'; did you mean 'eflomal'\?"):
        check_aligner("eflomol", None)
    with pytest.raises(ConfigError, match="--aligner-model: the eflomal aligner .* takes no model"):
        check_aligner("eflomal", "xlm-roberta-base")
    lazy = build_aligner("embedding", "tiny:xlmr")
    assert lazy._loaded is None and lazy.model_name == "tiny:xlmr"  # nothing loaded until it aligns
