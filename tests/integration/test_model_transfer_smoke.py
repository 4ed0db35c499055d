"""``model-transfer`` runs on the smoke profile with no options and no training step, like every other method.

The smoke profile's preset for model-transfer is the tiny token classifier ``tiny:bert-tc`` (built locally from a
config, WikiANN labels, cached by recipe under ``$EAT_CACHE_DIR``). Checked here: the ``--direct`` command on a
fresh cache, the Prefect flow path with ``eat compare`` after it, the build cache, the explicit override, and the
paper profile's one-line error (it has no local classifier).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from eat_core.config.requests import EvalRequest
from eat_core.store import Store

COMMAND = ["run", "--profile", "smoke", "--method", "model-transfer", "--languages", "zh,ar"]
EXPLICIT = {"extractor": "token-classification", "extractor_model": "tiny:bert-tc"}


def table_langs(stdout: str) -> list[str]:
    """The language column of the results table `eat run` prints last."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("lang "))
    return [line.split()[0] for line in lines[start + 2:] if line.strip()]


@pytest.mark.slow
def test_direct_command_runs_on_a_fresh_cache_and_keys_the_run_by_the_classifiers_content(tmp_path):
    from eat_core.hashing import directory_fingerprint

    cache, db = tmp_path / "fresh-cache", tmp_path / "x.duckdb"
    env = {**os.environ, "EAT_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "eat_cli", *COMMAND, "--direct", "--db", str(db)],
                         capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert sorted(table_langs(out.stdout)) == ["ar", "zh"], out.stdout
    built = list((cache / "tiny").glob("bert-tc-*"))
    assert len(built) == 1 and (built[0] / "config.json").is_file()  # built by the command itself
    labels = set(json.loads((built[0] / "config.json").read_text())["id2label"].values())
    assert labels == {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"}
    store = Store(db)
    (run_id, config), = store.query("SELECT run_id, config FROM runs")
    config = json.loads(config) if isinstance(config, str) else config
    assert config["method"]["name"] == "model-transfer"
    assert config["extractor"] == {**config["extractor"], "name": "token-classification", "model": "tiny:bert-tc"}
    inputs = store.get_run_inputs(run_id)
    assert inputs["extractor"].fingerprint == directory_fingerprint(built[0])
    assert "llm" not in inputs  # no LLM: its weights are not an input of this run
    assert store.query("SELECT count(*) FROM predictions WHERE run_id = ?", [run_id])[0][0] == 16


@pytest.mark.slow
def test_flow_path_runs_and_the_run_appears_in_eat_compare(prefect_harness, tmp_path, capsys):
    from eat_cli.main import app
    from eat_core.evaluation.identity import run_id_for

    db = tmp_path / "flow.duckdb"
    with pytest.raises(SystemExit) as stop:
        app([*COMMAND, "--db", str(db)], prog_name="eat")
    captured = capsys.readouterr()
    assert stop.value.code == 0, captured.err[-2000:]
    assert sorted(table_langs(captured.out)) == ["ar", "zh"], captured.out
    (run_id,), = Store(db).query("SELECT run_id FROM runs")
    explicit = EvalRequest(profile="smoke", method="model-transfer", languages=("zh", "ar"), **EXPLICIT).resolve()
    assert run_id == run_id_for(explicit)  # the preset is the explicit override, so they share one run
    with pytest.raises(SystemExit) as stop:
        app(["compare", "--db", str(db), "--out", str(tmp_path / "reports"), "--format", "json"], prog_name="eat")
    captured = capsys.readouterr()
    assert stop.value.code == 0, captured.err
    data = json.loads(captured.out)
    assert [(r["run_id"], r["method"], r["model"]) for r in data["runs"]] == [(run_id, "model-transfer",
                                                                             "tiny:bert-tc")]
    ours = {r["lang"] for r in data["f1"] if r["kind"] == "run" and r["run_id"] == run_id}
    assert {"ar", "zh"} <= ours


def test_tiny_classifier_is_built_once_then_reused(tmp_path, monkeypatch):
    from eat_core.hashing import directory_fingerprint
    from eat_core.weights import tiny as tiny_models
    from eat_core.weights.resolve import resolve_model_path

    monkeypatch.setenv("EAT_CACHE_DIR", str(tmp_path / "cache"))
    first = Path(resolve_model_path("tiny:bert-tc"))  # a fresh cache: built here
    before, stamp = directory_fingerprint(first), (first / "config.json").stat().st_mtime_ns

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the cached tiny classifier was rebuilt")

    monkeypatch.setattr(tiny_models, "train_tokenizer", no_rebuild)
    again = Path(resolve_model_path("tiny:bert-tc"))
    assert again == first and again.parent == tmp_path / "cache" / "tiny"
    assert directory_fingerprint(again) == before and (again / "config.json").stat().st_mtime_ns == stamp


def test_explicit_extractor_overrides_the_smoke_preset_and_paper_has_none(tmp_path):
    smoke = EvalRequest(profile="smoke", method="model-transfer").resolve()
    assert (smoke.extractor.name, smoke.extractor.model) == ("token-classification", "tiny:bert-tc")
    mine = EvalRequest(profile="smoke", method="model-transfer", extractor="token-classification",
                       extractor_model=str(tmp_path)).resolve()
    assert mine.extractor.model == str(tmp_path)
    only_model = EvalRequest(profile="smoke", method="model-transfer", extractor_model="/my/tc").resolve()
    assert (only_model.extractor.name, only_model.extractor.model) == ("token-classification", "/my/tc")
    assert EvalRequest(profile="smoke").resolve().extractor.name == "heuristic"  # other methods: unchanged
    paper = EvalRequest(profile="paper", method="model-transfer").resolve()
    assert paper.extractor.name == "t5"  # no local classifier on paper: validation says so in one line


@pytest.mark.parametrize(("args", "needles"), [
    (["--profile", "paper", "--method", "model-transfer"], ["--extractor", "token-classification",
                                                            "eat train-extractor"]),
    (["--method", "model-transfer", "--extractor", "t5"], ["--extractor", "token-classification"]),
    (["--method", "model-transfer", "--extractor-model", "/no/tc"], ["--extractor-model", "no such model"]),
])
def test_model_transfer_without_a_usable_classifier_is_one_line_exit_2(args, needles, tmp_path, capsys):
    from eat_cli.main import app

    db = tmp_path / "x.duckdb"
    with pytest.raises(SystemExit) as stop:
        app(["run", "--direct", "--db", str(db), "--languages", "zh", *args])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not db.exists()


def test_readme_gives_the_smoke_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "eat run --profile smoke --method model-transfer --languages zh,ar" in readme
