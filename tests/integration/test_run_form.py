"""What Prefect shows for our flows, without a server: the run form (the flows' parameter schemas) and the
deployment names prefect.yaml creates, against what the READMEs tell users to type. The same on a real server:
``tests/integration/test_deployments.py``."""

from __future__ import annotations

import importlib
import re

import pytest
import yaml
from conftest import REPO
from prefect.utilities.callables import parameter_schema

FLOWS = {"full_eval": ("flows.full_eval", "full_eval", "EvalRequest"),
         "tag": ("flows.tag", "tag_corpus", "TagRequest"),
         "distill": ("flows.distill", "distill_flow", "DistillRequest")}


def _flow(entrypoint: str):
    path, name = entrypoint.split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


def deployment_names() -> list[str]:
    """``<flow name>/<deployment name>`` of every deployment in prefect.yaml, as ``prefect deployment run`` takes."""
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    return [f"{_flow(d['entrypoint']).name}/{d['name']}" for d in spec["deployments"]]


def test_each_pipeline_has_its_own_flow_and_the_documented_names_are_the_deployed_ones():
    names = deployment_names()
    assert names == ["eat/full-eval", "tag/corpus", "distill/student", "train-extractor/english", "finetune/qlora",
                     "eacl/refresh"]
    assert len({n.split("/")[0] for n in names}) == len(names)  # no two pipelines share a flow name
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    presets = (REPO / "deployments" / "README.md").read_text(encoding="utf-8")
    assert [n for n in names if f"`{n}`" not in readme] == []  # README's deployment table lists every one
    typed = set(re.findall(r"prefect deployment run ([\w-]+/[\w-]+)", readme + presets))
    typed |= set(re.findall(r"^\| `[\w-]+\.json` \| ([\w-]+/[\w-]+) \|", presets, re.MULTILINE))
    assert typed and typed <= set(names), typed - set(names)


@pytest.mark.parametrize("flow", FLOWS)
def test_the_run_form_describes_every_field_and_offers_choices(flow):
    """Prefect builds the form from this schema: each flow parameter and each request field has a description,
    methods and profiles are drop-downs."""
    module, name, request = FLOWS[flow]
    schema = parameter_schema(getattr(importlib.import_module(module), name).fn).model_dump()
    assert [p for p, s in schema["properties"].items() if not s.get("description")] == []
    fields = schema["definitions"][request]["properties"]
    assert [f for f, s in fields.items() if not s.get("description")] == []
    assert schema["properties"]["request"].get("$ref") == f"#/definitions/{request}"  # one form, not a free dict
    from eat_core.config.fields import METHOD_NAMES, PROFILE_NAMES

    assert fields["profile"]["enum"] == list(PROFILE_NAMES)
    if "method" in fields:
        assert fields["method"]["anyOf"][0]["enum"] == list(METHOD_NAMES)


def presets() -> list[tuple[str, str]]:
    """(preset file, deployment) pairs of deployments/README.md's table."""
    text = (REPO / "deployments" / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `([\w-]+\.json)` \| ([\w-]+/[\w-]+) \|", text, re.MULTILINE)


@pytest.mark.parametrize(("preset", "deployment"), presets())
def test_every_preset_passes_the_servers_parameter_check(preset, deployment):
    """``prefect deployment run NAME --params "$(cat deployments/PRESET)"``: the server validates the parameters
    against the flow's schema (prefect.yaml leaves enforce_parameter_schema on) and refuses a run whose request
    holds a field the form does not have; checked here with the server's own function."""
    import json

    from prefect.utilities.schema_tools import validate

    spec = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    entry = next(d for d in spec["deployments"] if f"{_flow(d['entrypoint']).name}/{d['name']}" == deployment)
    parameters = {**(entry.get("parameters") or {}),
                  **json.loads((REPO / "deployments" / preset).read_text(encoding="utf-8"))}
    schema = parameter_schema(_flow(entry["entrypoint"]).fn).model_dump()
    validate(parameters, schema, raise_on_error=True, ignore_required=True)
