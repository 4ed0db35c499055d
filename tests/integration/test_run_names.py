"""Flow runs as Prefect's runs list shows them, in process on a temporary server: the tag and distill flows name
their runs after method, model, language and input, tag them, and name a bad parameter by the key the user typed
when the request came as flow parameters. ``eat/full-eval`` through a deployment: test_deployments.py."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def flow_run(state):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id)


def test_a_tag_run_is_named_and_tagged_after_what_it_tags(prefect_harness, tmp_path):
    from flows.tag import tag_corpus

    corpus = tmp_path / "news.txt"
    corpus.write_text("普京访问了巴黎。\n北京是首都。\n", encoding="utf-8")
    state = tag_corpus({"input": str(corpus), "lang": "ZH", "out": str(tmp_path / "news.jsonl"),
                        "profile": "smoke", "db": str(tmp_path / "w.duckdb"), "method": "direct"},
                       retry_delay_s=0, return_state=True)
    assert state.is_completed(), state.message
    run = flow_run(state)
    assert run.name == "tag direct tiny-qwen2 zh news.txt"
    assert {"method:direct", "profile:smoke", "model:tiny-qwen2", "lang:zh"} <= set(run.tags)


def test_bad_flow_parameters_name_the_key_and_the_run_says_invalid(prefect_harness, tmp_path):
    from flows.distill import distill_flow
    from flows.tag import tag_corpus

    missing = tmp_path / "missing.txt"
    state = tag_corpus({"input": str(missing), "lang": "zh", "out": str(tmp_path / "o.jsonl"),
                        "db": str(tmp_path / "w.duckdb")}, return_state=True)
    assert state.is_failed() and state.message == f"input: {missing}: no such file"
    state = distill_flow({"route": "crop", "lang": "xx", "db": str(tmp_path / "w.duckdb")}, return_state=True)
    assert state.is_failed() and state.message.startswith("lang: unknown language code 'xx'"), state.message
    assert flow_run(state).name == "distill (invalid request)"
