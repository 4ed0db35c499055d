"""The cache policy of shard tasks: reuse a finished shard across *new* flow runs, never across code changes.

Key = hash(run id, language, shard index, the shard's sentence ids, eat-ner version, task source). Prefect's
default policy adds the flow-run id, which would make a fresh ``prefect deployment run`` after a crash recompute
everything; this one leaves it out. The run id itself hashes the full evaluation config and the content fingerprints
of its inputs (``eat_core/inputs.py``: prompt text, weights, adapter, extractor, the sentences of each language), so
an input changed in place, under the same path, gives new keys; a stated run id over changed inputs is refused
before any shard runs.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from prefect.cache_policies import CachePolicy

from eat_core.hashing import content_hash


def code_version() -> str:
    try:
        return metadata.version("eat-ner")
    except metadata.PackageNotFoundError:  # running from a checkout without install
        return "dev"


@dataclass
class ShardCachePolicy(CachePolicy):
    workspace: str = ""  # the workspace file's id (``Store.workspace_id``): records of another file never match

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any],
                    **kwargs: Any) -> str | None:
        return "shard-" + content_hash({
            "run_id": inputs.get("run_id"), "lang": inputs.get("lang"), "index": inputs.get("index"),
            "sentences": inputs.get("sentence_ids"), "version": code_version(), "source": _source(task_ctx),
            "workspace": self.workspace,
        })


def _source(task_ctx: Any) -> str:
    try:
        return _source_of(task_ctx.task.fn)
    except (OSError, TypeError, AttributeError):
        return ""


@functools.lru_cache(maxsize=64)
def _source_of(fn) -> str:
    return inspect.getsource(fn)
