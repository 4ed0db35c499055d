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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eat_core.config.run import RunConfig
from eat_core.errors import is_retryable
from eat_core.evaluation.identity import LruCache, model_inputs
from eat_core.extractors import load_extractor
from eat_core.hashing import content_hash
from eat_core.llm import load_backend
from eat_core.llm.cache import CacheCounters, CachedLLM
from eat_core.methods import load_method, method_class
from eat_core.methods.eat import translator_for
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


@dataclass(frozen=True)
class CallCost:
    """What running a batch of sentences cost: LLM calls served by the cache and made, tokens, seconds."""

    hits: int = 0
    misses: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


class ModelSession:
    """The method with its LLM (behind the DuckDB call cache) and extractor, loaded once (lazily) per process and
    reused by every shard of ``eat run``, ``eat tag``, a Dask worker and ``eat distill`` with the same models."""

    def __init__(self, cfg: RunConfig, store: Store | None, progress: Progress | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.progress = progress or (lambda message: None)
        self._method = None
        self._llm = None
        self._backend = None
        self._extractor = None
        self._counters: CacheCounters | None = None
        self._load_error: BaseException | None = None
        self._load_lock = threading.Lock()
        # one in-process model serves one shard at a time; a served model (openai backend) takes them concurrently
        self._run_lock = threading.Lock() if cfg.llm.backend == "transformers" else contextlib.nullcontext()

    def method(self):
        """The loaded method; a load that failed for good (a missing model) fails every later call alike."""
        with self._load_lock:
            if self._load_error is not None:
                raise self._load_error  # a missing model stays missing: do not reload it for every shard
            try:
                return self._load()
            except Exception as exc:
                if not is_retryable(exc):
                    self._load_error = exc
                raise

    def _load(self):
        if self._method is None:
            method = method_class(self.cfg.method.name)
            parts = ([f"LLM {self.cfg.llm.model} ({self.cfg.llm.backend})"] if method.needs_llm else []) + (
                [f"extractor {self.cfg.extractor.name}"] if method.needs_extractor else [])
            self.progress(f"method {self.cfg.method.name}: loading " + (" and ".join(parts) or
                                                                        f"tagger {self.cfg.extractor.model}"))
            if method.needs_llm and self._llm is None:  # :meth:`translator` may have loaded the LLM already
                self._backend = load_backend(self.cfg.llm)
                self._llm = CachedLLM(self._backend, self.store)
            self._counters = self._llm.counters if self._llm else CacheCounters()
            self._extractor = load_extractor(self.cfg.extractor) if method.needs_extractor else None
            self._method = load_method(self.cfg, self._llm, self._extractor)
        return self._method

    def run(self, sentences: Sequence[Sentence]) -> tuple[list[Prediction], CallCost]:
        """Predictions of ``sentences`` and what they cost (the cache counters' change around the method's run)."""
        method = self.method()
        with self._run_lock:
            c = self._counters
            before = (c.hits, c.misses, c.prompt_tokens, c.completion_tokens)
            t0 = time.perf_counter()
            predictions = method.run(sentences) if sentences else []
            seconds = time.perf_counter() - t0
            after = (c.hits, c.misses, c.prompt_tokens, c.completion_tokens)
        return predictions, CallCost(*(a - b for a, b in zip(after, before, strict=True)), seconds)

    def run_detached(self, sentences: Sequence[Sentence], calls) -> tuple[list[Prediction], CallCost]:
        """Run a shard against a call store of its own (``calls``: what the workspace already had for it), for
        workers that never open the DuckDB file; the loaded models are reused, the method is rebuilt (cheap)."""
        self.method()
        llm = CachedLLM(self._backend, calls) if self._backend else None
        method = load_method(self.cfg, llm, self._extractor)
        t0 = time.perf_counter()
        predictions = method.run(sentences)
        seconds = time.perf_counter() - t0
        c = llm.counters if llm else CacheCounters()
        return predictions, CallCost(c.hits, c.misses, c.prompt_tokens, c.completion_tokens, seconds)

    def translator(self):
        """The session's LLM (behind the call cache) as a translator without an extractor: what ``eat distill``
        projects silver labels with. Loads the LLM only, when no method of this session did so yet."""
        with self._load_lock:
            if self._llm is None:
                self._backend = load_backend(self.cfg.llm)
                self._llm = CachedLLM(self._backend, self.store)
            llm = self._llm
        return translator_for(self.cfg, llm, None)


SESSION_CACHE_SIZE = 2
"""Model sessions (an LLM and an extractor each) a process keeps. A run uses one; a second covers a worker that
alternates between two configurations (a teacher and its student). Beyond that a long-lived Prefect or Dask worker
would hold every model it ever loaded, so the least recently used session is dropped and its memory freed."""

_SESSIONS: LruCache[ModelSession] = LruCache(SESSION_CACHE_SIZE)


def session_for(cfg: RunConfig, store: Store | None, progress: Progress | None = None) -> ModelSession:
    """The process's session for the models of ``cfg`` (what the method reads, by content, not the data: a run and a
    tag with the same models share it) and this workspace file (``store=None``: a detached Dask worker)."""
    models = {i.name: i.fingerprint for i in model_inputs(cfg)}
    key = (content_hash([cfg.method.model_dump(), cfg.llm.model_dump(), cfg.extractor.model_dump(),
                         cfg.engine.model_dump(), models]),
           str(store.path.resolve()) if store else "detached")  # weights rewritten in place load afresh
    session = _SESSIONS.get_or_create(key, lambda: ModelSession(cfg, store, progress))  # models load lazily
    session.progress = progress or session.progress
    return session


def this_worker() -> str:
    """``host:pid`` of the process computing a shard, recorded with it."""
    return f"{socket.gethostname()}:{os.getpid()}"

