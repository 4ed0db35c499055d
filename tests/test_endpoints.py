"""Many OpenAI-compatible endpoints behind one run: load spreading, failover, 'all down' and resume, cache keys.

Real loopback servers (``ChatServer``), real HTTP, real DuckDB: servers are killed mid-run, answer 500s, come back.
The scripted 'LLM' answers as a function of the whole request, so a greedy answer is the same whichever server
gives it, and a request answered out of place would change the predictions.
"""

from __future__ import annotations

import time

import pytest
from chat_server import ChatServer
from support.db import predictions as stored_predictions
from support.fakes import hashed_script

from eat_core.config.run import get_profile
from eat_core.errors import ConfigError, ServiceUnavailable, is_retryable
from eat_core.evaluation.checks import validate_config
from eat_core.evaluation.loop import evaluate
from eat_core.llm.base import Decoding
from eat_core.llm.endpoints import EndpointPool, parse_base_urls
from eat_core.llm.openai_backend import OpenAIBackend
from eat_core.store import Store

scripted = hashed_script().answer  # a ChatServer responder: the messages of a request -> its answer


def config(*urls: str, max_retries: int = 2, **extra):
    return get_profile("smoke").with_overrides(**{
        "llm.backend": "openai", "llm.base_url": ",".join(urls), "llm.model": "served",
        "llm.temperature": 0.0, "llm.seed": None, "llm.max_retries": max_retries,
        "data.languages": ("zh", "ja", "ru", "ar"), **extra})  # 32 sentences, 8 shards of 4


def predictions(db, run_id: str) -> dict:
    return stored_predictions(db, run_id, ("pred", "english", "roundtrip", "placements"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The run through one healthy server: what every pool of servers must reproduce."""
    db = tmp_path_factory.mktemp("reference") / "w.duckdb"
    with ChatServer(responder=scripted) as server:
        result = evaluate(config(server.base_url), db, run_id="reference")
        assert result.failed_shards == []
    preds = predictions(db, "reference")
    assert len(preds) == 32 and len({p[1] for p in preds.values()}) > 15  # answers really differ per sentence
    return preds


# -- configuration ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("http://a:1/v1", ["http://a:1/v1"]),
    ("http://a:1/v1/", ["http://a:1/v1"]),
    (" http://a:1/v1 , http://b:2/v1/ ,", ["http://a:1/v1", "http://b:2/v1"]),
    ("http://a:1/v1,http://b:2/v1,http://a:1/v1/", ["http://a:1/v1", "http://b:2/v1"]),
    ("", []),
    (None, []),
])
def test_parse_base_urls(value, expected):
    assert parse_base_urls(value) == expected


@pytest.mark.parametrize(("value", "needle"), [
    ("ftp://x", "(got 'ftp://x')"),
    ("http://127.0.0.1:1/v1,ftp://x", "bad entry 'ftp://x' in 'http://127.0.0.1:1/v1,ftp://x'"),
    ("http://127.0.0.1:1/v1,,http://127.0.0.1:2/v1", "bad entry '' in"),
    ("http://127.0.0.1:1/v1, 127.0.0.1:2/v1", "bad entry '127.0.0.1:2/v1'"),
])
def test_every_base_url_entry_is_validated(value, needle):
    with pytest.raises(ConfigError, match="--base-url") as err:
        validate_config(config(value))
    assert needle in str(err.value) and "several separated by commas" in str(err.value)


def test_several_http_urls_are_accepted():
    validate_config(config("http://127.0.0.1:1/v1", "https://gpu-2.example:8443/v1"))


def test_the_cache_identity_names_the_model_not_the_endpoints():
    one = OpenAIBackend("Qwen/Qwen2.5-14B-Instruct", "http://a:1/v1")
    two = OpenAIBackend("Qwen/Qwen2.5-14B-Instruct", "http://a:1/v1,http://b:2/v1")
    assert one.identity() == two.identity() == {
        "backend": "openai", "model": "Qwen/Qwen2.5-14B-Instruct", "served_as": "Qwen/Qwen2.5-14B-Instruct"}
    assert OpenAIBackend("m", "http://a:1/v1", adapter="eacl").identity()["served_as"] == "eacl"


# -- the pool's bookkeeping ---------------------------------------------------------------------------------------

def test_least_outstanding_with_round_robin_ties_and_probe_backoff():
    now = [0.0]
    pool = EndpointPool(["u1", "u2", "u3"], probe_backoff_s=1.0, max_probe_backoff_s=4.0, clock=lambda: now[0])
    picked = [pool.acquire().url for _ in range(4)]
    assert picked == ["u1", "u2", "u3", "u1"]  # ties round robin, then the least loaded
    for e in pool.endpoints:
        pool.release(e, ok=True)
    pool.release(pool.endpoints[0], ok=True)
    busy = pool.acquire()  # u2: the cursor moved past u1
    assert busy.url == "u2" and [pool.acquire().url for _ in range(2)] == ["u3", "u1"]
    u1 = pool.endpoints[0]
    assert pool.mark_down(u1, "ConnectError") and pool.acquire(avoid=None).url in {"u2", "u3"}
    assert pool.due_probes() == [] and pool.seconds_to_next_probe() == 1.0
    now[0] = 1.0
    assert pool.due_probes() == [u1] and pool.due_probes() == []  # handed to one prober only
    pool.probe_done(u1, healthy=False, reason="health check ConnectError")
    assert pool.seconds_to_next_probe() == 2.0  # doubled
    now[0] = 3.0
    pool.due_probes()
    pool.probe_done(u1, healthy=False)
    assert pool.seconds_to_next_probe() == 4.0  # capped at max_probe_backoff_s
    assert "u1 (health check ConnectError)" in pool.describe()
    pool.due_probes(now=True)
    pool.probe_done(u1, healthy=True)
    assert pool.healthy_count() == 3
    single = EndpointPool(["only"])
    assert single.mark_down(single.endpoints[0], "ConnectError") is False and single.acquire().url == "only"


# -- real servers -------------------------------------------------------------------------------------------------

def test_three_healthy_servers_share_the_load_and_reproduce_one_server(reference, tmp_path):
    with ChatServer(responder=scripted) as a, ChatServer(responder=scripted) as b, \
            ChatServer(responder=scripted) as c:
        result = evaluate(config(a.base_url, b.base_url, c.base_url), tmp_path / "w.duckdb", run_id="three")
        counts = [s.answered for s in (a, b, c)]
    assert result.failed_shards == [] and result.computed_shards == 8
    assert all(n >= 0.2 * sum(counts) for n in counts), counts
    assert predictions(tmp_path / "w.duckdb", "three") == reference


def test_a_killed_server_and_a_500_server_are_taken_out_and_the_run_completes_identically(reference, tmp_path):
    db = tmp_path / "w.duckdb"
    with ChatServer(responder=scripted, kill_after=40) as dying, ChatServer(responder=scripted) as failing, \
            ChatServer(responder=scripted) as healthy:
        failing.fail_status = 500
        cfg = config(dying.base_url, failing.base_url, healthy.base_url)
        result = evaluate(cfg, db, run_id="pool")
        assert dying.killed and dying.answered == 39  # the 40th request killed it and was reset
        assert failing.answered == 0 and len(failing.requests) <= 3 + 4  # out after max_retries + 1 in a row
        assert healthy.answered > 0.6 * sum(s.answered for s in (dying, failing, healthy))
    assert (result.computed_shards, result.failed_shards) == (8, [])
    assert predictions(db, "pool") == reference
    # the LLM cache does not know which endpoint answered: one server's URL over the same file hits every call
    with ChatServer(responder=scripted) as alone:
        again = evaluate(config(alone.base_url), db, run_id="alone")
        assert again.failed_shards == [] and alone.requests == []
    hits, misses = Store(db).query("SELECT sum(cache_hits), sum(cache_misses) FROM shards WHERE run_id = 'alone'")[0]
    assert misses == 0 and hits > 0


def test_all_endpoints_down_fails_naming_them_and_a_rerun_recomputes_only_failed_shards(reference, tmp_path):
    db = tmp_path / "w.duckdb"
    with ChatServer(responder=scripted, kill_after=60) as a, ChatServer(responder=scripted, kill_after=60) as b:
        cfg = config(a.base_url, b.base_url, max_retries=1)
        first = evaluate(cfg, db, run_id="down")
        assert a.killed and b.killed
        failed = {(lang, index) for lang, index, _ in first.failed_shards}
        assert 0 < len(failed) < 8 and first.computed_shards == 8 - len(failed)
        cause = first.failed_shards[-1][2]
        assert cause.startswith("ServiceUnavailable: all 2 LLM endpoints are down: ") and "\n" not in cause
        assert a.base_url in cause and b.base_url in cause, cause
        status, reason = Store(db).query("SELECT status, status_reason FROM runs WHERE run_id = 'down'")[0]
        assert status == "failed" and a.base_url in reason

        a.revive()
        b.revive()
        served_before = a.answered + b.answered
        second = evaluate(cfg, db, run_id="down")
        assert (second.computed_shards, second.skipped_shards, second.failed_shards) == (len(failed),
                                                                                           8 - len(failed), [])
        assert a.answered + b.answered > served_before
    rows = Store(db).query("SELECT lang, shard_index, attempts FROM shards WHERE run_id = 'down'")
    assert {(lang, i) for lang, i, attempts in rows if attempts == 2} == failed  # only those ran twice
    assert predictions(db, "down") == reference


def test_the_all_down_error_is_retryable_and_names_every_endpoint():
    backend = OpenAIBackend("m", "http://127.0.0.1:9/v1,http://127.0.0.1:7/v1", max_retries=1, backoff_s=0.01)
    with pytest.raises(ServiceUnavailable) as err:
        backend.generate([[{"role": "user", "content": "hi"}]], Decoding(4))
    assert is_retryable(err.value)
    assert str(err.value).startswith("all 2 LLM endpoints are down: http://127.0.0.1:9/v1")
    assert "http://127.0.0.1:7/v1" in str(err.value) and "re-run to resume" in str(err.value)


def test_a_server_that_comes_back_is_put_back_after_a_health_check():
    with ChatServer(responder=scripted) as a, ChatServer(responder=scripted) as b:
        backend = OpenAIBackend("m", f"{a.base_url},{b.base_url}", backoff_s=0.01, probe_backoff_s=0.05)
        chats = [[{"role": "user", "content": f"Sentence {i}"}] for i in range(12)]
        a.kill()
        first = backend.generate(chats, Decoding(8))
        assert b.answered == 12 and backend.pool.healthy_count() == 1
        a.revive()
        time.sleep(0.1)  # past the first probe backoff: the next batch checks a in the background
        backend.generate(chats[:2], Decoding(8))
        assert a.probes >= 1 and backend.pool.healthy_count() == 2
        again = backend.generate(chats, Decoding(8))
        assert a.answered > 0 and [c.text for c in again] == [c.text for c in first]


def test_a_served_adapter_is_keyed_by_its_files_and_requests_ask_for_its_name(tmp_path):
    from eat_core.hashing import directory_fingerprint

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"weights v1")
    with ChatServer(responder=scripted, model="eacl") as server:
        backend = OpenAIBackend("base", server.base_url, adapter=f"eacl={adapter}")
        first = backend.identity()
        backend.generate([[{"role": "user", "content": "hi"}]], Decoding(4))
        assert server.requests[-1]["model"] == "eacl"
        (adapter / "adapter_model.safetensors").write_bytes(b"weights v2")  # retrained under the same name
        second = OpenAIBackend("base", server.base_url, adapter=f"eacl={adapter}").identity()
        # by name alone: this server reports no adapter files, so the name is all there is to key on
        by_name = OpenAIBackend("base", server.base_url, adapter="eacl").identity()
    assert first["adapter"] != second["adapter"] == directory_fingerprint(adapter)
    assert {k: v for k, v in first.items() if k != "adapter"} == {"backend": "openai", "model": "base",
                                                                  "served_as": "eacl"}
    assert by_name["adapter"] == "served:eacl"


def test_a_server_not_serving_the_named_model_is_refused_before_the_run(tmp_path):
    with ChatServer(responder=scripted, model="other") as server:
        with pytest.raises(ConfigError, match=r"^--llm: the server at .* does not serve 'served' \(it serves "
                                              r"'other'"):
            validate_config(config(server.base_url))
        with pytest.raises(ConfigError, match="^--adapter: .* does not serve 'eacl'"):
            validate_config(config(server.base_url, **{"llm.adapter": "eacl"}))
