"""Evaluate EAT over languages and shards, resumably, writing everything to the DuckDB workspace.

This is the plain-Python loop (no Prefect): a shard whose status is ``done`` is skipped, a failed shard is recorded
with its error and the others go on, and every LLM call goes through the DuckDB cache, so a re-run recomputes only
what is missing and a half-done shard reuses its cached calls. The Prefect flow ``full_eval`` composes the same
pieces (``run_shard``, ``score_run``) as tasks.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eat_core.config import RunConfig
from eat_core.data import load_split
from eat_core.errors import ConfigError
from eat_core.hashing import content_hash
from eat_core.languages import join_tokens
from eat_core.metrics import score_language
from eat_core.store import Store
from eat_core.types import Prediction, Sentence

Progress = Callable[[str], None]


@dataclass
class EvalResult:
    run_id: str
    failed_shards: list[tuple[str, int, str]] = field(default_factory=list)
    computed_shards: int = 0
    skipped_shards: int = 0


def run_id_for(cfg: RunConfig) -> str:
    """Same configuration, same run id: re-running the same command resumes the same run."""
    return f"{cfg.profile}-{content_hash(cfg.model_dump(mode='json'))[:10]}"


def shards_of(sentences: Sequence[Sentence], size: int) -> list[list[Sentence]]:
    return [list(sentences[i : i + size]) for i in range(0, len(sentences), size)]


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

    def engine(self):
        if self._engine is None:
            from eat_core.extractors import load_extractor
            from eat_core.llm import load_backend
            from eat_core.llm.cache import CachedLLM
            from eat_core.translate import DualTranslator

            self.progress(f"loading LLM {self.cfg.llm.model} ({self.cfg.llm.backend}) and extractor "
                          f"{self.cfg.extractor.name}")
            self._llm = CachedLLM(load_backend(self.cfg.llm), self.store)
            self._engine = DualTranslator(self._llm, load_extractor(self.cfg.extractor), self.cfg.engine,
                                          temperature=self.cfg.llm.temperature, seed=self.cfg.llm.seed)
        return self._engine

    def run_shard(self, run_id: str, lang: str, index: int, sentences: Sequence[Sentence]) -> tuple[int, int]:
        """Translate, tag and align one shard and store it atomically; returns (cache hits, misses)."""
        engine = self.engine()
        before = (self._llm.counters.hits, self._llm.counters.misses)
        t0 = time.perf_counter()
        predictions = engine.run(sentences)
        hits = self._llm.counters.hits - before[0]
        misses = self._llm.counters.misses - before[1]
        self.store.write_shard_result(run_id, lang, index, [prediction_row(p) for p in predictions], hits, misses,
                                      time.perf_counter() - t0)
        return hits, misses


def done_shards(store: Store, run_id: str) -> set[tuple[str, int]]:
    if not store.path.exists():
        return set()
    store.migrate()
    rows = store.query("SELECT lang, shard_index FROM shards WHERE run_id = ? AND status = 'done'", [run_id])
    return {(lang, index) for lang, index in rows}


def load_language(cfg: RunConfig, lang: str) -> list[Sentence]:
    d = cfg.data
    return load_split(d.source, lang, d.split, d.data_dir, repair=d.repair_tags, limit=d.limit)


def score_run(store: Store, run_id: str, lang: str, protocol: str) -> dict[str, float]:
    """Compute and store every metric of one language from the stored predictions."""
    rows = store.query("SELECT tokens, gold, pred, roundtrip FROM predictions WHERE run_id = ? AND lang = ? "
                       "ORDER BY shard_index, sentence_id", [run_id, lang])
    if not rows:
        return {}
    tokens = [json.loads(r[0]) for r in rows]
    gold = [json.loads(r[1]) for r in rows]
    pred = [json.loads(r[2]) for r in rows]
    originals = [join_tokens(t, lang) for t in tokens]
    roundtrips = [r[3] or "" for r in rows]
    scores = score_language(lang, gold, pred, originals, roundtrips, protocol)
    values = {"token_f1": scores.token.f1, "entity_f1": scores.entity.f1, "entity_precision": scores.entity.precision,
              "entity_recall": scores.entity.recall, "bleu": scores.bleu, "entropy_loss": scores.entropy_loss}
    signature_of = {"entity_precision": "entity_f1", "entity_recall": "entity_f1"}
    store.put_metrics(run_id, lang, [
        (name, value, scores.signatures[signature_of.get(name, name)],
         {t: s.f1 for t, s in scores.entity_per_type.items()} if name == "entity_f1" else None)
        for name, value in values.items()
    ])
    return values


def evaluate(cfg: RunConfig, db: str | Path, *, run_id: str | None = None,
             progress: Progress | None = None) -> EvalResult:
    """Run (or resume) an evaluation; returns which shards were computed, skipped or failed."""
    say = progress or (lambda message: None)
    store = Store(db)
    run_id = run_id or run_id_for(cfg)
    store.upsert_run(run_id, cfg.profile, cfg.model_dump(mode="json"), "running")
    finished = done_shards(store, run_id)
    pipeline = Pipeline(cfg, store, say)
    result = EvalResult(run_id)
    plan = [(lang, i, shard) for lang in cfg.data.languages
            for i, shard in enumerate(shards_of(load_language(cfg, lang), cfg.shard_size))]
    todo = [(lang, i, shard) for lang, i, shard in plan if (lang, i) not in finished]
    result.skipped_shards = len(plan) - len(todo)
    say(f"run {run_id}: {len(plan)} shards in {len(cfg.data.languages)} language(s); "
        f"{result.skipped_shards} already done, {len(todo)} to compute")
    t0 = time.perf_counter()
    done_sentences = 0
    total_sentences = sum(len(s) for _, _, s in todo)
    for n, (lang, index, shard) in enumerate(todo, start=1):
        store.mark_shard(run_id, lang, index, len(shard), "running", attempt=True)
        try:
            hits, misses = pipeline.run_shard(run_id, lang, index, shard)
        except Exception as exc:  # a failed shard must not stop the others
            message = f"{exc.__class__.__name__}: {exc}"
            store.mark_shard(run_id, lang, index, len(shard), "failed", message[:2000])
            result.failed_shards.append((lang, index, message))
            say(f"[{n}/{len(todo)}] {lang} shard {index} FAILED: {message}\n{traceback.format_exc(limit=3)}")
            continue
        result.computed_shards += 1
        done_sentences += len(shard)
        elapsed = time.perf_counter() - t0
        eta = elapsed / done_sentences * (total_sentences - done_sentences)
        rate = hits / (hits + misses) if hits + misses else 0.0
        say(f"[{n}/{len(todo)}] {lang} shard {index}: {len(shard)} sentences, cache hit rate {rate:.0%}, "
            f"{elapsed / done_sentences:.2f} s/sentence, ETA {eta:.0f} s")
    for lang in cfg.data.languages:
        score_run(store, run_id, lang, cfg.token_f1_protocol)
    store.finish_run(run_id, "failed" if result.failed_shards else "done")
    return result


def load_run_config(db: str | Path, run_id: str) -> RunConfig:
    rows = Store(db).query("SELECT config FROM runs WHERE run_id = ?", [run_id])
    if not rows:
        raise ConfigError(f"no run {run_id!r} in {db}; see `eat results --db {db}` for the runs there")
    return RunConfig.model_validate(json.loads(rows[0][0]))
