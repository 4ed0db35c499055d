"""Silver training sets (routes eat, crop, projection) and the distilled student (`eat silver`, `eat distill`).

Meaningful answers come from the ``echo`` backend, a scripted LLM registered for these tests only: it
"translates" by copying (German sentences are their own English, so the heuristic extractor finds their capitalised
words and every backward answer is found again), which exercises the real engine, cache, store and trainer. The
random tiny LLM of the smoke profile runs end to end once for the machinery (it places nothing: every sentence is
dropped, with its reason).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.cli import assert_user_error, run_cli
from support.fakes import ScriptedBackend, ScriptedLLM, echo_script, register_backend

from eat_core.config.run import EngineConfig
from eat_core.data.wikiann import load_wikiann_local
from eat_core.distill.filters import Candidate, crop_rule, eat_rule, judge, projection_rule, relabel_rule
from eat_core.distill.pipeline import distill, plan_distill, silver_key, silver_only
from eat_core.distill.projection import english_request, project_answer, project_shard, tokenise
from eat_core.distill.request import DistillRequest
from eat_core.distill.silver import SilverRow, assign_parts, silver_id_for
from eat_core.distill.student import student_dir
from eat_core.engine.translate import DualTranslator
from eat_core.errors import ConfigError, DataError
from eat_core.store import Store
from eat_core.types import Sentence


@pytest.fixture
def echo_backend(monkeypatch) -> ScriptedBackend:
    """The ``echo`` backend of this test (its ``calls`` count the requests it answers: the cache misses)."""
    return register_backend(monkeypatch, ScriptedBackend(echo_script(), name="echo", model="echo-1", tokens=5))


def request(tmp_path, **fields) -> dict:
    return {"lang": "de", "profile": "smoke", "db": str(tmp_path / "w.duckdb"), "out": str(tmp_path / "out"),
            "llm_backend": "echo", **fields}


# -- filters: every drop has a reason ------------------------------------------------------------------------------

ZH = ("北", "京", "是", "首", "都")


@pytest.mark.parametrize(("rule", "candidate", "expected"), [
    (eat_rule, Candidate("a", ZH, ("B-LOC", "I-LOC", "O", "O", "O"), 1), (True, None)),
    (eat_rule, Candidate("b", ZH, ("B-LOC", "I-LOC", "O", "O", "O"), 2, ("align_not_found",)),
     (False, "align_not_found")),
    (eat_rule, Candidate("c", ZH, ("B-LOC", "I-LOC", "O", "O", "O"), 2), (False, "entity_not_found")),
    (eat_rule, Candidate("d", ZH, ("O",) * 5, 0), (False, "no_entity")),
    (eat_rule, Candidate("e", ("x",) * 129, ("B-PER",) + ("O",) * 128, 1), (False, "too_long")),
    (eat_rule, Candidate("f", ZH, ("B-LOC", "I-LOC", "O", "O", "O"), 1, ("forward_not_english",)),
     (False, "forward_not_english")),
    (crop_rule, Candidate("g", ZH, ("B-LOC", "I-LOC", "O", "O", "O"), 1, ("forward_overlong",)), (True, None)),
    (crop_rule, Candidate("h", ZH, ("B-LOC", "O", "O", "O", "O"), 2, ("crop_marker_dropped",)),
     (False, "entity_not_found")),
    (crop_rule, Candidate("i", ("a",) * 6, ("B-PER",) * 6, 6), (False, "too_many_entities")),
    (crop_rule, Candidate("j", ("a",) * 5, ("B-PER",) * 5, 5), (True, None)),
    (crop_rule, Candidate("k", ZH, ("O",) * 5, 0), (False, "no_entity")),
    (projection_rule, Candidate("l", ZH, ("O",) * 5, 1, ("marker_unclosed",)), (False, "marker_unclosed")),
    (relabel_rule, Candidate("m", ZH, ("O",) * 5, 0), (False, "no_entity")),
    (relabel_rule, Candidate("n", ZH, ("B-PER", "O", "O", "O", "O"), 0), (True, None)),
])
def test_filters_keep_or_drop_with_a_reason(rule, candidate, expected):
    max_entities = 5 if rule is crop_rule else None
    assert judge(candidate, rule(128, max_entities)) == expected


def test_keep_empty_keeps_sentences_without_entities():
    assert judge(Candidate("d", ZH, ("O",) * 5, 0), eat_rule(128, None, keep_empty=True)) == (True, None)


# -- projection: markers in, tokens and tags out -------------------------------------------------------------------

@pytest.mark.parametrize(("answer", "labels", "lang", "tokens", "tags", "failures"), [
    ("<1>普京</1>访问了<2>巴黎</2>。", ["PER", "LOC"], "zh", "普京访问了巴黎。",
     ("B-PER", "I-PER", "O", "O", "O", "B-LOC", "I-LOC", "O"), ()),
    ("Russian: <1>Путин</1> посетил <2>Париж</2>, (США).", ["PER", "LOC"], "ru",
     ("Путин", "посетил", "Париж", ",", "(", "США", ")", "."), ("B-PER", "O", "B-LOC", "O", "O", "O", "O", "O"), ()),
    ("<1>서울</1>에서 왔다", ["LOC"], "ko", ("서울에서", "왔다"), ("B-LOC", "O"), ()),  # the whole word, as WikiANN
    ("<2>Paris</2> und <1>Angela Merkel</1>", ["PER", "LOC"], "de", ("Paris", "und", "Angela", "Merkel"),
     ("B-LOC", "O", "B-PER", "I-PER"), ()),
    ("＜1＞東京＜/1＞に行く", ["LOC"], "ja", "東京に行く", ("B-LOC", "I-LOC", "O", "O", "O"), ()),
    ("Путин посетил <2>Париж</2>", ["PER", "LOC"], "ru", ("Путин", "посетил", "Париж"), ("O",) * 3,
     ("marker_dropped",)),
    ("<1>Путин посетил Париж", ["PER"], "ru", ("Путин", "посетил", "Париж"), ("O",) * 3, ("marker_unclosed",)),
    ("<1>Путин</1> <3>Париж</3>", ["PER"], "ru", ("Путин", "Париж"), ("O",) * 2, ("marker_unexpected",)),
    ("<1></1>Путин", ["PER"], "ru", ("Путин",), ("O",), ("marker_empty",)),
    ("", ["PER"], "ru", (), (), ("empty_translation",)),
])
def test_project_answer(answer, labels, lang, tokens, tags, failures):
    projection = project_answer(answer, labels, lang)
    assert projection.tokens == tuple(tokens)
    assert projection.failures == failures
    assert projection.tags == tags


@pytest.mark.parametrize(("text", "lang", "tokens"), [
    ("Die U.S. Army (1941), l'Union 2010-11.", "de", ["Die", "U.S.", "Army", "(", "1941", ")", ",", "l'Union",
                                                   "2010-11", "."]),
    ("北京 大学", "zh", ["北", "京", "大", "学"]),
    ("«Спартак» —", "ru", ["«", "Спартак", "»", "—"]),
])
def test_tokenise(text, lang, tokens):
    assert [text[a:b] for a, b in tokenise(text, lang)] == tokens


def test_project_shard_records_each_lost_marker_with_its_sentence():
    english = [Sentence("en-0", "en", ("Putin", "visited", "Paris", "."), ("B-PER", "O", "B-LOC", "O")),
               Sentence("en-1", "en", ("Obama", "spoke", "."), ("B-PER", "O", "O")),
               Sentence("en-2", "en", ("It", "rained", "."), ("O", "O", "O"))]
    assert english_request(english[0]) == ("<1>Putin</1> visited <2>Paris</2> .", ["PER", "LOC"])
    answers = {"<1>Putin</1> visited <2>Paris</2> .": "<1>Путин</1> посетил <2>Париж</2> .",
               "<1>Obama</1> spoke .": "Обама выступил ."}
    llm = ScriptedLLM({"crop_translate": lambda turn: answers[turn["english"]]})
    out = project_shard(DualTranslator(llm, None, EngineConfig(rounds=1)), english, "ru")
    assert [(p.tokens, p.tags, p.failures) for _, p, _ in out] == [
        (("Путин", "посетил", "Париж", "."), ("B-PER", "O", "B-LOC", "O"), ()),
        (("Обама", "выступил", "."), ("O", "O", "O"), ("marker_dropped",)),
        ((), (), ("no_entity",)),  # nothing to project: no request is sent
    ]


# -- silver-set ids and parts ---------------------------------------------------------------------------------------

def test_silver_ids_are_content_keys():
    a = silver_id_for("eat", "zh", {"teacher_run": "smoke-1", "filters": {"max_words": 128}})
    assert a == silver_id_for("eat", "zh", {"filters": {"max_words": 128}, "teacher_run": "smoke-1"})
    assert re.fullmatch(r"silver-eat-zh-[0-9a-f]{10}", a)
    assert a != silver_id_for("eat", "zh", {"teacher_run": "smoke-2", "filters": {"max_words": 128}})
    assert a != silver_id_for("eat", "zh", {"teacher_run": "smoke-1", "filters": {"max_words": 64}})
    assert a != silver_id_for("crop", "zh", {"teacher_run": "smoke-1", "filters": {"max_words": 128}})


def test_parts_are_stable_and_hold_at_least_one_dev_sentence():
    rows = [SilverRow(f"s{i}", ("a",), ("B-PER",), kept=i % 3 != 0) for i in range(30)]
    parts = assign_parts(rows, seed=42, share=0.1)
    assert parts == assign_parts(rows, seed=42, share=0.1)
    kept = [r.part for r in parts if r.kept]
    assert "dev" in kept and "train" in kept and all(r.part is None for r in parts if not r.kept)
    single = assign_parts([SilverRow("s", ("a",), ("B-PER",), kept=True)], seed=1, share=0.1)
    assert single[0].part == "train+dev"


# -- each route builds a silver set in the one format ----------------------------------------------------------------

@pytest.mark.parametrize("route", ["eat", "crop", "projection", "align"])
def test_each_route_builds_a_silver_set(tmp_path, echo_backend, route):
    out = tmp_path / "silver"
    summary = silver_only(request(tmp_path, route=route), out, progress=lambda m: None)
    store = Store(tmp_path / "w.duckdb")
    rows = store.query("SELECT sentence_id, tokens, tags, kept, reason, part FROM silver_sentences "
                       "WHERE silver_id = ? ORDER BY position", [summary.silver_id])
    assert len(rows) == summary.kept + summary.dropped == 8
    assert summary.kept > 0 and summary.kept == sum(r[3] for r in rows)
    assert all(r[4] for r in rows if not r[3]) and all(r[4] is None for r in rows if r[3])  # every drop says why
    assert sum(summary.reasons.values()) == summary.dropped
    meta = store.get_silver_set(summary.silver_id)
    assert meta["status"] == "done" and meta["route"] == route and f"route:{route}" in meta["signature"]
    exported = json.loads((out / "de" / "silver.json").read_text(encoding="utf-8"))
    assert exported["silver_id"] == summary.silver_id and exported["signature"] == summary.signature
    train, _ = load_wikiann_local(out, "de", "train")
    dev, _ = load_wikiann_local(out, "de", "dev")
    kept = {tuple(json.loads(r[1])): tuple(json.loads(r[2])) for r in rows if r[3]}
    assert len(train) + len(dev) >= summary.kept and all(kept[s.tokens] == s.tags for s in train + dev)
    if route not in ("projection", "align"):
        assert summary.teacher_run and f"teacher:{summary.teacher_run}" in summary.signature
        # the silver tags are the teacher's predictions, never the gold column (which differs here)
        preds = dict(store.query("SELECT sentence_id, pred FROM predictions WHERE run_id = ?", [summary.teacher_run]))
        golds = dict(store.query("SELECT sentence_id, gold FROM predictions WHERE run_id = ?", [summary.teacher_run]))
        assert all(json.loads(preds[r[0]]) == json.loads(r[2]) for r in rows if r[3])
        assert any(json.loads(golds[r[0]]) != json.loads(r[2]) for r in rows if r[3])
    again = silver_only(request(tmp_path, route=route), out, progress=lambda m: None)
    assert again.reused and again.silver_id == summary.silver_id


def test_filter_settings_make_a_new_set_and_crop_caps_entities(tmp_path, echo_backend):
    loose = silver_only(request(tmp_path, route="crop"), tmp_path / "a", progress=lambda m: None)
    strict = silver_only(request(tmp_path, route="crop", max_entities=1), tmp_path / "b", progress=lambda m: None)
    assert strict.silver_id != loose.silver_id and strict.teacher_run == loose.teacher_run
    assert strict.reasons.get("too_many_entities", 0) > loose.reasons.get("too_many_entities", 0)
    assert strict.kept < loose.kept


def test_projection_is_resumable_per_shard(tmp_path, echo_backend):
    plan = plan_distill(request(tmp_path, route="projection"), student=False)
    summary = silver_only(request(tmp_path, route="projection"), tmp_path / "s", progress=lambda m: None)
    store = Store(tmp_path / "w.duckdb")
    assert store.silver_shards_done(summary.silver_id) == {0, 1} and summary.silver_id == silver_key(plan, None)
    calls = echo_backend.calls
    with store.connect() as con:  # as if the process died after shard 0: the set unfinished, shard 1 not written
        con.execute("UPDATE silver_sets SET status = 'building' WHERE silver_id = ?", [summary.silver_id])
        con.execute("DELETE FROM silver_shards WHERE shard_index = 1")
    messages = []
    again = silver_only(request(tmp_path, route="projection"), tmp_path / "s", progress=messages.append)
    assert again.silver_id == summary.silver_id and again.kept == summary.kept and not again.reused
    assert any("1 of 2 shard(s) reused" in m for m in messages)
    assert echo_backend.calls == calls  # shard 1's LLM calls came from the cache


def test_the_random_tiny_llm_runs_end_to_end_and_every_drop_has_a_reason(tmp_path):
    """The smoke profile's real tiny models: the machinery runs; the random LLM places nothing, so all are dropped."""
    summary = silver_only({"route": "crop", "lang": "de", "profile": "smoke", "db": str(tmp_path / "w.duckdb")},
                          tmp_path / "s", progress=lambda m: None)
    assert summary.dropped == 8 and summary.kept == 0 and sum(summary.reasons.values()) == 8
    assert set(summary.reasons) <= {"entity_not_found", "no_entity"}
    with pytest.raises(DataError, match="kept no sentence"):
        distill({"route": "crop", "lang": "de", "profile": "smoke", "db": str(tmp_path / "w.duckdb"),
                 "out": str(tmp_path / "d")}, progress=lambda m: None)


# -- the student -----------------------------------------------------------------------------------------------------

def test_student_is_trained_saved_loaded_and_evaluated_into_a_run_with_self_training(tmp_path, echo_backend):
    result = distill(request(tmp_path, route="eat", self_train_rounds=1), progress=lambda m: None)
    assert [e["label"] for e in result.evaluations] == ["student-eat", "student-eat-st1"]
    store = Store(tmp_path / "w.duckdb")
    for student, evaluation in zip(result.students, result.evaluations, strict=True):
        final = Path(student["model_dir"])
        assert final.parent.parent == tmp_path / "out" / "eat"
        manifest = json.loads((final / "eat_manifest.json").read_text(encoding="utf-8"))
        assert manifest["silver"]["signature"].startswith("silver|route:eat|lang:de|teacher:")
        assert json.loads((final / "eat_silver.json").read_text(encoding="utf-8")) == manifest["silver"]
        profile, config = store.query("SELECT profile, config FROM runs WHERE run_id = ?", [evaluation["run_id"]])[0]
        config = json.loads(config)
        assert profile == evaluation["label"] and config["method"]["name"] == "model-transfer"
        assert config["extractor"]["model"] == student["model_dir"]
        metrics = dict(store.query("SELECT metric, value FROM metrics WHERE run_id = ?", [evaluation["run_id"]]))
        assert {"token_f1", "token_f1_true", "entity_f1"} <= set(metrics)
        assert store.query("SELECT eval_run FROM students WHERE student_key = ?",
                           [student["step_key"]]) == [(evaluation["run_id"],)]
    base, relabelled = result.silver
    assert relabelled.kept >= base.kept and "self_train_round:1" in relabelled.signature
    sources = dict(store.query("SELECT source, count(*) FROM silver_sentences WHERE silver_id = ? AND kept "
                               "GROUP BY source", [relabelled.silver_id]))
    assert sources.get("teacher") == base.kept and sum(sources.values()) == relabelled.kept


def test_resume_after_a_crash_skips_finished_steps(tmp_path, echo_backend, monkeypatch):
    import eat_core.distill.student as training  # the module that calls train_extractor

    real = training.train_extractor

    def crash(*args, **kwargs):
        raise RuntimeError("worker died")

    monkeypatch.setattr(training, "train_extractor", crash)
    with pytest.raises(RuntimeError, match="worker died"):
        distill(request(tmp_path, route="eat"), progress=lambda m: None)
    calls = echo_backend.calls
    assert calls > 0
    monkeypatch.setattr(training, "train_extractor", real)
    messages: list[str] = []
    first = distill(request(tmp_path, route="eat"), progress=messages.append)
    assert echo_backend.calls == calls  # the teacher's run was finished: not one LLM call again
    assert first.silver[0].reused and any("2 already done, 0 to compute" in m for m in messages)
    assert (student_dir(plan_distill(request(tmp_path, route="eat")), 0) / "final" / "eat_manifest.json").is_file()
    messages.clear()
    second = distill(request(tmp_path, route="eat"), progress=messages.append)
    assert any("reusing it" in m for m in messages)  # the finished student is not trained again
    assert second.evaluations[0]["run_id"] == first.evaluations[0]["run_id"]
    assert second.evaluations[0]["computed_shards"] == 0 and second.evaluations[0]["skipped_shards"] > 0


@pytest.mark.slow
def test_prefect_flow_chains_cached_steps_and_a_rerun_reuses_them(tmp_path, echo_backend):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.testing.utilities import prefect_test_harness

    from flows.distill import distill_flow

    req = DistillRequest(**request(tmp_path, route="crop"))
    with prefect_test_harness(server_startup_timeout=180):
        first = distill_flow(req, return_state=True)
        assert first.is_completed(), first.message
        calls = echo_backend.calls
        second = distill_flow(req, return_state=True)
        assert second.is_completed() and echo_backend.calls == calls

        async def states():
            async with get_client() as client:
                runs = await client.read_task_runs()
                return [(run.name.rsplit("-", 1)[0], run.state.name, str(run.flow_run_id)) for run in runs]

        rerun = {name: state for name, state, flow_run in asyncio.run(states())
                 if flow_run == str(second.state_details.flow_run_id)}
        bad = distill_flow({"route": "crop", "lang": "xx"}, return_state=True)
    assert bad.is_failed() and bad.message.startswith("lang: unknown language code 'xx'")  # the key, as typed
    assert rerun["tag_teacher"] == "Cached" and rerun["evaluate_student"] == "Cached"
    one, two = first.result(), second.result()
    assert one["evaluations"][0]["run_id"] == two["evaluations"][0]["run_id"]
    assert one["evaluations"][0]["label"] == "student-crop"


# -- the command line ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "needles"), [
    (["distill", "--route", "teacher", "--lang", "zh"], ["--route", "'eat', 'crop', 'projection' or 'align'"]),
    (["distill", "--lang", "xx"], ["--lang", "unknown language code 'xx'"]),
    (["distill", "--lang", "en"], ["--lang", "must not be English"]),
    (["distill", "--lang", "zh", "--profile", "papr"], ["--profile", "did you mean 'paper'"]),
    (["distill", "--lang", "zh", "--self-train-rounds", "-1"], ["--self-train-rounds"]),
    (["distill", "--lang", "zh", "--base-model", "./no/such/model"], ["--base-model", "no such model"]),
    (["silver", "--lang", "zh", "--split", "valid"], ["--split", "'train', 'dev' or 'test'"]),
    (["silver", "--lang", "zh,xx"], ["--lang", "'xx'"]),
    (["silver", "--lang", "zh", "--dev-share", "1.5"], ["--dev-share"]),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needles):
    assert_user_error(run_cli(*args, "--out", str(tmp_path / "o"), "--db", str(tmp_path / "w.duckdb")), *needles)
    assert not (tmp_path / "w.duckdb").exists()  # refused before anything ran


def test_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="--out: .* is a file"):
        plan_distill(DistillRequest(lang="zh", out=str(tmp_path / "f")))
