"""Confirmed defects of issue 19 (item 5), each pinned by a test that failed before its fix.

1. A corrupt or newer-schema DuckDB file is a permanent error: Prefect's retry policy must not retry it, while a
   lock held past the timeout stays retryable.
2. The direct method's English demonstrations are a run input (an edited file is a new run id) and a file the user
   named is never silently replaced by the bundled sample.
3. A failed student evaluation raises ``StudentFailed``, not ``TeacherFailed``.
4. The per-process caches of loaded models are bounded LRUs, so a long-lived worker can free old models.

Everything is real and in-process: DuckDB files in ``tmp_path``, Prefect states, resolved configurations. The only
stand-in is the student's evaluation result (item 3), which would otherwise need a trained student.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO

from eat_core.config.run import get_profile
from eat_core.errors import ConfigError, DataError, EatError, StoreError
from eat_core.store import SCHEMA_VERSION, Store

# -- 1. permanent store errors are not retried -----------------------------------------------------------------------


def _prefect_retries(exc: BaseException) -> bool:
    """Ask the shard tasks' retry condition about ``exc`` exactly as Prefect does: ``fn(task, task_run, state)``."""
    from prefect.client.schemas.objects import TaskRun
    from prefect.states import Failed

    from tasks.evaluation import retry_unless_permanent, run_shard_task

    task_run = TaskRun(task_key="run_shard", dynamic_key="0", name="de-shard-0")
    return retry_unless_permanent(run_shard_task, task_run, Failed(data=exc))


def _assert_permanent(exc: StoreError, needle: str) -> None:
    assert needle in str(exc) and "\n" not in str(exc)  # still the one-line message
    assert exc.retryable is False
    assert _prefect_retries(exc) is False


def test_a_corrupt_file_is_not_retried(tmp_path):
    path = tmp_path / "bad.duckdb"
    path.write_bytes(b"\x00garbage, not a DuckDB file\xff" * 2000)
    with pytest.raises(StoreError) as info:
        Store(path).migrate()
    _assert_permanent(info.value, "not a valid DuckDB file")


def test_a_newer_schema_is_not_retried(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    store.migrate()
    with store.connect() as con:
        con.execute("UPDATE eat_meta SET value = ? WHERE key = ?", [str(SCHEMA_VERSION + 1), "schema_version"])
    for attempt in (lambda: Store(store.path).migrate(), lambda: Store(store.path).query("SELECT 1")):
        with pytest.raises(StoreError) as info:
            attempt()
        _assert_permanent(info.value, "newer than this eat-ner understands")


def test_a_lock_held_past_the_timeout_is_retried(tmp_path):
    store = Store(tmp_path / "w.duckdb", lock_timeout_s=0.3)
    store.migrate()
    holder = textwrap.dedent(f"""
        import time, duckdb
        con = duckdb.connect({str(store.path)!r})
        print("locked", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError) as info:
            store.put_metrics("r1", "de", [("token_f1", 1.0, "sig", None)])
    finally:
        proc.kill()
        proc.wait()
    assert "in use by another process" in str(info.value) and "\n" not in str(info.value)
    assert info.value.retryable is True and _prefect_retries(info.value) is True


# -- 2. demonstrations are a run input and never silently replaced ---------------------------------------------------

DEMOS = "Angela\tB-PER\nMerkel\tI-PER\nvisited\tO\nParis\tB-LOC\n.\tO\n\nThe\tO\nUnited\tB-ORG\nNations\tI-ORG\n\n"


def _direct(demo_dir: Path | None = None, **more) -> object:
    """The smoke profile with the direct method; a served LLM name, so no model is built or loaded."""
    return get_profile("smoke").with_overrides(**{
        "method.name": "direct", "method.demo_data": str(demo_dir) if demo_dir else None, "method.demonstrations": 2,
        "llm.backend": "openai", "llm.base_url": "http://127.0.0.1:9/v1", "llm.model": "served-llm",
        "data.languages": ("de",), **more})


def _write_demos(root: Path, text: str) -> Path:
    (root / "en").mkdir(parents=True, exist_ok=True)
    path = root / "en" / "train.tsv"
    path.write_text(text, encoding="utf-8")
    return path


def test_editing_the_demonstrations_in_place_changes_the_run_id(tmp_path):
    from eat_core.evaluation.identity import run_id_for

    demos = tmp_path / "demos"
    path = _write_demos(demos, DEMOS)
    cfg = _direct(demos)
    first = run_id_for(cfg)
    assert run_id_for(cfg) == first  # untouched: the same run resumes
    _write_demos(demos, DEMOS.replace("Paris\tB-LOC", "Berlin\tB-LOC"))  # another length: the memo sees it
    second = run_id_for(cfg)
    assert second != first
    from eat_core.evaluation.identity import inputs_of

    item = inputs_of(cfg).by_name()["demonstrations"]
    assert item.kind == "data" and item.path == str(path)


def test_a_missing_demonstrations_file_is_an_error_naming_it(tmp_path):
    from eat_core.evaluation.checks import validate_config
    from eat_core.evaluation.identity import run_id_for

    missing = tmp_path / "no-such-demos"
    cfg = _direct(missing)
    for check in (validate_config, run_id_for):
        with pytest.raises(EatError) as info:
            check(cfg)
        assert isinstance(info.value, ConfigError | DataError) and not info.value.retryable
        assert str(missing) in str(info.value) and "\n" not in str(info.value)


def test_an_unreadable_demonstrations_file_is_an_error_naming_it(tmp_path):
    from eat_core.methods.direct import english_examples

    demos = tmp_path / "demos"
    path = _write_demos(demos, "")
    path.write_bytes(b"Paris\tB-LOC\n\xff\xfe\tO\n")
    with pytest.raises(DataError, match="not valid UTF-8") as info:
        english_examples(_direct(demos), 2)
    assert str(path) in str(info.value)


def test_without_a_source_the_bundled_sample_is_used_and_said_once(caplog):
    from eat_core.data import SAMPLE_DIR
    from eat_core.evaluation.identity import inputs_of
    from eat_core.methods import direct

    direct._NOTED.clear()
    cfg = _direct(None)
    with caplog.at_level(logging.INFO, logger="eat"):
        examples = direct.english_examples(cfg, 2)
        direct.english_examples(cfg, 2)
        item = inputs_of(cfg).by_name()["demonstrations"]
    assert len(examples) == 2 and item.path == str(SAMPLE_DIR / "en" / "dev.tsv")
    assert [r.getMessage() for r in caplog.records].count(
        "the direct method's English demonstrations come from the bundled sample (set method.demo_data to choose "
        "them)") == 1


# -- 3. a failed student evaluation is StudentFailed -----------------------------------------------------------------


def test_a_failed_student_evaluation_raises_student_failed(tmp_path, monkeypatch):
    import eat_core.evaluation.loop as evaluation
    from eat_core.distill import pipeline
    from eat_core.distill import student as student_steps

    plan = pipeline.plan_distill({"lang": "de", "profile": "smoke", "db": str(tmp_path / "w.duckdb"),
                                  "out": str(tmp_path / "out"), "route": "eat"})
    seen = []

    def failed_evaluation(cfg, db, progress=None):  # the student's run ends with a failed shard
        seen.append(cfg)
        return evaluation.EvalResult("student-eat-0123456789", failed_shards=[("de", 0, "RuntimeError: boom")])

    monkeypatch.setattr(student_steps, "evaluate", failed_evaluation)  # the name the student's steps call
    student = {"model_dir": str(tmp_path / "student"), "step_key": "k", "silver": {"silver_id": "s"}}
    with pytest.raises(EatError) as info:
        student_steps.evaluate_student(plan, student, 0, progress=lambda m: None)
    assert type(info.value).__name__ == "StudentFailed"
    assert not isinstance(info.value, pipeline.TeacherFailed)
    assert info.value.retryable  # as TeacherFailed: the same command resumes the run (CLI exit 1)
    assert "student" in str(info.value) and "de/0" in str(info.value)
    assert seen and seen[0].method.name == "model-transfer"


# -- 4. bounded model caches -----------------------------------------------------------------------------------------


def _served(model: str):
    """A configuration whose pipeline loads nothing until a shard runs (served LLM, heuristic extractor)."""
    return get_profile("smoke").with_overrides(**{"llm.backend": "openai", "llm.base_url": "http://127.0.0.1:9/v1",
                                                  "llm.model": model, "data.languages": ("de",)})


def test_loaded_model_sessions_are_a_bounded_lru(tmp_path):
    from eat_core.evaluation import session

    store = Store(tmp_path / "w.duckdb")
    session._SESSIONS.clear()
    a, b, c = (session.session_for(_served(name), store) for name in ("m-a", "m-b", "m-c"))
    assert a._method is None and a._llm is None and a._extractor is None  # lazy: nothing was loaded here
    assert len(session._SESSIONS) == 2
    assert session.session_for(_served("m-c"), store) is c  # the newest is kept
    assert session.session_for(_served("m-b"), store) is b
    assert session.session_for(_served("m-a"), store) is not a  # the oldest was dropped: built afresh
    assert len(session._SESSIONS) == 2
    assert session.session_for(_served("m-b"), store) is b  # used recently, so it outlived m-c
    assert session.session_for(_served("m-c"), store) is not c
    session._SESSIONS.clear()


def test_fingerprint_memos_are_bounded():
    from eat_core.evaluation import identity

    for memo in (identity._MEMO, identity._MODEL_MEMO):
        memo.clear()
    for i in range(identity.FINGERPRINT_MEMO_SIZE + 5):
        cfg = _served(f"m-{i}")
        identity.collect_inputs(cfg, lambda cfg, lang: [])
        identity.model_inputs(cfg)
    assert len(identity._MEMO) == len(identity._MODEL_MEMO) == identity.FINGERPRINT_MEMO_SIZE
