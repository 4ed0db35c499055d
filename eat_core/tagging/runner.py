"""Tag a corpus shard by shard through any method, resumably, with every shard and LLM call cached in DuckDB.

The same machinery as an evaluation (``eat_core/evaluate.py``): the method interface of ``eat_core/methods``, the
LLM behind the DuckDB call cache, a shard's rows and its ``done`` status written in one transaction, a shard done
skipped on a re-run, failures recorded and the other shards going on. The Prefect flow ``tag_corpus`` composes the
same pieces (``plan_tag``, ``start_tag_run``, ``run_tag_shard``, ``finish_tag_run``) as tasks; :func:`tag_corpus`
is the plain loop.

A tag run is keyed by content: ``tag-<hash>`` of the configuration, the input file's bytes (sha256), its format and
language, and the fingerprints of the prompts and models the method uses (``eat_core/inputs.py``). The same command
over an unchanged file resumes; an edited file, prompt or model starts a new run. Memory stays bounded by a shard:
the scan keeps only shard boundaries, each shard is read from its byte range, and the output is appended as shards
finish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eat_core.config.run import RunConfig
from eat_core.data.limits import InputLimits
from eat_core.errors import is_retryable, one_line
from eat_core.evaluation.identity import FINGERPRINT_MEMO_SIZE, LruCache
from eat_core.hashing import content_hash
from eat_core.store import Store
from eat_core.tagging.export import OrderedWriter, entities_of
from eat_core.tagging.readers import CorpusPlan, Record, ShardSpan, Source, detect_format, read_shard, scan_corpus
from eat_core.tagging.request import TagRequest, validate_tag_request
from eat_core.types import Sentence

Progress = Callable[[str], None]
log = logging.getLogger("eat")


@dataclass
class TagPlan:
    run_id: str
    request: TagRequest
    cfg: RunConfig
    corpus: CorpusPlan
    inputs: dict[str, str]

    @property
    def source(self) -> Source:
        return self.corpus.source


@dataclass
class TagResult:
    run_id: str
    out: Path | None = None
    records: int = 0
    entities: int = 0
    computed_shards: int = 0
    skipped_shards: int = 0
    failed_shards: list[tuple[int, str]] = field(default_factory=list)


# -- planning ---------------------------------------------------------------------------------------------------


def tag_config(cfg: RunConfig, source: Source) -> dict:
    """Everything of the configuration that changes a tag: the method and models, the language, the limits."""
    data = cfg.model_dump(mode="json")
    data["data"] = {"lang": source.lang, "format": source.format, "limits": source.limits.__dict__}
    data.pop("token_f1_protocol", None)
    return data


def model_inputs(cfg: RunConfig) -> dict[str, str]:
    """Content fingerprints of what the method reads: prompts and LLM (and adapter) when it uses an LLM, the
    extractor or tagger checkpoint when it uses one. Memoised per process on the files' (size, mtime)."""
    from eat_core.evaluation.data import file_stamp
    from eat_core.evaluation.identity import uses_demonstrations

    paths = [cfg.engine.prompts_dir, cfg.llm.adapter, cfg.llm.model, cfg.extractor.model]
    if uses_demonstrations(cfg):
        from eat_core.methods.direct import demonstrations_file

        paths.append(str(demonstrations_file(cfg)))
    key = (content_hash(cfg.model_dump(mode="json")),
           file_stamp(*[p for p in paths if p and not p.startswith("tiny:") and Path(p).exists()]))
    found = _MODEL_INPUTS.get(key)
    if found is None:
        found = _model_inputs(cfg)
        _MODEL_INPUTS.put(key, found)
    return dict(found)


_MODEL_INPUTS: LruCache[dict[str, str]] = LruCache(FINGERPRINT_MEMO_SIZE)


def _model_inputs(cfg: RunConfig) -> dict[str, str]:
    from eat_core.evaluation.identity import demonstrations_fingerprint, uses_demonstrations
    from eat_core.hashing import directory_fingerprint
    from eat_core.methods import method_class
    from eat_core.prompts import PromptSet
    from eat_core.weights.fingerprint import model_fingerprint

    method = method_class(cfg.method.name)
    out: dict[str, str] = {}
    if method.needs_llm:
        out["prompts"] = PromptSet.load(cfg.engine.prompts_dir).fingerprint
        out["llm"] = (model_fingerprint(cfg.llm.model, cfg.llm.revision)[1] if cfg.llm.backend == "transformers"
                      else f"served:{cfg.llm.model}@{cfg.llm.revision or 'unpinned'}")
        if cfg.llm.adapter:
            adapter = Path(cfg.llm.adapter)
            out["adapter"] = directory_fingerprint(adapter) if adapter.is_dir() else f"served:{cfg.llm.adapter}"
    if method.needs_extractor or cfg.method.name == "model-transfer":
        out["extractor"] = model_fingerprint(cfg.extractor.model)[1]
    if uses_demonstrations(cfg):
        out["demonstrations"] = demonstrations_fingerprint(cfg)
    return out


def plan_tag(request: TagRequest | Mapping) -> TagPlan:
    """Validate the request, scan the corpus (fingerprint, every record checked, shard boundaries), name the run."""
    req, cfg = validate_tag_request(request)
    source = Source(str(Path(req.input)), detect_format(req.input, req.format), req.lang,
                    limits=InputLimits.from_config(cfg.data))
    corpus = scan_corpus(source, cfg.shard_size)
    inputs = model_inputs(cfg)
    run_id = "tag-" + content_hash([tag_config(cfg, corpus.source), corpus.fingerprint, inputs])[:10]
    return TagPlan(run_id, req, cfg, corpus, inputs)


def start_tag_run(store: Store, plan: TagPlan) -> dict[int, str]:
    """Register the run (``running``); returns the status of each shard it already has."""
    store.upsert_tag_run(plan.run_id, input_path=plan.source.path, fingerprint=plan.corpus.fingerprint,
                         input_format=plan.source.format, lang=plan.source.lang, method=plan.cfg.method.name,
                         config=tag_config(plan.cfg, plan.source), inputs=plan.inputs,
                         n_records=plan.corpus.records, n_shards=len(plan.corpus.shards))
    return store.tag_shard_status(plan.run_id)


def describe_plan(plan: TagPlan, done: int) -> str:
    counts = ", ".join(f"{k}={v}" for k, v in sorted(plan.corpus.counts.items()))
    return (f"tag run {plan.run_id}: {plan.corpus.records} records ({plan.source.format}, {plan.source.lang}) in "
            f"{len(plan.corpus.shards)} shards, method {plan.cfg.method.name}; {done} already done, "
            f"{len(plan.corpus.shards) - done} to tag" + (f"; {counts}" if counts else ""))


# -- one shard --------------------------------------------------------------------------------------------------


class TagEngine:
    """The method with its LLM (behind the DuckDB call cache) and extractor, loaded once per process."""

    def __init__(self, cfg: RunConfig, store: Store, progress: Progress | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.progress = progress or (lambda message: None)
        self._method = None
        self._counters = None
        self._load_error: BaseException | None = None
        self._lock = threading.Lock()

    def method(self):
        with self._lock:
            if self._load_error is not None:
                raise self._load_error  # a missing model stays missing: do not reload it for every shard
            if self._method is None:
                try:
                    self._load()
                except Exception as exc:
                    if not is_retryable(exc):
                        self._load_error = exc
                    raise
            return self._method

    def _load(self) -> None:
        from eat_core.extractors import load_extractor
        from eat_core.llm import load_backend
        from eat_core.llm.cache import CacheCounters, CachedLLM
        from eat_core.methods import load_method, method_class

        cls = method_class(self.cfg.method.name)
        self.progress(f"method {self.cfg.method.name}: loading "
                      + (f"LLM {self.cfg.llm.model} and " if cls.needs_llm else "")
                      + f"{'extractor' if cls.needs_extractor else 'tagger'} {self.cfg.extractor.model}")
        llm = CachedLLM(load_backend(self.cfg.llm), self.store) if cls.needs_llm else None
        self._counters = llm.counters if llm else CacheCounters()
        extractor = load_extractor(self.cfg.extractor) if cls.needs_extractor else None
        self._method = load_method(self.cfg, llm, extractor)

    def run(self, sentences: list[Sentence]):
        """Predictions of ``sentences`` and what they cost: (predictions, hits, misses, prompt, completion tokens)."""
        method = self.method()
        with self._lock:
            c = self._counters
            before = (c.hits, c.misses, c.prompt_tokens, c.completion_tokens)
            predictions = method.run(sentences) if sentences else []
            after = (c.hits, c.misses, c.prompt_tokens, c.completion_tokens)
        return predictions, *(a - b for a, b in zip(after, before, strict=True))


ENGINE_CACHE_SIZE = 2
"""Loaded tag engines (an LLM and an extractor each) a process keeps: a long-lived worker that tags with several
configurations would otherwise hold every model it ever loaded; the least recently used one is dropped."""

_ENGINES: LruCache[TagEngine] = LruCache(ENGINE_CACHE_SIZE)


def engine_for(cfg: RunConfig, store: Store, progress: Progress | None = None) -> TagEngine:
    key = (content_hash([cfg.method.model_dump(), cfg.llm.model_dump(), cfg.extractor.model_dump(),
                         cfg.engine.model_dump(), model_inputs(cfg)]), str(store.path.resolve()))
    engine = _ENGINES.get_or_create(key, lambda: TagEngine(cfg, store, progress))  # models load lazily
    engine.progress = progress or engine.progress
    return engine


def record_row(record: Record, prediction=None) -> dict:
    """What is stored and exported for one record; tags cover every token (``O`` beyond ``n_tagged``)."""
    tags = list(prediction.tags) if prediction is not None else []
    tags += ["O"] * (len(record.tokens) - len(tags))
    failures = list(record.cut) + (list(prediction.failures) if prediction is not None else [])
    return {"record_index": record.index, "record_id": record.id, "line": record.line, "text": record.text,
            "tokens": list(record.tokens), "offsets": [list(o) for o in record.offsets], "tags": tags,
            "entities": entities_of(record.text, record.offsets, tags), "skipped": record.skipped,
            "transcript": prediction.transcript.as_dict() if prediction is not None else None,
            "failures": failures}


def _sentence(record: Record, lang: str, limits: InputLimits) -> Sentence:
    tokens = tuple(t[: limits.max_token_chars] for t in record.tokens[: record.n_tagged])
    return Sentence(id=f"r{record.index}", lang=lang, tokens=tokens)


def compute_tag_shard(cfg: RunConfig, store: Store, run_id: str, source: Source, shard: ShardSpan,
                      progress: Progress | None = None) -> tuple[dict, list[dict]]:
    """Read, tag and store one shard (atomically); returns its summary and its rows."""
    records = read_shard(source, shard)
    todo = [r for r in records if not r.skipped]
    t0 = time.perf_counter()
    predictions, hits, misses, prompt_tokens, completion_tokens = engine_for(cfg, store, progress).run(
        [_sentence(r, source.lang, source.limits) for r in todo])
    by_index = {r.index: p for r, p in zip(todo, predictions, strict=True)}
    rows = [record_row(r, by_index.get(r.index)) for r in records]
    stats = {"n_tagged": len(todo), "n_skipped": len(records) - len(todo),
             "n_entities": sum(len(r["entities"]) for r in rows), "hits": hits, "misses": misses,
             "seconds": time.perf_counter() - t0, "prompt_tokens": prompt_tokens,
             "completion_tokens": completion_tokens}
    store.write_tag_shard(run_id, shard.index, shard.first, rows, stats)
    return summary(source, shard, "done", hits, misses, stats["n_entities"]), rows


def summary(source: Source, shard: ShardSpan, status: str, hits: int, misses: int, entities: int | None) -> dict:
    """The small dict a shard task returns (the shape ``ProgressTracker.update`` reads)."""
    return {"lang": source.lang, "shard": shard.index, "status": status, "sentences": shard.count, "hits": hits,
            "misses": misses, "entities": entities}


def run_tag_shard(cfg: RunConfig, db: str | Path, run_id: str, source: Source | dict, shard: ShardSpan | dict,
                  progress: Progress | None = None) -> dict:
    """Tag one shard unless DuckDB already has it done; failures are recorded, then re-raised for retries."""
    source = source if isinstance(source, Source) else Source.from_dict(source)
    shard = shard if isinstance(shard, ShardSpan) else ShardSpan(**shard)
    store = Store(db)
    row = store.query("SELECT status, cache_hits, cache_misses, n_entities FROM tag_shards WHERE tag_run_id = ? "
                      "AND shard_index = ?", [run_id, shard.index]) if store.path.exists() else []
    if row and row[0][0] == "done":
        return summary(source, shard, "skipped", (row[0][1] or 0) + (row[0][2] or 0), 0, row[0][3])
    store.mark_tag_shard(run_id, shard.index, shard.first, shard.count, "running", attempt=True)
    try:
        return compute_tag_shard(cfg, store, run_id, source, shard, progress)[0]
    except BaseException as exc:
        store.mark_tag_shard(run_id, shard.index, shard.first, shard.count, "failed",
                             f"{exc.__class__.__name__}: {exc}"[:2000])
        raise


def finish_tag_run(store: Store, run_id: str, failed: list[tuple[int, str]]) -> None:
    store.finish_tag_run(run_id, "failed" if failed else "done", tag_failure_summary(run_id, failed, one=True)
                         if failed else None)


def tag_failure_summary(run_id: str, failed: list[tuple[int, str]], *, one: bool = False) -> str:
    """The last lines of a tag run with failed shards: their indices, then each cause with the shards it stopped."""
    by_cause: dict[str, list[str]] = {}
    for index, cause in failed:
        by_cause.setdefault(cause, []).append(str(index))
    lines = [f"tag run {run_id}: {len(failed)} shard(s) failed: {', '.join(str(i) for i, _ in failed)}; fix the "
             "cause below, then re-run the same command to resume them"]
    lines += [f"  shard {', '.join(shards)}: {cause}" for cause, shards in by_cause.items()]
    return "; ".join(line.strip() for line in lines) if one else "\n".join(lines)


def end_tag_run(store: Store, run_id: str, status: str, reason: str) -> None:
    """Mark a tag run that stopped early; never hides the original exception."""
    try:
        store.finish_tag_run(run_id, status, reason)
    except Exception:  # noqa: BLE001 - the store may be what failed; the caller re-raises the real cause
        log.warning("could not mark tag run %s %s", run_id, status, exc_info=True)


# -- the plain loop ---------------------------------------------------------------------------------------------


def tag_corpus(request: TagRequest | Mapping, *, progress: Progress | None = None, retries: int = 2,
               retry_delay_s: float = 2.0) -> TagResult:
    """Tag (or resume tagging) a corpus without Prefect and write ``request.out`` in input order.

    Shards done are skipped (their rows are read back from DuckDB for the output); a failed shard is retried
    (unless its error is permanent), then recorded while the others go on; the output is only moved onto
    ``request.out`` when every shard is done. Ctrl-C marks the run ``interrupted``; the same command resumes.
    """
    from eat_core.evaluation.progress import ProgressTracker

    say = progress or (lambda message: None)
    plan = plan_tag(request)
    store = Store(plan.request.db)
    status = start_tag_run(store, plan)
    done = {i for i, s in status.items() if s == "done"}
    say(describe_plan(plan, len(done & {s.index for s in plan.corpus.shards})))
    result = TagResult(plan.run_id)
    writer = OrderedWriter(plan.request.out)
    todo = [s for s in plan.corpus.shards if s.index not in done]
    tracker = ProgressTracker(sum(s.count for s in todo))
    try:
        for shard in plan.corpus.shards:
            if shard.index in done:
                writer.add(shard.index, store.tag_shard_rows(plan.run_id, shard.index))
                result.skipped_shards += 1
                continue
            outcome = _with_retries(plan, store, shard, say, retries, retry_delay_s)
            k = result.computed_shards + len(result.failed_shards) + 1
            if isinstance(outcome, str):
                result.failed_shards.append((shard.index, outcome))
                say(f"[{k}/{len(todo)}] shard {shard.index} FAILED: {outcome}")
                continue
            summary_, rows = outcome
            writer.add(shard.index, rows)
            result.computed_shards += 1
            say(f"[{k}/{len(todo)}] " + tracker.update(summary_) + f", {summary_['entities']} entities")
        finish_tag_run(store, plan.run_id, result.failed_shards)
    except KeyboardInterrupt:
        writer.abort()
        end_tag_run(store, plan.run_id, "interrupted", "interrupted (Ctrl-C); re-run the same command to resume")
        raise
    except BaseException as exc:
        writer.abort()
        end_tag_run(store, plan.run_id, "failed", one_line(exc))
        raise
    if result.failed_shards:
        writer.abort()
        return result
    result.out, result.records, result.entities = writer.commit(), writer.records, writer.entities
    return result


def _with_retries(plan: TagPlan, store: Store, shard: ShardSpan, say: Progress, retries: int,
                  delay: float) -> tuple[dict, list[dict]] | str:
    """(summary, rows) of a computed shard, or the one-line cause of its last failure."""
    for attempt in range(retries + 1):
        store.mark_tag_shard(plan.run_id, shard.index, shard.first, shard.count, "running", attempt=True)
        try:
            return compute_tag_shard(plan.cfg, store, plan.run_id, plan.source, shard, say)
        except Exception as exc:  # a failed shard must not stop the others
            store.mark_tag_shard(plan.run_id, shard.index, shard.first, shard.count, "failed",
                                 f"{exc.__class__.__name__}: {exc}"[:2000])
            log.debug("tag shard %s failed", shard.index, exc_info=True)
            if not is_retryable(exc) or attempt == retries:
                return one_line(exc)
            say(f"shard {shard.index} attempt {attempt + 1} failed ({one_line(exc)}); retrying")
            time.sleep(delay * (attempt + 1))
    raise AssertionError("unreachable")
