"""The competing methods (direct, crop, fusion, model-transfer) beside EAT: prompts, parsing, matching, end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from support.fakes import ScriptedLLM

from eat_core.config.run import EngineConfig, get_profile
from eat_core.data import SAMPLE_DIR
from eat_core.data.wikiann import load_wikiann_local
from eat_core.engine.translate import DualTranslator
from eat_core.evaluation.loop import evaluate
from eat_core.methods import METHODS, load_method, method_class
from eat_core.methods.answers import parse_entities
from eat_core.methods.crop import CropMethod
from eat_core.methods.crop_projection import crop_match, labelled_sequence, parse_markers
from eat_core.methods.direct import DirectMethod, english_examples, render_demonstrations
from eat_core.methods.fusion import annotate
from eat_core.methods.model_transfer import iob2_from_labels
from eat_core.store import Store
from eat_core.types import EnglishEntity, Sentence, Span


class FixedExtractor:
    def __init__(self, entities):
        self.entities = entities

    def extract(self, english):
        return [list(self.entities) for _ in english]


ZH = Sentence("zh-t-0", "zh", tuple("高明在北京大学工作"),
              ("B-PER", "I-PER", "O", "B-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "O"))
RU = Sentence("ru-t-0", "ru", ("Путин", "посетил", "Париж", "."), ("B-PER", "O", "B-LOC", "O"))
RU_ENGLISH = {"forward_single": "Putin visited Paris .", "roundtrip_single": "Putin visited Paris ."}


def engine(answers: dict | str, entities=()) -> DualTranslator:
    """The engine on a scripted LLM: ``answers`` by template name, or one answer to every request."""
    llm = ScriptedLLM(answers) if isinstance(answers, dict) else ScriptedLLM(default=answers)
    return DualTranslator(llm, FixedExtractor(entities), EngineConfig(rounds=1))


# -- answer parsing (direct, fusion) ------------------------------------------------------------------------------

@pytest.mark.parametrize(("answer", "expected"), [
    ("PER: 高明\nORG: 北京大学", [("PER", "高明"), ("ORG", "北京大学")]),
    ("(PER, 高明), (ORG, 北京大学)", [("PER", "高明"), ("ORG", "北京大学")]),
    ('- **PER**: "高明"\n- LOCATION: 北京。', [("PER", "高明"), ("LOC", "北京")]),
    ("高明 (PER)", [("PER", "高明")]),
    ('[{"type": "PER", "text": "高明"}]', [("PER", "高明")]),
    ("Here are the entities:\n1. PER: 高明", [("PER", "高明")]),
    ("LOC: Parodius ( series )", [("LOC", "Parodius ( series )")]),
    ("None", []),
    ("I'm sorry, I cannot help with that.", []),
    ("", []),
    ("这句话里没有实体。", []),
])
def test_parse_entities_takes_what_is_parseable(answer, expected):
    assert parse_entities(answer).entities == expected


def test_unparseable_and_empty_answers_are_counted():
    assert parse_entities("").empty
    assert parse_entities("no idea, sorry").ignored_lines == 1


# -- direct --------------------------------------------------------------------------------------------------------

def test_direct_prompt_carries_k_english_demonstrations_and_the_sentence():
    cfg = get_profile("smoke")
    examples = english_examples(cfg, 2)
    assert len(examples) == 2 and all("B-" in "".join(s.tags) for s in examples)
    demos = render_demonstrations(examples)
    assert demos.count("English sentence:") == 2 and "Entities:" in demos
    method = DirectMethod(engine({"direct_tag": "PER: 高明\nORG: 北京大学"}), demos)
    [prediction] = method.run([ZH])
    [asked] = method.engine.llm.turns
    assert asked.template == "direct_tag" and asked["sentence"] == "高明在北京大学工作"
    assert asked["demonstrations"].count("English sentence:") == 2
    assert prediction.tags == ZH.tags and not prediction.failures
    assert prediction.transcript.as_dict()["tagging"][0]["round"] == "direct_tag"


def test_direct_with_zero_demonstrations_has_none():
    cfg = get_profile("smoke").with_overrides(**{"method.name": "direct", "method.demonstrations": 0})
    method = load_method(cfg, ScriptedLLM(default="None"), None)
    assert method.demonstrations == ""


@pytest.mark.parametrize(("answer", "reason"), [
    ("", "direct_empty"),
    ("I'm sorry, I cannot help with that.", "direct_refusal"),
    ("PER: 李白", "align_not_found"),  # a phrase that is not in the sentence
    ("The sentence talks about a person.", "direct_unparsed"),
])
def test_direct_garbage_answers_become_reasons(answer, reason):
    [prediction] = DirectMethod(engine({"direct_tag": answer})).run([ZH])
    assert reason in prediction.failures
    assert set(prediction.tags) == {"O"}


# -- fusion --------------------------------------------------------------------------------------------------------

def test_fusion_shows_the_annotated_english_and_places_the_answer():
    def fusion(turn):
        assert turn["annotated"] == "[PER Gao Ming] works at [ORG Peking University]"
        assert turn["sentence"] == "高明在北京大学工作"
        return "PER: 高明\nORG: 北京大学"

    english = "Gao Ming works at Peking University"
    entities = [EnglishEntity("Gao Ming", "PER", 0, 8), EnglishEntity("Peking University", "ORG", 18, 35)]
    method = method_class("fusion")(engine({"fusion_tag": fusion, "forward_single": english,
                                            "roundtrip_single": english}, entities))
    [prediction] = method.run([ZH])
    assert prediction.tags == ZH.tags and prediction.english == english
    # one forward round, one round trip, one fusion request: no per-entity rounds
    assert method.engine.llm.templates() == ["forward_single", "roundtrip_single", "fusion_tag"]


def test_annotate_appends_entities_it_cannot_locate():
    assert annotate("Obama went home", [EnglishEntity("Obama", "PER", 0, 5), EnglishEntity("Paris", "LOC")]) == \
        "[PER Obama] went home [LOC Paris]"


# -- crop ----------------------------------------------------------------------------------------------------------

def test_labelled_sequence_numbers_entities_in_order():
    entities = [EnglishEntity("Gao Ming", "PER", 0, 8), EnglishEntity("Peking University", "ORG", 18, 35)]
    assert labelled_sequence("Gao Ming works at Peking University", entities) == \
        "<1>Gao Ming</1> works at <2>Peking University</2>"


@pytest.mark.parametrize(("translation", "expected"), [
    ("<2>北京大学</2>的<1>高明</1>", [("高明", None), ("北京大学", None)]),
    ("＜１＞高明＜/１＞在＜２＞北京大学＜/２＞", [("高明", None), ("北京大学", None)]),  # full-width brackets
    ("高明在<2>北京大学</2>工作", [(None, "marker_dropped"), ("北京大学", None)]),
    ("<1>高明在<2>北京大学</2>工作", [(None, "marker_unclosed"), ("北京大学", None)]),
    ("高明</1>在<2>北京大学</2>", [(None, "marker_unbalanced"), ("北京大学", None)]),
    ("<1><2>北京大学</2></1>", [("北京大学", None), ("北京大学", None)]),  # nested: both read, overlap decides
    ("<1></1>高明", [(None, "marker_empty"), (None, "marker_dropped")]),
    ("", [(None, "marker_dropped"), (None, "marker_dropped")]),
    # an explanation after the translation that names a marker does not cost the entity found first
    ("<1>高明</1>在<2>北京大学</2>\n\nNote: <1> marks the same entity.", [("高明", None), ("北京大学", None)]),
    ("<1>高明</1>在<2>北京大学</2> (the text inside <2>...</2> is a name)", [("高明", None), ("北京大学", None)]),
    ("<1>高明<1>在<2>北京大学</2>", [(None, "marker_unbalanced"), ("北京大学", None)]),  # opened twice: still lost
])
def test_parse_markers(translation, expected):
    _, marked = parse_markers(translation, 2)
    assert [(m.phrase, m.reason) for m in marked] == expected


def test_crop_rule_needs_80_percent_of_at_most_6_words_without_overlap():
    tokens = ("Путин", "посетил", "Париж", "и", "Лондон", ".")
    assert crop_match(tokens, "ru", "Париж", "LOC", []) == (Span(2, 3, "LOC"), None)
    assert crop_match(tokens, "ru", "Париж", "LOC", [Span(2, 3, "PER")]) == (None, "overlap")
    assert crop_match(tokens, "ru", "Рим", "LOC", []) == (None, "not_found")
    assert crop_match(tokens, "ru", "a b c d e f g", "LOC", []) == (None, "phrase_too_long")
    # 4 of 5 words found as one run: 80% is enough; 3 of 5 is not
    long = ("Объединённые", "Арабские", "Эмираты", "и", "Катар")
    assert crop_match(long, "ru", "Объединённые Арабские Эмираты и Оман", "LOC", [])[0] == Span(0, 4, "LOC")
    assert crop_match(long, "ru", "Объединённые Арабские Эмираты Оман Бахрейн", "LOC", []) == (None, "not_found")


@pytest.mark.parametrize("matcher", ["crop", "eat"])
def test_crop_end_to_end_with_both_matchers(matcher):
    def crop(turn):
        assert turn["english"] == "<1>Putin</1> visited <2>Paris</2> ."
        return "<1>Путин</1> посетил <2>Париж</2> ."

    entities = [EnglishEntity("Putin", "PER", 0, 5), EnglishEntity("Paris", "LOC", 14, 19)]
    method = CropMethod(engine({"crop_translate": crop, **RU_ENGLISH}, entities), matcher)
    [prediction] = method.run([RU])
    assert prediction.tags == RU.tags
    # forward, round trip, one labelled-sequence request
    assert method.engine.llm.templates() == ["forward_single", "roundtrip_single", "crop_translate"]


def test_crop_eat_matcher_reads_a_chatty_answer_around_intact_markers():
    """Quotes, an intro line, bold inside a marker, a full stop and an explanation naming a marker: nothing lost."""
    entities = [EnglishEntity("Putin", "PER", 0, 5), EnglishEntity("Paris", "LOC", 14, 19)]
    answer = ('Here is the translation:\n"<1>Путин</1> посетил <2>**Париж**</2> .".\n\n'
              "Note: <1> marks the same person as in the English.")
    method = CropMethod(engine({"crop_translate": answer, **RU_ENGLISH}, entities), "eat")
    [prediction] = method.run([RU])
    assert prediction.tags == RU.tags


def test_crop_lost_entities_carry_reasons():
    entities = [EnglishEntity("Putin", "PER", 0, 5), EnglishEntity("Paris", "LOC", 14, 19)]
    method = CropMethod(engine({"crop_translate": "Путин посетил <2>Рим</2>", **RU_ENGLISH}, entities))
    [prediction] = method.run([RU])
    assert {"crop_marker_dropped", "crop_not_found"} <= set(prediction.failures)
    assert set(prediction.tags) == {"O"}


# -- model transfer ------------------------------------------------------------------------------------------------

def test_iob2_from_any_label_scheme():
    assert iob2_from_labels(["B-PERSON", "I-PERSON", "O", "I-LOC", "B-MISC", "I-ORG"]) == \
        ("B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG")


# -- registry and end to end on the tiny models --------------------------------------------------------------------

def test_unknown_method_names_the_available_ones():
    from eat_core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown method 'crap'.*did you mean 'crop'"):
        method_class("crap")


def test_eat_ft_needs_an_adapter():
    from eat_core.errors import ConfigError

    with pytest.raises(ConfigError, match="adapter"):
        load_method(get_profile("smoke").with_overrides(**{"method.name": "eat-ft"}), ScriptedLLM(), None)


def method_cfg(name: str, **extra):
    over = {"method.name": name, "data.languages": ("zh", "ru"), "data.limit": 4, "shard_size": 2, **extra}
    if name == "model-transfer":
        over.update({"extractor.name": "token-classification", "extractor.model": "tiny:bert-tc"})
    return get_profile("smoke").with_overrides(**over)


@pytest.mark.parametrize("name", ["direct", "crop", "fusion", "model-transfer"])
def test_each_method_runs_end_to_end_on_the_tiny_models_with_its_signature(name, tmp_path):
    db = tmp_path / "eat.duckdb"
    result = evaluate(method_cfg(name), db)
    assert result.computed_shards == 4 and not result.failed_shards
    store = Store(db)
    config = json.loads(store.query("SELECT config FROM runs WHERE run_id = ?", [result.run_id])[0][0])
    assert config["method"]["name"] == name
    rows = store.query("SELECT pred, tokens, transcript FROM predictions WHERE run_id = ?", [result.run_id])
    assert len(rows) == 8 and all(len(json.loads(p)) == len(json.loads(t)) for p, t, _ in rows)
    metrics = dict(store.query("SELECT metric, signature FROM metrics WHERE run_id = ? AND lang = 'zh'",
                               [result.run_id]))
    assert "token_f1" in metrics and "entity_f1" in metrics
    calls = store.query("SELECT count(*) FROM llm_cache")[0][0]
    if name == "model-transfer":
        assert calls == 0
    else:
        assert calls > 0
    again = evaluate(method_cfg(name), db)
    assert again.run_id == result.run_id and again.computed_shards == 0


def test_the_method_is_part_of_the_run_id():
    from eat_core.evaluation.identity import run_id_for

    ids = {run_id_for(method_cfg(name)) for name in ("direct", "crop", "fusion")}
    ids.add(run_id_for(method_cfg("crop", **{"method.crop_matcher": "eat"})))
    assert len(ids) == 4


def test_every_registered_method_is_importable():
    assert {n: method_class(n).needs_llm for n in METHODS} == {
        "eat": True, "eat-ft": True, "direct": True, "crop": True, "fusion": True, "model-transfer": False}


_CHILD = """
import sys
from eat_core.config.run import get_profile
from eat_core.evaluation.loop import evaluate
cfg = get_profile("smoke").with_overrides(**{"method.name": sys.argv[2], "data.languages": ("zh", "ru"),
                                             "data.limit": 4, "shard_size": 1})
evaluate(cfg, sys.argv[1], progress=lambda m: print(m, flush=True))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["direct", "crop", "fusion"])
def test_kill_mid_run_then_resume_gives_identical_results(name, tmp_path):
    killed, clean = tmp_path / "killed.duckdb", tmp_path / "clean.duckdb"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(killed), name], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    done = 0
    deadline = time.monotonic() + 240
    for line in proc.stdout:
        done += " done: " in line
        if done >= 3 or time.monotonic() > deadline:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 3 <= done < 8, "the run must be killed mid-way"
    cfg = get_profile("smoke").with_overrides(**{"method.name": name, "data.languages": ("zh", "ru"),
                                                 "data.limit": 4, "shard_size": 1})
    resumed = evaluate(cfg, killed)
    assert resumed.skipped_shards >= 3 and resumed.computed_shards == 8 - resumed.skipped_shards
    evaluate(cfg, clean)
    query = "SELECT sentence_id, pred, failures FROM predictions ORDER BY sentence_id"
    assert Store(killed).query(query) == Store(clean).query(query)
    assert load_wikiann_local(SAMPLE_DIR, "zh", "dev")[0]  # the sample is there for the child too
