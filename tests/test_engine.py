"""The dual-translation engine end to end on real WikiANN shards, through both backends, into DuckDB."""

from __future__ import annotations

import json
import re

import pytest
from chat_server import ChatServer
from conftest import WIKIANN

from eat_core.bio import spans_from_tags
from eat_core.config.run import get_profile
from eat_core.data.wikiann import load_wikiann_local
from eat_core.engine.translate import DualTranslator, clean_translation
from eat_core.evaluation.loop import evaluate
from eat_core.languages import join_tokens
from eat_core.llm.cache import CachedLLM
from eat_core.llm.openai_backend import OpenAIBackend
from eat_core.scoring.counts import micro
from eat_core.scoring.entity_f1 import entity_counts
from eat_core.scoring.token_f1 import token_counts
from eat_core.store import Store
from eat_core.types import EnglishEntity


def shard(lang, n=6):
    sentences, _ = load_wikiann_local(WIKIANN, lang, "dev", repair=True)
    return [s for s in sentences if spans_from_tags(s.tags) and len(s.tokens) < 40][:n]


class GoldKnowingTranslator:
    """A scripted 'LLM' for wiring tests: forward names the sentence, backward answers the gold surface."""

    def __init__(self, sentences):
        self.gold = {}
        for i, s in enumerate(sentences):
            for k, span in enumerate(spans_from_tags(s.tags)):
                self.gold[f"Thing{i}x{k}"] = join_tokens(s.tokens[span.start : span.end], s.lang)
        self.sentences = sentences

    def __call__(self, messages):
        last = messages[-1]["content"]
        if "English phrase:" in last:
            phrase = re.search(r"English phrase: (\S+)", last).group(1)
            return f'The phrase is "{self.gold[phrase]}".'
        for m in messages:
            if "English phrase:" in m["content"]:  # later backward rounds: repeat the earlier answer
                phrase = re.search(r"English phrase: (\S+)", m["content"]).group(1)
                return f"Final result: {self.gold[phrase]}"
        if "English sentence:" in last:
            return "roundtrip"
        first = next(m["content"] for m in messages if m["role"] == "user")
        i = next(i for i, s in enumerate(self.sentences) if join_tokens(s.tokens, s.lang) in first)
        return f"Translation: sentence {i}"


class IndexExtractor:
    """Returns the gold entities of sentence i for the English 'sentence i' (a test stand-in for the extractor)."""

    def __init__(self, sentences):
        self.sentences = sentences

    def extract(self, english):
        out = []
        for text in english:
            i = int(text.split()[-1])
            spans = spans_from_tags(self.sentences[i].tags)
            out.append([EnglishEntity(f"Thing{i}x{k}", sp.label) for k, sp in enumerate(spans)])
        return out


@pytest.mark.parametrize("lang", ["zh", "ja", "ko", "ar"])
def test_engine_wiring_over_http_reaches_perfect_scores_with_perfect_answers(lang, tmp_path):
    sentences = shard(lang)
    with ChatServer(responder=GoldKnowingTranslator(sentences)) as server:
        llm = CachedLLM(OpenAIBackend("scripted", server.base_url, concurrency=4), Store(tmp_path / "w.duckdb"))
        engine = DualTranslator(llm, IndexExtractor(sentences))
        predictions = engine.run(sentences)
        n_entities = sum(len(spans_from_tags(s.tags)) for s in sentences)
        # 3 forward rounds per sentence + 1 round trip + 3 backward rounds per entity, batched per round
        assert len(server.requests) == 3 * len(sentences) + len(sentences) + 3 * n_entities
    gold = [s.tags for s in sentences]
    pred = [p.tags for p in predictions]
    assert micro(token_counts(gold, pred)).f1 == 100.0
    assert micro(entity_counts(gold, pred)).f1 == 100.0
    assert all(p.english.startswith("sentence") and not p.failures for p in predictions)
    assert len(predictions[0].transcript.forward) == 3


def test_bad_answers_become_failure_reasons_not_crashes(tmp_path):
    sentences = shard("zh", 3)

    def responder(messages):
        if "English phrase:" in json.dumps(messages, ensure_ascii=False):
            return "I'm sorry, I cannot help with that."
        return ""

    class Beijing:
        def extract(self, english):
            return [[EnglishEntity("Beijing", "LOC")] for _ in english]

    with ChatServer(responder=responder) as server:
        predictions = DualTranslator(OpenAIBackend("m", server.base_url), Beijing()).run(sentences)
    for p in predictions:
        assert "forward_empty" in p.failures and "align_not_found" in p.failures
        assert set(p.tags) == {"O"}


def test_clean_translation():
    assert clean_translation('**Final translation:** "Beijing is big."\nNote: ...') == "Beijing is big."
    assert clean_translation("\n\n") == ""


def test_real_shard_through_the_tiny_model_is_stored_and_a_second_run_is_fully_cached(tmp_path):
    db = tmp_path / "eval.duckdb"
    cfg = get_profile("smoke").with_overrides(**{
        "data.source": "local", "data.data_dir": str(WIKIANN), "data.languages": ("zh", "ru"),
        "data.limit": 6, "data.repair_tags": True, "shard_size": 3,
    })
    first = evaluate(cfg, db, run_id="first")
    assert (first.computed_shards, first.failed_shards) == (4, [])
    store = Store(db)
    rows = store.query("SELECT lang, count(*), min(json_array_length(transcript->'$.forward')) FROM predictions "
                       "WHERE run_id = 'first' GROUP BY lang ORDER BY lang")
    assert rows == [("ru", 6, 3), ("zh", 6, 3)]
    metrics = {m for (m,) in store.query("SELECT metric FROM metrics WHERE run_id = 'first'")}
    assert {"token_f1", "entity_f1", "bleu", "entropy_loss"} <= metrics
    assert store.query("SELECT count(*) FROM metrics WHERE run_id = 'first' AND signature LIKE '%eat-ner:%'")[0][0] > 0

    second = evaluate(cfg, db, run_id="second")  # a new run, same inputs: every LLM call is a cache hit
    assert second.computed_shards == 4
    hits, misses = store.query("SELECT sum(cache_hits), sum(cache_misses) FROM shards WHERE run_id = 'second'")[0]
    assert misses == 0 and hits > 0
    same = store.query("SELECT count(*) FROM predictions a JOIN predictions b USING (sentence_id) "
                       "WHERE a.run_id = 'first' AND b.run_id = 'second' AND a.pred = b.pred")
    assert same == [(12,)]

    again = evaluate(cfg, db, run_id="first")  # resuming a finished run computes nothing
    assert (again.computed_shards, again.skipped_shards) == (0, 4)


def test_a_failing_shard_does_not_stop_the_others_and_resume_finishes_it(tmp_path, monkeypatch):
    from eat_core.evaluation.session import ModelSession

    db = tmp_path / "eval.duckdb"
    cfg = get_profile("smoke").with_overrides(**{"data.languages": ("ko",), "data.limit": 6, "shard_size": 2})
    from eat_core.evaluation.data import load_language
    from eat_core.evaluation.shards import shards_of

    shard_1 = shards_of(load_language(cfg, "ko"), cfg.shard_size)[1]
    original = ModelSession.run

    def flaky(self, sentences):
        if sentences[0].id == shard_1[0].id:
            raise RuntimeError("GPU fell off the bus")
        return original(self, sentences)

    monkeypatch.setattr(ModelSession, "run", flaky)
    result = evaluate(cfg, db, run_id="r")
    assert [(lang, i) for lang, i, _ in result.failed_shards] == [("ko", 1)]
    store = Store(db)
    assert store.query("SELECT shard_index, status, attempts FROM shards ORDER BY shard_index") == [
        (0, "done", 1), (1, "failed", 1), (2, "done", 1)]
    assert store.query("SELECT status FROM runs") == [("failed",)]
    monkeypatch.setattr(ModelSession, "run", original)
    resumed = evaluate(cfg, db, run_id="r")
    assert (resumed.computed_shards, resumed.skipped_shards) == (1, 2)
    assert store.query("SELECT status, attempts FROM shards WHERE shard_index = 1") == [("done", 2)]
    assert store.query("SELECT status FROM runs") == [("done",)]
