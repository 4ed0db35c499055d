"""LLM backends: real transformers generation on the tiny model, the OpenAI protocol over HTTP, the call cache."""

from __future__ import annotations

import pytest
from chat_server import ChatServer

from eat_core.config.run import LLMConfig
from eat_core.errors import BackendError, ConfigError
from eat_core.llm import load_backend
from eat_core.llm.base import Decoding
from eat_core.llm.cache import CachedLLM
from eat_core.llm.openai_backend import OpenAIBackend, retry_after_seconds
from eat_core.llm.transformers_backend import TransformersBackend
from eat_core.store import Store

CHATS = [
    [{"role": "system", "content": "You translate."}, {"role": "user", "content": "北京大学位于北京。"}],
    [{"role": "user", "content": "Москва"}],
    [{"role": "user", "content": "서울특별시는 대한민국의 수도이다. " * 3}],
]


@pytest.fixture(scope="module")
def tiny_backend(tiny_qwen):
    return TransformersBackend(str(tiny_qwen), batch_size=2)


def test_batched_generation_equals_one_at_a_time(tiny_backend):
    decoding = Decoding(max_new_tokens=8)
    batched = [c.text for c in tiny_backend.generate(CHATS, decoding)]
    single = [tiny_backend.generate([chat], decoding)[0].text for chat in CHATS]
    assert batched == single
    assert all(c.completion_tokens <= 8 for c in tiny_backend.generate(CHATS, decoding))


def test_identity_changes_with_weights(tiny_backend, tiny_root):
    from eat_core.weights.tiny import build_tiny_qwen2

    other = TransformersBackend(str(build_tiny_qwen2(tiny_root, seed=1)))
    assert tiny_backend.identity()["weights"] != other.identity()["weights"]


def test_model_without_chat_template_is_refused(tiny_t5):
    with pytest.raises(BackendError, match="no chat template"):
        TransformersBackend(str(tiny_t5))


def test_unknown_backend_suggests_a_close_name():
    with pytest.raises(ConfigError, match="did you mean 'openai'"):
        load_backend(LLMConfig(backend="opneai"))


def test_cache_answers_repeats_without_calling_the_model(tiny_backend, tmp_path):
    store = Store(tmp_path / "cache.duckdb")
    llm = CachedLLM(tiny_backend, store)
    first = llm.generate(CHATS, Decoding(6))
    assert (llm.counters.hits, llm.counters.misses) == (0, 3)
    again = CachedLLM(tiny_backend, store)
    calls_before = tiny_backend.stats.requests
    second = again.generate(CHATS, Decoding(6))
    assert [c.text for c in second] == [c.text for c in first]
    assert (again.counters.hits, again.counters.misses) == (3, 0)
    assert tiny_backend.stats.requests == calls_before
    again.generate(CHATS[:1], Decoding(7))  # other decoding parameters: another key
    assert again.counters.misses == 1


def test_openai_backend_against_a_local_server_serving_the_tiny_model(tiny_backend, monkeypatch):
    monkeypatch.setenv("EAT_TEST_KEY", "sk-secret-value")
    with ChatServer(backend=tiny_backend) as server:
        client = OpenAIBackend("tiny", server.base_url, api_key_env="EAT_TEST_KEY", concurrency=3)
        got = [c.text for c in client.generate(CHATS, Decoding(8))]
        assert got == [c.text for c in tiny_backend.generate(CHATS, Decoding(8))]
        assert server.auth_headers == ["Bearer sk-secret-value"] * 3
        assert "sk-secret" not in str(client.identity())


def test_openai_backend_retries_429_and_500_honouring_retry_after():
    with ChatServer(responder=lambda messages: "Paris") as server:
        server.faults = [(429, {"Retry-After": "0.2"}), (500, {}), (503, {})]
        client = OpenAIBackend("m", server.base_url, max_retries=4, backoff_s=0.01)
        assert [c.text for c in client.generate(CHATS[:1], Decoding(4))] == ["Paris"]
        assert client.retries == 3 and len(server.requests) == 4


def test_openai_backend_gives_up_with_a_clear_error():
    with ChatServer(responder=lambda messages: "x") as server:
        server.faults = [(500, {})] * 5
        client = OpenAIBackend("m", server.base_url, max_retries=2, backoff_s=0.01)
        with pytest.raises(BackendError, match="giving up after 3 attempts"):
            client.generate(CHATS[:1], Decoding(4))
        server.faults = [(400, {})]
        with pytest.raises(BackendError, match="refused the request"):
            client.generate(CHATS[:1], Decoding(4))


def test_retry_after_parsing():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("garbage") is None


def test_four_bit_nf4_loading_on_the_tiny_model(tiny_qwen):
    """bitsandbytes runs NF4 on CPU: the QLoRA inference path (EAT §3.3) loads and generates."""
    pytest.importorskip("bitsandbytes")
    backend = TransformersBackend(str(tiny_qwen), load_in_4bit=True, device="cpu")
    assert backend.identity()["load_in_4bit"] is True
    linear = backend.model.model.layers[0].self_attn.q_proj
    assert type(linear).__name__ == "Linear4bit"
    assert linear.weight.quant_state.quant_type == "nf4"
    out = backend.generate(CHATS[:2], Decoding(4))
    assert len(out) == 2 and all(c.completion_tokens <= 4 for c in out)


def test_sampled_answers_do_not_depend_on_batch_company(tiny_backend):
    """The cache key holds (request, seed); a sampled answer must be the same alone or in any batch."""
    decoding = Decoding(max_new_tokens=8, temperature=1.0, seed=3)
    together = [c.text for c in tiny_backend.generate(CHATS, decoding)]
    alone = [tiny_backend.generate([chat], decoding)[0].text for chat in CHATS]
    reversed_order = [c.text for c in tiny_backend.generate(CHATS[::-1], decoding)][::-1]
    assert together == alone == reversed_order
