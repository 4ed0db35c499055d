"""DuckDB store: migrations, parameterised writes, locks, corruption, newer schemas, crash safety."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import REPO

from eat_core.errors import StoreError
from eat_core.store import SCHEMA_VERSION, Store


def test_fresh_file_is_migrated_and_tables_exist(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    assert store.migrate() == SCHEMA_VERSION
    tables = {r[0] for r in store.query("SELECT table_name FROM information_schema.tables")}
    assert {"llm_cache", "runs", "shards", "predictions", "metrics", "eacl_pages", "eacl_pairs"} <= tables
    assert store.migrate() == SCHEMA_VERSION  # idempotent


def test_cache_roundtrip_keeps_hostile_strings_intact(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    evil = "x'); DROP TABLE llm_cache; --"
    store.put_cached_calls([("k1", "m", None, {"messages": [{"role": "user", "content": evil}]}, evil, 3, 4, 0.1)])
    got = store.get_cached_calls(["k1", "k2"])
    assert list(got) == ["k1"] and got["k1"].output == evil and got["k1"].completion_tokens == 4


def test_newer_schema_is_refused(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    store.migrate()
    with store.connect() as con:
        con.execute("UPDATE eat_meta SET value = ? WHERE key = ?", [str(SCHEMA_VERSION + 1), "schema_version"])
    with pytest.raises(StoreError, match="newer than this eat-ner understands"):
        Store(store.path).migrate()


def test_corrupt_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "bad.duckdb"
    path.write_bytes(b"this is not duckdb" * 500)
    with pytest.raises(StoreError, match="not a valid DuckDB file"):
        Store(path).migrate()


def test_missing_file_for_reading(tmp_path):
    with pytest.raises(StoreError, match="no such DuckDB file"):
        Store(tmp_path / "nope.duckdb").query("SELECT 1")


def test_failed_transaction_leaves_earlier_writes_intact(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    store.put_metrics("r1", "zh", [("token_f1", 61.3, "sig", None)])
    with pytest.raises(RuntimeError), store.connect() as con:
        con.execute("INSERT INTO metrics (run_id, lang, metric, value, signature) VALUES (?, ?, ?, ?, ?)",
                    ["r1", "ja", "token_f1", 52.0, "sig"])
        raise RuntimeError("crash mid-write")
    rows = store.query("SELECT lang, value FROM metrics ORDER BY lang")
    assert rows == [("zh", 61.3)]


def test_shard_results_and_status_commit_together(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    row = {"sentence_id": "s1", "tokens": ["北", "京"], "gold": ["B-LOC", "I-LOC"], "pred": ["B-LOC", "I-LOC"],
           "english": "Beijing", "roundtrip": "北京", "entities": [], "placements": [], "failures": [],
           "transcript": {}}
    store.write_shard_result("r1", "zh", 0, [row], hits=1, misses=2, seconds=0.5)
    assert store.query("SELECT status, cache_hits, cache_misses FROM shards") == [("done", 1, 2)]
    assert store.query("SELECT pred->>'$[0]' FROM predictions") == [("B-LOC",)]


def _hold_lock_script(path, seconds):
    return textwrap.dedent(f"""
        import time, duckdb
        con = duckdb.connect({str(path)!r})
        print("locked", flush=True)
        time.sleep({seconds})
        con.close()
    """)


def test_second_process_waits_for_a_brief_writer(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    store.migrate()
    proc = subprocess.Popen([sys.executable, "-c", _hold_lock_script(store.path, 1.5)], stdout=subprocess.PIPE,
                            text=True, cwd=REPO)
    assert proc.stdout.readline().strip() == "locked"
    store.put_metrics("r1", "ar", [("token_f1", 1.0, "sig", None)])  # retries until the other process is done
    proc.wait(timeout=30)
    assert store.query("SELECT count(*) FROM metrics") == [(1,)]


def test_lock_held_too_long_gives_a_clear_error(tmp_path):
    store = Store(tmp_path / "w.duckdb", lock_timeout_s=0.5)
    store.migrate()
    proc = subprocess.Popen([sys.executable, "-c", _hold_lock_script(store.path, 4)], stdout=subprocess.PIPE,
                            text=True, cwd=REPO)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match="in use by another process"):
            store.put_metrics("r1", "ar", [("token_f1", 1.0, "sig", None)])
    finally:
        proc.kill()
        proc.wait()


def test_an_older_file_is_upgraded_in_place(tmp_path):
    import duckdb

    from eat_core.store import MIGRATIONS, get_blob, put_blob

    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE eat_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    for statement in MIGRATIONS[1]:
        con.execute(statement)
    con.execute("INSERT INTO eat_meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO metrics (run_id, lang, metric, value, signature) VALUES ('r', 'zh', 'f1', 1.0, 's')")
    con.close()
    store = Store(path)
    assert store.migrate() == SCHEMA_VERSION == 9
    assert store.query("SELECT reuses FROM shards") == []  # migration 9: the reuse counter
    assert store.query("SELECT value FROM metrics") == [(1.0,)]  # existing rows survive the upgrade
    put_blob(store, "k", b"\x00record")
    assert get_blob(store, "k") == b"\x00record" and get_blob(store, "missing") is None
