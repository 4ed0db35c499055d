"""What a user asks for (``eat run``, ``eat tag``, ``eat silver``/``distill`` options, a deployment's parameters).

One family: :class:`BaseRequest` holds the profile, the workspace and the model overrides every command shares, and
turns a request into a ``RunConfig`` with the one mapping :data:`RUN_FIELDS` (:meth:`BaseRequest.to_run_config`).
``EvalRequest``, ``TagRequest`` (``eat_core/tagging/request.py``) and ``DistillRequest``
(``eat_core/distill/request.py``) add only their own fields. Where shards run (Dask, a Prefect concurrency tag) is
not part of what is computed: :class:`ExecutionOptions` travels beside the request.
``eat_core.config.coerce.coerce`` builds any of them from a mapping with one-line errors.

Every field carries a description (``eat_core/config/fields.py``, which ``eat run --help`` reads too), and a name
chosen from a registry carries its choices as ``enum`` in the JSON schema: Prefect's run form shows the descriptions
and offers the choices as a drop-down, and a deployment's server refuses a name outside them before a run starts.
The field stays a ``str`` validated by its registry (one line with a did-you-mean; a test may register its own
backend), so the choices are for the form, the check is the registry's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from eat_core.config.fields import (
    EXECUTION,
    EXTRACTOR_NAMES,
    LLM_BACKEND_NAMES,
    METHOD_NAMES,
    PROFILE_NAMES,
    SHARED,
)
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


def one_of(names: tuple[str, ...]) -> Any:
    """A name from ``names``, offered as a drop-down by Prefect's form (``enum`` in the JSON schema); validated by
    its registry, not here (see the module docstring)."""
    return Annotated[str, Field(json_schema_extra={"enum": list(names)})]


ProfileName = one_of(PROFILE_NAMES)
MethodName = one_of(METHOD_NAMES)
LlmBackendName = one_of(LLM_BACKEND_NAMES)
ExtractorName = one_of(EXTRACTOR_NAMES)


def described(descriptions: dict[str, str], name: str, default: Any = None, **constraints: Any) -> Any:
    """``Field(default, description=descriptions[name], **constraints)``: one source for the run form's help and
    the CLI's (``eat_core/config/fields.py``)."""
    return Field(default, description=descriptions[name], **constraints)


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

    llm_backend: LlmBackendName | None = described(SHARED, "llm_backend")
    llm: str | None = described(SHARED, "llm")
    base_url: str | None = described(SHARED, "base_url")
    extractor: ExtractorName | None = described(SHARED, "extractor")
    extractor_model: str | None = described(SHARED, "extractor_model")
    extractor_label_map: str | None = described(SHARED, "extractor_label_map")
    rounds: Literal[1, 3, 5] | None = described(SHARED, "rounds")
    shard_size: int | None = described(SHARED, "shard_size", ge=1)
    crop_matcher: Literal["crop", "eat"] | None = described(SHARED, "crop_matcher")

    @field_validator("extractor_label_map")
    @classmethod
    def _label_map(cls, value: str | None) -> str | None:
        parse_label_map(value)  # refused here, with the option's name, not when the run configuration is built
        return value


class BaseRequest(ModelOverrides):
    """A profile, a workspace and overrides: the part of every request that resolves to a ``RunConfig``."""

    profile: ProfileName = described(SHARED, "profile", "smoke")
    db: str = described(SHARED, "db", "eat.duckdb")

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

    dask_address: str | None = described(EXECUTION, "dask_address")
    dask_workers: int | None = described(EXECUTION, "dask_workers", ge=1)
    dask_threads_per_worker: int = described(EXECUTION, "dask_threads_per_worker", 1, ge=1)
    dask_gpus_per_shard: int = described(EXECUTION, "dask_gpus_per_shard", 0, ge=0)
    concurrency_tag: str | None = described(EXECUTION, "concurrency_tag")

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
    """What to evaluate: a profile plus overrides; a field left empty takes the profile's value. ``eat run`` and the
    ``full_eval`` flow (a deployment's parameters) are validated by the same model."""

    languages: tuple[str, ...] | None = described(SHARED, "languages")
    data_dir: str | None = described(SHARED, "data_dir")
    split: Literal["train", "dev", "test"] | None = described(SHARED, "split")
    limit: int | None = described(SHARED, "limit", ge=1)
    repair_tags: bool | None = described(SHARED, "repair_tags")  # None: the profile's (repair); False: strict
    adapter: str | None = described(SHARED, "adapter")
    run_id: str | None = described(SHARED, "run_id")
    overlong: Literal["error", "truncate"] | None = described(SHARED, "overlong")
    method: MethodName | None = described(SHARED, "method")
    demonstrations: int | None = described(SHARED, "demonstrations", ge=0)

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
    """``(request fields, execution fields)`` of one parameter mapping: parameter sets written before
    :class:`ExecutionOptions` existed pass ``concurrency_tag`` and the Dask options inside ``request`` (a direct flow
    call; a deployment's server refuses them there, the form having no such field: they go in ``execution``)."""
    request = {k: v for k, v in data.items() if k not in ExecutionOptions.model_fields}
    return request, {k: v for k, v in data.items() if k in ExecutionOptions.model_fields}
