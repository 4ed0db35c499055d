"""The LLM-call cache: every request keyed by a content hash, answered from DuckDB when seen before.

Key = sha256(canonical JSON of backend identity (model id, revision or weights fingerprint, adapter fingerprint),
the full message list and the decoding parameters). A resumed run, or one with another extractor, reuses every
call it can.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eat_core.hashing import content_hash
from eat_core.llm.base import Chat, Completion, Decoding, LLMBackend
from eat_core.store import Store


@dataclass
class CacheCounters:
    hits: int = 0
    misses: int = 0
    prompt_tokens: int = 0  # of every answered call, fresh or cached: what the method costs, whatever the cache
    completion_tokens: int = 0

    def count(self, completion: Completion) -> None:
        self.prompt_tokens += completion.prompt_tokens or 0
        self.completion_tokens += completion.completion_tokens or 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class CachedLLM:
    """Wraps a backend with the DuckDB cache; same ``generate`` signature. ``store=None`` disables caching."""

    def __init__(self, backend: LLMBackend, store: Store | None) -> None:
        self.backend = backend
        self.store = store
        self.counters = CacheCounters()
        self._identity = backend.identity()

    def key(self, chat: Chat, decoding: Decoding) -> str:
        return content_hash({"backend": self._identity, "messages": chat, "decoding": decoding.as_dict()})

    def generate(self, chats: Sequence[Chat], decoding: Decoding) -> list[Completion]:
        keys = [self.key(chat, decoding) for chat in chats]
        found = self.store.get_cached_calls(keys) if self.store else {}
        results: list[Completion | None] = [None] * len(chats)
        missing: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            hit = found.get(key)
            if hit is not None:
                # everything the fresh answer had, so failure reasons do not depend on cache state; rows from
                # before the flag was stored hit max_new_tokens exactly when they were cut (both backends)
                truncated = hit.truncated if hit.truncated is not None else (
                    hit.completion_tokens is not None and hit.completion_tokens >= decoding.max_new_tokens)
                results[i] = Completion(hit.output, hit.prompt_tokens, hit.completion_tokens, 0.0, cached=True,
                                        truncated=bool(truncated))
                self.counters.hits += 1
            else:
                missing.setdefault(key, []).append(i)
        if missing:
            order = list(missing)
            fresh = self.backend.generate([chats[missing[k][0]] for k in order], decoding)
            self.counters.misses += len(order)
            rows = []
            for key, completion in zip(order, fresh, strict=True):
                for i in missing[key]:
                    results[i] = completion
                rows.append((key, self._identity.get("model", "?"), self._identity.get("adapter"),
                             {"messages": chats[missing[key][0]], "decoding": decoding.as_dict()},
                             completion.text, completion.prompt_tokens, completion.completion_tokens,
                             completion.latency_s, completion.truncated))
            if self.store:
                self.store.put_cached_calls(rows)
        for completion in results:
            self.counters.count(completion)
        return results  # type: ignore[return-value]
