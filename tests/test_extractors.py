"""English NER extractors: parser case table, real training steps on WikiANN-en, save/load, engine interface."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import WIKIANN

from eat_core.config.run import ExtractorConfig
from eat_core.errors import ConfigError
from eat_core.extractors import load_extractor
from eat_core.extractors.heuristic import CapitalisedSpanExtractor
from eat_core.extractors.spans import entities_to_tags, locate_in_text, word_spans
from eat_core.extractors.t5 import format_input, format_target, parse_output
from eat_core.extractors.token_classification import map_label, words_to_entities
from eat_core.types import EnglishEntity

# (model output, expected pairs, expected problem counts)
PARSE_CASES = [
    ("(PER, Barack Obama) (LOC, Paris)", [("PER", "Barack Obama"), ("LOC", "Paris")], {}),
    ("(ORG, Smith, Barney & Co.)", [("ORG", "Smith, Barney & Co.")], {}),
    ("(LOC, Washington (state)) (PER, Bill Gates)", [("LOC", "Washington (state)"), ("PER", "Bill Gates")], {}),
    ("(MISC, German) (LOC, Berlin)", [("LOC", "Berlin")], {"unknown_type": 1}),
    ("(PER, Anna) (PER, Anna)", [("PER", "Anna"), ("PER", "Anna")], {"repeated_pair": 1}),
    ("(PER, Anna", [("PER", "Anna")], {"malformed": 1}),
    ("(PER, ) (LOC, Rome)", [("LOC", "Rome")], {"malformed": 1}),
    ("no entities here", [], {"malformed": 1}),
    ("", [], {}),
    ("Entities: (ORG, UN)", [("ORG", "UN")], {"leading_text": 1}),
    ("(loc, Oslo)", [("LOC", "Oslo")], {}),
]


@pytest.mark.parametrize(("output", "pairs", "problems"), PARSE_CASES)
def test_parser_case_table(output, pairs, problems):
    got, stats = parse_output(output)
    assert got == pairs
    assert dict(stats) == problems


def test_format_is_identical_for_training_and_inference_and_type_order_is_fixed():
    assert format_input("Obama visited Paris .") == format_input("Obama visited Paris .")
    assert "Entity types: PER, ORG, LOC." in format_input("x")
    assert format_target([("PER", "Obama"), ("LOC", "Paris")]) == "(PER, Obama) (LOC, Paris)"
    assert format_target([]) == ""


def test_locate_in_text_handles_repeats_case_and_misses():
    entities, counts = locate_in_text("Paris and paris and Lyon",
                                      [("LOC", "Paris"), ("LOC", "Paris"), ("LOC", "Rome"), ("LOC", "Paris")])
    assert [(e.char_start, e.char_end) for e in entities] == [(0, 5), (10, 15)]
    assert counts == {"not_in_sentence": 1, "duplicate": 1}


def test_token_classification_label_mapping_and_decoding():
    assert map_label("B-PERSON") == ("B", "PER") and map_label("I-GPE") == ("I", "LOC")
    assert map_label("B-MISC") == ("B", None) and map_label("O") == ("O", None)
    text = "Ban Ki-moon met EU officials in New York ."
    spans = word_spans(text)
    labels = ["B-PER", "I-PER", "O", "B-MISC", "O", "O", "B-LOC", "I-LOC", "O"]
    stats = Counter()
    entities = words_to_entities(text, spans, labels, stats=stats)
    assert [(e.text, e.label) for e in entities] == [("Ban Ki-moon", "PER"), ("New York", "LOC")]
    assert stats == {"dropped_MISC": 1}


def test_entities_to_tags():
    tokens = ["Ban", "Ki-moon", "visited", "New", "York", "."]
    text = " ".join(tokens)
    ents = [EnglishEntity("Ban Ki-moon", "PER", 0, 11), EnglishEntity("New York", "LOC", text.index("New"),
                                                                       text.index("New") + 8)]
    assert entities_to_tags(tokens, ents) == ("B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O")


def test_registry_names_and_suggestions():
    with pytest.raises(ConfigError, match="did you mean 'heuristic'"):
        load_extractor(ExtractorConfig(name="heuristik"))
    assert isinstance(load_extractor(ExtractorConfig(name="heuristic")), CapitalisedSpanExtractor)


@pytest.mark.parametrize(("kind", "base"), [("t5", "tiny:t5"), ("token-classification", "tiny:bert-tc")])
def test_training_on_real_english_lowers_loss_and_reloads_identically(kind, base, tmp_path):
    from eat_core.training.extractor import ExtractorTrainConfig, train_extractor

    out = tmp_path / kind
    cfg = ExtractorTrainConfig(kind=kind, base_model=base, data_dir=str(WIKIANN), output_dir=str(out), epochs=2,
                               learning_rate=3e-3, batch_size=16, limit_train=192, limit_eval=48, seed=1)
    manifest = train_extractor(cfg)
    losses = manifest["loss_history"]
    assert len(losses) >= 2 and losses[-1] < losses[0]
    saved = json.loads((out / "final" / "eat_manifest.json").read_text())
    assert saved["metrics"] == manifest["metrics"] and saved["base_model"] == base
    assert 0.0 <= manifest["metrics"]["entity_f1"] <= 100.0
    # save/load round trip: two independent loads of the final directory predict the same
    name = "t5" if kind == "t5" else "token-classification"
    sentences = ["Barack Obama visited Paris and the United Nations .", "Angela Merkel met Emmanuel Macron ."]
    first = load_extractor(ExtractorConfig(name=name, model=str(out / "final")))
    second = load_extractor(ExtractorConfig(name=name, model=str(out / "final")))
    assert first.extract(sentences) == second.extract(sentences)
    if kind == "t5":
        assert first.generate(sentences) == second.generate(sentences)
    else:
        import torch

        a = {k: v for k, v in first.model.state_dict().items()}
        b = second.model.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
    # a rerun resumes from the last checkpoint instead of starting over
    assert any(p.name.startswith("checkpoint-") for p in out.iterdir())


def test_trained_extractors_plug_into_the_engine(tmp_path):
    from eat_core.config.run import get_profile
    from eat_core.evaluation.loop import evaluate
    from eat_core.store import Store
    from eat_core.training.extractor import ExtractorTrainConfig, train_extractor

    out = tmp_path / "tc"
    train_extractor(ExtractorTrainConfig(kind="token-classification", base_model="tiny:bert-tc",
                                         data_dir=str(WIKIANN), output_dir=str(out), epochs=1, limit_train=64,
                                         limit_eval=16))
    for name, model in (("token-classification", str(out / "final")), ("t5", "tiny:t5")):
        cfg = get_profile("smoke").with_overrides(**{"data.languages": ("ja",), "data.limit": 4,
                                                     "extractor.name": name, "extractor.model": model})
        result = evaluate(cfg, tmp_path / f"{name}.duckdb")
        assert result.failed_shards == [] and result.computed_shards == 1
        assert Store(tmp_path / f"{name}.duckdb").query("SELECT count(*) FROM predictions")[0][0] == 4
