"""Tag a corpus shard by shard through any method, resumably, with every shard and LLM call cached in DuckDB.

The same machinery as an evaluation (``eat_core/evaluation``): one model session (the method of ``eat_core/methods``,
its LLM behind the DuckDB call cache), one shard runner and outcome, one lifecycle; a shard's rows and its ``done``
status written in one transaction, a shard done skipped on a re-run, failures recorded and the others going on. The
Prefect flow ``tag_corpus`` composes the same pieces (``plan_tag``, ``start_tag_run``, ``run_tag_shard``,
``finish_tag_run``) as tasks; :func:`tag_corpus` is the plain loop.

A tag run is keyed by content: ``tag-<hash>`` of the configuration, the input file's bytes (sha256), its format and
language, and the fingerprints of the prompts and models the method uses (``evaluation.identity.model_inputs``). The
same command over an unchanged file resumes; an edited file, prompt or model starts a new run. Memory stays bounded
by a shard: the scan keeps only shard boundaries, each shard is read from its byte range, and the output is appended
as shards finish.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eat_core.config.run import RunConfig
from eat_core.data.limits import InputLimits
from eat_core.data.segmentation import segmentation_note
from eat_core.errors import is_retryable, one_line
from eat_core.evaluation.identity import model_inputs
from eat_core.evaluation.lifecycle import TAG_RUN, end_run, failure_summary
from eat_core.evaluation.progress import ProgressTracker
from eat_core.evaluation.session import session_for, this_worker
from eat_core.evaluation.shards import ShardOutcome, guarded_shard
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
    note = segmentation_note(source.lang) if source.format != "conll" else None
    if note:  # installing a word segmenter changes the tokens, so the run (absent for spaced scripts: ids unchanged)
        data["data"]["segmentation"] = note
    data.pop("token_f1_protocol", None)
    return data


def plan_tag(request: TagRequest | Mapping) -> TagPlan:
    """Validate the request, scan the corpus (fingerprint, every record checked, shard boundaries), name the run."""
    req, cfg = validate_tag_request(request)
    source = Source(str(Path(req.input)), detect_format(req.input, req.format), req.lang,
                    limits=InputLimits.from_config(cfg.data))
    corpus = scan_corpus(source, cfg.shard_size)
    inputs = {i.name: i.fingerprint for i in model_inputs(cfg)}
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
    note = segmentation_note(plan.source.lang) if plan.source.format != "conll" else None
    return (f"tag run {plan.run_id}: {plan.corpus.records} records ({plan.source.format}, {plan.source.lang}) in "
            f"{len(plan.corpus.shards)} shards, method {plan.cfg.method.name}; {done} already done, "
            f"{len(plan.corpus.shards) - done} to tag" + (f"; {counts}" if counts else "")
            + (f"; segmentation: {note}" if note else ""))


# -- one shard --------------------------------------------------------------------------------------------------


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
                      progress: Progress | None = None) -> tuple[ShardOutcome, list[dict]]:
    """Read, tag and store one shard (atomically); returns its outcome and its rows."""
    records = read_shard(source, shard)
    todo = [r for r in records if not r.skipped]
    predictions, cost = session_for(cfg, store, progress).run([_sentence(r, source.lang, source.limits)
                                                               for r in todo])
    by_index = {r.index: p for r, p in zip(todo, predictions, strict=True)}
    rows = [record_row(r, by_index.get(r.index)) for r in records]
    entities = sum(len(r["entities"]) for r in rows)
    stats = {"n_tagged": len(todo), "n_skipped": len(records) - len(todo), "n_entities": entities,
             "hits": cost.hits, "misses": cost.misses, "seconds": cost.seconds, "prompt_tokens": cost.prompt_tokens,
             "completion_tokens": cost.completion_tokens}
    store.write_tag_shard(run_id, shard.index, shard.first, rows, stats)
    return ShardOutcome(source.lang, shard.index, "done", shard.count, cost.hits, cost.misses, entities,
                        this_worker()), rows


def run_tag_shard(cfg: RunConfig, db: str | Path, run_id: str, source: Source | dict, shard: ShardSpan | dict,
                  progress: Progress | None = None) -> ShardOutcome:
    """Tag one shard unless DuckDB already has it done; failures are recorded, then re-raised for retries."""
    source = source if isinstance(source, Source) else Source.from_dict(source)
    shard = shard if isinstance(shard, ShardSpan) else ShardSpan(**shard)
    store = Store(db)
    state = store.tag_shard_state(run_id, shard.index)
    if state and state[0] == "done":
        return ShardOutcome(source.lang, shard.index, "skipped", shard.count, state[1] + state[2], 0, state[3])
    store.mark_tag_shard(run_id, shard.index, shard.first, shard.count, "running", attempt=True)
    return guarded_shard(lambda: compute_tag_shard(cfg, store, run_id, source, shard, progress)[0],
                         lambda error: store.mark_tag_shard(run_id, shard.index, shard.first, shard.count, "failed",
                                                            error))


def finish_tag_run(store: Store, run_id: str, failed: list[tuple[int, str]]) -> None:
    store.finish_tag_run(run_id, "failed" if failed else "done",
                         failure_summary(run_id, failed, kind=TAG_RUN, one=True) if failed else None)


# -- the plain loop ---------------------------------------------------------------------------------------------


def tag_corpus(request: TagRequest | Mapping, *, progress: Progress | None = None, retries: int = 2,
               retry_delay_s: float = 2.0) -> TagResult:
    """Tag (or resume tagging) a corpus without Prefect and write ``request.out`` in input order.

    Shards done are skipped (their rows are read back from DuckDB for the output); a failed shard is retried
    (unless its error is permanent), then recorded while the others go on; the output is only moved onto
    ``request.out`` when every shard is done. Ctrl-C marks the run ``interrupted``; the same command resumes.
    """
    say = progress or (lambda message: None)
    plan = plan_tag(request)
    store = Store(plan.request.db)
    status = start_tag_run(store, plan)
    done = {i for i, s in status.items() if s == "done"}
    say(describe_plan(plan, len(done & {s.index for s in plan.corpus.shards})))
    result = TagResult(plan.run_id)
    writer = OrderedWriter(plan.request.out, lang=plan.source.lang)
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
            shard_outcome, rows = outcome
            writer.add(shard.index, rows)
            result.computed_shards += 1
            say(f"[{k}/{len(todo)}] " + tracker.update(shard_outcome) + f", {shard_outcome.entities} entities")
        finish_tag_run(store, plan.run_id, result.failed_shards)
    except KeyboardInterrupt:
        writer.abort()
        end_run(store, plan.run_id, "interrupted", "interrupted (Ctrl-C); re-run the same command to resume", TAG_RUN)
        raise
    except BaseException as exc:
        writer.abort()
        end_run(store, plan.run_id, "failed", one_line(exc), TAG_RUN)
        raise
    if result.failed_shards:
        writer.abort()
        return result
    result.out, result.records, result.entities = writer.commit(), writer.records, writer.entities
    return result


def _with_retries(plan: TagPlan, store: Store, shard: ShardSpan, say: Progress, retries: int,
                  delay: float) -> tuple[ShardOutcome, list[dict]] | str:
    """(outcome, rows) of a computed shard, or the one-line cause of its last failure."""
    for attempt in range(retries + 1):
        store.mark_tag_shard(plan.run_id, shard.index, shard.first, shard.count, "running", attempt=True)
        try:
            return guarded_shard(
                lambda: compute_tag_shard(plan.cfg, store, plan.run_id, plan.source, shard, say),
                lambda error: store.mark_tag_shard(plan.run_id, shard.index, shard.first, shard.count, "failed", error))
        except Exception as exc:  # a failed shard must not stop the others
            log.debug("tag shard %s failed", shard.index, exc_info=True)
            if not is_retryable(exc) or attempt == retries:
                return one_line(exc)
            say(f"shard {shard.index} attempt {attempt + 1} failed ({one_line(exc)}); retrying")
            time.sleep(delay * (attempt + 1))
    raise AssertionError("unreachable")
