"""Progress of a run across shards: sentences done, hit rate of the call cache, time left."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eat_core.evaluation.shards import ShardOutcome


class ProgressTracker:
    """Sentences done, s/sentence, ETA and cache hit rate, for logs and the terminal."""

    def __init__(self, total_sentences: int) -> None:
        self.total = total_sentences
        self.done = 0
        self.t0 = time.perf_counter()

    def update(self, outcome: ShardOutcome, reused: bool = False) -> str:
        """``reused``: the shard came back from a cache (Prefect's ``Cached``); so did every call it made."""
        self.done += outcome.sentences
        elapsed = time.perf_counter() - self.t0
        calls = outcome.hits + outcome.misses
        rate = 1.0 if reused or outcome.status == "skipped" else outcome.hits / calls if calls else 0.0
        per = elapsed / max(1, self.done)
        eta = per * max(0, self.total - self.done)
        return (f"{outcome.lang} shard {outcome.shard} {outcome.status}: {outcome.sentences} sentences, "
                f"cache hit rate {rate:.0%}, {per:.2f} s/sentence, {self.done}/{self.total} sentences, "
                f"ETA {eta:.0f} s")
