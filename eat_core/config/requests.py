"""What a user asks for (``eat run``, ``eat tag``, ``eat silver``/``distill`` options, a deployment's parameters).

One family: :class:`BaseRequest` holds the profile, the workspace and the model overrides every command shares, and
turns a request into a ``RunConfig`` with the one mapping :data:`RUN_FIELDS` (:meth:`BaseRequest.to_run_config`).
``EvalRequest``, ``TagRequest`` (``eat_core/tagging/request.py``) and ``DistillRequest``
(``eat_core/distill/request.py``) add only their own fields. Where shards run (Dask, a Prefect concurrency tag) is
not part of what is computed: :class:`ExecutionOptions` travels beside the request.
``eat_core.config.coerce.coerce`` builds any of them from a mapping with one-line errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from eat_core.config.label_map import parse_label_map
from eat_core.config.run import RunConfig, _Strict, profile_for_method
from eat_core.errors import ConfigError
from eat_core.languages import parse_languages

RUN_FIELDS: dict[str, str] = {
    # request field -> the RunConfig field it overrides (None keeps the profile's value)
    "languages": "data.languages", "data_dir": "data.data_dir", "split": "data.split", "limit": "data.limit",
    "repair_tags": "data.repair_tags", "overlong": "data.overlong",
    "llm_backend": "llm.backend", "llm": "llm.model", "base_url": "llm.base_url", "adapter": "llm.adapter",
    "extractor": "extractor.name", "extractor_model": "extractor.model",
    "extractor_label_map": "extractor.label_map", "rounds": "engine.rounds",
    "shard_size": "shard_size", "method": "method.name", "demonstrations": "method.demonstrations",
    "crop_matcher": "method.crop_matcher",
}
"""The one request -> ``RunConfig`` mapping; ``data_dir`` also switches ``data.source`` to ``local``."""

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""Names that become file names (run ids): letters, digits, ``.``, ``_``, ``-``; no separator, no leading dot."""


def check_safe_name(option: str, value: str) -> str:
    """A name used in file names: refuse separators, ``..`` and anything outside ``[A-Za-z0-9._-]``."""
    if not SAFE_NAME.match(value) or ".." in value:
        raise ConfigError(f"{option}: {value!r} is not allowed; use 1 to 128 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit (it becomes a file name)")
    return value


class _Coercible(_Strict):
    """Hooks of ``coerce``: shape the raw parameters before validation, check across fields after it."""

    option_names: ClassVar[dict[str, str]] = {}  # field -> the option named in errors, where not ``--field-name``

    @classmethod
    def normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        return data

    def check(self) -> None:
        """Checks that need several fields, raising ``ConfigError`` with the option's name."""


class ModelOverrides(_Coercible):
    """The LLM and extractor options every request shares (`eat run`, `eat tag`, `eat silver`/`distill`): one
    definition, so their names, types and ranges cannot drift apart. ``None`` keeps the profile's value."""

    llm_backend: str | None = None
    llm: str | None = None
    base_url: str | None = None
    extractor: str | None = None
    extractor_model: str | None = None
    extractor_label_map: str | None = None  # "NORP=ORG,FAC=O": single entries of the spaCy label map
    rounds: Literal[1, 3, 5] | None = None
    shard_size: int | None = Field(None, ge=1)
    crop_matcher: Literal["crop", "eat"] | None = None

    @field_validator("extractor_label_map")
    @classmethod
    def _label_map(cls, value: str | None) -> str | None:
        parse_label_map(value)  # refused here, with the option's name, not when the run configuration is built
        return value


class BaseRequest(ModelOverrides):
    """A profile, a workspace and overrides: the part of every request that resolves to a ``RunConfig``."""

    profile: str = "smoke"
    db: str = "eat.duckdb"

    def run_fields(self) -> dict[str, Any]:
        """This request's values for :data:`RUN_FIELDS` (a subclass maps fields named otherwise, e.g. ``lang``)."""
        return {name: getattr(self, name) for name in RUN_FIELDS if name in type(self).model_fields}

    def to_run_config(self, **changes: Any) -> RunConfig:
        """The profile (with its method preset) overridden by this request; ``changes`` replace request fields
        (``None`` there keeps the profile's value), e.g. ``to_run_config(languages=("en",), method="direct")``."""
        fields = self.run_fields() | changes
        overrides = {path: fields.get(name) for name, path in RUN_FIELDS.items()}
        overrides["data.languages"] = tuple(fields["languages"]) if fields.get("languages") else None
        overrides["data.source"] = "local" if fields.get("data_dir") else None
        return profile_for_method(self.profile, fields.get("method")).with_overrides(**overrides)


class ExecutionOptions(_Coercible):
    """Where shards run, not what they compute (so not part of the run id: a run may move between machines).

    Neither address nor workers: in the flow process; ``dask_workers`` N: a local Dask cluster of N worker
    processes; ``dask_address``: an existing ``dask scheduler``. ``concurrency_tag``: a Prefect tag on shard tasks
    for a concurrency limit across flow runs (``prefect concurrency-limit create llm 1`` keeps one shard at a time on
    a GPU shared by several runs); off by default: each tagged task asks the API for a slot, about 0.2 s a shard on a
    busy 2-core machine, and one run already runs local-model shards in order."""

    dask_address: str | None = None
    dask_workers: int | None = Field(None, ge=1)
    dask_threads_per_worker: int = Field(1, ge=1)
    dask_gpus_per_shard: int = Field(0, ge=0)  # Dask worker resources: shards go to workers started with GPU=n
    concurrency_tag: str | None = None

    @property
    def uses_dask(self) -> bool:
        return bool(self.dask_address or self.dask_workers)

    def check(self) -> None:
        if self.dask_address and self.dask_workers:
            raise ConfigError("--dask-address: give either an existing scheduler or --dask-workers for a local "
                              "cluster")
        if self.dask_address and not re.match(r"^(tcp|tls|ws|wss|inproc)://[^\s/]+$|^[^\s/:]+:\d+$",
                                              self.dask_address):
            raise ConfigError(f"--dask-address: {self.dask_address!r} is not a scheduler address like "
                              "tcp://10.0.0.5:8786")


class EvalRequest(BaseRequest):
    """What ``eat run`` and the ``full_eval`` flow take: a profile plus overrides. The CLI and a deployment's
    parameters are validated by the same model (execution options in a deployment's ``request`` are split off into
    :class:`ExecutionOptions` by ``coerce_request``)."""

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

    @classmethod
    def normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("languages") is not None:
            data["languages"] = parse_languages(data["languages"])
        return data

    def check(self) -> None:
        if self.run_id is not None:
            check_safe_name("--run-id", self.run_id)

    def resolve(self) -> RunConfig:
        """:meth:`to_run_config` (the name scripts and benchmarks use)."""
        return self.to_run_config()


def split_execution(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(request fields, execution fields)`` of one parameter mapping: deployments written before
    :class:`ExecutionOptions` existed pass ``concurrency_tag`` and the Dask options inside ``request``."""
    request = {k: v for k, v in data.items() if k not in ExecutionOptions.model_fields}
    return request, {k: v for k, v in data.items() if k in ExecutionOptions.model_fields}
