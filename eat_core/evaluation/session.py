"""A model session: the method, its LLM (behind the DuckDB call cache) and extractor, loaded once per process.

One in-process model serves one shard at a time; a served model takes them concurrently.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from eat_core.config.run import RunConfig
from eat_core.errors import is_retryable
from eat_core.evaluation.identity import LruCache, inputs_of
from eat_core.hashing import content_hash
from eat_core.store import Store
from eat_core.types import Prediction, Sentence

if TYPE_CHECKING:
    from eat_core.llm.cache import CacheCounters

Progress = Callable[[str], None]




def prediction_row(p: Prediction) -> dict:
    return {
        "sentence_id": p.sentence.id,
        "tokens": list(p.sentence.tokens),
        "gold": list(p.sentence.tags) if p.sentence.tags is not None else None,
        "pred": list(p.tags),
        "english": p.english,
        "roundtrip": p.roundtrip,
        "entities": p.entities,
        "placements": [{"text": pl.entity.text, "label": pl.entity.label, "answer": pl.answer,
                        "span": [pl.span.start, pl.span.end] if pl.span else None, "reason": pl.reason,
                        "method": pl.method} for pl in p.placements],
        "failures": p.failures,
        "transcript": p.transcript.as_dict(),
    }



class Pipeline:
    """Loads the LLM and extractor once (lazily) and runs shards; reused across all shards of a process."""

    def __init__(self, cfg: RunConfig, store: Store, progress: Progress | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.progress = progress or (lambda message: None)
        self._engine = None
        self._llm = None
        self._backend = None
        self._extractor = None
        self._load_error: BaseException | None = None
        self._load_lock = threading.Lock()
        # one in-process model serves one shard at a time; a served model (openai backend) takes them concurrently
        self._run_lock = threading.Lock() if cfg.llm.backend == "transformers" else contextlib.nullcontext()

    def engine(self):
        with self._load_lock:
            return self._build_engine()

    def _build_engine(self):
        if self._load_error is not None:
            raise self._load_error  # a missing model stays missing: do not reload it for every shard
        try:
            return self._load_engine()
        except Exception as exc:
            if not is_retryable(exc):
                self._load_error = exc
            raise

    def _load_engine(self):
        if self._engine is None:
            from eat_core.extractors import load_extractor
            from eat_core.llm import load_backend
            from eat_core.llm.cache import CacheCounters, CachedLLM
            from eat_core.methods import load_method, method_class

            method = method_class(self.cfg.method.name)
            parts = ([f"LLM {self.cfg.llm.model} ({self.cfg.llm.backend})"] if method.needs_llm else []) + (
                [f"extractor {self.cfg.extractor.name}"] if method.needs_extractor else [])
            self.progress(f"method {self.cfg.method.name}: loading " + (" and ".join(parts) or
                                                                        f"tagger {self.cfg.extractor.model}"))
            self._backend = load_backend(self.cfg.llm) if method.needs_llm else None
            self._llm = CachedLLM(self._backend, self.store) if self._backend else None
            self._counters = self._llm.counters if self._llm else CacheCounters()
            self._extractor = load_extractor(self.cfg.extractor) if method.needs_extractor else None
            self._engine = load_method(self.cfg, self._llm, self._extractor)
        return self._engine

    def run_detached(self, sentences: Sequence[Sentence], calls) -> tuple[list[Prediction], CacheCounters, float]:
        """Run a shard against a call store of its own (``calls``: what the workspace already had for it), for
        workers that never open the DuckDB file; the loaded models are reused, the method is rebuilt (cheap)."""
        from eat_core.llm.cache import CacheCounters, CachedLLM
        from eat_core.methods import load_method

        self.engine()
        llm = CachedLLM(self._backend, calls) if self._backend else None
        method = load_method(self.cfg, llm, self._extractor)
        t0 = time.perf_counter()
        predictions = method.run(sentences)
        return predictions, (llm.counters if llm else CacheCounters()), time.perf_counter() - t0

    def run_shard(self, run_id: str, lang: str, index: int, sentences: Sequence[Sentence]) -> tuple[int, int]:
        """Translate, tag and align one shard and store it atomically; returns (cache hits, misses)."""
        engine = self.engine()
        with self._run_lock:
            c = self._counters
            before = (c.hits, c.misses, c.prompt_tokens, c.completion_tokens)
            t0 = time.perf_counter()
            predictions = engine.run(sentences)
            hits, misses = c.hits - before[0], c.misses - before[1]
            tokens = (c.prompt_tokens - before[2], c.completion_tokens - before[3])

        self.store.write_shard_result(run_id, lang, index, [prediction_row(p) for p in predictions], hits, misses,
                                      time.perf_counter() - t0, *tokens, this_worker())
        return hits, misses



PIPELINE_CACHE_SIZE = 2
"""Loaded pipelines (an LLM and an extractor each) a process keeps. A run uses one; a second covers a worker that
alternates between two runs (a teacher and its student). Beyond that a long-lived Prefect or Dask worker would
hold every model it ever loaded, so the least recently used pipeline is dropped and its memory freed."""



_PIPELINES: LruCache[Pipeline] = LruCache(PIPELINE_CACHE_SIZE)



def pipeline_for(cfg: RunConfig, store: Store | None, progress: Progress | None = None) -> Pipeline:
    """The LLM and extractor are loaded once per process and reused by every shard of that process."""
    models = {i.name: i.fingerprint for i in inputs_of(cfg).items if not i.name.startswith("data:")}
    key = (content_hash([cfg.method.model_dump(), cfg.llm.model_dump(), cfg.extractor.model_dump(),
                         cfg.engine.model_dump(), models]),
           str(store.path.resolve()) if store else "detached")  # weights rewritten in place load afresh
    pipeline = _PIPELINES.get_or_create(key, lambda: Pipeline(cfg, store, progress))  # models load lazily
    pipeline.progress = progress or pipeline.progress
    return pipeline



def this_worker() -> str:
    """``host:pid`` of the process computing a shard, recorded with it."""
    return f"{socket.gethostname()}:{os.getpid()}"

