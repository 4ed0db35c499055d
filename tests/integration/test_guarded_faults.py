"""Faults the rest of the suite let through (issue 23): one test each that fails when its guarantee is dropped.

* the run id covers the gold tags: a label corrected in place starts a new run, scored against the new gold;
* a shard's predictions are replaced in one transaction (evaluation and ``eat tag``): a crash mid-write keeps the
  old rows and never leaves a ``done`` shard without them;
* a Dask shard is persisted in one transaction: calls, call list, predictions and status, all or nothing
  (``Store.transaction`` joins nested writes into one commit and refuses reads inside);
* the Prefect shard cache keys carry the workspace id: two DuckDB files never share cached shards;
* a Dask shard whose compute raised is reported to the flow as failed, never done;
* a health check that raises keeps the endpoint out of the pool;
* a shard recomputed after its language was scored is scored again;
* ``eat tag`` refuses a shard whose records changed since the plan, even when their number did not;
* ``eat tag`` entity offsets are the tokens' own character spans, in any script.

Everything is real: DuckDB files in ``tmp_path``, an in-process Dask cluster, HTTP on 127.0.0.1, tiny local models.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from eat_core.config.requests import EvalRequest, ExecutionOptions
from eat_core.config.run import get_profile
from eat_core.data import SAMPLE_DIR
from eat_core.evaluation.data import load_language
from eat_core.evaluation.identity import sentences_fingerprint
from eat_core.evaluation.lifecycle import finish_run, start_run
from eat_core.evaluation.loop import evaluate
from eat_core.evaluation.shards import plan_shards, shards_of
from eat_core.languages import join_tokens
from eat_core.store import Store
from eat_core.types import Sentence

MT = {"method.name": "model-transfer", "extractor.name": "token-classification", "extractor.model": "tiny:bert-tc"}


def _row(sentence_id: str, tokens: list[str], gold: list[str], pred: list[str], lang: str = "zh") -> dict:
    """A stored prediction row (``evaluate.prediction_row``'s shape)."""
    return {"sentence_id": sentence_id, "tokens": tokens, "gold": gold, "pred": pred, "english": "x",
            "roundtrip": join_tokens(tokens, lang), "entities": [], "placements": [], "failures": [],
            "transcript": {}}


def _predictions(store: Store, run_id: str) -> list[tuple]:
    return [(shard, sid, json.loads(pred)) for shard, sid, pred in store.query(
        "SELECT shard_index, sentence_id, pred FROM predictions WHERE run_id = ? ORDER BY sentence_id", [run_id])]


# -- 1. the run id covers the gold tags ----------------------------------------------------------------------------


def test_sentences_differing_only_in_one_gold_tag_have_different_fingerprints():
    tokens = ("普", "京", "访", "问")
    a = [Sentence("s1", "zh", tokens, ("B-PER", "I-PER", "O", "O"))]
    b = [Sentence("s1", "zh", tokens, ("B-LOC", "I-LOC", "O", "O"))]
    unlabelled = [Sentence("s1", "zh", tokens, None)]
    assert len({sentences_fingerprint(a), sentences_fingerprint(b), sentences_fingerprint(unlabelled)}) == 3


def test_a_gold_tag_corrected_in_place_starts_a_new_run_scored_on_the_new_gold(tmp_path):
    data = tmp_path / "data"
    (data / "zh").mkdir(parents=True)
    shutil.copy(SAMPLE_DIR / "zh" / "dev.tsv", data / "zh" / "dev.tsv")
    cfg = get_profile("smoke").with_overrides(**{
        "data.source": "local", "data.data_dir": str(data), "data.languages": ("zh",), "data.limit": 4,
        "shard_size": 2, **MT})
    db = tmp_path / "eat.duckdb"
    first = evaluate(cfg, db)
    assert first.computed_shards == 2 and not first.failed_shards
    path = data / "zh" / "dev.tsv"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("前\tB-LOC\n鎮\tI-LOC\n區\tI-LOC\n")
    path.write_text(text.replace("前\tB-LOC\n鎮\tI-LOC\n區\tI-LOC\n", "前\tB-ORG\n鎮\tI-ORG\n區\tI-ORG\n", 1),
                    encoding="utf-8")  # same size, same tokens: only the labels of one sentence differ

    second = evaluate(cfg, db)
    assert second.run_id != first.run_id, "corrected gold labels must not resume the old run and its scores"
    assert second.computed_shards == 2 and second.skipped_shards == 0
    store = Store(db)
    gold = {run: json.loads(g) for run, g in store.query(
        "SELECT run_id, gold FROM predictions WHERE sentence_id = (SELECT min(sentence_id) FROM predictions)")}
    assert gold == {first.run_id: ["B-LOC", "I-LOC", "I-LOC"], second.run_id: ["B-ORG", "I-ORG", "I-ORG"]}
    per_type = {run: set(json.loads(d)) for run, d in store.query(
        "SELECT run_id, details FROM metrics WHERE metric = 'entity_f1'")}
    assert "ORG" in per_type[second.run_id]  # scored against the corrected labels


# -- 2. a shard's predictions are replaced in one transaction ------------------------------------------------------


def test_a_crash_while_replacing_a_shards_predictions_keeps_the_old_ones_and_the_shard_consistent(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    old = [_row("s1", ["北", "京"], ["B-LOC", "I-LOC"], ["B-LOC", "I-LOC"]), _row("s2", ["东"], ["O"], ["O"])]
    store.write_shard_result("r", "zh", 0, old, hits=1, misses=2, seconds=0.5)
    # a recomputed shard whose insert fails inside DuckDB (the same sentence twice breaks the primary key):
    # the DELETE before it already ran in that transaction
    new = [_row("s1", ["北", "京"], ["B-LOC", "I-LOC"], ["O", "O"])] * 2
    with pytest.raises(duckdb.ConstraintException):
        store.write_shard_result("r", "zh", 0, new, hits=3, misses=0, seconds=0.1)
    assert _predictions(store, "r") == [(0, "s1", ["B-LOC", "I-LOC"]), (0, "s2", ["O"])]
    assert store.query("SELECT status, n_sentences, cache_hits, cache_misses FROM shards") == [("done", 2, 1, 2)]
    # no shard is ever done with fewer predictions than sentences
    assert store.query("SELECT count(*) FROM shards s WHERE status = 'done' AND n_sentences > (SELECT count(*) "
                       "FROM predictions p WHERE p.run_id = s.run_id AND p.shard_index = s.shard_index)") == [(0,)]


def test_a_crash_while_replacing_a_tag_shards_rows_keeps_the_old_ones(tmp_path):
    store = Store(tmp_path / "w.duckdb")

    def row(index: int, text: str) -> dict:
        return {"record_index": index, "record_id": str(index), "line": index + 1, "text": text, "tokens": [text],
                "offsets": [[0, len(text)]], "tags": ["O"], "entities": [], "skipped": None, "transcript": None,
                "failures": []}

    stats = {"n_tagged": 2, "n_skipped": 0, "n_entities": 0, "hits": 0, "misses": 2, "seconds": 0.1,
             "prompt_tokens": 0, "completion_tokens": 0}
    store.write_tag_shard("t", 0, 0, [row(0, "Москва"), row(1, "Париж")], stats)
    with pytest.raises(duckdb.ConstraintException):
        store.write_tag_shard("t", 0, 0, [row(0, "Берлин"), row(0, "Рим")], stats)
    assert [r["text"] for r in store.tag_shard_rows("t", 0)] == ["Москва", "Париж"]
    assert store.query("SELECT status, n_records FROM tag_shards") == [("done", 2)]


# -- 3. a Dask shard is persisted in one transaction ---------------------------------------------------------------


def test_a_detached_shard_is_persisted_all_or_nothing(tmp_path):
    from eat_core.evaluation.detached import ShardOutput, persist_shard

    store = Store(tmp_path / "w.duckdb")
    call = ("k1", "m", None, {"messages": [{"role": "user", "content": "北京"}]}, "Beijing", 3, 4, 0.1)

    def output(rows: list[dict]) -> ShardOutput:
        return ShardOutput("zh", 0, "content-1", rows, hits=0, misses=1, prompt_tokens=3, completion_tokens=4,
                           seconds=0.2, new_calls=[call], used_keys=["k1"], worker="w:1")

    broken = [_row("s1", ["北"], ["O"], ["O"])] * 2  # the last of the three writes fails (primary key)
    with pytest.raises(duckdb.ConstraintException):
        persist_shard(store, "r", output(broken))
    assert store.query("SELECT count(*) FROM llm_cache") == [(0,)], "the shard's calls must not outlive it"
    assert store.query("SELECT count(*) FROM shard_calls") == [(0,)]
    assert store.query("SELECT count(*) FROM predictions") == [(0,)]
    assert store.query("SELECT count(*) FROM shards") == [(0,)]

    persist_shard(store, "r", output([_row("s1", ["北"], ["O"], ["O"])]))  # the shard again, whole
    assert store.query("SELECT count(*) FROM llm_cache") == [(1,)]
    assert list(store.get_shard_calls("zh", "content-1")) == ["k1"]
    assert store.query("SELECT status, n_sentences FROM shards") == [("done", 1)]


def test_store_transaction_joins_every_write_into_one_commit_and_refuses_reads_inside(tmp_path):
    from eat_core.errors import StoreError

    store = Store(tmp_path / "w.duckdb")
    with pytest.raises(duckdb.ConstraintException), store.transaction():
        store.put_metrics("r", "zh", [("token_f1", 1.0, "sig", None)])
        with store.transaction():  # nested: part of the outer one
            store.mark_shard("r", "zh", 0, 2, "running")
        store.put_run_inputs("r", [("llm", "model", None, "a"), ("llm", "model", None, "b")])  # duplicate: fails
    assert store.query("SELECT count(*) FROM metrics") == [(0,)]
    assert store.query("SELECT count(*) FROM shards") == [(0,)]
    with pytest.raises(StoreError, match="a read inside transaction"), store.transaction():
        store.query("SELECT count(*) FROM metrics")


# -- 4. the Prefect shard cache keys carry the workspace id --------------------------------------------------------


def test_shard_cache_keys_differ_between_two_workspace_files_and_for_a_replaced_file(tmp_path):
    from tasks.evaluation import run_shard_task, shard_task
    from tasks.tagging import run_tag_shard_task, tag_shard_task

    shard_inputs = {"run_id": "smoke-1", "lang": "zh", "index": 0, "sentence_ids": ["zh-dev-0", "zh-dev-1"]}
    tag_inputs = {"run_id": "tag-1", "shard": {"index": 0, "digest": "abc"}}

    def keys(db: Path) -> tuple[str, str]:
        evaluation = shard_task(str(db), 0, 0.0).cache_policy
        tagging = tag_shard_task(str(db), 0, 0.0).cache_policy
        return (evaluation.compute_key(SimpleNamespace(task=run_shard_task), shard_inputs, {}),
                tagging.compute_key(SimpleNamespace(task=run_tag_shard_task), tag_inputs, {}))

    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    key_a, key_b = keys(a), keys(b)
    assert key_a == keys(a), "the same file must give the same keys (a crashed run resumes from its cache)"
    assert key_a[0] != key_b[0], "two workspace files share evaluation shard cache records"
    assert key_a[1] != key_b[1], "two workspace files share tag shard cache records"
    a.unlink()  # a deleted file recreated under the same path is another workspace
    again = keys(a)
    assert again[0] != key_a[0] and again[1] != key_a[1]


# -- 5. a Dask shard whose compute raised is reported failed -------------------------------------------------------


@pytest.mark.slow  # a Prefect API server starts for the task runs (about 15 s)
def test_a_dask_shard_whose_compute_raises_is_reported_failed_never_done(tmp_path):
    from distributed import LocalCluster

    from tasks.distributed import run_on_dask

    db = tmp_path / "dask.duckdb"
    missing = tmp_path / "no-such-extractor"  # loading it raises on the worker; planning never opens it
    request = EvalRequest(profile="smoke", languages=("zh",), limit=2, shard_size=1, db=str(db),
                          method="model-transfer", extractor="token-classification", extractor_model=str(missing))
    cfg = request.resolve()
    start_run(Store(db), "r", cfg)
    plan = [{"lang": lang, "index": i,
             "sentence_ids": [s.id for s in shards_of(load_language(cfg, lang), cfg.shard_size)[i]]}
            for lang, i, _ in plan_shards(cfg)]
    done, failed = [], []
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        run_on_dask(request, ExecutionOptions(dask_address=cluster.scheduler_address), cfg, "r", plan, 0, 0.0,
                    lambda p, summary, before: done.append((p["index"], summary)),
                    lambda p, cause: failed.append((p["index"], cause)))
    assert done == [], "a shard whose compute raised must never be reported done"
    assert sorted(i for i, _ in failed) == [0, 1] and all(cause for _, cause in failed)
    assert Store(db).query("SELECT shard_index, status FROM shards ORDER BY 1") == [(0, "failed"), (1, "failed")]


# -- 6. a health check that raises keeps the endpoint out ----------------------------------------------------------


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there once the socket is closed: connection refused


def test_a_health_check_that_raises_keeps_a_dead_endpoint_out_and_routes_to_the_live_one():
    import httpx
    from chat_server import ChatServer

    from eat_core.llm.base import Decoding
    from eat_core.llm.openai_backend import OpenAIBackend

    dead_url = _closed_port_url()
    with ChatServer(responder=lambda messages: "ok") as live:
        backend = OpenAIBackend("m", f"{dead_url},{live.base_url}", backoff_s=0.01, probe_backoff_s=0.0)
        dead, alive = backend.pool.endpoints
        for endpoint in (dead, alive):  # every endpoint out: the next request checks them all at once
            backend.pool.mark_down(endpoint, "ConnectError")

        async def check() -> bool:
            async with httpx.AsyncClient() as client:
                return await backend._probe_now(client)

        assert asyncio.run(check()) is True and live.probes == 1
        assert dead.down and dead.last_error.startswith("health check Connect"), dead.last_error
        assert not alive.down
        assert {backend.pool.acquire().url for _ in range(4)} == {live.base_url}
        for _ in range(4):
            backend.pool.release(alive, ok=True)

        # a batch with the dead endpoint's check due: it is checked again, stays out, the live one answers all
        answers = backend.generate([[{"role": "user", "content": f"s{i}"}] for i in range(6)], Decoding(4))
        assert [a.text for a in answers] == ["ok"] * 6 and live.answered == 6
        assert dead.down and dead.last_error.startswith("health check"), dead.last_error


# -- 7. a shard recomputed after scoring is scored again ----------------------------------------------------------


def test_a_shard_recomputed_after_its_language_was_scored_is_scored_again(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    cfg = get_profile("smoke").with_overrides(**{"data.languages": ("zh",)})
    gold = [("s1", ["北", "京", "大"], ["B-LOC", "I-LOC", "O"]), ("s2", ["东", "京"], ["B-LOC", "I-LOC"])]
    store.write_shard_result("r", "zh", 0, [_row(i, t, g, g) for i, t, g in gold], 0, 0, 0.1)
    first = finish_run(store, "r", cfg, failed=False)
    assert first["zh"]["entity_f1"] == pytest.approx(100.0)
    # the shard is recomputed (a retry, a repaired input) with other predictions, after the metrics were written
    store.write_shard_result("r", "zh", 0, [_row(i, t, g, ["O"] * len(t)) for i, t, g in gold], 0, 0, 0.1)
    second = finish_run(store, "r", cfg, failed=False)
    assert second["zh"]["entity_f1"] == pytest.approx(0.0), "stale metrics kept for a recomputed shard"
    assert store.query("SELECT value FROM metrics WHERE metric = 'entity_f1'") == [(pytest.approx(0.0),)]


# -- 8. eat tag refuses a shard whose records changed, even at the same count -------------------------------------


def test_a_corpus_edited_mid_run_with_the_same_record_count_is_refused_then_tagged_afresh(tmp_path):
    from eat_core.tagging.runner import tag_corpus

    corpus = tmp_path / "c.txt"
    corpus.write_text("Путин посетил Париж.\nМосква\nЛондон\nРим\n", encoding="utf-8")
    args = {"input": str(corpus), "lang": "ru", "out": str(tmp_path / "o.jsonl"), "db": str(tmp_path / "d"),
            "shard_size": 2, "method": "model-transfer", "extractor": "token-classification",
            "extractor_model": "tiny:bert-tc"}

    def edit_after_the_first_shard(message: str) -> None:
        if message.startswith("[1/2]"):  # shard 0 is stored; shard 1 has not been read yet
            corpus.write_text("Путин посетил Париж.\nМосква\nБерн\nРим\n", encoding="utf-8")  # still 4 records

    first = tag_corpus(args, progress=edit_after_the_first_shard, retries=0)
    assert first.computed_shards == 1 and [i for i, _ in first.failed_shards] == [1], first.failed_shards
    assert "changed since this tag run was planned" in first.failed_shards[0][1]
    assert not (tmp_path / "o.jsonl").exists()
    stored = Store(tmp_path / "d").query("SELECT text FROM tag_predictions WHERE tag_run_id = ?", [first.run_id])
    assert "Берн" not in {t for (t,) in stored}  # the edited record never joins the run planned on the old file

    again = tag_corpus(args, retries=0)
    assert again.run_id != first.run_id and again.computed_shards == 2 and not again.failed_shards
    rows = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == ["Путин посетил Париж.", "Москва", "Берн", "Рим"]


# -- 9. eat tag offsets are the tokens' own character spans -------------------------------------------------------


def _spans_by_walking(text: str, tokens: list[str]) -> list[tuple[int, int]]:
    """Each token's (start, end) found by walking ``text`` left to right, independently of the product code."""
    spans, i = [], 0
    for token in tokens:
        while text[i : i + len(token)] != token:
            i += 1
        spans.append((i, i + len(token)))
        i += len(token)
    return spans


CHARACTER_CASE = ("zh", "普京访问了巴黎。", ["B-PER", "I-PER", "O", "O", "O", "B-LOC", "I-LOC", "O"],
                  [(0, 2, "PER", "普京"), (5, 7, "LOC", "巴黎")])
SPACED_CASES = [
    ("ru", "Путин посетил Париж.", ["Путин", "посетил", "Париж", "."], ["B-PER", "O", "B-LOC", "O"],
     [(0, 5, "PER", "Путин"), (14, 19, "LOC", "Париж")]),
    ("ar", "زار بوتين باريس، فرنسا.", ["زار", "بوتين", "باريس", "،", "فرنسا", "."],
     ["O", "B-PER", "B-LOC", "O", "B-LOC", "O"], [(4, 9, "PER", "بوتين"), (10, 15, "LOC", "باريس"),
                                                 (17, 22, "LOC", "فرنسا")]),
    ("ru", "Нижний  Новгород и Москва", ["Нижний", "Новгород", "и", "Москва"], ["B-LOC", "I-LOC", "O", "B-LOC"],
     [(0, 16, "LOC", "Нижний  Новгород"), (19, 25, "LOC", "Москва")]),
]


def test_entity_offsets_of_character_tokenised_text_are_the_characters_positions():
    from eat_core.tagging.export import entities_of
    from eat_core.tagging.tokenize import tokenize

    lang, text, tags, expected = CHARACTER_CASE
    toks = tokenize(text, lang)
    assert list(toks.offsets) == [(i, i + 1) for i in range(len(text))]  # one token per character, as WikiANN
    entities = entities_of(text, toks.offsets, tags)
    assert [(e["start"], e["end"], e["label"], e["text"]) for e in entities] == expected


@pytest.mark.parametrize(("lang", "text", "tokens", "tags", "expected"), SPACED_CASES,
                         ids=[f"{c[0]}:{c[1][:8]}" for c in SPACED_CASES])
def test_entity_offsets_of_space_separated_non_ascii_text_are_the_tokens_positions(lang, text, tokens, tags,
                                                                                    expected, tmp_path):
    from eat_core.tagging.export import entities_of
    from eat_core.tagging.readers import Source, iter_records

    spans = _spans_by_walking(text, tokens)
    # the reader's record (tokeniser and offsets as `eat tag` computes them), then the entities it exports
    path = tmp_path / "in.txt"
    path.write_text(text + "\n", encoding="utf-8")
    (record, _, _), = list(iter_records(Source(str(path), "text", lang)))
    assert list(record.tokens) == tokens and list(record.offsets) == spans
    entities = entities_of(record.text, record.offsets, tags)
    assert [(e["start"], e["end"], e["label"], e["text"]) for e in entities] == expected
    for e in entities:  # each entity starts at a token's start and ends at a token's end, as the test walked them
        assert e["start"] in {s for s, _ in spans} and e["end"] in {end for _, end in spans}
