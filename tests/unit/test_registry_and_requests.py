"""One registry, one profile table, one request family (issue 19, items 1 and 4).

The request -> ``RunConfig`` expectations below were recorded from the four hand-copied mappings before they were
merged (``EvalRequest.resolve``, ``TagRequest.eval_request``, distill ``_eval_request`` and ``student_eval_config``):
each case lists the fields that differ from the request's profile, so a mapping that drops, adds or renames one
override fails here.
"""

from __future__ import annotations

import pytest

from eat_core.config.requests import EvalRequest
from eat_core.config.run import get_profile
from eat_core.distill.plan import DistillPlan
from eat_core.distill.request import DistillRequest
from eat_core.distill.student import student_eval_config
from eat_core.tagging.request import TagRequest


def flat(data: dict, prefix: str = "") -> dict:
    out: dict = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def changed(cfg, profile: str) -> dict:
    """The dotted fields of ``cfg`` that differ from the profile it was resolved from."""
    base = flat(get_profile(profile).model_dump())
    return {key: value for key, value in flat(cfg.model_dump()).items() if base.get(key, ...) != value}


def eval_config(fields: dict):
    return EvalRequest(**fields).to_run_config()


def tag_config(fields: dict):
    return TagRequest(input="in.txt", lang="ja", out="o.jsonl", **fields).to_run_config()


def teacher_config(fields: dict):
    r = DistillRequest(**fields)
    return r.to_run_config(languages=("en",), method="direct") if r.route == "projection" else r.to_run_config()


def student_config(fields: dict, round: int):
    return student_eval_config(DistillPlan(DistillRequest(**fields), None, None), "/s", round)


FULL_EVAL = {"profile": "paper-ft", "languages": ("zh", "ja"), "data_dir": "/d", "split": "test", "limit": 5,
             "repair_tags": False, "llm_backend": "openai", "llm": "served", "base_url": "http://h:1/v1",
             "adapter": "/a", "extractor": "t5", "extractor_model": "/e", "rounds": 5, "shard_size": 8,
             "overlong": "truncate", "method": "crop", "demonstrations": 2, "crop_matcher": "eat",
             "extractor_label_map": "norp=org,FAC=O"}
FULL_TAG = {"profile": "paper", "method": "direct", "demonstrations": 0, "adapter": "/a", "overlong": "truncate",
            "llm_backend": "openai", "base_url": "http://h:1/v1", "llm": "m", "rounds": 1, "shard_size": 3,
            "crop_matcher": "eat", "extractor": "heuristic", "extractor_model": "none",
            "extractor_label_map": "EVENT=LOC"}
FULL_DISTILL = {"route": "crop", "profile": "paper", "lang": "ko", "data_dir": "/d", "limit": 7,
                "llm_backend": "openai", "base_url": "http://h:1/v1", "llm": "m", "rounds": 1, "shard_size": 5,
                "crop_matcher": "eat", "extractor": "t5", "extractor_model": "/e", "split": "dev",
                "eval_split": "train", "extractor_label_map": "NORP=ORG", "export_formats": "parquet,hf"}
STUDENT = {"method.name": "model-transfer", "extractor.name": "token-classification", "extractor.model": "/s"}


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, {}),
    ({"profile": "paper", "method": "model-transfer"}, {"method.name": "model-transfer"}),
    ({"profile": "smoke", "method": "model-transfer"},  # the smoke profile's method preset
     {"method.name": "model-transfer", "extractor.name": "token-classification", "extractor.model": "tiny:bert-tc"}),
    (FULL_EVAL, {"method.name": "crop", "method.demonstrations": 2, "method.crop_matcher": "eat",
                 "data.source": "local", "data.data_dir": "/d", "data.languages": ("zh", "ja"), "data.limit": 5,
                 "data.repair_tags": False, "data.overlong": "truncate", "llm.backend": "openai",
                 "llm.model": "served", "llm.adapter": "/a", "llm.base_url": "http://h:1/v1", "extractor.model": "/e",
                 "extractor.label_map.NORP": "ORG", "extractor.label_map.FAC": "O", "engine.rounds": 5,
                 "shard_size": 8}),
])
def test_eval_request_to_run_config(fields, expected):
    assert changed(eval_config(fields), fields.get("profile", "smoke")) == expected


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, {"data.languages": ("ja",)}),
    (FULL_TAG, {"method.name": "direct", "method.demonstrations": 0, "method.crop_matcher": "eat",
                "data.languages": ("ja",), "data.overlong": "truncate", "llm.backend": "openai", "llm.model": "m",
                "llm.adapter": "/a", "llm.base_url": "http://h:1/v1", "extractor.name": "heuristic",
                "extractor.model": "none", "extractor.label_map.EVENT": "LOC", "engine.rounds": 1,
                "shard_size": 3}),
])
def test_tag_request_to_run_config(fields, expected):
    assert changed(tag_config(fields), fields.get("profile", "smoke")) == expected


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, {"data.languages": ("zh",)}),
    (FULL_DISTILL, {"method.name": "crop", "method.crop_matcher": "eat", "data.source": "local",
                    "data.data_dir": "/d", "data.split": "dev", "data.languages": ("ko",), "data.limit": 7,
                    "llm.backend": "openai", "llm.model": "m", "llm.base_url": "http://h:1/v1",
                    "extractor.model": "/e", "extractor.label_map.NORP": "ORG", "engine.rounds": 1,
                    "shard_size": 5}),
    ({"route": "projection", "lang": "zh", "llm": "tiny:qwen2"},  # the projection reads English with `direct`
     {"method.name": "direct", "data.languages": ("en",)}),
])
def test_distill_teacher_to_run_config(fields, expected):
    assert changed(teacher_config(fields), fields.get("profile", "smoke")) == expected


@pytest.mark.parametrize(("fields", "round", "expected"), [
    ({}, 0, {"profile": "student-eat", "data.languages": ("zh",), **STUDENT}),
    ({"route": "projection", "lang": "zh", "llm": "tiny:qwen2"}, 2,
     {"profile": "student-projection-st2", "data.languages": ("zh",), **STUDENT}),
    # the teacher's LLM, extractor, rounds and matcher never reach the student's evaluation (its run id)
    (FULL_DISTILL, 0, {"profile": "student-crop", "data.source": "local", "data.data_dir": "/d",
                       "data.split": "train", "data.languages": ("ko",), "data.limit": 7, "shard_size": 5, **STUDENT}),
])
def test_distill_student_evaluation_config(fields, round, expected):
    assert changed(student_config(fields, round), fields.get("profile", "smoke")) == expected


# -- one registry ----------------------------------------------------------------------------------------------------


def test_an_unknown_name_is_one_line_with_the_closest_name_and_every_choice():
    from eat_core.errors import ConfigError
    from eat_core.methods import METHODS

    with pytest.raises(ConfigError) as err:
        METHODS.check("--method", "crap")
    assert str(err.value) == ("--method: unknown method 'crap'; did you mean 'crop'? "
                              "(available: eat, eat-ft, direct, crop, fusion, model-transfer)")
    with pytest.raises(ConfigError) as err:
        METHODS.get("zzzz")
    assert str(err.value) == "unknown method 'zzzz' (available: eat, eat-ft, direct, crop, fusion, model-transfer)"


def test_names_load_lazily_and_a_registered_name_is_gone_after_its_block():
    import sys

    from eat_core.extractors import EXTRACTORS
    from eat_core.registry import LazyRegistry

    registry = LazyRegistry("thing", {"heuristic": "eat_core.extractors.heuristic:CapitalisedSpanExtractor"})
    assert registry.names() == ("heuristic",) and "heuristic" in registry
    sys.modules.pop("eat_core.extractors.heuristic", None)
    assert registry.check("--thing", "heuristic") == "heuristic"
    assert "eat_core.extractors.heuristic" not in sys.modules  # checking a name imports nothing
    assert registry.get("heuristic").__name__ == "CapitalisedSpanExtractor"
    marker = object()
    with EXTRACTORS.register("test-only", marker):
        assert EXTRACTORS.get("test-only") is marker and "test-only" in EXTRACTORS.names()
    assert "test-only" not in EXTRACTORS


@pytest.mark.parametrize(("call", "line"), [
    (lambda: __import__("eat_core.config.coerce", fromlist=["x"]).parse_languages("zhh,xx"),
     "--languages: unknown language codes 'zhh', 'xx'; did you mean 'zh' (Chinese)? (an ISO 639-1/639-3 code"),
    (lambda: __import__("eat_core.languages", fromlist=["x"]).language_name("xx"),
     "unknown language code 'xx' (an ISO 639-1/639-3 code or BCP-47 tag"),
])
def test_unknown_language_codes_share_one_wording(call, line):
    from eat_core.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        call()
    assert str(err.value).startswith(line)


# -- one profile table -----------------------------------------------------------------------------------------------


def test_one_profile_table_feeds_runs_and_distillation(monkeypatch):
    """Editing a profile's entry changes both what `eat run` resolves and the student defaults of `eat distill`."""
    import dataclasses

    import eat_core.distill.request as distill_request
    from eat_core.config.run import PROFILES

    assert not hasattr(distill_request, "PRESETS")
    for name, profile in PROFILES.items():
        assert get_profile(name) is profile.run and profile.run.profile == name
        assert DistillRequest(profile=name).student_settings()["epochs"] == profile.student.epochs
    smoke = PROFILES["smoke"]
    edited = dataclasses.replace(smoke, run=smoke.run.with_overrides(shard_size=3),
                                 student=smoke.student.model_copy(update={"epochs": 7.0, "eval_split": "test"}))
    monkeypatch.setitem(PROFILES, "smoke", edited)
    assert eval_config({}).shard_size == 3
    assert DistillRequest().preset("epochs") == 7.0 and student_config({}, 0).data.split == "test"
    assert DistillRequest(profile="papr").preset("split") == "train"  # not a profile: the paper's (refused later)


# -- execution options beside the request ----------------------------------------------------------------------------


def test_execution_options_are_split_off_a_deployments_request():
    """Deployments pass `concurrency_tag` and the Dask options inside `request`: the coercer moves them beside it,
    and the run configuration (so the run id) is the same as without them."""
    from eat_core.config.coerce import coerce_request
    from eat_core.config.requests import ExecutionOptions

    request, execution = coerce_request({"profile": "paper", "concurrency_tag": "llm", "dask_address": "tcp://h:8786"})
    assert type(request) is EvalRequest and not set(ExecutionOptions.model_fields) & set(EvalRequest.model_fields)
    assert execution == ExecutionOptions(concurrency_tag="llm", dask_address="tcp://h:8786") and execution.uses_dask
    assert request.to_run_config() == EvalRequest(profile="paper").to_run_config()
    _, explicit = coerce_request({"concurrency_tag": "llm"}, {"concurrency_tag": "gpu", "dask_workers": 2})
    assert explicit.concurrency_tag == "gpu" and explicit.dask_workers == 2  # the execution parameter wins
    assert coerce_request(None) == (EvalRequest(), ExecutionOptions())


def test_every_deployment_preset_coerces_with_its_execution_options():
    import json

    from conftest import REPO

    from eat_core.config.coerce import coerce_request

    presets = sorted((REPO / "deployments").glob("full-eval-*.json"))
    assert len(presets) >= 5
    for path in presets:
        params = json.loads(path.read_text())
        raw, where = params["request"], params.get("execution", {})  # a server refuses them inside the request
        request, execution = coerce_request(raw, params.get("execution"))
        assert execution.concurrency_tag == where.get("concurrency_tag")
        assert execution.dask_address == where.get("dask_address") and request.profile == raw["profile"]


@pytest.mark.parametrize(("call", "line"), [
    (lambda c: c.coerce_request({"dask_address": "tcp://h:1", "dask_workers": 2}),
     "--dask-address: give either an existing scheduler or --dask-workers for a local cluster"),
    (lambda c: c.coerce_request({}, {"dask_workers": 0}), "--dask-workers: input should be greater than or equal to 1"),
    (lambda c: c.coerce_request({"langs": "zh"}), "unknown parameter 'langs'; allowed: "),
    (lambda c: c.coerce_request({"run_id": "../x"}), "--run-id: '../x' is not allowed"),
    (lambda c: c.coerce(TagRequest, {"lang": "zh", "out": "o.jsonl"}), "INPUT: required"),
    (lambda c: c.coerce(TagRequest, {"input": "i", "lang": "zh,ja", "out": "o"}), "--lang: one language per corpus"),
    (lambda c: c.coerce(DistillRequest, {"lang": "xx"}), "--lang: unknown language code 'xx'"),
    (lambda c: c.coerce(DistillRequest, {"base_model": "m", "epoch": 2}), "unknown parameter 'epoch'; allowed: "),
])
def test_one_coercer_gives_one_line_naming_the_option(call, line):
    import eat_core.config.coerce as coerce
    from eat_core.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        call(coerce)
    assert str(err.value).startswith(line) and "\n" not in str(err.value)
    if "allowed" in line and "langs" in line:  # a deployment may still name an execution option in its request
        assert "concurrency_tag" in str(err.value)
