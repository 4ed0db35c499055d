"""Reuse keyed by content: an input changed in place (prompt, LLM weights, extractor, data) gives a new run that
recomputes, and an untouched re-run reuses everything (no shard computed, no LLM call made)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.db import count
from support.db import predictions as stored_predictions

from eat_core.config.run import get_profile
from eat_core.data import SAMPLE_DIR
from eat_core.evaluation.loop import evaluate
from eat_core.store import Store

LANG = "zh"


@pytest.fixture
def rewritable_inputs(tmp_path, tiny_root):
    """A local data copy, a local LLM copy and a trained extractor, all in folders the test may rewrite."""
    from eat_core.training.extractor import ExtractorTrainConfig, train_extractor
    from eat_core.weights.tiny import build_tiny_qwen2

    data = tmp_path / "data"
    (data / LANG).mkdir(parents=True)
    shutil.copy(SAMPLE_DIR / LANG / "dev.tsv", data / LANG / "dev.tsv")
    (data / "en").mkdir()
    shutil.copy(SAMPLE_DIR / "en" / "dev.tsv", data / "en" / "train.tsv")
    shutil.copy(SAMPLE_DIR / "en" / "dev.tsv", data / "en" / "dev.tsv")
    llm = tmp_path / "llm"
    shutil.copytree(build_tiny_qwen2(tiny_root), llm)
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "backward_final.txt").write_text("Give only the exact phrase of the sentence: {sentence}",
                                                encoding="utf-8")
    ext_cfg = ExtractorTrainConfig(kind="token-classification", base_model="tiny:bert-tc", data_dir=str(data),
                                   output_dir=str(tmp_path / "extractor"), max_steps=2, batch_size=4, seed=1)
    train_extractor(ext_cfg)
    cfg = get_profile("smoke").with_overrides(**{
        "data.source": "local", "data.data_dir": str(data), "data.languages": (LANG,), "data.limit": 4,
        "llm.model": str(llm), "engine.prompts_dir": str(prompts), "engine.rounds": 1,
        "extractor.name": "token-classification", "extractor.model": str(tmp_path / "extractor" / "final"),
        "shard_size": 2,
    })
    return {"root": tmp_path, "data": data, "llm": llm, "prompts": prompts, "ext_cfg": ext_cfg, "cfg": cfg,
            "db": tmp_path / "eat.duckdb"}


def llm_rows(db: Path) -> int:
    return count(db, "llm_cache")


def predictions(db: Path, run_id: str) -> dict[str, tuple]:
    return stored_predictions(db, run_id, ("tokens", "english", "pred"))


def rerun_is_fully_cached(ws, run_id: str) -> None:
    before = llm_rows(ws["db"])
    again = evaluate(ws["cfg"], ws["db"])
    assert again.run_id == run_id
    assert again.computed_shards == 0 and again.skipped_shards == 2 and not again.failed_shards
    assert llm_rows(ws["db"]) == before  # no LLM call made


def run_after(ws, edit) -> tuple:
    first = evaluate(ws["cfg"], ws["db"])
    assert first.computed_shards == 2 and not first.failed_shards
    old = predictions(ws["db"], first.run_id)
    calls_before = llm_rows(ws["db"])
    notes: list[str] = []
    edit(ws)
    second = evaluate(ws["cfg"], ws["db"], progress=notes.append)
    assert second.run_id != first.run_id, "an input changed in place must start a new run"
    assert second.computed_shards == 2 and not second.failed_shards
    assert predictions(ws["db"], first.run_id) == old  # the old run stays queryable, untouched
    rerun_is_fully_cached(ws, second.run_id)
    return first.run_id, second.run_id, old, predictions(ws["db"], second.run_id), calls_before, notes


def test_prompt_edited_in_place_starts_a_new_run(rewritable_inputs):
    def edit(ws):
        (ws["prompts"] / "forward_single.txt").write_text("Translate into English, tersely: {sentence}",
                                                          encoding="utf-8")

    _, new_id, old, new, calls_before, notes = run_after(rewritable_inputs, edit)
    assert llm_rows(rewritable_inputs["db"]) > calls_before  # the new prompt was sent to the LLM
    assert any(n.startswith("prompt templates changed") and new_id in n for n in notes), notes
    assert [v[1] for v in old.values()] != [v[1] for v in new.values()]  # English translations differ


def test_llm_weights_overwritten_in_place_start_a_new_run(rewritable_inputs, tiny_root):
    from eat_core.weights.tiny import build_tiny_qwen2

    def edit(ws):
        other = build_tiny_qwen2(tiny_root / "other", seed=7)
        for f in other.iterdir():
            if f.suffix == ".safetensors":
                shutil.copy(f, ws["llm"] / f.name)

    _, _, old, new, calls_before, notes = run_after(rewritable_inputs, edit)
    assert llm_rows(rewritable_inputs["db"]) > calls_before
    assert any(n.startswith(f"LLM weights changed: {rewritable_inputs['llm']}") for n in notes), notes
    assert [v[1] for v in old.values()] != [v[1] for v in new.values()]


def test_extractor_retrained_into_the_same_folder_starts_a_new_run(rewritable_inputs):
    from eat_core.training.extractor import train_extractor

    def edit(ws):
        train_extractor(ws["ext_cfg"].model_copy(update={"seed": 2, "learning_rate": 5e-2, "max_steps": 6}))

    _, _, _, _, calls_before, notes = run_after(rewritable_inputs, edit)
    assert any(n.startswith("extractor weights changed") for n in notes), notes


def test_one_sentence_changed_in_place_starts_a_new_run(rewritable_inputs):
    def edit(ws):
        path = ws["data"] / LANG / "dev.tsv"
        lines = path.read_text(encoding="utf-8").split("\n")
        token, tag = lines[0].split("\t")
        lines[0] = f"北\t{tag}"
        assert token != "北"
        path.write_text("\n".join(lines), encoding="utf-8")

    _, _, old, new, _, notes = run_after(rewritable_inputs, edit)
    first_id = sorted(old)[0]
    assert old[first_id][0][0] != "北" and new[first_id][0][0] == "北"
    assert any(n.startswith(f"{LANG} data changed") for n in notes), notes
    assert all(old[k][0] == new[k][0] for k in old if k != first_id)  # only that sentence changed


def test_run_inputs_are_recorded_and_a_reused_run_id_over_changed_inputs_is_refused(rewritable_inputs):
    from eat_core.errors import ConfigError

    ws = rewritable_inputs
    first = evaluate(ws["cfg"], ws["db"], run_id="mine")
    recorded = {r[0]: r for r in Store(ws["db"]).query(
        "SELECT name, kind, path, fingerprint FROM run_inputs WHERE run_id = 'mine'")}
    assert set(recorded) == {"prompts", "llm", "extractor", f"data:{LANG}"}
    assert recorded["llm"][2] == str(ws["llm"]) and len(recorded["llm"][3]) == 16
    (ws["prompts"] / "backward_final.txt").write_text("Only the phrase: {sentence}", encoding="utf-8")
    with pytest.raises(ConfigError, match="prompt templates changed"):
        evaluate(ws["cfg"], ws["db"], run_id="mine")
    assert first.computed_shards == 2


def test_training_resumes_only_from_checkpoints_of_the_same_inputs(rewritable_inputs):
    """The extractor step: same inputs are reused as finished; changed data never resumes stale checkpoints."""
    from eat_core.training.extractor import train_extractor

    ws = rewritable_inputs
    out = Path(ws["ext_cfg"].output_dir)
    manifest = json.loads((out / "final" / "eat_manifest.json").read_text(encoding="utf-8"))
    said: list[str] = []
    assert train_extractor(ws["ext_cfg"], progress=said.append)["step_key"] == manifest["step_key"]
    assert any("reusing it" in s for s in said)
    train = ws["data"] / "en" / "train.tsv"
    train.write_text(train.read_text(encoding="utf-8").replace("\tO\n", "\tB-LOC\n", 1), encoding="utf-8")
    said.clear()
    again = train_extractor(ws["ext_cfg"], progress=said.append)
    assert again["step_key"] != manifest["step_key"]
    assert again["inputs"]["training data"] != manifest["inputs"]["training data"]
    assert any("training data changed" in s and "starting afresh" in s for s in said), said
    assert not any("resuming from" in s for s in said)


def test_eacl_rebuild_follows_its_input_not_the_path(tmp_path):
    """The EACL build after an in-place edit of a corpus file: stored pairs and the export follow the new content."""
    from typer.testing import CliRunner

    from eat_cli.main import app

    official = tmp_path / "official"
    official.mkdir()
    pairs = [{"eng_entity": "Paris", "tgt_entity": "巴黎", "text": "巴黎是法国的首都。它很大。"},
             {"eng_entity": "Rome", "tgt_entity": "罗马", "text": "罗马是意大利的首都。"}]
    corpus = official / "corpus_zh.json"
    corpus.write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
    db, out = tmp_path / "eat.duckdb", tmp_path / "out"
    build = ["eacl", "build", "--official", str(official), "--out", str(out), "--db", str(db), "--valid-ratio", "0"]
    assert CliRunner().invoke(app, build).exit_code == 0
    corpus.write_text(json.dumps(pairs[:1] + [{"eng_entity": "Berlin", "tgt_entity": "柏林",
                                               "text": "柏林是德国的首都。"}], ensure_ascii=False),
                      encoding="utf-8")
    assert CliRunner().invoke(app, build).exit_code == 0
    stored = {r[0] for r in Store(db).query("SELECT eng_entity FROM eacl_pairs WHERE lang = 'zh'")}
    assert stored == {"Paris", "Berlin"}
    exported = (out / "eacl_zh_train.json").read_text(encoding="utf-8")
    assert "柏林" in exported and "罗马" not in exported
