"""The word aligners run for real: eflomal on sentence pairs built from real WikiANN sentences (a transformed copy
with a known alignment: reordered halves, inserted and deleted function words, split and merged tokens), and the
SimAlign-style embedding aligner on a tiny XLM-R encoder built locally, through ``AutoModel.from_pretrained``."""

from __future__ import annotations

import random

import pytest
from support.paths import REPO

from eat_core.bio import spans_from_tags
from eat_core.data.wikiann import load_wikiann_local
from eat_core.projection.aligners import build_aligner
from eat_core.projection.matching import MATCHERS
from eat_core.projection.project import project_entities
from eat_core.projection.synthetic import synthetic_pair
from eat_core.scoring.counts import micro
from eat_core.scoring.token_f1 import token_counts

DATA = REPO / "tests" / "data" / "wikiann"


def real_pairs(seed: int = 7):
    """A transformed copy of every dev sentence of the 13 bundled WikiANN languages (520 pairs)."""
    rng = random.Random(seed)
    pairs = []
    for lang in sorted(p.name for p in DATA.iterdir() if p.is_dir()):
        sentences, _ = load_wikiann_local(DATA, lang, "dev")
        pairs += [synthetic_pair(s.tokens, s.tags, rng) for s in sentences]
    return pairs


@pytest.mark.slow
def test_eflomal_learns_the_alignment_of_real_sentence_pairs():
    """Measured here: precision 0.84-0.85, recall 0.83-0.85, projected token F1 95 (eflomal samples; margins kept).
    A small corpus is eflomal's hard case, and slow per pair (~14 s for these 520 pairs on a shared 2-core CPU)."""
    pairs = real_pairs()
    assert len(pairs) >= 500
    aligner = build_aligner("eflomal")
    found = aligner.align([(p.source, p.target) for p in pairs])
    gold = sum(len(p.links) for p in pairs)
    hits = sum(len(f & p.links) for f, p in zip(found, pairs, strict=True))
    predicted = sum(len(f) for f in found)
    precision, recall = hits / predicted, hits / gold
    assert precision > 0.75 and recall > 0.75, (precision, recall)
    projected = [project_entities(spans_from_tags(p.source_tags), len(p.target), links, MATCHERS.get("optimal")).tags
                 for p, links in zip(pairs, found, strict=True)]
    f1 = micro(token_counts([p.target_tags for p in pairs], projected, "token")).f1
    assert f1 > 88, f1
    assert aligner.identity()["aligner"] == "eflomal" and aligner.corpus_dependent and aligner.pairs == len(pairs)


def test_eflomal_gives_no_link_for_an_empty_side_and_keeps_the_order():
    aligner = build_aligner("eflomal")
    pairs = [(("a", "b"), ("a", "b")), ((), ("x",)), (("c",), ())] * 3
    found = aligner.align(pairs)
    assert [bool(f) for f in found] == [True, False, False] * 3


@pytest.mark.slow
def test_the_embedding_aligner_runs_a_tiny_encoder_through_automodel():
    """A random tiny XLM-R proves the code path, not quality: a sentence paired with itself aligns on the diagonal
    (identical inputs give identical vectors), whatever the weights."""
    sentence = ("Barack", "Obama", "visited", "the", "Eiffel", "Tower", "in", "Paris", ".")
    argmax = build_aligner("embedding", "tiny:xlmr")
    itermax = build_aligner("embedding-itermax", "tiny:xlmr")
    other = ("Obama", "besuchte", "den", "Eiffelturm", "in", "Paris")
    a_self, a_other, a_empty = argmax.align([(sentence, sentence), (sentence, other), (sentence, ())])
    assert a_self == {(i, i) for i in range(len(sentence))}
    assert a_empty == frozenset() and all(0 <= j < len(other) for _, j in a_other)
    i_self, i_other = itermax.align([(sentence, sentence), (sentence, other)])
    assert i_self == a_self and a_other <= i_other  # IterMax only adds links
    # which checkpoint, which weights, which layer: all in the cache key
    identity = argmax.identity()
    assert identity["model"] == "tiny:xlmr" and len(identity["weights"]) == 16 and identity["method"] == "argmax"
    assert argmax._load()[4] == 2  # two thirds of the tiny encoder's 3 layers (SimAlign: layer 8 of 12)
    long = tuple(f"w{i}" for i in range(700))  # past the encoder's positions: the words that fit are aligned
    (links,) = argmax.align([(long, long)])
    assert links and max(i for i, _ in links) < 510
