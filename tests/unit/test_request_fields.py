"""The run form and the run names: every request field described, registry names offered as choices (and in sync
with their registries), errors naming what the user typed, runs named after method, model and languages."""

from __future__ import annotations

import pytest

from eat_core.config.coerce import named_as_typed, parameter_line
from eat_core.config.fields import DISTILL, EXTRACTOR_NAMES, LLM_BACKEND_NAMES, METHOD_NAMES, PROFILE_NAMES
from eat_core.config.labels import RunLabels, labels_for, languages_label, run_labels, short_model
from eat_core.config.requests import EvalRequest, ExecutionOptions
from eat_core.distill.request import ROUTES, DistillRequest
from eat_core.errors import ConfigError
from eat_core.tagging.request import TagRequest

REQUESTS = (EvalRequest, ExecutionOptions, TagRequest, DistillRequest)


# -- the form: descriptions and choices -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", REQUESTS, ids=lambda m: m.__name__)
def test_every_request_field_has_a_description_in_the_json_schema(model):
    properties = model.model_json_schema()["properties"]
    assert set(properties) == set(model.model_fields)
    undescribed = [name for name, schema in properties.items() if len(schema.get("description") or "") < 10]
    assert undescribed == []


def test_each_choice_tuple_equals_its_registry():
    """The form offers exactly the names the registries accept: a name added to one and not the other fails here
    (add a method, backend, extractor or profile to its registry and to eat_core/config/fields.py)."""
    from eat_core.config.run import PROFILES
    from eat_core.extractors import EXTRACTORS
    from eat_core.llm import BACKENDS
    from eat_core.methods import METHODS

    assert tuple(PROFILES) == PROFILE_NAMES
    assert METHODS.names() == METHOD_NAMES
    assert BACKENDS.names() == LLM_BACKEND_NAMES
    assert EXTRACTORS.names() == EXTRACTOR_NAMES


def _enum(schema: dict, name: str) -> list:
    """The choices of property ``name`` (the ``str`` branch of an optional field)."""
    prop = schema["properties"][name]
    branches = prop.get("anyOf", [prop])
    return next(b["enum"] for b in branches if "enum" in b)


@pytest.mark.parametrize(("model", "field", "choices"), [
    (EvalRequest, "profile", PROFILE_NAMES), (EvalRequest, "method", METHOD_NAMES),
    (EvalRequest, "llm_backend", LLM_BACKEND_NAMES), (EvalRequest, "extractor", EXTRACTOR_NAMES),
    (EvalRequest, "rounds", (1, 3, 5)), (EvalRequest, "split", ("train", "dev", "test")),
    (TagRequest, "method", METHOD_NAMES), (TagRequest, "format", ("auto", "jsonl", "conll", "text")),
    (DistillRequest, "route", ROUTES), (DistillRequest, "extractor", EXTRACTOR_NAMES),
])
def test_names_are_offered_as_choices(model, field, choices):
    assert _enum(model.model_json_schema(), field) == list(choices)


def test_an_optional_choice_still_accepts_no_value():
    """The enum sits on the string branch, so an empty field (the profile's value) stays valid in the schema."""
    prop = EvalRequest.model_json_schema()["properties"]["method"]
    assert {"type": "null"} in prop["anyOf"] and prop["default"] is None


def test_the_route_description_names_every_route():
    assert [r for r in ROUTES if r not in DISTILL["route"]] == []


def test_a_name_outside_the_choices_is_refused_by_its_registry_with_a_suggestion():
    """The choices are the form's; validation stays the registry's (a test may register its own backend)."""
    from eat_core.evaluation.checks import validate_request

    with pytest.raises(ConfigError, match=r"^--method: unknown method 'crap'; did you mean 'crop'\?"):
        validate_request({"profile": "smoke", "method": "crap"})


# -- errors name what the user typed ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("message", "models", "expected"), [
    ("--extractor-model: no such model directory '/m'", (EvalRequest,),
     "extractor_model: no such model directory '/m'"),
    ("--data: /x: no such directory", (EvalRequest,), "data_dir: /x: no such directory"),
    ("--dask-address: give either an existing scheduler or --dask-workers for a local cluster",
     (EvalRequest, ExecutionOptions),
     "dask_address: give either an existing scheduler or dask_workers for a local cluster"),
    ("INPUT: a.txt: no such file", (TagRequest,), "input: a.txt: no such file"),
    ("--strict-tags refuses them (see --help)", (EvalRequest,), "repair_tags: false refuses them (see --help)"),
    ("zh/dev.tsv:3: EAT UTF-8", (EvalRequest,), "zh/dev.tsv:3: EAT UTF-8"),
])
def test_parameter_line_names_keys_instead_of_flags(message, models, expected):
    assert parameter_line(message, *models) == expected


def _raise_in(request):
    from eat_core.evaluation.checks import validate_request

    with named_as_typed(request, EvalRequest, ExecutionOptions):
        validate_request(request)


def test_flow_parameters_name_the_json_key_and_the_cli_names_the_flag():
    """The same bad value: given as a mapping (a deployment's parameters) the line names ``run_id``; given as the
    request object ``eat run`` builds, ``--run-id``."""
    params = {"profile": "smoke", "run_id": "../escape"}
    with pytest.raises(ConfigError) as from_flow:
        _raise_in(params)
    with pytest.raises(ConfigError) as from_cli:
        _raise_in(EvalRequest(**params))
    assert str(from_flow.value).startswith("run_id: '../escape' is not allowed")
    assert str(from_cli.value).startswith("--run-id: '../escape' is not allowed")


# -- run names and tags -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "short"), [
    ("Qwen/Qwen2.5-14B-Instruct", "qwen14b"),
    ("meta-llama/Llama-3.1-8B-Instruct", "llama8b"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistral7b"),
    ("tiny:qwen2", "tiny-qwen2"),
    ("google/flan-t5-base", "flan-t5-base"),
    ("/models/checkpoints/student/", "student"),
    ("x" * 40, "x" * 32),
])
def test_short_model(model, short):
    assert short_model(model) == short


def test_languages_label_lists_a_few_and_counts_many():
    assert languages_label(("zh",)) == "zh"
    assert languages_label(("zh", "ja", "ar")) == "zh,ja,ar"
    assert languages_label(("zh", "ja", "ar", "ru")) == "4 langs"


def test_run_labels_carry_method_model_and_languages():
    labels = run_labels("full-eval", EvalRequest(profile="paper", method="crop"))
    assert labels.name == "full-eval crop qwen14b 8 langs"
    assert labels.tags == ("method:crop", "profile:paper", "model:qwen14b", "lang:ar", "lang:hi", "lang:hy",
                           "lang:ja", "lang:ka", "lang:ko", "lang:ru", "lang:zh")
    # the profile's own method (eat-ft with its adapter), and model-transfer named by its tagger, not the LLM
    assert run_labels("full-eval", EvalRequest(profile="paper-ft")).name == "full-eval eat-ft qwen14b 8 langs"
    transfer = run_labels("full-eval", EvalRequest(method="model-transfer", languages=("zh", "ja")))
    assert transfer.name == "full-eval model-transfer tiny-bert-tc zh,ja"


def test_labels_of_flow_parameters_and_of_an_invalid_request():
    tag = labels_for("tag", TagRequest, {"input": "news/corpus.jsonl", "lang": "ZH", "out": "o.jsonl",
                                         "method": "direct"}, lambda r: r.input.rsplit("/", 1)[-1])
    assert tag.name == "tag direct tiny-qwen2 zh corpus.jsonl" and "lang:zh" in tag.tags
    distill = labels_for("distill", DistillRequest, {"route": "crop", "lang": "ja", "profile": "smoke"})
    assert distill.name == "distill crop tiny-qwen2 ja" and "method:crop" in distill.tags
    execution_inside = labels_for("full-eval", EvalRequest, {"profile": "smoke", "concurrency_tag": "llm"})
    assert execution_inside.name == "full-eval eat tiny-qwen2 8 langs"
    assert labels_for("full-eval", EvalRequest, {"profile": "smok"}) == RunLabels("full-eval (invalid request)")
    assert labels_for("full-eval", EvalRequest, {"rounds": 2}) == RunLabels("full-eval (invalid request)")
