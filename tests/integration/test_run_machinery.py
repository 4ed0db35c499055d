"""One run machinery (issue 19, item 2): ``eat run`` and ``eat tag`` check model options with the same code, key
their runs on the same fingerprints, and share one model session per process. Each test here failed on the copies
that had drifted apart (``tagging/request.validate_models``, ``tagging/runner.model_inputs``, ``TagEngine``)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest
from conftest import REPO

from eat_core.errors import ConfigError
from eat_core.evaluation.checks import validate_request
from eat_core.evaluation.identity import inputs_of
from eat_core.store import Store
from eat_core.tagging.request import validate_tag_request

SERVED = {"llm_backend": "openai", "base_url": "http://127.0.0.1:9/v1"}
MT = {"method": "model-transfer", "extractor": "token-classification", "extractor_model": "tiny:bert-tc"}


@pytest.fixture
def corpus(tmp_path) -> dict:
    """What ``eat tag`` needs besides model options: a small German text, an output file and a workspace."""
    text = tmp_path / "in.txt"
    text.write_text("Angela Merkel besuchte Paris.\nDie Firma Siemens sitzt in München.\n", encoding="utf-8")
    return {"input": str(text), "lang": "de", "out": str(tmp_path / "out.jsonl"), "db": str(tmp_path / "w.duckdb")}


def _refusals(corpus: dict, **options) -> tuple[str, str]:
    """The one line ``eat run`` and ``eat tag`` refuse the same model options with."""
    lines = []
    for check, request in ((validate_request, {"db": corpus["db"], "languages": "de", **options}),
                           (validate_tag_request, {**corpus, **options})):
        with pytest.raises(ConfigError) as err:
            check(request)
        lines.append(str(err.value))
    return lines[0], lines[1]


@pytest.mark.parametrize("url", ["http//x", "http://ok,ftp://bad", "ftp://x"])
def test_run_and_tag_refuse_a_bad_base_url_with_the_same_line(corpus, url):
    run_line, tag_line = _refusals(corpus, llm_backend="openai", base_url=url)
    assert run_line == tag_line
    assert run_line.startswith("--base-url:") and url in run_line


def test_run_and_tag_refuse_eat_ft_without_adapter_alike(corpus):
    run_line, tag_line = _refusals(corpus, method="eat-ft")
    assert run_line == tag_line and run_line.startswith("--adapter:")


def test_run_and_tag_check_a_local_adapter_alike(corpus, tmp_path):
    not_peft = tmp_path / "not-an-adapter"
    not_peft.mkdir()
    run_line, tag_line = _refusals(corpus, adapter=str(not_peft))
    assert run_line == tag_line and "adapter_config.json" in run_line
    # a served model's adapter is a name the server knows: neither command looks for a directory
    validate_request({"db": corpus["db"], "languages": "de", "adapter": "my-lora", **SERVED})
    validate_tag_request({**corpus, "adapter": "my-lora", **SERVED})


def test_run_and_tag_refuse_an_unknown_extractor_even_when_the_method_uses_none(corpus):
    run_line, tag_line = _refusals(corpus, method="direct", extractor="no-such-extractor")
    assert run_line == tag_line and run_line.startswith("--extractor:")


def test_cli_run_and_tag_print_the_same_line_for_a_bad_base_url(corpus):
    """The same at the command line: exit 2, one line, no model loaded."""
    bad = ["--llm-backend", "openai", "--base-url", "http://ok,ftp://bad", "--db", corpus["db"]]
    outs = [subprocess.run([sys.executable, "-m", "eat_cli", *args], capture_output=True, text=True, cwd=REPO,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
            for args in (["run", "--languages", "de", *bad],
                         ["tag", corpus["input"], "--lang", "de", "--out", corpus["out"], *bad])]
    assert [o.returncode for o in outs] == [2, 2], [o.stderr for o in outs]
    lines = [o.stderr.strip().splitlines() for o in outs]
    assert len(lines[0]) == 1 and lines[0] == lines[1], lines
    assert "--base-url" in lines[0][0] and "Traceback" not in outs[0].stderr + outs[1].stderr


def test_a_served_adapter_has_the_same_fingerprint_on_both_paths(corpus):
    from eat_core.tagging.runner import plan_tag

    cfg = validate_request({"db": corpus["db"], "languages": "de", "adapter": "my-lora", **SERVED})
    run_fp = inputs_of(cfg).by_name()["adapter"].fingerprint
    tag_fp = plan_tag({**corpus, "adapter": "my-lora", **SERVED}).inputs["adapter"]
    assert run_fp == tag_fp == "served:my-lora"


def test_run_then_tag_with_the_same_models_load_them_once(corpus):
    """One bounded session cache for both commands: a tag after a run in one process reuses the loaded models,
    and both shard runners return the same typed, picklable outcome."""
    from eat_core.evaluation import session
    from eat_core.evaluation.loop import evaluate
    from eat_core.tagging.runner import plan_tag, run_tag_shard, tag_corpus

    session._SESSIONS.clear()
    said: list[str] = []
    cfg = validate_request({"db": corpus["db"], "languages": "de", "limit": 4, "shard_size": 4, **MT})
    run = evaluate(cfg, corpus["db"], progress=said.append)
    assert run.computed_shards == 1 and not run.failed_shards
    tagged = tag_corpus({**corpus, **MT}, progress=said.append)
    assert not tagged.failed_shards and tagged.records == 2
    assert len([line for line in said if ": loading " in line]) == 1, said
    assert len(session._SESSIONS) == 1

    from eat_core.evaluation.shards import ShardOutcome, run_shard

    plan = plan_tag({**corpus, **MT})
    outcomes = [run_shard(cfg, corpus["db"], run.run_id, "de", 0),
                run_tag_shard(plan.cfg, corpus["db"], plan.run_id, plan.source, plan.corpus.shards[0])]
    assert [type(o) for o in outcomes] == [ShardOutcome, ShardOutcome]
    assert [o.status for o in outcomes] == ["skipped", "skipped"]
    assert [pickle.loads(pickle.dumps(o)) for o in outcomes] == outcomes  # what Prefect persists
    assert Store(corpus["db"]).done_shards(run.run_id) == {("de", 0)}
    session._SESSIONS.clear()
