"""`eat compare-silver`: the silver routes side by side (kept sentences and entities, drop reasons, LLM calls and
tokens per sentence), read back from what each silver set and teacher run stored."""

from __future__ import annotations

import json

import pytest
from support.cli import assert_user_error, run_cli
from support.fakes import ScriptedBackend, echo_script, register_backend

from eat_core.bio import spans_from_tags
from eat_core.distill.pipeline import silver_only
from eat_core.results.silver import compare_silver, silver_comparison_text
from eat_core.store import Store


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Silver sets of three routes (a teacher, markers, word alignment) over the echo backend (5 tokens each way
    per answer)."""
    register_backend(monkeypatch, ScriptedBackend(echo_script(), name="echo", model="echo-1", tokens=5))
    db = tmp_path / "w.duckdb"
    ids = {}
    for route in ("crop", "projection", "align"):
        summary = silver_only({"route": route, "lang": "de", "profile": "smoke", "db": str(db), "llm_backend": "echo"},
                              tmp_path / route, progress=lambda m: None)
        ids[route] = summary.silver_id
    return db, ids


@pytest.mark.slow
def test_the_comparison_counts_what_each_set_stored(workspace):
    db, ids = workspace
    rows = {r.route: r for r in compare_silver(db)}
    assert set(rows) == {"crop", "projection", "align"}
    store = Store(db)
    for route, row in rows.items():
        sentences = store.silver_rows(ids[route])
        assert row.offered == len(sentences) == row.kept + row.dropped == 8
        assert row.kept == sum(s["kept"] for s in sentences)
        assert row.entities == sum(len(spans_from_tags(s["tags"])) for s in sentences if s["kept"])
        assert sum(row.reasons.values()) == row.dropped
    # the projection routes count their own calls: one marked translation per sentence with an entity; align one
    # translation and one back-translation; each answer costs 5 prompt and 5 generated tokens here
    assert rows["projection"].llm_calls == 1.0 and rows["align"].llm_calls == 2.0
    assert rows["align"].prompt_tokens == rows["align"].completion_tokens == 10.0
    assert rows["projection"].cost_from == rows["align"].cost_from == "silver shards"
    # a teacher route costs what its run's shards recorded for the language
    (cost,) = [c for c in store.shard_costs(store.get_silver_set(ids["crop"])["teacher_run"]) if c["lang"] == "de"]
    assert rows["crop"].llm_calls == (cost["cache_hits"] + cost["cache_misses"]) / 8 > rows["projection"].llm_calls
    assert rows["crop"].cost_from.startswith("teacher run smoke-")
    text = silver_comparison_text(list(rows.values()))
    assert all(ids[route] in text for route in ids) and "why sentences were dropped" in text


@pytest.mark.slow
def test_eat_compare_silver(workspace):
    db, ids = workspace
    table = run_cli("compare-silver", "--db", str(db))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["route", "lang", "offered", "kept"]
    assert [line.split()[0] for line in lines[2:5]] == ["crop", "projection", "align"]
    one = run_cli("compare-silver", ids["align"], "--db", str(db), "--format", "json")
    (row,) = json.loads(one.stdout)
    assert row["silver_id"] == ids["align"] and row["llm_calls"] == 2.0
    assert_user_error(run_cli("compare-silver", "silver-nope", "--db", str(db)), "unknown silver set 'silver-nope'")
    assert_user_error(run_cli("compare-silver", "--db", str(db), "--format", "xml"), "--format")


def test_an_empty_workspace_says_so(tmp_path):
    result = run_cli("compare-silver", "--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == 0 and "no silver set" in result.stdout
