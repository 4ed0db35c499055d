"""Thin Prefect tasks over ``eat_core.tagging``: one core call each."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.cache_policies import CachePolicy

from eat_core.config.run import RunConfig
from eat_core.evaluation.shards import ShardOutcome
from eat_core.hashing import content_hash
from eat_core.store import Store
from eat_core.tagging.request import TagRequest
from eat_core.tagging.runner import describe_plan, finish_tag_run, plan_tag, run_tag_shard, start_tag_run
from tasks import interrupt
from tasks.evaluation import retry_unless_permanent
from tasks.policies import code_version
from tasks.storage import key_storage_for


@task(name="plan_tag")
def plan_tag_task(request: TagRequest) -> dict:
    """Scan the corpus (fingerprint, every record checked, shard boundaries) and register the tag run."""
    plan = plan_tag(request)
    status = start_tag_run(Store(plan.request.db), plan)
    done = {i for i, s in status.items() if s == "done"}
    return {"run_id": plan.run_id, "cfg": plan.cfg, "source": plan.source.as_dict(),
            "shards": [s.as_dict() for s in plan.corpus.shards], "records": plan.corpus.records,
            "summary": describe_plan(plan, len(done & {s.index for s in plan.corpus.shards}))}


@dataclass
class TagShardCachePolicy(CachePolicy):
    """Key = hash(tag run id, shard index, digest of the shard's records, eat-ner version, task source, workspace
    id); the run id already hashes the configuration, the input file's content and the model fingerprints. No
    flow-run id: a new flow run after a crash gets the finished shards back as Cached."""

    workspace: str = ""  # the workspace file's id (``Store.workspace_id``): records of another file never match

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any],
                    **kwargs: Any) -> str | None:
        try:
            source = inspect.getsource(task_ctx.task.fn)
        except (OSError, TypeError, AttributeError):
            source = ""
        shard = inputs.get("shard") or {}
        return "tag-shard-" + content_hash({"run_id": inputs.get("run_id"), "index": shard.get("index"),
                                            "digest": shard.get("digest"), "version": code_version(),
                                            "source": source, "workspace": self.workspace})


def tag_shard_task(db: str, retries: int, retry_delay_s: float):
    """The shard task, configured per run: retries (not for permanent errors), cache records beside the workspace
    file (``tasks/storage.py``), keyed by its id."""
    return run_tag_shard_task.with_options(
        retries=retries, retry_delay_seconds=retry_delay_s, retry_condition_fn=retry_unless_permanent,
        cache_policy=TagShardCachePolicy(workspace=Store(db).workspace_id()).configure(
            key_storage=key_storage_for(db)),
    )


@task(name="tag_shard", tags=["llm"], persist_result=True, task_run_name="tag-shard-{shard[index]}")
def run_tag_shard_task(cfg: RunConfig, db: str, run_id: str, source: dict, shard: dict) -> ShardOutcome:
    """Read, tag and store one shard; DuckDB holds its rows, this returns its small outcome."""
    interrupt.check()  # a shard queued on a thread pool does not start after Ctrl-C
    return run_tag_shard(cfg, db, run_id, source, shard, progress=logging.getLogger("eat").info)


@task(name="finish_tag")
def finish_tag_task(db: str, run_id: str, failed: list[tuple[int, str]]) -> None:
    """Mark the tag run done, or failed with the shards that failed and their causes."""
    finish_tag_run(Store(db), run_id, [tuple(f) for f in failed])
