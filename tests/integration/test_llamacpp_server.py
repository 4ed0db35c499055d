"""The served path against a real inference server: llama.cpp (``eat serve``, the ``llamacpp`` extra) serving the
tiny Qwen2 converted to GGUF, real HTTP, real DuckDB.

The smoke profile samples (temperature 1, seed 0): each answer depends only on its own request and seed, so two
runs, a cached run and a run that failed over from a killed server must all store the same predictions.
"""

from __future__ import annotations

import threading
import time

import pytest
from support.cli import assert_user_error, run_cli
from support.db import predictions as stored_predictions
from support.db import rows
from support.llama_server import LlamaServer, llamacpp_available

from eat_core.store import Store

pytestmark = pytest.mark.skipif(not llamacpp_available(), reason="needs the llamacpp extra (dev includes it)")

COLUMNS = ("pred", "english", "roundtrip", "placements", "failures")


def run_smoke(server_urls: str, db, *extra: str, llm: str = "tiny"):
    result = run_cli("run", "--profile", "smoke", "--direct", "--llm-backend", "openai", "--base-url", server_urls,
                     "--llm", llm, "--db", str(db), *extra)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def run_ids(db) -> list[str]:
    return [r[0] for r in rows(db, "SELECT run_id FROM runs ORDER BY created_at")]


def cache_counts(db, run_id: str) -> tuple[int, int]:
    """(hits, misses) of a run's shards."""
    return rows(db, "SELECT sum(cache_hits), sum(cache_misses) FROM shards WHERE run_id = ?", [run_id])[0]


@pytest.fixture(scope="module")
def smoke_reference(llama_server, tmp_path_factory):
    """The whole smoke evaluation through the real server; returns (db, run_id, predictions, tokens predicted)."""
    db = tmp_path_factory.mktemp("llamacpp-ref") / "w.duckdb"
    before = llama_server.metric("llamacpp:tokens_predicted_total")
    run_smoke(llama_server.base_url, db)
    predicted = llama_server.metric("llamacpp:tokens_predicted_total") - before
    (run_id,) = run_ids(db)
    return db, run_id, stored_predictions(db, run_id, COLUMNS), predicted


# -- the converter -------------------------------------------------------------------------------------------------

def test_the_gguf_model_gives_the_transformers_models_next_token_log_probabilities(llama_server, tiny_qwen):
    """Conversion check on real numbers: the top-5 next tokens and their log-probabilities agree with transformers."""
    import httpx
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen)
    model = AutoModelForCausalLM.from_pretrained(tiny_qwen)
    for text in ["Barack Obama visited Paris.", "東京は日本の首都です。", "Путин посетил Париж."]:
        ids = tokenizer.encode(text)
        with torch.no_grad():
            top = torch.topk(torch.log_softmax(model(torch.tensor([ids])).logits[0, -1], -1), 5)
        answer = httpx.post(f"{llama_server.origin}/completion", timeout=60,
                            json={"prompt": ids, "n_predict": 1, "n_probs": 5, "temperature": 0}).json()
        served = answer["completion_probabilities"][0]["top_logprobs"]
        assert [t["id"] for t in served] == top.indices.tolist(), text
        assert [t["logprob"] for t in served] == pytest.approx(top.values.tolist(), abs=1e-3), text
    # the chat template travels in the GGUF: the server formats a chat as apply_chat_template does
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Paris?"}]
    served = httpx.post(f"{llama_server.origin}/apply-template", json={"messages": chat}, timeout=60).json()
    assert served["prompt"] == tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)


# -- the smoke evaluation through the server ----------------------------------------------------------------------

@pytest.mark.slow
def test_smoke_runs_through_the_real_server_agree_cached_equals_fresh_and_tokens_are_the_servers(
        llama_server, smoke_reference, tmp_path):
    import json

    import httpx

    db, run_id, reference, predicted = smoke_reference
    assert len(reference) == 64 and len({p[1] for p in reference.values()}) > 32  # answers really differ
    # a second fresh run in another workspace: the same answers
    run_smoke(llama_server.base_url, tmp_path / "again.duckdb")
    (again_id,) = run_ids(tmp_path / "again.duckdb")
    assert again_id == run_id and stored_predictions(tmp_path / "again.duckdb", run_id, COLUMNS) == reference
    # from the cache: every call a hit, the same predictions
    served_before = llama_server.metric("llamacpp:tokens_predicted_total")
    run_smoke(llama_server.base_url, db, "--run-id", "cached")
    assert llama_server.metric("llamacpp:tokens_predicted_total") == served_before  # the server was not asked
    hits, misses = cache_counts(db, "cached")
    assert misses == 0 and hits > 0
    assert stored_predictions(db, "cached", COLUMNS) == reference
    # recorded token counts are the server's usage: in total (its counter over the fresh run) and per call
    calls = rows(db, "SELECT request, output, prompt_tokens, completion_tokens FROM llm_cache")
    assert sum(c[3] for c in calls) == predicted and all(c[2] > 0 for c in calls)
    for request, output, prompt_tokens, completion_tokens in calls[:: max(1, len(calls) // 12)]:
        request = json.loads(request)
        body = {"model": "tiny", "messages": request["messages"], "seed": request["decoding"]["seed"],
                "max_tokens": request["decoding"]["max_new_tokens"],
                "temperature": request["decoding"]["temperature"]}
        answer = httpx.post(f"{llama_server.base_url}/chat/completions", json=body, timeout=120).json()
        assert answer["choices"][0]["message"]["content"] == output
        assert (answer["usage"]["prompt_tokens"], answer["usage"]["completion_tokens"]) == (prompt_tokens,
                                                                                              completion_tokens)


@pytest.mark.slow
def test_a_server_killed_mid_run_fails_over_to_a_second_real_server_and_nothing_is_lost(
        llama_server, smoke_reference, tiny_gguf, tmp_path):
    reference, db = smoke_reference[2], tmp_path / "w.duckdb"
    with LlamaServer(tiny_gguf, "tiny", log=tmp_path / "victim.log") as victim:
        def kill_when_busy():  # SIGKILL once the victim has answered part of the run
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and victim.process.poll() is None:
                try:
                    if victim.metric("llamacpp:tokens_predicted_total") > 2000:
                        victim.kill()
                        return
                except Exception:  # noqa: BLE001 - not up or already gone
                    pass
                time.sleep(0.05)

        killer = threading.Thread(target=kill_when_busy, daemon=True)
        killer.start()
        before = llama_server.metric("llamacpp:tokens_predicted_total")
        run_smoke(f"{victim.base_url},{llama_server.base_url}", db)
        killer.join(5)
        assert victim.process.returncode == -9  # killed by SIGKILL during the run
        assert llama_server.metric("llamacpp:tokens_predicted_total") > before  # the survivor took over
    (pool_run,) = run_ids(db)
    assert rows(db, "SELECT count(*), count(*) FILTER (WHERE status = 'done'), max(attempts) FROM shards") == \
        [(16, 16, 1)]  # every shard done on its first attempt: the requests the kill reset went to the survivor
    assert stored_predictions(db, pool_run, COLUMNS) == reference


# -- bad input ----------------------------------------------------------------------------------------------------

def test_a_server_that_does_not_serve_the_named_model_is_one_line_exit_2(llama_server, tmp_path):
    result = run_cli("run", "--profile", "smoke", "--direct", "--llm-backend", "openai", "--base-url",
                     llama_server.base_url, "--llm", "qwen14b", "--db", str(tmp_path / "w.duckdb"))
    assert_user_error(result, "--llm", "does not serve 'qwen14b'", "'tiny'", llama_server.base_url)
    result = run_cli("run", "--profile", "smoke", "--direct", "--llm-backend", "openai", "--base-url",
                     llama_server.base_url, "--llm", "tiny", "--adapter", "eacl", "--db", str(tmp_path / "w.duckdb"))
    assert_user_error(result, "--adapter", "does not serve 'eacl'")


def test_a_gguf_path_that_does_not_exist_is_one_line_exit_2(tmp_path):
    assert_user_error(run_cli("serve", "--model", str(tmp_path / "no.gguf"), "--name", "x"),
                      "--model", "no such GGUF file", "no.gguf")
    assert_user_error(run_cli("serve", "--model", "tiny:qwen2", "--name", "x", "--lora", str(tmp_path / "a.gguf")),
                      "--lora", "no such GGUF LoRA file")
    assert_user_error(run_cli("run", "--profile", "smoke", "--llm-backend", "openai", "--base-url",
                              "http://127.0.0.1:9/v1", "--llm", "m", "--adapter", f"m={tmp_path / 'gone'}",
                              "--db", str(tmp_path / "w.duckdb")), "--adapter", "does not exist")


# -- a served LoRA, keyed by its contents -------------------------------------------------------------------------

def write_tiny_lora(base, out, seed: int):
    """A PEFT LoRA of the tiny Qwen2 with random (non-zero) A and B: 'training' it again with another seed changes
    every weight and keeps the name and the directory, as a retrained adapter does."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base), LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False))
    model.save_pretrained(out)
    return model


@pytest.mark.slow
def test_a_retrained_adapter_under_the_same_name_gets_new_calls_not_cached_answers(tiny_gguf, tiny_qwen, tmp_path):
    import httpx
    import torch
    from transformers import AutoTokenizer

    from eat_core.hashing import directory_fingerprint
    from eat_core.llm.served import served_adapter_fingerprint

    adapter, db = tmp_path / "adapter", tmp_path / "w.duckdb"
    command = ("--languages", "zh", "--adapter", f"tiny-ft={adapter}")
    peft_model = write_tiny_lora(tiny_qwen, adapter, seed=1)
    with LlamaServer(tiny_gguf, "tiny-ft", loras=(adapter,), log=tmp_path / "a.log") as server:
        # the GGUF LoRA the server applies gives the PEFT model's next-token log-probabilities
        ids = AutoTokenizer.from_pretrained(tiny_qwen).encode("Barack Obama visited Paris.")
        with torch.no_grad():
            top = torch.topk(torch.log_softmax(peft_model(torch.tensor([ids])).logits[0, -1], -1), 5)
        served = httpx.post(f"{server.origin}/completion", timeout=60, json={
            "prompt": ids, "n_predict": 1, "n_probs": 5, "temperature": 0}).json()
        served = served["completion_probabilities"][0]["top_logprobs"]
        assert [t["id"] for t in served] == top.indices.tolist()
        assert [t["logprob"] for t in served] == pytest.approx(top.values.tolist(), abs=1e-3)
        # by name alone, the server reports the file it applies, which is fingerprinted
        (reported,) = [a["path"] for a in httpx.get(f"{server.origin}/lora-adapters", timeout=10).json()]
        first_by_name = served_adapter_fingerprint("tiny-ft", [server.base_url])
        assert first_by_name == directory_fingerprint(reported)
        run_smoke(server.base_url, db, *command)
        run_smoke(server.base_url, db, *command, "--run-id", "again")
    (first,) = [r for r in run_ids(db) if r != "again"]
    assert cache_counts(db, first)[1] > 0 and cache_counts(db, "again")[1] == 0  # the adapter's calls are cached

    write_tiny_lora(tiny_qwen, adapter, seed=2)  # retrained: same name, same directory, new weights
    with LlamaServer(tiny_gguf, "tiny-ft", loras=(adapter,), log=tmp_path / "b.log") as server:
        assert served_adapter_fingerprint("tiny-ft", [server.base_url]) != first_by_name
        run_smoke(server.base_url, db, *command)
    (second,) = [r for r in run_ids(db) if r not in (first, "again")]  # a new run: its inputs changed
    hits, misses = cache_counts(db, second)
    assert hits == 0 and misses > 0  # every call asked the server again (how many depends on the new answers)
    recorded = [Store(db).get_run_inputs(run)["adapter"].fingerprint for run in (first, second)]
    assert recorded[1] == directory_fingerprint(adapter) != recorded[0]
    assert {r[0] for r in rows(db, "SELECT DISTINCT adapter FROM llm_cache")} == set(recorded)  # cache keys too
