"""A run's life in its DuckDB file (eat_core/evaluation/lifecycle.py): registered with its inputs, scored when its
shards changed, ended with a one-line reason. Real DuckDB files under tmp_path; no model is loaded."""

from __future__ import annotations

import pytest
from support.configs import served_config
from support.db import rows

from eat_core.errors import ConfigError
from eat_core.evaluation.identity import run_id_for
from eat_core.evaluation.lifecycle import end_run, failure_summary, finish_run, start_run
from eat_core.store import Store


def prediction(sentence_id: str, tokens: list[str], gold: list[str], pred: list[str]) -> dict:
    return {"sentence_id": sentence_id, "tokens": tokens, "gold": gold, "pred": pred, "english": "x",
            "roundtrip": "".join(tokens), "entities": [], "placements": [], "failures": [], "transcript": {}}


def test_failure_summary_names_the_shards_then_each_cause_once():
    text = failure_summary("smoke-1", [("zh", 0, "BackendError: 400"), ("zh", 1, "BackendError: 400"),
                                       ("ru", 2, "DataError: bad")], retried=True)
    assert text.splitlines() == [
        "run smoke-1: 3 shard(s) failed after retries: zh/0, zh/1, ru/2; fix the cause below, then re-run the "
        "same command to resume them",
        "  zh/0, zh/1: BackendError: 400",
        "  ru/2: DataError: bad",
    ]
    assert "after retries" not in failure_summary("r", [("zh", 0, "x")], retried=False)


def test_start_run_records_the_run_and_its_inputs(tmp_path):
    cfg, db = served_config(tmp_path), tmp_path / "w.duckdb"
    run_id = run_id_for(cfg)
    assert start_run(Store(db), run_id, cfg) == []  # the first run of this configuration: nothing changed
    assert rows(db, "SELECT run_id, profile, status FROM runs") == [(run_id, "smoke", "running")]
    assert sorted(Store(db).get_run_inputs(run_id)) == ["data:zh", "extractor", "llm", "prompts"]
    assert start_run(Store(db), run_id, cfg) == []  # resuming the same run is allowed


def test_a_changed_input_is_a_new_run_with_a_note_and_a_stated_run_id_over_it_is_refused(tmp_path):
    cfg, db = served_config(tmp_path), tmp_path / "w.duckdb"
    first = run_id_for(cfg)
    start_run(Store(db), first, cfg)
    start_run(Store(db), "mine", cfg)
    (tmp_path / "prompts" / "forward_final.txt").write_text("Only the English: {sentence}", encoding="utf-8")
    second = run_id_for(cfg)
    assert second != first
    notes = start_run(Store(db), second, cfg)
    assert len(notes) == 1 and notes[0].startswith("prompt templates changed:")
    assert notes[0].endswith(f": new run {second} (run mine stays queryable)")  # the latest run of this config
    with pytest.raises(ConfigError, match=r"^run 'mine' was made from other inputs \(prompt templates changed"):
        start_run(Store(db), "mine", cfg)


def test_finish_run_scores_changed_languages_and_marks_the_run(tmp_path):
    cfg, db = served_config(tmp_path), tmp_path / "w.duckdb"
    store = Store(db)
    start_run(store, "r", cfg)
    store.write_shard_result("r", "zh", 0, [prediction("s1", ["北", "京"], ["B-LOC", "I-LOC"], ["B-LOC", "I-LOC"]),
                                            prediction("s2", ["东"], ["B-PER"], ["O"])], hits=0, misses=3, seconds=1)
    scores = finish_run(store, "r", cfg, failed=False)
    assert scores["zh"]["entity_f1"] == pytest.approx(100 * 2 / 3)  # P 1/1, R 1/2
    assert rows(db, "SELECT status, status_reason FROM runs") == [("done", None)]
    stored = dict(rows(db, "SELECT metric, value FROM metrics WHERE run_id = 'r' AND lang = 'zh'"))
    assert stored["entity_f1"] == pytest.approx(scores["zh"]["entity_f1"])
    # nothing changed since: the stored metrics are returned, not recomputed
    again = finish_run(store, "r", cfg, failed=False, reused=[("zh", 0)])
    assert list(again) == ["zh"] and again["zh"] == pytest.approx(stored, nan_ok=True)
    # reused: counted beside its cost, which stays the computation's (3 calls made)
    assert rows(db, "SELECT cache_hits, cache_misses, reuses FROM shards") == [(0, 3, 1)]


def test_finish_run_and_end_run_keep_the_reason_on_one_line(tmp_path):
    cfg, db = served_config(tmp_path), tmp_path / "w.duckdb"
    store = Store(db)
    start_run(store, "r", cfg)
    assert finish_run(store, "r", cfg, failed=True, reason="2 shard(s) failed\n  zh/0: X\n") == {"zh": {}}
    assert rows(db, "SELECT status, status_reason FROM runs") == [("failed", "2 shard(s) failed; zh/0: X")]
    assert end_run(store, "r", "interrupted", "Ctrl-C") is True
    assert rows(db, "SELECT status, status_reason FROM runs") == [("interrupted", "Ctrl-C")]


def test_end_run_never_raises_when_the_store_is_what_failed(tmp_path):
    broken = tmp_path / "not-a-db.duckdb"
    broken.write_text("this is not a DuckDB file")
    assert end_run(Store(broken), "r", "failed", "disk full") is False
