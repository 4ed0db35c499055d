"""Methods side by side (`eat compare`), `eat results --format`, `results_frame`, and the flow's Prefect artifacts,
on a real workspace: the smoke profile run for crop, direct and model-transfer. Expected numbers come from SQL over
the same file (metrics, shards, predictions), never from the code under test."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import needs_full_data
from support.cli import assert_user_error, run_cli, run_cli_process
from support.paths import REPO

from eat_core.config.run import get_profile
from eat_core.results.artifacts import artifact_key
from eat_core.results.compare import compare_runs
from eat_core.results.published import PUBLISHED
from eat_core.store import Store

TC = {"extractor.name": "token-classification", "extractor.model": "tiny:bert-tc"}
METHODS = {"crop": {}, "direct": TC, "model-transfer": TC}
PAPERS = REPO.parent / "shared" / "papers"


@pytest.fixture(scope="module")
def method_runs(tmp_path_factory) -> dict:
    """One DuckDB file with a smoke run per method (zh and ru, 4 sentences each, shards of 2)."""
    from eat_core.evaluation.loop import evaluate

    db = tmp_path_factory.mktemp("compare") / "w.duckdb"
    runs = {}
    with pytest.MonkeyPatch.context() as mp:  # module fixtures run before the autouse cache fixture
        mp.setenv("EAT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "eat-cache"))
        for name, extra in METHODS.items():
            cfg = get_profile("smoke").with_overrides(**{"method.name": name, "data.languages": ("zh", "ru"),
                                                         "data.limit": 4, "shard_size": 2, **extra})
            result = evaluate(cfg, db)
            assert not result.failed_shards
            runs[name] = result.run_id
    return {"db": db, "runs": runs}


def cli(*args: str) -> tuple[int, str, str]:
    """`eat ARGS` in this process: (exit code, stdout, stderr)."""
    out = run_cli(*args)
    return out.returncode, out.stdout, out.stderr


def sql(db: Path, query: str, params=()) -> list[tuple]:
    return Store(db).query(query, params)


def test_f1_rows_equal_the_metrics_table_under_both_protocols(method_runs):
    db = method_runs["db"]
    cmp = compare_runs(db)
    rows = {(r["run_id"], r["lang"]): r for r in cmp.f1_rows() if r["kind"] == "run"}
    expected = sql(db, "SELECT m.run_id, json_extract_string(r.config, '$.method.name'), m.lang, m.metric, m.value, "
                       "m.signature FROM metrics m JOIN runs r USING (run_id) "
                       "WHERE m.metric IN ('token_f1', 'token_f1_true')")
    assert {m for _, m, *_ in expected} == set(METHODS)
    assert len(expected) == len(METHODS) * 2 * 2
    column = {"token_f1": "f1_eat_official", "token_f1_true": "f1_token"}
    signature = {"token_f1": "signature_eat_official", "token_f1_true": "signature_token"}
    for run_id, method, lang, metric, value, sig in expected:
        row = rows[(run_id, lang)]
        assert row["method"] == method and row["label"].startswith(f"{method} (smoke, ")
        assert row[column[metric]] == pytest.approx(value)
        assert row[signature[metric]] == sig
        assert "protocol:eat-official" in row["signature_eat_official"]
        assert "protocol:token" in row["signature_token"]
        assert row["f1_difference"] == pytest.approx(row["f1_token"] - row["f1_eat_official"])
    for run_id, metric, avg in sql(db, "SELECT run_id, metric, avg(value) FROM metrics "
                                       "WHERE metric IN ('token_f1', 'token_f1_true') GROUP BY ALL"):
        assert rows[(run_id, "avg")][column[metric]] == pytest.approx(avg)
    labels = {r["label"]: r["method"] for r in cmp.runs}
    assert labels["model-transfer (smoke, tiny:bert-tc)"] == "model-transfer"
    assert labels["crop (smoke, tiny:qwen2)"] == "crop"


def test_published_rows_are_labelled_and_hold_only_the_paper_protocol(method_runs):
    cmp = compare_runs(method_runs["db"])
    published = [r for r in cmp.f1_rows() if r["kind"] == "published"]
    crop = {r["lang"]: r for r in published if r["label"] == "CROP (published, EAT Table 4)"}
    assert set(crop) == {"ru", "zh", "avg"}
    table4 = next(p for p in PUBLISHED if p.label == "CROP (published, EAT Table 4)")
    assert crop["zh"]["f1_eat_official"] == table4.f1["zh"]
    assert crop["avg"]["f1_eat_official"] == pytest.approx((table4.f1["zh"] + table4.f1["ru"]) / 2)
    assert all(r["f1_token"] is None and r["run_id"] is None for r in published)
    assert all(re.search(r" \(published, EAT Table [47]\)$", r["label"]) for r in published)
    gpt4 = {r["lang"]: r["f1_eat_official"] for r in published if r["label"].startswith("GPT-4")}
    assert gpt4["ru"] is None and gpt4["avg"] is None  # Table 7 has no ru: no average over a partial row


@needs_full_data("compares the published rows with the EAT paper's text in ../shared/papers")
def test_published_numbers_equal_the_papers_tables():
    text = (PAPERS / "eat-entity-aligned-translation-2509.01147.txt").read_text(encoding="utf-8")
    table4 = ("ar", "hi", "hy", "ja", "ka", "ko", "ru", "zh")
    table7 = ("ar", "hi", "ja", "zh")
    names = {"mBERT": "mBert (Wu and Dredze, 2019)", "CROP": "CROP (Yang et al., 2022)",
             "DenKD": "DenKD (Ge et al., 2024)", "EAT w/o FT": "EAT w/o FT", "EAT": "EAT", "GPT-4": "GPT-4",
             "Qwen-14B-ICL": "Qwen-14B-ICL"}
    rows: dict[tuple[str, int], list[float]] = {}
    for line in text.splitlines():
        cells = re.sub(r"</?u>", "", line).split("\t")
        if len(cells) in (5, 10):
            try:
                rows.setdefault((cells[0].strip(), len(cells)), [float(c) for c in cells[1:]])  # Table 8 reuses names
            except ValueError:
                continue
    for p in PUBLISHED:
        name = names[p.label.split(" (published")[0]]
        langs, width = (table4, 10) if p.source == "EAT Table 4" else (table7, 5)
        assert dict(zip(langs, rows[(name, width)], strict=False)) == p.f1, p.label


def test_cost_table_equals_sums_over_shards_and_model_transfer_calls_no_llm(method_runs):
    db = method_runs["db"]
    costs = {r["run_id"]: r for r in compare_runs(db).cost_rows()}
    expected = sql(db, "SELECT run_id, sum(n_sentences), sum(cache_hits + cache_misses), sum(cache_hits), "
                       "sum(cache_misses), sum(prompt_tokens), sum(completion_tokens), sum(seconds) "
                       "FROM shards GROUP BY run_id")
    assert len(expected) == len(METHODS)
    for run_id, sentences, calls, hits, misses, prompt, completion, seconds in expected:
        c = costs[run_id]
        assert (c["sentences"], c["llm_calls"], c["cache_hits"], c["cache_misses"], c["prompt_tokens"],
                c["completion_tokens"]) == (sentences, calls, hits, misses, prompt, completion)
        assert c["seconds"] == pytest.approx(seconds)
        assert c["s_per_sentence"] == pytest.approx(seconds / sentences)
        assert c["calls_per_sentence"] == pytest.approx(calls / sentences)
    runs = method_runs["runs"]
    assert costs[runs["model-transfer"]]["llm_calls"] == 0
    assert costs[runs["model-transfer"]]["prompt_tokens"] == 0
    assert costs[runs["direct"]]["llm_calls"] == costs[runs["direct"]]["sentences"]  # one request per sentence
    assert costs[runs["crop"]]["llm_calls"] > costs[runs["direct"]]["llm_calls"]


def test_failure_table_counts_every_stored_reason(method_runs):
    db = method_runs["db"]
    cmp = compare_runs(db)
    got = {(r["run_id"], r["reason"], lang): r[lang] for r in cmp.failure_rows() for lang in cmp.languages}
    totals = {(r["run_id"], r["reason"]): r["total"] for r in cmp.failure_rows()}
    expected = sql(db, "SELECT run_id, f.failure, lang, count(*) FROM predictions, "
                       "unnest(CAST(failures AS VARCHAR[])) AS f(failure) GROUP BY ALL")
    assert expected, "the smoke runs lose entities, so there are reasons to count"
    assert {k: v for k, v in got.items() if v} == {(run, reason, lang): n for run, reason, lang, n in expected}
    for (run, reason), total in totals.items():
        assert total == sum(n for r, f, _, n in expected if (r, f) == (run, reason))


def test_compare_command_prints_tables_and_writes_markdown_and_png_inside_out(method_runs, tmp_path):
    db, runs = method_runs["db"], method_runs["runs"]
    out = tmp_path / "reports"
    code, text, err = cli("compare", "--db", str(db), "--out", str(out))
    assert code == 0, err
    values = dict(((r, lang, m), v) for r, lang, m, v in sql(
        db, "SELECT run_id, lang, metric, value FROM metrics WHERE metric IN ('token_f1', 'token_f1_true')"))
    paper_section = text.split("Token F1, protocol token")[0]
    true_section = text.split("Token F1, protocol token")[1].split("Difference")[0]
    for method, run_id in runs.items():
        label = next(r["label"] for r in compare_runs(db).runs if r["run_id"] == run_id)
        for section, metric in ((paper_section, "token_f1"), (true_section, "token_f1_true")):
            line = next(x for x in section.splitlines() if x.startswith(label))
            cells = line[len(label):].split()
            assert cells[:2] == [f"{values[(run_id, 'ru', metric)]:.2f}", f"{values[(run_id, 'zh', metric)]:.2f}"], \
                (method, metric, line)
    assert "CROP (published, EAT Table 4)" in paper_section and "mBERT (published, EAT Table 4)" in paper_section
    assert "Failure reasons" in text and "Costs" in text
    assert {p.name for p in out.iterdir()} == {"compare.md", "compare.png"}
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "compare.md").read_text(encoding="utf-8")
    assert "| CROP (published, EAT Table 4) |" in md and "![token F1 per language and method](compare.png)" in md
    assert "protocol eat-official (the paper's tables)" in md and "true positions, recommended" in md


def test_compare_some_runs_as_json_and_csv(method_runs, tmp_path):
    db, runs = method_runs["db"], method_runs["runs"]
    chosen = [runs["crop"], runs["model-transfer"]]
    code, text, err = cli("compare", *chosen, "--db", str(db), "--out", str(tmp_path), "--format", "json")
    assert code == 0, err
    data = json.loads(text)
    assert [r["run_id"] for r in data["runs"]] == chosen
    assert data["languages"] == ["ru", "zh"]
    assert {r["run_id"] for r in data["costs"]} == set(chosen)
    assert Path(data["files"]["markdown"]).parent == tmp_path and Path(data["files"]["png"]).is_file()
    code, text, err = cli("compare", *chosen, "--db", str(db), "--out", str(tmp_path), "--format", "csv")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(text))
    ours = frame[frame["kind"] == "run"]
    assert set(ours["run_id"]) == set(chosen) and set(ours["lang"]) == {"ru", "zh", "avg"}
    calls = dict(sql(db, "SELECT run_id, sum(cache_hits + cache_misses) FROM shards GROUP BY run_id"))
    for run_id, group in ours.groupby("run_id"):
        assert set(group["llm_calls"]) == {calls[run_id]}
    assert (frame["kind"] == "published").any()


def test_unknown_run_and_bad_format_exit_2_with_one_line(method_runs, tmp_path):
    db, runs = method_runs["db"], method_runs["runs"]
    out = run_cli_process("compare", runs["crop"], "nosuchrun", "--db", str(db), "--out", str(tmp_path))
    assert_user_error(out, "unknown run 'nosuchrun'", *runs.values())
    assert not any(tmp_path.iterdir())
    code, _, err = cli("compare", "--db", str(db), "--out", str(tmp_path), "--format", "xml")
    assert code == 2 and err.strip() == "error: --format: unknown format 'xml'; use table, csv, json"
    code, _, err = cli("results", "--db", str(db), "--format", "yaml")
    assert code == 2 and err.strip() == "error: --format: unknown format 'yaml'; use table, csv, json, parquet"
    code, _, err = cli("results", "--db", str(db), "--format", "parquet")
    assert code == 2 and "--out FILE" in err and err.count("\n") == 1


def test_results_formats_round_trip_through_pandas(method_runs, tmp_path):
    from eat_core.results.tables import results_frame

    db, run_id = method_runs["db"], method_runs["runs"]["direct"]
    frame = results_frame(db, run_id)
    assert list(frame["lang"]) == ["ru", "zh"]  # one row per language
    metrics = dict(((lang, m), v) for lang, m, v in sql(db, "SELECT lang, metric, value FROM metrics "
                                                            "WHERE run_id = ?", [run_id]))
    for _, row in frame.iterrows():
        for metric in ("token_f1", "token_f1_true", "entity_f1", "bleu", "entropy_loss"):
            assert row[metric] == pytest.approx(metrics[(row["lang"], metric)])
    code, text, _ = cli("results", run_id, "--db", str(db), "--format", "csv")
    assert code == 0
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""]), frame,
                                  check_dtype=False)
    code, text, _ = cli("results", run_id, "--db", str(db), "--format", "json")
    assert code == 0
    pd.testing.assert_frame_equal(pd.read_json(io.StringIO(text), orient="records"), frame, check_dtype=False)
    target = tmp_path / "out" / "results.parquet"
    code, text, _ = cli("results", run_id, "--db", str(db), "--format", "parquet", "--out", str(target))
    assert code == 0 and text.strip() == f"wrote {target} (2 rows)"
    pd.testing.assert_frame_equal(pd.read_parquet(target), frame, check_dtype=False)
    every = results_frame(db)
    assert len(every) == len(METHODS) * 2 and set(every["run_id"]) == set(method_runs["runs"].values())


def test_results_table_names_both_protocols_and_the_inputs(method_runs):
    db, run_id = method_runs["db"], method_runs["runs"]["crop"]
    code, text, _ = cli("results", run_id, "--db", str(db))
    assert code == 0
    lines = text.splitlines()
    fingerprints = dict(sql(db, "SELECT name, fingerprint FROM run_inputs WHERE run_id = ?", [run_id]))
    assert lines[1] == ("inputs: " + f"prompts={fingerprints['prompts'][:8]} llm={fingerprints['llm'][:8]} "
                        f"extractor={fingerprints['extractor'][:8]} data:ru={fingerprints['data:ru'][:8]} "
                        f"data:zh={fingerprints['data:zh'][:8]}")
    assert "extractor=none" in lines[1]  # the smoke profile's heuristic extractor has no weights
    header = lines[2].split()
    assert header[1:3] == ["tokF1(paper)", "tokF1(true)"]
    values = dict(((lang, m), v) for lang, m, v in sql(db, "SELECT lang, metric, value FROM metrics "
                                                           "WHERE run_id = ?", [run_id]))
    zh = next(x for x in lines if x.startswith("zh ")).split()
    assert zh[1:3] == [f"{values[('zh', 'token_f1')]:.2f}", f"{values[('zh', 'token_f1_true')]:.2f}"]


def test_artifact_keys_are_lowercase_letters_digits_and_dashes():
    for run_id in ("smoke-1a2b3c", "My_Run.v2", "../x", "A" * 200):
        for key in (artifact_key("crop", "f1-12-50", run_id), artifact_key("plots", run_id, "table")):
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key) and len(key) <= 100, key
    assert artifact_key("crop", "f1-12-50", "smoke-1A2B3C") == "crop-f1-12-50-smoke-1a2b3c"


@pytest.mark.slow
def test_full_eval_publishes_results_as_artifacts_on_its_flow_run(prefect_harness, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from eat_core.config.requests import EvalRequest
    from flows.full_eval import full_eval

    db = tmp_path / "flow.duckdb"
    state = full_eval(EvalRequest(profile="smoke", db=str(db), languages=("zh",), limit=2), return_state=True)
    assert state.is_completed(), state.message
    run_id = state.result()["run_id"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
    values = dict(sql(db, "SELECT metric, value FROM metrics WHERE run_id = ? AND lang = 'zh'", [run_id]))
    key = artifact_key("eat", f"f1-{values['token_f1']:.2f}".replace(".", "-"), run_id)  # method and headline F1
    by_key = {a.key: a for a in artifacts}
    assert set(by_key) == {key, f"{key}-table", "compare-sample-dev", f"plots-eat-{run_id}"}
    assert all(a.task_run_id is None for a in artifacts)  # on the flow run itself, not on a task run
    md, table = by_key[key], by_key[f"{key}-table"]
    assert md.type == "markdown" and table.type == "table"
    text = md.data
    assert f"EAT results: eat, run `{run_id}`" in text and "| EAT w/o FT (published, EAT Table 4) | 60.12 |" in text
    own = next(x for x in text.splitlines() if x.startswith("| eat (smoke, tiny:qwen2) |"))
    assert own.split(" | ")[1] == f"{values['token_f1']:.2f}"
    assert "inputs: prompts=" in text and "## Costs" in text and "## Failure reasons" in text
    assert f"eat results {run_id} --db {db} --format json" in text  # the raw data, one command away
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert [r["lang"] for r in rows] == ["zh"]
    assert rows[0]["token F1 (paper)"] == round(values["token_f1"], 2)
    assert rows[0]["token F1 (true)"] == round(values["token_f1_true"], 2)
    calls = sql(db, "SELECT sum(cache_hits + cache_misses) FROM shards WHERE run_id = ?", [run_id])[0][0]
    assert rows[0]["LLM calls"] == calls
    assert by_key[f"plots-eat-{run_id}"].data.count("](data:image/png;base64,iVBORw0KGgo") == 2  # two PNGs inline
