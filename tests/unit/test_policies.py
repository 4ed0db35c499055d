"""Shard reuse and retries of the Prefect path (tasks/policies.py, tasks/evaluation.py), without a server.

The cache key decides whether a finished shard is reused by a new flow run: it must change with every input that
changes the shard's result, and with the workspace file, or a shard of another run or file would be served.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from prefect.states import Completed, Failed

from eat_core.errors import (
    BackendError,
    ConfigError,
    DataError,
    DiskFullError,
    ServiceUnavailable,
    StoreError,
    StoreLocked,
)
from tasks.evaluation import retry_unless_permanent
from tasks.policies import ShardCachePolicy


def run_shard(cfg, db, run_id, lang, index, sentence_ids):  # the task body the key hashes the source of
    return {}


def other_body(cfg, db, run_id, lang, index, sentence_ids):
    return {"changed": True}


INPUTS = {"cfg": {"shard_size": 2}, "db": "/w/a.duckdb", "run_id": "smoke-1", "lang": "zh", "index": 0,
          "sentence_ids": ["zh-0", "zh-1"]}


def key(inputs=INPUTS, workspace="ws-1", fn=run_shard) -> str:
    ctx = SimpleNamespace(task=SimpleNamespace(fn=fn))
    return ShardCachePolicy(workspace=workspace).compute_key(ctx, dict(inputs), {})


@pytest.mark.parametrize(("name", "value"), [
    ("run_id", "smoke-2"), ("lang", "ru"), ("index", 1), ("sentence_ids", ["zh-0", "zh-2"]),
    ("sentence_ids", ["zh-1", "zh-0"]),
])
def test_the_shard_key_changes_with_each_input_of_the_shard(name, value):
    assert key() == key() and key().startswith("shard-")
    assert key({**INPUTS, name: value}) != key()


def test_the_shard_key_changes_with_the_workspace_and_the_task_source():
    assert key(workspace="ws-2") != key()
    assert key(fn=other_body) != key()


def test_the_config_and_the_file_path_are_covered_by_the_run_id_not_the_key():
    """A moved workspace file (same workspace id) and a config change (which gives a new run id) keep the key
    of the same run id: the run id alone stands for the configuration."""
    assert key({**INPUTS, "db": "/elsewhere/a.duckdb", "cfg": {"shard_size": 3}}) == key()


def test_a_key_without_a_task_source_is_still_computed():
    ctx = SimpleNamespace(task=None)
    assert ShardCachePolicy(workspace="ws").compute_key(ctx, dict(INPUTS), {}).startswith("shard-")


@pytest.mark.parametrize(("exc", "retry"), [
    (RuntimeError("worker died"), True),
    (OSError("connection reset"), True),
    (StoreLocked("locked by pid 1"), True),
    (ServiceUnavailable("all endpoints down"), True),
    (ConfigError("--llm: no such model"), False),
    (DataError("zh/dev.tsv:3: bad tag"), False),
    (StoreError("not a DuckDB file"), False),
    (DiskFullError("no space left"), False),
    (BackendError("HTTP 400"), False),
])
def test_retry_only_what_another_attempt_could_fix(exc, retry):
    assert retry_unless_permanent(None, None, Failed(data=exc)) is retry


def test_a_state_without_an_exception_is_retried_as_configured():
    assert retry_unless_permanent(None, None, Completed(data={"ok": 1})) is True
