"""Run identity by content (eat_core/evaluation/identity.py): what a run is made from, and what changed.

A served LLM and the heuristic extractor keep these in process: no weights are built or read.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.configs import served_config

from eat_core.evaluation.data import file_stamp
from eat_core.evaluation.identity import changes_between, collect_inputs, run_id_for, sentences_fingerprint
from eat_core.types import RunInput, Sentence

ZH = Sentence("zh-0", "zh", ("北", "京"), ("B-LOC", "I-LOC"))


def loader(sentences):
    return lambda cfg, lang: sentences


# -- sentences_fingerprint ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("other", [
    Sentence("zh-1", "zh", ("北", "京"), ("B-LOC", "I-LOC")),  # id
    Sentence("zh-0", "zh", ("北", "亰"), ("B-LOC", "I-LOC")),  # a token
    Sentence("zh-0", "zh", ("北", "京"), ("B-LOC", "O")),  # a gold tag
    Sentence("zh-0", "zh", ("北", "京"), None),  # no gold
])
def test_sentences_fingerprint_covers_id_tokens_and_gold(other):
    assert sentences_fingerprint([ZH]) == sentences_fingerprint([Sentence("zh-0", "zh", ("北", "京"),
                                                                          ("B-LOC", "I-LOC"))])
    assert sentences_fingerprint([ZH]) != sentences_fingerprint([other])
    assert sentences_fingerprint([ZH, other]) != sentences_fingerprint([other, ZH])  # order is content too


# -- changes_between ----------------------------------------------------------------------------------------------

def test_changes_between_names_each_changed_added_and_removed_input():
    old = {"llm": RunInput("llm", "model", "/m", "aaaaaaaaaaaaaaaa"), "data:zh": RunInput("data:zh", "data", "/d", "1")}
    assert changes_between(old, dict(old)) == []
    new = {"llm": RunInput("llm", "model", "/m", "bbbbbbbbbbbbbbbb"),
           "prompts": RunInput("prompts", "prompts", None, "p")}
    assert changes_between(old, new) == [
        "zh data changed: /d 1 -> none",
        "LLM weights changed: /m aaaaaaaaaaaa -> bbbbbbbbbbbb",
        "prompt templates changed: none -> p",
    ]


# -- file_stamp -----------------------------------------------------------------------------------------------------

def test_file_stamp_changes_when_any_file_under_a_path_is_rewritten(tmp_path):
    (tmp_path / "m").mkdir()
    weights, single = tmp_path / "m" / "w.bin", tmp_path / "f.txt"
    weights.write_bytes(b"1")
    single.write_text("x")
    first = file_stamp(tmp_path / "m", single, None, tmp_path / "missing")
    assert [Path(p) for p, _, _ in first] == [weights, single]
    assert file_stamp(tmp_path / "m", single) == first
    weights.write_bytes(b"12")  # another size
    assert file_stamp(tmp_path / "m", single) != first
    second = file_stamp(tmp_path / "m", single)
    stat = single.stat()
    os.utime(single, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # same size, rewritten later
    assert file_stamp(tmp_path / "m", single) != second


# -- collect_inputs ---------------------------------------------------------------------------------------------

def test_collect_inputs_fingerprints_every_input_of_a_served_eat_run(tmp_path):
    cfg = served_config(tmp_path)
    inputs = collect_inputs(cfg, loader([ZH]))
    by_name = inputs.by_name()
    assert list(by_name) == ["prompts", "llm", "extractor", "data:zh"]
    assert by_name["llm"].fingerprint == "served:served-model@unpinned"
    assert by_name["data:zh"].fingerprint == sentences_fingerprint([ZH])
    assert by_name["data:zh"].path.endswith("zh/dev.tsv")


def test_a_method_without_an_llm_does_not_depend_on_it(tmp_path):
    classifier = tmp_path / "classifier"
    classifier.mkdir()
    (classifier / "config.json").write_text("{}", encoding="utf-8")
    cfg = served_config(tmp_path, **{"method.name": "model-transfer", "extractor.name": "token-classification",
                              "extractor.model": str(classifier)})
    items = collect_inputs(cfg, loader([ZH])).by_name()
    assert list(items) == ["extractor", "data:zh"]
    assert items["extractor"].path == str(classifier) and len(items["extractor"].fingerprint) == 16


def test_an_input_edited_in_place_changes_the_digest_and_the_run_id(tmp_path):
    cfg = served_config(tmp_path)
    first = collect_inputs(cfg, loader([ZH]))
    assert collect_inputs(cfg, loader([ZH])) is first  # memoised while the files stay untouched
    (tmp_path / "prompts" / "forward_single.txt").write_text("Say it in English: {sentence}", encoding="utf-8")
    edited = collect_inputs(cfg, loader([ZH]))
    assert edited.digest != first.digest
    assert changes_between(first.by_name(), edited.by_name())[0].startswith("prompt templates changed:")
    assert run_id_for(cfg, edited) != run_id_for(cfg, first)
    assert run_id_for(cfg, edited) == run_id_for(cfg, edited)
    # the data file rewritten (new size): its sentences are fingerprinted again
    (tmp_path / "data" / "zh" / "dev.tsv").write_text("北\tB-PER\n京\tI-PER\n", encoding="utf-8")
    other = Sentence("zh-0", "zh", ("北", "京"), ("B-PER", "I-PER"))
    assert collect_inputs(cfg, loader([other])).by_name()["data:zh"].fingerprint == sentences_fingerprint([other])


def test_a_new_configuration_is_a_new_run_id_with_the_same_inputs(tmp_path):
    cfg = served_config(tmp_path)
    inputs = collect_inputs(cfg, loader([ZH]))
    assert run_id_for(cfg, inputs).startswith("smoke-")
    assert run_id_for(cfg.with_overrides(**{"shard_size": 3}), inputs) != run_id_for(cfg, inputs)


def test_an_unset_spacy_label_map_leaves_the_configuration_and_so_earlier_run_ids_alone():
    """The field came after runs existed: unset, it is not in the dump the run id hashes; set, it is."""
    from eat_core.config.run import profile_for_method

    cfg = profile_for_method("smoke", "eat")
    assert "label_map" not in cfg.model_dump(mode="json")["extractor"]
    mapped = cfg.model_copy(update={"extractor": cfg.extractor.model_copy(update={"label_map": {"NORP": "ORG"}})})
    assert mapped.model_dump(mode="json")["extractor"]["label_map"] == {"NORP": "ORG"}
