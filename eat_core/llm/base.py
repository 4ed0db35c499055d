"""The one interface every LLM backend implements: a batch of chats plus decoding parameters in, completions out.

Contract, by example::

    backend.generate([[{"role": "user", "content": "Hi"}]], Decoding(max_new_tokens=8))
    -> [Completion(text="Hello!", prompt_tokens=9, completion_tokens=3, latency_s=0.02)]

One completion per chat, in order. Backends own batching and concurrency; the base class owns counting and timing.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

Chat = list[dict[str, str]]


@dataclass(frozen=True)
class Decoding:
    """Decoding parameters; part of every cache key. Greedy unless ``temperature`` > 0 (then ``seed`` is set)."""

    max_new_tokens: int
    temperature: float = 0.0
    seed: int | None = None
    min_new_tokens: int = 0  # benchmarks force fixed output lengths with it

    def as_dict(self) -> dict:
        out = {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature, "seed": self.seed}
        if self.min_new_tokens:
            out["min_new_tokens"] = self.min_new_tokens
        return out


@dataclass
class Completion:
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float = 0.0
    cached: bool = False
    truncated: bool = False


@dataclass
class BackendStats:
    requests: int = 0
    batches: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


class LLMBackend(ABC):
    """Subclasses implement ``_generate``; ``generate`` adds bookkeeping."""

    name: str = "abstract"

    def __init__(self) -> None:
        self.stats = BackendStats()

    @abstractmethod
    def identity(self) -> dict:
        """What makes outputs of this backend differ: model id, revision or weights hash, adapter hash."""

    @abstractmethod
    def _generate(self, chats: Sequence[Chat], decoding: Decoding) -> list[Completion]: ...

    def generate(self, chats: Sequence[Chat], decoding: Decoding) -> list[Completion]:
        if not chats:
            return []
        start = time.perf_counter()
        out = self._generate(chats, decoding)
        if len(out) != len(chats):
            raise RuntimeError(f"{self.name} returned {len(out)} completions for {len(chats)} chats")
        self.stats.requests += len(chats)
        self.stats.batches += 1
        self.stats.seconds += time.perf_counter() - start
        self.stats.prompt_tokens += sum(c.prompt_tokens or 0 for c in out)
        self.stats.completion_tokens += sum(c.completion_tokens or 0 for c in out)
        return out

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (GPU memory, HTTP clients)."""
