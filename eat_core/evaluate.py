"""Evaluate EAT over languages and shards, resumably, writing everything to the DuckDB workspace.

This is the plain-Python loop (no Prefect): a shard whose status is ``done`` is skipped, a failed shard is recorded
with its error and the others go on, and every LLM call goes through the DuckDB cache, so a re-run recomputes only
what is missing and a half-done shard reuses its cached calls. The Prefect flow ``full_eval`` composes the same
pieces (``run_shard``, ``score_run``) as tasks.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eat_core.config import RunConfig
from eat_core.data import load_split_with_report
from eat_core.errors import ConfigError, DiskFullError, is_retryable, one_line
from eat_core.hashing import content_hash
from eat_core.inputs import LruCache, RunInputs, changes_between, collect_inputs, data_path, file_stamp
from eat_core.languages import join_tokens
from eat_core.metrics import score_language
from eat_core.store import Store
from eat_core.types import Prediction, Sentence

if TYPE_CHECKING:
    from eat_core.llm.cache import CacheCounters

Progress = Callable[[str], None]
log = logging.getLogger("eat")


@dataclass
class EvalResult:
    run_id: str
    failed_shards: list[tuple[str, int, str]] = field(default_factory=list)
    computed_shards: int = 0
    skipped_shards: int = 0


def run_id_for(cfg: RunConfig, inputs: RunInputs | None = None) -> str:
    """Same configuration *and the same input contents*, same run id: an untouched re-run resumes the same run,
    while a prompt, weights or data file changed in place starts a new one (the paths alone prove nothing)."""
    inputs = inputs or inputs_of(cfg)
    return f"{cfg.profile}-{content_hash([cfg.model_dump(mode='json'), inputs.digest])[:10]}"


def inputs_of(cfg: RunConfig) -> RunInputs:
    """Fingerprints of every input of ``cfg``, computed once per process while the files stay untouched."""
    return collect_inputs(cfg, load_language)


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
        from eat_core.detached import this_worker

        self.store.write_shard_result(run_id, lang, index, [prediction_row(p) for p in predictions], hits, misses,
                                      time.perf_counter() - t0, *tokens, this_worker())
        return hits, misses


def done_shards(store: Store, run_id: str) -> set[tuple[str, int]]:
    if not store.path.exists():
        return set()
    store.migrate()
    rows = store.query("SELECT lang, shard_index FROM shards WHERE run_id = ? AND status = 'done'", [run_id])
    return {(lang, index) for lang, index in rows}


@functools.lru_cache(maxsize=32)
def _load_cached(source: str, lang: str, split: str, data_dir: str | None, repair: bool,
                 limit: int | None, stamp: tuple = ()) -> tuple[tuple[Sentence, ...], int]:
    """The split's sentences and how many orphan ``I-`` tags the reader read as entity starts.

    ``stamp`` (size and mtime of the file) keys the memo, so a file rewritten in place is parsed again."""
    sentences, report = load_split_with_report(source, lang, split, data_dir, repair=repair, limit=limit)
    return tuple(sentences), report.repaired_orphan_inside


def load_language(cfg: RunConfig, lang: str) -> list[Sentence]:
    """One language's evaluation sentences (parsed once per process)."""
    d = cfg.data
    stamp = file_stamp(data_path(cfg, lang)) if d.source != "hub" else ()
    return list(_load_limited(cfg.data, lang, stamp)[0])


@functools.lru_cache(maxsize=32)
def _load_limited(d, lang: str, stamp: tuple) -> tuple[tuple[Sentence, ...], tuple[tuple[str, int], ...]]:
    """Sentences within the input limits of ``d`` (a ``DataConfig``), and what truncation cut, by reason."""
    from eat_core.data.limits import InputLimits, apply_limits

    sentences = _load_cached(d.source, lang, d.split, d.data_dir, d.repair_tags, d.limit, stamp)[0]
    path = None if d.source == "hub" else Path(data_path(RunConfig(data=d), lang))
    kept, cut = apply_limits(sentences, InputLimits.from_config(d), path=path)
    return tuple(kept), tuple(sorted(cut.items()))


def truncations(cfg: RunConfig, lang: str) -> dict[str, int]:
    """What ``data.overlong='truncate'`` cut in ``lang``, by reason (empty in the default error mode)."""
    d = cfg.data
    stamp = file_stamp(data_path(cfg, lang)) if d.source != "hub" else ()
    return dict(_load_limited(cfg.data, lang, stamp)[1])


def tag_repairs(cfg: RunConfig, lang: str) -> int:
    """Orphan ``I-`` tags of ``lang``'s split read as entity starts (conlleval's reading; ``--strict-tags`` refuses)."""
    d = cfg.data
    stamp = file_stamp(data_path(cfg, lang)) if d.source != "hub" else ()
    return _load_cached(d.source, lang, d.split, d.data_dir, d.repair_tags, d.limit, stamp)[1]


def input_notes(cfg: RunConfig) -> list[str]:
    """What the readers did to the data, per language, for the run's summary (repairs, input-limit cuts)."""
    notes = []
    for lang in dict.fromkeys(cfg.data.languages):
        repaired = tag_repairs(cfg, lang)
        if repaired:
            notes.append(f"{lang}: {repaired} orphan I- tag(s) read as entity starts (--strict-tags refuses them)")
        cut = truncations(cfg, lang)
        if cut:
            notes.append(f"{lang}: input limits: " + ", ".join(f"{reason}={n}" for reason, n in cut.items()))
    return notes


def plan_shards(cfg: RunConfig) -> list[tuple[str, int, int]]:
    """(language, shard index, sentences) for every shard of the run, in a stable order."""
    return [(lang, i, len(shard)) for lang in cfg.data.languages
            for i, shard in enumerate(shards_of(load_language(cfg, lang), cfg.shard_size))]


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


def run_shard(cfg: RunConfig, db: str | Path, run_id: str, lang: str, index: int,
              progress: Progress | None = None) -> dict:
    """Compute one shard unless DuckDB already has it done; failures are recorded, then re-raised for retries."""
    store = Store(db)
    row = store.query("SELECT status, cache_hits, cache_misses, n_sentences FROM shards WHERE run_id = ? AND "
                      "lang = ? AND shard_index = ?", [run_id, lang, index]) if store.path.exists() else []
    if row and row[0][0] == "done":
        store.mark_shard_reused(run_id, lang, index)
        calls = (row[0][1] or 0) + (row[0][2] or 0)
        return {"lang": lang, "shard": index, "status": "skipped", "sentences": row[0][3], "hits": calls,
                "misses": 0}
    sentences = shards_of(load_language(cfg, lang), cfg.shard_size)[index]
    store.mark_shard(run_id, lang, index, len(sentences), "running", attempt=True)
    try:
        hits, misses = pipeline_for(cfg, store, progress).run_shard(run_id, lang, index, sentences)
    except BaseException as exc:
        try:
            store.mark_shard(run_id, lang, index, len(sentences), "failed",
                             f"{exc.__class__.__name__}: {exc}"[:2000])
        except DiskFullError:
            if not isinstance(exc, DiskFullError):
                raise
            # the disk is still full: the shard stays 'running' and a re-run computes it, as it would a failed one
        raise
    return {"lang": lang, "shard": index, "status": "done", "sentences": len(sentences), "hits": hits,
            "misses": misses}


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
    scores = score_language(lang, gold, pred, originals, roundtrips, protocol, tokens=tokens)
    values = {"token_f1": scores.token.f1, "entity_f1": scores.entity.f1, "entity_precision": scores.entity.precision,
              "entity_recall": scores.entity.recall, "bleu": scores.bleu, "entropy_loss": scores.entropy_loss,
              "token_f1_true": scores.token_true.f1}
    signature_of = {"entity_precision": "entity_f1", "entity_recall": "entity_f1"}
    store.put_metrics(run_id, lang, [
        (name, value, scores.signatures[signature_of.get(name, name)],
         {t: s.f1 for t, s in scores.entity_per_type.items()} if name == "entity_f1" else None)
        for name, value in values.items()
    ])
    return values


def evaluate(cfg: RunConfig, db: str | Path, *, run_id: str | None = None,
             progress: Progress | None = None) -> EvalResult:
    """Run (or resume) an evaluation without Prefect; returns which shards were computed, skipped or failed.

    The configuration is validated first (names, paths, data and its limits: one-line errors, nothing recorded).
    A run stopped by an exception or Ctrl-C is marked ``failed`` or ``interrupted`` with the reason before the
    exception propagates; failed shards mark it ``failed``, naming them. A re-run resumes either way.
    """
    from eat_core.validate import validate_config

    say = progress or (lambda message: None)
    validate_config(cfg)
    store = Store(db)
    run_id = run_id or run_id_for(cfg)
    for note in start_run(store, run_id, cfg):
        say(note)
    result = EvalResult(run_id)
    try:
        finished = done_shards(store, run_id)
        plan = plan_shards(cfg)
        todo = [(lang, i, n) for lang, i, n in plan if (lang, i) not in finished]
        result = EvalResult(run_id, skipped_shards=len(plan) - len(todo))
        say(f"run {run_id}: {len(plan)} shards in {len(dict.fromkeys(cfg.data.languages))} language(s); "
            f"{result.skipped_shards} already done, {len(todo)} to compute")
        for note in input_notes(cfg):
            say(note)
        store.mark_shards_reused(run_id, sorted(finished))
        tracker = ProgressTracker(sum(n for _, _, n in todo))
        for k, (lang, index, _) in enumerate(todo, start=1):
            try:
                outcome = run_shard(cfg, store.path, run_id, lang, index, say)
            except DiskFullError:
                raise  # every later shard would fail alike: stop here, keeping what finished
            except Exception as exc:  # a failed shard must not stop the others
                message = one_line(exc)
                result.failed_shards.append((lang, index, message))
                log.debug("%s shard %s failed", lang, index, exc_info=True)
                say(f"[{k}/{len(todo)}] {lang} shard {index} FAILED: {message}")
                continue
            result.computed_shards += 1
            say(f"[{k}/{len(todo)}] " + tracker.update(outcome))
        finish_run(store, run_id, cfg, failed=bool(result.failed_shards), reason=failure_summary(
            run_id, result.failed_shards, retried=False) if result.failed_shards else None)
    except KeyboardInterrupt:
        end_run(store, run_id, "interrupted", "interrupted (Ctrl-C); re-run the same command to resume")
        raise
    except DiskFullError as exc:
        marked = end_run(store, run_id, "failed", one_line(exc))
        raise disk_full_stop(exc, run_id, result.computed_shards + result.skipped_shards, marked) from exc
    except BaseException as exc:
        end_run(store, run_id, "failed", one_line(exc))
        raise
    return result


def disk_full_stop(exc: DiskFullError, run_id: str, kept: int, marked: bool) -> DiskFullError:
    """The one line a run stopped by a full disk ends with: the file, what is kept, what was marked, what to do."""
    where = Path(exc.path).parent if exc.path else "the workspace's directory"
    cause = str(exc).split("; free space there", 1)[0]
    state = ("it is marked failed" if marked else
             "it could not be marked failed (the disk is full), but a re-run resumes it anyway")
    return DiskFullError(f"{cause}; run {run_id} stopped: its {kept} finished shard(s) are kept and {state}; free "
                         f"space in {where}, then re-run the same command to resume", exc.path)


def failure_summary(run_id: str, failed: Sequence[tuple[str, int, str]], *, retried: bool) -> str:
    """The last lines of a run with failed shards: their names, then each cause with the shards it stopped."""
    names = ", ".join(f"{lang}/{index}" for lang, index, _ in failed)
    by_cause: dict[str, list[str]] = {}
    for lang, index, cause in failed:
        by_cause.setdefault(cause, []).append(f"{lang}/{index}")
    lines = [f"run {run_id}: {len(failed)} shard(s) failed{' after retries' if retried else ''}: {names}; "
             "fix the cause below, then re-run the same command to resume them"]
    lines += [f"  {', '.join(shards)}: {cause}" for cause, shards in by_cause.items()]
    return "\n".join(lines)


def end_run(store: Store, run_id: str, status: str, reason: str) -> bool:
    """Mark a run that stopped early (``failed`` or ``interrupted``); never hides the original exception.
    Returns whether the mark was written."""
    try:
        store.finish_run(run_id, status, reason)
    except Exception:  # noqa: BLE001 - the store may be what failed; the caller re-raises the real cause
        log.debug("could not mark run %s %s", run_id, status, exc_info=True)
        return False
    return True


def start_run(store: Store, run_id: str, cfg: RunConfig) -> list[str]:
    """Register the run with its inputs; returns one line per input that changed since the last run of this
    configuration (the old run stays queryable). A run id reused over different inputs is refused: its finished
    shards were made from the old ones."""
    inputs = inputs_of(cfg)
    recorded = store.get_run_inputs(run_id) if store.path.exists() else {}
    if recorded:
        changed = changes_between(recorded, inputs.by_name())
        if changed:
            raise ConfigError(f"run {run_id!r} was made from other inputs ({'; '.join(changed)}); its finished "
                              "shards would be stale: leave out --run-id to start a new run, or pick a new one")
    notes = _changes_since_last_run(store, run_id, cfg, inputs)
    store.upsert_run(run_id, cfg.profile, cfg.model_dump(mode="json"), "running")
    store.put_run_inputs(run_id, [(i.name, i.kind, i.path, i.fingerprint) for i in inputs.items])
    return notes


def _changes_since_last_run(store: Store, run_id: str, cfg: RunConfig, inputs: RunInputs) -> list[str]:
    if not store.path.exists():
        return []
    store.migrate()
    rows = store.query("SELECT run_id FROM runs WHERE config = ? AND run_id <> ? ORDER BY created_at DESC LIMIT 1",
                       [json.dumps(cfg.model_dump(mode="json"), sort_keys=True), run_id])
    if not rows:
        return []
    changed = changes_between(store.get_run_inputs(rows[0][0]), inputs.by_name())
    return [f"{line}: new run {run_id} (run {rows[0][0]} stays queryable)" for line in changed]


def finish_run(store: Store, run_id: str, cfg: RunConfig, failed: bool, reason: str | None = None,
               reused: Sequence[tuple[str, int]] = ()) -> dict[str, dict[str, float]]:
    """Score every language whose shards changed since its metrics were written; mark the run done or failed
    (with ``reason``). ``reused``: shards served from a cache this time (their calls count as cache hits)."""
    store.mark_shards_reused(run_id, list(reused))
    stale = set(store.query(
        "SELECT s.lang FROM shards s LEFT JOIN (SELECT lang, min(created_at) AS scored FROM metrics "
        "WHERE run_id = ? GROUP BY lang) m USING (lang) WHERE s.run_id = ? "
        "GROUP BY s.lang, m.scored HAVING m.scored IS NULL OR max(s.updated_at) >= m.scored", [run_id, run_id]))
    stale_langs = {lang for (lang,) in stale}
    stored: dict[str, dict[str, float]] = {}
    for lang, metric, value in store.query("SELECT lang, metric, value FROM metrics WHERE run_id = ?", [run_id]):
        stored.setdefault(lang, {})[metric] = value
    scores = {}
    for lang in dict.fromkeys(cfg.data.languages):
        if lang in stale_langs:
            scores[lang] = score_run(store, run_id, lang, cfg.token_f1_protocol)
        else:
            scores[lang] = stored.get(lang, {})
    one = "; ".join(line.strip() for line in (reason or "shards failed").splitlines())
    store.finish_run(run_id, "failed" if failed else "done", one if failed else None)
    return scores


class ProgressTracker:
    """Sentences done, s/sentence, ETA and cache hit rate, for logs and the terminal."""

    def __init__(self, total_sentences: int) -> None:
        self.total = total_sentences
        self.done = 0
        self.t0 = time.perf_counter()

    def update(self, outcome: dict, reused: bool = False) -> str:
        """``reused``: the shard came back from a cache (Prefect's ``Cached``); so did every call it made."""
        self.done += outcome["sentences"]
        elapsed = time.perf_counter() - self.t0
        calls = (outcome["hits"] or 0) + (outcome["misses"] or 0)
        rate = 1.0 if reused or outcome["status"] == "skipped" else (outcome["hits"] or 0) / calls if calls else 0.0
        per = elapsed / max(1, self.done)
        eta = per * max(0, self.total - self.done)
        return (f"{outcome['lang']} shard {outcome['shard']} {outcome['status']}: {outcome['sentences']} sentences, "
                f"cache hit rate {rate:.0%}, {per:.2f} s/sentence, {self.done}/{self.total} sentences, "
                f"ETA {eta:.0f} s")


def load_run_config(db: str | Path, run_id: str) -> RunConfig:
    from eat_core.report import require_run

    store = Store(db)
    require_run(store, run_id)
    rows = store.query("SELECT config FROM runs WHERE run_id = ?", [run_id])
    try:
        return RunConfig.model_validate(json.loads(rows[0][0]))
    except ValueError as exc:
        raise ConfigError(f"run {run_id!r}: its stored configuration no longer validates ({one_line(exc)}); "
                          "start a new run with `eat run`") from None
