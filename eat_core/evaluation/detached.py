"""Shards computed away from the workspace (a Dask worker, another machine), persisted by the one writer.

DuckDB allows one writing process per file, and a file on a network share is not safe for that, so a remote shard
is split in two:

* :func:`compute_shard` (anywhere): sentences and configuration in; predictions, counters and the LLM calls it made
  out. It never opens the DuckDB file. The calls the workspace already has for a shard of the same sentences come
  in with it (:class:`MemoryCalls`), so a re-run shard does not pay for them again.
* :func:`persist_shard` (the flow process only): predictions, the shard's ``done`` status, the new calls and the
  shard's call list in one transaction.

A shard killed mid-way on a worker loses the calls it had made (they travel back only with the result); the
in-process path keeps writing calls as it goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from eat_core.config.run import RunConfig
from eat_core.evaluation.data import load_language
from eat_core.evaluation.identity import sentences_fingerprint
from eat_core.evaluation.session import prediction_row, session_for, this_worker
from eat_core.evaluation.shards import ShardOutcome, shards_of
from eat_core.store import CachedCall, Store


class MemoryCalls:
    """The LLM-call store of a detached shard: the calls shipped with it, and the ones it makes (recorded)."""

    def __init__(self, calls: dict[str, CachedCall] | None = None) -> None:
        self.calls = dict(calls or {})
        self.new: list[tuple] = []
        self.used: set[str] = set()

    def get_cached_calls(self, keys: Sequence[str]) -> dict[str, CachedCall]:
        self.used.update(keys)
        return {k: self.calls[k] for k in keys if k in self.calls}

    def put_cached_calls(self, rows: Iterable[tuple]) -> None:
        for row in rows:
            key, _, _, _, output, pt, ct, latency, *rest = row
            self.calls[key] = CachedCall(key, output, pt, ct, latency, rest[0] if rest else None)
            self.new.append(tuple(row))



@dataclass
class ShardOutput:
    """What a worker sends back: small, picklable, everything :func:`persist_shard` writes."""

    lang: str
    index: int
    content: str
    rows: list[dict]
    hits: int
    misses: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    new_calls: list[tuple] = field(default_factory=list)
    used_keys: list[str] = field(default_factory=list)
    worker: str = ""

    def outcome(self) -> ShardOutcome:
        """The shard's summary once persisted, as every shard runner reports it."""
        return ShardOutcome(self.lang, self.index, "done", len(self.rows), self.hits, self.misses,
                            worker=self.worker)



def shard_sentences(cfg: RunConfig, lang: str, index: int):

    return shards_of(load_language(cfg, lang), cfg.shard_size)[index]



def shard_content(cfg: RunConfig, lang: str, index: int) -> str:
    """A shard's identity by content (its sentences), shared by every run that holds the same sentences."""

    return sentences_fingerprint(shard_sentences(cfg, lang, index))



def compute_shard(cfg: RunConfig, lang: str, index: int, calls: dict[str, CachedCall] | None = None) -> ShardOutput:
    """Run one shard without touching the workspace; models load once per process and are reused."""
    sentences = shard_sentences(cfg, lang, index)
    memory = MemoryCalls(calls)
    predictions, cost = session_for(cfg, None).run_detached(sentences, memory)
    return ShardOutput(lang, index, sentences_fingerprint(sentences), [prediction_row(p) for p in predictions],
                       cost.hits, cost.misses, cost.prompt_tokens, cost.completion_tokens, cost.seconds, memory.new,
                       sorted(memory.used), this_worker())



def calls_for(store: Store, lang: str, content: str) -> dict[str, CachedCall]:
    """The cached calls a shard of these sentences used before (in any run), to ship with it."""
    return store.get_shard_calls(lang, content) if store.path.exists() else {}



def persist_shard(store: Store, run_id: str, out: ShardOutput) -> None:
    """The single writer's half: new calls, the shard's call list, predictions and status in one transaction."""
    with store.transaction():
        store.put_cached_calls(out.new_calls)
        store.put_shard_calls(out.lang, out.content, out.used_keys)
        store.write_shard_result(run_id, out.lang, out.index, out.rows, out.hits, out.misses, out.seconds,
                                 out.prompt_tokens, out.completion_tokens, out.worker)

