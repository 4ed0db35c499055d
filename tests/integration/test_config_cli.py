"""Typed configuration, profiles, prompts and the `eat` command line."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from support.cli import assert_user_error, run_cli, run_cli_process

from eat_core.config.run import LLMConfig, RunConfig, get_profile, load_config_file
from eat_core.errors import ConfigError
from eat_core.prompts import PromptSet


def test_profiles_and_overrides():
    smoke = get_profile("smoke")
    assert smoke.llm.model == "tiny:qwen2" and smoke.engine.rounds == 3
    assert get_profile("paper-ft").llm.adapter == "adapters/eacl"
    changed = smoke.with_overrides(**{"engine.rounds": 5, "data.languages": ("zh",), "llm.model": None})
    assert changed.engine.rounds == 5 and changed.data.languages == ("zh",) and changed.llm.model == "tiny:qwen2"
    with pytest.raises(ConfigError, match="did you mean 'paper'"):
        get_profile("papr")
    with pytest.raises(ConfigError, match="unknown configuration field 'llm.modle'"):
        smoke.with_overrides(**{"llm.modle": "x"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data": {"languages": ["zz"]}}, "unknown language code"),
        ({"engine": {"rounds": 2}}, "rounds"),
        ({"llm": {"temperature": 0.7}}, "needs an explicit seed"),
        ({"shard_size": 0}, "shard_size"),
        ({"llm": {"api_key": "sk-1"}}, "api_key"),  # secrets are never config fields
    ],
)
def test_invalid_configuration_is_rejected(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        RunConfig.model_validate(kwargs)


def test_trust_remote_code_is_off_by_default():
    assert LLMConfig().trust_remote_code is False


def test_config_file_merges_over_a_profile(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"profile": "smoke", "engine": {"rounds": 1}}))
    cfg = load_config_file(path)
    assert cfg.profile == "smoke" and cfg.engine.rounds == 1 and cfg.llm.model == "tiny:qwen2"


def test_prompts_override_and_placeholder_check(tmp_path):
    prompts = PromptSet.load()
    assert prompts.plan("forward", 3) == ("forward_entities", "forward_translate", "forward_final")
    assert "Korean" in prompts.render("forward_entities", language="Korean", sentence="서울")
    (tmp_path / "forward_final.txt").write_text("Only the {language} result.")
    custom = PromptSet.load(tmp_path)
    assert custom.render("forward_final", language="English") == "Only the English result."
    assert custom.fingerprint != prompts.fingerprint
    (tmp_path / "forward_final.txt").write_text("{secret}")
    with pytest.raises(ConfigError, match="unknown placeholder"):
        PromptSet.load(tmp_path)
    (tmp_path / "forward_final.txt").unlink()
    (tmp_path / "nonsense.txt").write_text("x")
    with pytest.raises(ConfigError, match="unknown template name 'nonsense'"):
        PromptSet.load(tmp_path)


def test_help_lists_every_command():
    out = run_cli_process("--help")  # the real entry point: `python -m eat_cli`
    assert out.returncode == 0
    for command in ("run", "results", "resume", "report", "train-extractor", "finetune", "eacl", "data"):
        assert command in out.stdout


def test_user_errors_are_one_line_not_tracebacks(tmp_path):
    assert_user_error(run_cli("run", "--profile", "papr", "--db", str(tmp_path / "x.duckdb")), "unknown profile 'papr'")
    assert_user_error(run_cli("results", "--db", str(tmp_path / "none.duckdb")), "no such DuckDB file")
    assert_user_error(run_cli("data", "check", str(tmp_path), "--languages", "zh"), "no 'dev' split for language 'zh'")
