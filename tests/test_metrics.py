"""Metric case tables with literal expected values, plus oracle tests on real data."""

from __future__ import annotations

import math
import random

import pytest
from conftest import WIKIANN

from eat_core.bio import to_io
from eat_core.errors import ConfigError
from eat_core.scoring.counts import Counts, micro
from eat_core.scoring.entity_f1 import entity_counts
from eat_core.scoring.language import score_language
from eat_core.scoring.token_f1 import token_counts
from eat_core.scoring.translation import bigram_entropy, corpus_bleu, entropy_loss, entropy_units

# (gold, pred, token_f1 token (true positions), token_f1 all-sentences, entity_f1); eat-official: tests/test_scorer.py
CASES = [
    # Chinese, per character: one full hit and one boundary error
    ([["B-LOC", "I-LOC", "O", "B-PER", "I-PER", "I-PER"]], [["B-LOC", "I-LOC", "O", "B-PER", "I-PER", "O"]],
     88.888889, 88.888889, 50.0),
    # Russian: type error on a two-token entity
    ([["B-ORG", "I-ORG", "O"]], [["B-LOC", "I-LOC", "O"]], 0.0, 0.0, 0.0),
    # Arabic: a false positive in a sentence without gold entities only counts under all-sentences
    ([["B-PER", "O"], ["O", "O"]], [["B-PER", "O"], ["B-LOC", "O"]], 100.0, 66.666667, 66.666667),
    # Japanese: split entity is right token-wise, wrong entity-wise
    ([["B-PER", "I-PER", "I-PER"]], [["B-PER", "B-PER", "I-PER"]], 100.0, 100.0, 0.0),
    # Korean: nothing predicted
    ([["B-LOC", "O"]], [["O", "O"]], 0.0, 0.0, 0.0),
]


@pytest.mark.parametrize(("gold", "pred", "tok_true", "tok_all", "ent"), CASES)
def test_case_table(gold, pred, tok_true, tok_all, ent):
    assert micro(token_counts(gold, pred, "token")).f1 == pytest.approx(tok_true, abs=1e-5)
    assert micro(token_counts(gold, pred, "all-sentences")).f1 == pytest.approx(tok_all, abs=1e-5)
    assert micro(entity_counts(gold, pred)).f1 == pytest.approx(ent, abs=1e-5)


def test_counts_add_across_shards():
    gold = [["B-PER", "O"], ["B-LOC", "I-LOC"], ["O", "B-ORG"]]
    pred = [["B-PER", "O"], ["B-LOC", "O"], ["B-ORG", "O"]]
    whole = entity_counts(gold, pred)
    parts = entity_counts(gold[:1], pred[:1]) + entity_counts(gold[1:], pred[1:])
    assert parts.as_dict() == whole.as_dict()
    assert Counts.from_dict(whole.as_dict()).as_dict() == whole.as_dict()


def test_unknown_protocol_lists_the_known_ones():
    with pytest.raises(ConfigError, match="available: eat-official, token, all-sentences"):
        token_counts([["O"]], [["O"]], "strict")


def _perturb(tags_list, seed):
    """Realistic prediction noise: drop, retype and shift entities."""
    rng = random.Random(seed)
    out = []
    for tags in tags_list:
        tags = list(tags)
        for i, tag in enumerate(tags):
            r = rng.random()
            if tag.startswith("B-") and r < 0.1:
                tags[i] = "B-" + rng.choice(["PER", "ORG", "LOC"])
            elif tag != "O" and r < 0.15:
                tags[i] = "O"
            elif tag == "O" and r < 0.02:
                tags[i] = "B-" + rng.choice(["PER", "ORG", "LOC"])
        # repair orphans so the prediction is valid IOB2
        for i, tag in enumerate(tags):
            if tag.startswith("I-") and (i == 0 or tags[i - 1][2:] != tag[2:]):
                tags[i] = "B-" + tag[2:]
        out.append(tags)
    return out


@pytest.mark.parametrize("lang", ["zh", "ar", "ru"])
def test_oracles_on_real_data(lang):
    """Token F1 at true positions against sklearn (the official EAT scorer's final call), entity F1 against seqeval
    strict. The official scorer's string placement is checked in tests/test_scorer.py."""
    from seqeval.metrics import f1_score as seqeval_f1
    from seqeval.scheme import IOB2
    from sklearn.metrics import f1_score as sklearn_f1

    from eat_core.data.wikiann import load_wikiann_local

    sentences, _ = load_wikiann_local(WIKIANN, lang, "dev", repair=True)
    gold = [list(s.tags) for s in sentences[:3000]]
    pred = _perturb(gold, seed=7)
    ours = micro(entity_counts(gold, pred)).f1
    assert ours == pytest.approx(100 * seqeval_f1(gold, pred, mode="strict", scheme=IOB2), abs=1e-9)
    assert 30 < ours < 99  # the perturbation really changed something
    kept = [(g, p) for g, p in zip(gold, pred, strict=True) if any(t != "O" for t in g)]
    flat_g = [t for g, _ in kept for t in to_io(g)]
    flat_p = [t for _, p in kept for t in to_io(p)]
    expected = 100 * sklearn_f1(flat_g, flat_p, labels=["PER", "ORG", "LOC"], average="micro", zero_division=0)
    assert micro(token_counts(gold, pred, "token")).f1 == pytest.approx(expected, abs=1e-9)
    flat_g = [t for g in gold for t in to_io(g)]
    flat_p = [t for p in pred for t in to_io(p)]
    expected_all = 100 * sklearn_f1(flat_g, flat_p, labels=["PER", "ORG", "LOC"], average="micro")
    assert micro(token_counts(gold, pred, "all-sentences")).f1 == pytest.approx(expected_all, abs=1e-9)


def test_bleu_language_aware_tokenisers():
    # identical text scores 100 with any tokenizer; zh is segmented per character so one wrong character costs little
    assert corpus_bleu(["北京是中国的首都。"], ["北京是中国的首都。"], "zh") == pytest.approx(100.0)
    partial = corpus_bleu(["北京是中国的首府。"], ["北京是中国的首都。"], "zh")
    assert 40 < partial < 80
    # Japanese without spaces: character-level BLEU still sees the overlap (13a would see one token and score 0)
    assert corpus_bleu(["東京は日本の首都です"], ["東京は日本の首都だ"], "ja") > 40
    assert corpus_bleu(["東京は日本の首都です"], ["東京は日本の首都だ"], "ja", tokenize="13a") == 0.0


def test_bigram_entropy_literal_values():
    # "a b a b": bigrams (<s>,a) (a,b) (b,a) (a,b); P(a|b-context) etc.
    # pairs: (<s>,a)=1, (a,b)=2, (b,a)=1; seconds: a=2, b=2
    # H = 1/4*-log2(1/2) + 2/4*-log2(2/2) + 1/4*-log2(1/2) = 0.5
    assert bigram_entropy([["a", "b", "a", "b"]]) == pytest.approx(0.5)
    assert bigram_entropy([]) == 0.0
    assert bigram_entropy([["x", "y", "z"]]) == 0.0  # all bigrams unique: fully predictable


def test_entropy_loss_is_ratio_and_units_follow_script():
    originals = ["a b a b c", "b a c a b"]
    assert entropy_loss(originals, originals, "en") == pytest.approx(1.0)
    assert entropy_units("北京 大学", "zh") == ["北", "京", "大", "学"]
    assert entropy_units("Москва, Россия", "ru") == ["Москва", ",", "Россия"]
    assert math.isnan(entropy_loss(["x"], ["y"], "en"))


def test_scores_carry_signatures_with_versions():
    scores = score_language("zh", [["B-LOC", "I-LOC", "O"]], [["B-LOC", "I-LOC", "O"]], ["北京。"], ["北京。"],
                            tokens=[["北", "京", "。"]])
    assert scores.token.f1 == 100.0 and scores.token_true.f1 == 100.0 and scores.entity.f1 == 100.0
    assert "protocol:eat-official" in scores.signatures["token_f1"] and "units:char" in scores.signatures["token_f1"]
    assert "protocol:token" in scores.signatures["token_f1_true"]
    with pytest.raises(ConfigError, match="pass tokens= and lang="):
        score_language("zh", [["B-LOC", "O"]], [["B-LOC", "O"]], ["北京"], ["北京"])
    assert "seqeval:1.2.2" in scores.signatures["entity_f1"]
    assert "tokenize:zh" in scores.signatures["bleu"] and "sacrebleu:" in scores.signatures["bleu"]
