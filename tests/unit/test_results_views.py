"""What a reader sees of a run (eat_core/results): Markdown cells that keep their `|`, a cost that a cached re-run
does not move, failed shards with their causes, `eat report` choosing the latest completed run, and figures with
one labelled panel per measure. Real DuckDB files under tmp_path; figures inspected as matplotlib objects."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest
from support.configs import served_config

from eat_core.errors import ConfigError
from eat_core.evaluation.lifecycle import finish_run, start_run
from eat_core.results.compare import Comparison, compare_runs
from eat_core.results.files import report_run
from eat_core.results.plots import DPI, MISSING, NO_DATA, comparison_figure, report_figure
from eat_core.results.render import comparison_markdown, md_table
from eat_core.results.tables import language_rows
from eat_core.store import Store

SIGNATURE = "token_f1|average:micro|labels:PER,ORG,LOC|protocol:eat-official"


def prediction(sentence_id: str, tokens: list[str], gold: list[str], pred: list[str]) -> dict:
    return {"sentence_id": sentence_id, "tokens": tokens, "gold": gold, "pred": pred, "english": "x",
            "roundtrip": "".join(tokens), "entities": [], "placements": [], "failures": [], "transcript": {}}


def cells(line: str) -> list[str]:
    """A Markdown table row split as GitHub does: at every `|` not escaped by a backslash."""
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def test_markdown_cells_keep_a_pipe_inside_them():
    lines = md_table(["Method", "signature"], [["eat", f"`{SIGNATURE}`"], ["a|b", "multi\nline"]])
    assert [cells(line) for line in lines[2:]] == [["eat", f"`{SIGNATURE}`"], ["a|b", "multi line"]]
    assert len(cells(lines[0])) == 2 and lines[1] == "|---|---|"


def _run(db, run_id: str, cfg, shards: dict[int, str | None], hits: int = 1, misses: int = 3) -> None:
    """A run of zh with the given shards: None = done (a prediction, ``hits``/``misses`` calls), else failed with
    that error; scored and marked done or failed."""
    store = Store(db)
    start_run(store, run_id, cfg)
    for index, error in shards.items():
        if error is None:
            store.write_shard_result(run_id, "zh", index, [prediction(f"s{index}", ["北", "京"], ["B-LOC", "I-LOC"],
                                                                       ["B-LOC", "I-LOC"])], hits=hits,
                                     misses=misses, seconds=2.5, prompt_tokens=100, completion_tokens=10)
        else:
            store.mark_shard(run_id, "zh", index, 1, "failed", error, attempt=True)
    failed = any(e is not None for e in shards.values())
    finish_run(store, run_id, cfg, failed=failed, reason="shards failed" if failed else None)


def test_a_cached_rerun_leaves_the_cost_alone_and_counts_the_reuse_beside_it(tmp_path):
    cfg, db = served_config(tmp_path), tmp_path / "w.duckdb"
    _run(db, "r", cfg, {0: None, 1: None})
    before = language_rows(Store(db), "r")[0]
    assert (before["llm_calls"], before["cache_misses"], before["cache_hits"], before["shards_reused"]) == (8, 6, 2, 0)
    finish_run(Store(db), "r", cfg, failed=False, reused=[("zh", 0), ("zh", 1)])  # a re-run served both again
    after = language_rows(Store(db), "r")[0]
    cost = ("llm_calls", "cache_hits", "cache_misses", "prompt_tokens", "completion_tokens", "seconds",
            "cache_hit_rate")
    assert {k: after[k] for k in cost} == {k: before[k] for k in cost}
    assert after["shards_reused"] == 2
    row = compare_runs(db, ["r"]).cost_rows()[0]
    assert (row["llm_calls"], row["cache_misses"], row["seconds"], row["shards_reused"]) == (8, 6, 5.0, 2)


def test_failed_shards_and_their_causes_reach_compare_and_its_markdown(tmp_path):
    cfg, db = served_config(tmp_path), tmp_path / "w.duckdb"
    cause = "ServiceUnavailable: http://127.0.0.1:9/v1/chat/completions: giving up after 6 attempts"
    _run(db, "half", cfg, {0: None, 1: cause, 2: cause})
    cmp = compare_runs(db, ["half"])
    assert cmp.failed_shard_rows() == [{"label": cmp.runs[0]["label"], "method": "eat", "run_id": "half",
                                        "shards": ["zh/1", "zh/2"], "cause": cause}]
    text = comparison_markdown(cmp)
    row = next(line for line in text.splitlines() if cause in line)
    assert cells(row) == [cmp.runs[0]["label"], "half", "zh/1, zh/2", cause]
    assert "no failure recorded" not in text and "nan" not in text
    sig_rows = [cells(line) for line in text.splitlines() if line.startswith("|") and "`token_f1" in line]
    assert sig_rows and all(r[-1].startswith("`token_f1|") and r[-1].endswith("`") for r in sig_rows)


def test_report_takes_the_latest_completed_run_and_says_which(tmp_path):
    cfg, db = served_config(tmp_path), tmp_path / "w.duckdb"
    _run(db, "older-done", cfg, {0: None})
    time.sleep(0.01)
    _run(db, "newer-failed", cfg, {0: "ServiceUnavailable: down"})
    run, note = report_run(db, None)
    assert run == "older-done"
    assert note.startswith("run older-done: the latest completed run") and "newer-failed, is failed" in note
    assert report_run(db, "newer-failed") == ("newer-failed", None)  # named: reported whatever its status


def test_report_without_any_completed_run_names_the_latest(tmp_path):
    cfg, db = served_config(tmp_path), tmp_path / "w.duckdb"
    _run(db, "only-failed", cfg, {0: "ServiceUnavailable: down"})
    with pytest.raises(ConfigError, match=r"^no completed run in .* \(the latest, only-failed, is failed\)"):
        report_run(db, None)


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_report_figure_one_panel_per_measure_zero_drawn_missing_marked_empty_labelled():
    rows = [{"lang": "zh", "token_f1": 0.0, "bleu": 12.5, "entropy_loss": None},
            {"lang": "ja", "token_f1": 40.0, "bleu": None, "entropy_loss": None}]
    fig = report_figure(rows, "crop: run smoke-1")
    width, height = fig.get_size_inches() * DPI
    assert 800 <= width <= 1200 and height <= 500  # readable at normal size, not a 3456-pixel strip
    assert fig._suptitle.get_text() == "crop: run smoke-1"
    f1, bleu, loss = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["token F1 (%)", "BLEU", "entropy loss L_e"]
    assert f1.get_ylim() != bleu.get_ylim()  # each measure on its own axis
    assert "0" in _texts(f1) and any(list(line.get_ydata()) == [0, 0] for line in f1.lines)  # the zero is drawn
    assert MISSING in _texts(bleu) and NO_DATA not in _texts(bleu)
    assert NO_DATA in _texts(loss) and _texts(loss).count(MISSING) == 2


def test_comparison_figure_has_a_panel_per_protocol_and_says_no_data():
    frame = pd.DataFrame([
        {"run_id": "r1", "lang": "zh", "token_f1": 0.0, "token_f1_true": None, "token_f1_protocol": "eat-official",
         "token_f1_signature": SIGNATURE, "token_f1_true_signature": None},
        {"run_id": "r1", "lang": "ja", "token_f1": 30.0, "token_f1_true": None, "token_f1_protocol": "eat-official",
         "token_f1_signature": SIGNATURE, "token_f1_true_signature": None}])
    cmp = Comparison(frame=frame, languages=["ja", "zh"], published=[],
                     runs=[{"run_id": "r1", "label": "crop (smoke, m)", "method": "crop"}])
    fig = comparison_figure(cmp)
    width, height = fig.get_size_inches() * DPI
    assert 800 <= width <= 1200 and height <= 1000
    official, true = fig.axes
    assert "eat-official" in official.get_title() and "true positions" in true.get_title()
    assert "crop" in fig._suptitle.get_text()
    assert NO_DATA in _texts(true) and NO_DATA not in _texts(official)
    assert "0" in _texts(official)  # zh at 0.00 is drawn, not an empty gap
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["crop (smoke, m)"]


def _record(logger: str, message: str, *, exc: BaseException | None = None, **extra):
    import logging
    import sys

    try:
        raise exc or RuntimeError("boom")
    except BaseException:
        exc_info = sys.exc_info()
    record = logging.LogRecord(logger, logging.ERROR, __file__, 1, message, (), exc_info)
    record.__dict__.update(extra)
    return record


def test_a_failed_shard_task_traceback_goes_to_debug_level_only():
    import logging

    from tasks.logs import TracebackToDebug

    quiet = TracebackToDebug()
    logger = logging.getLogger("prefect.task_runs")
    shard = _record("prefect.task_runs", "Task run failed with exception: X - Retries are exhausted",
                    task_name="run_shard")
    other_task = _record("prefect.task_runs", "Task run failed with exception: X", task_name="score_run")
    finished = _record("prefect.task_runs", "Finished in state Failed('Task run encountered an exception X')",
                       task_name="run_shard")
    finished.exc_info = None
    crash = _record("prefect.flow_runs", "Engine execution exited with unexpected exception")
    level = logger.level
    try:
        logger.setLevel(logging.INFO)
        assert quiet.filter(shard) is False and shard.levelno == logging.DEBUG  # not shown at INFO
        assert quiet.filter(other_task) is True and other_task.levelno == logging.ERROR
        assert quiet.filter(finished) is False  # the flow's own line names the shard and its cause
        assert quiet.filter(crash) is True and crash.levelno == logging.ERROR  # a real crash keeps its traceback
        logger.setLevel(logging.DEBUG)
        again = _record("prefect.task_runs", "Task run failed with exception: X", task_name="run_shard")
        assert quiet.filter(again) is True and again.levelname == "DEBUG" and again.exc_info  # there for debugging
    finally:
        logger.setLevel(level)
