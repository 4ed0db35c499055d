"""What a user asks for (``eat run`` options, a deployment's parameters), before profiles are applied.

``EvalRequest`` holds overrides only; ``eat_core.config.coerce.resolve_request`` merges them over a profile into
a ``RunConfig``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from eat_core.config.run import RunConfig, _Strict, profile_for_method


class ModelOverrides(_Strict):
    """The LLM and extractor options every request shares (`eat run`, `eat tag`, `eat silver`/`distill`): one
    definition, so their names, types and ranges cannot drift apart. ``None`` keeps the profile's value."""

    llm_backend: str | None = None
    llm: str | None = None
    base_url: str | None = None
    extractor: str | None = None
    extractor_model: str | None = None
    rounds: Literal[1, 3, 5] | None = None
    shard_size: int | None = Field(None, ge=1)
    crop_matcher: Literal["crop", "eat"] | None = None



class EvalRequest(ModelOverrides):
    """What a user asks for: a profile plus overrides. ``eat run`` and the ``full_eval`` flow both take this, so
    Prefect validates deployment parameters with the same model the CLI uses."""

    profile: str = "smoke"
    db: str = "eat.duckdb"
    languages: tuple[str, ...] | None = None
    data_dir: str | None = None
    split: Literal["train", "dev", "test"] | None = None
    limit: int | None = Field(None, ge=1)
    repair_tags: bool | None = None  # None: the profile's (repair); False: strict, orphan I- tags are refused
    adapter: str | None = None
    run_id: str | None = None
    overlong: Literal["error", "truncate"] | None = None
    method: str | None = None
    demonstrations: int | None = Field(None, ge=0)
    # where shards run (not part of the run id: the same run may move between machines). None: in the flow process;
    # dask_workers N: a local Dask cluster of N worker processes; dask_address: an existing `dask scheduler`
    dask_address: str | None = None
    dask_workers: int | None = Field(None, ge=1)
    dask_threads_per_worker: int = Field(1, ge=1)
    dask_gpus_per_shard: int = Field(0, ge=0)  # Dask worker resources: shards go to workers started with GPU=n
    # a Prefect tag on shard tasks for a concurrency limit across flow runs (`prefect concurrency-limit create llm 1`
    # keeps one shard at a time on a GPU shared by several runs); off by default: each tagged task asks the API for
    # a slot, about 0.2 s a shard on a busy 2-core machine, and one run already runs local-model shards in order
    concurrency_tag: str | None = None

    def resolve(self) -> RunConfig:
        return profile_for_method(self.profile, self.method).with_overrides(**{
            "data.languages": tuple(self.languages) if self.languages else None,
            "data.source": "local" if self.data_dir else None,
            "data.data_dir": self.data_dir,
            "data.split": self.split,
            "data.limit": self.limit,
            "data.repair_tags": self.repair_tags,
            "llm.backend": self.llm_backend,
            "llm.model": self.llm,
            "llm.base_url": self.base_url,
            "llm.adapter": self.adapter,
            "extractor.name": self.extractor,
            "extractor.model": self.extractor_model,
            "engine.rounds": self.rounds,
            "shard_size": self.shard_size,
            "data.overlong": self.overlong,
            "method.name": self.method,
            "method.demonstrations": self.demonstrations,
            "method.crop_matcher": self.crop_matcher,
        })

