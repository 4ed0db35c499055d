"""Shards on a real Dask LocalCluster (prefect-dask): same results as in-process, one DuckDB writer, worker loss."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from eat_core.config.requests import EvalRequest
from eat_core.errors import StoreError
from eat_core.evaluation.detached import MemoryCalls, compute_shard, persist_shard, shard_content
from eat_core.evaluation.lifecycle import start_run
from eat_core.evaluation.loop import evaluate
from eat_core.evaluation.shards import plan_shards
from eat_core.store import Store

pytestmark = pytest.mark.slow
QUERY = "SELECT sentence_id, pred, failures, english, roundtrip, transcript FROM predictions ORDER BY sentence_id"


@pytest.fixture(scope="module", autouse=True)
def one_prefect_server():
    """One temporary server for the flows of this module, as `eat run` starts it: its URL goes to the Dask
    workers through the environment, so they do not start temporary servers of their own."""
    from eat_cli.prefect_server import start_server, stop_server

    start_server()
    yield
    stop_server()


def prefect_servers_marked(mark: str) -> list[int]:
    """Live Prefect server processes whose environment carries ``mark`` (started under this test)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if b"prefect.server.api.server" in cmdline and mark.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


def request(db, **extra) -> EvalRequest:
    return EvalRequest(profile="smoke", languages=("zh", "ru"), limit=4, shard_size=1, db=str(db), **extra)


def in_process(tmp_path) -> list[tuple]:
    db = tmp_path / "reference.duckdb"
    evaluate(request(db).resolve(), db)
    return Store(db).query(QUERY)


def test_detached_compute_equals_in_process_and_reuses_shipped_calls(tmp_path):
    """The pure half of a shard (no DuckDB) gives the same predictions; calls shipped with a re-run are all hits."""
    cfg = request(tmp_path / "x").resolve()
    db = tmp_path / "detached.duckdb"
    store = Store(db)
    start_run(store, "r", cfg)
    outs = []
    for lang, index, _ in plan_shards(cfg):
        out = compute_shard(cfg, lang, index, {})
        assert out.misses > 0 and out.hits == 0 and len(out.new_calls) == out.misses
        persist_shard(store, "r", out)
        outs.append(out)
    assert store.query(QUERY) == in_process(tmp_path)
    again = compute_shard(cfg, "zh", 0, store.get_shard_calls("zh", shard_content(cfg, "zh", 0)))
    def essence(rows):  # the transcript's per-round "cached" flag is the only thing a cache hit may change
        return [(r["sentence_id"], r["pred"], r["failures"], r["english"], r["roundtrip"]) for r in rows]

    assert again.misses == 0 and again.hits == outs[0].misses and essence(again.rows) == essence(outs[0].rows)
    memory = MemoryCalls()
    assert memory.get_cached_calls(["k"]) == {} and memory.used == {"k"}


def test_a_local_cluster_of_two_workers_gives_the_in_process_results(tmp_path):
    from flows.full_eval import full_eval

    db = tmp_path / "dask.duckdb"
    state = full_eval(request(db), execution={"dask_workers": 2}, return_state=True)
    assert state.is_completed(), state.message
    assert Store(db).query(QUERY) == in_process(tmp_path)
    workers = {w for (w,) in Store(db).query("SELECT worker FROM shards WHERE run_id = ?", [state.result()["run_id"]])}
    assert len(workers) >= 1 and all(not w.endswith(f":{os.getpid()}") for w in workers)  # computed elsewhere
    # a re-run submits nothing: every shard is already done in DuckDB
    again = full_eval(request(db), execution={"dask_workers": 2}, return_state=True)
    assert again.is_completed()
    assert Store(db).query("SELECT sum(attempts) FROM shards")[0][0] == 8


def test_a_killed_worker_loses_nothing_and_readers_work_during_the_run(tmp_path):
    from distributed import Client, LocalCluster

    from flows.full_eval import full_eval

    db = tmp_path / "killed.duckdb"
    mark = f"eat-test-{uuid.uuid4().hex}"
    os.environ["EAT_TEST_MARK"] = mark  # the workers inherit it: any server they started would carry it
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.update(
            state=full_eval(request(db), execution={"dask_address": cluster.scheduler_address},
                                    return_state=True)))
        thread.start()
        deadline = time.monotonic() + 300
        done = 0
        while done < 2 and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.5)
            if db.exists():
                with contextlib.suppress(StoreError):  # a reader during the run; the writer may hold the file briefly
                    done = Store(db, lock_timeout_s=5).query(
                        "SELECT count(*) FROM shards WHERE status = 'done'")[0][0]
        assert 2 <= done < 8, "the worker must be killed mid-run"
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        thread.join(timeout=600)
        state = outcome["state"]
    assert state.is_completed(), state.message
    rows = Store(db).query(QUERY)
    assert rows == in_process(tmp_path)
    assert len(rows) == 8 and len({r[0] for r in rows}) == 8  # nothing lost, nothing written twice
    assert Store(db).query("SELECT count(*) FROM shards WHERE status = 'done'")[0][0] == 8
    del os.environ["EAT_TEST_MARK"]
    time.sleep(2)
    assert prefect_servers_marked(mark) == []  # the workers used the flow's server: none outlives them
