"""Check a run request before any model loads or any shard runs: every user error is one line naming the option.

``eat run`` (both paths) and the ``full_eval`` flow call :func:`validate_request`; ``evaluate`` and ``eat resume``
call :func:`validate_config`. Each raises :class:`ConfigError` or :class:`DataError` (both not retryable) with a
line of the form ``--option: what is wrong; allowed: ...``. Checked: option values (ranges, choices), the profile,
backend and extractor names against their registries, model and adapter paths (hub ids against the local cache
when ``HF_HUB_OFFLINE`` is set: no network is used here), the prompts directory, the data files (parsed, with input
limits) and names that become file names (run ids).

Contract, by example::

    validate_request({"profile": "smoke", "rounds": 2})
    -> ConfigError("--rounds: input should be 1, 3 or 5 (got 2)")
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from eat_core.config.requests import (
    RUN_FIELDS,
    SAFE_NAME,
    BaseRequest,
    EvalRequest,
    ExecutionOptions,
    check_safe_name,
    split_execution,
)
from eat_core.config.run import PROFILES, RunConfig
from eat_core.errors import ConfigError, EatError
from eat_core.languages import parse_languages
from eat_core.registry import check_choice

R = TypeVar("R", bound=BaseModel)

__all__ = ["OPTIONS", "SAFE_NAME", "check_name", "check_safe_name", "check_writable_dir", "coerce", "coerce_request",
           "existing_parent", "named_as_typed", "option_name", "parameter_line", "parse_languages", "pydantic_line",
           "resolve_request"]

OPTIONS: dict[str, str] = {"data_dir": "--data", "engine.prompts_dir": "engine.prompts_dir"}
"""Request fields (and ``RunConfig`` fields) whose option is not ``--field-name`` (``--data``, not ``--data-dir``)."""



def option_name(field: str, model: type[BaseModel] | None = None) -> str:
    """The option that sets ``field`` (a request field, or a ``RunConfig`` dotted field via :data:`RUN_FIELDS`)."""
    own = getattr(model, "option_names", {})
    if field in own:
        return own[field]
    if field in OPTIONS:
        return OPTIONS[field]
    if "." in field or field in RunConfig.model_fields:
        field = next((name for name, path in RUN_FIELDS.items() if path == field), field)
        if "." in field:
            return field
    return "--" + field.replace("_", "-")



FLAG_FIELDS: dict[str, str] = {"--strict-tags": "repair_tags: false"}
"""Flags that set a field under another name (``--strict-tags`` is ``repair_tags: false``)."""

_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|[A-Z][A-Z_]*)(?![\w-])")


def parameter_line(message: str, *models: type[BaseModel]) -> str:
    """``message`` with each option of ``models`` named by its parameter key instead of its flag, as a deployment's
    user typed it: ``--extractor-model: no such model directory`` -> ``extractor_model: no such model directory``
    (``--data`` -> ``data_dir``, ``INPUT`` -> ``input``). Anything else in the line is left as it is."""
    keys = dict(FLAG_FIELDS)
    for model in models:
        keys.update({option_name(field, model): field for field in model.model_fields})
    return _OPTION.sub(lambda m: keys.get(m.group(0), m.group(0)), message)



@contextlib.contextmanager
def named_as_typed(request: object, *models: type[BaseModel]) -> Iterator[None]:
    """Errors raised inside name what the user typed: a request given as a mapping came from a flow's parameters
    (a deployment run, Prefect's form), so its errors name the JSON keys (:func:`parameter_line`); one built by
    ``eat`` (a request object) keeps the flags it was typed with."""
    try:
        yield
    except EatError as exc:
        if isinstance(request, Mapping) and exc.args and isinstance(exc.args[0], str):
            exc.args = (parameter_line(exc.args[0], *models), *exc.args[1:])
        raise



def check_name(option: str, kind: str, name: str, choices: Sequence[str]) -> str:
    """``name`` must be one of ``choices``: :func:`eat_core.registry.check_choice` (kept for old callers)."""
    return check_choice(option, kind, name, choices)



def pydantic_line(exc: ValidationError, prefix: str = "", model: type[BaseModel] = EvalRequest,
                  allowed: Sequence[str] | None = None) -> str:
    """The first error of a pydantic ``ValidationError`` on ``model`` as ``--option: message (got value)``;
    an unknown field lists the ``allowed`` ones (default: the model's fields), a missing one says ``required``."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int))
    message = err.get("msg", "invalid value")
    message = message.removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if err.get("type") == "extra_forbidden":
        return f"unknown parameter {prefix + field!r}; allowed: {', '.join(allowed or model.model_fields)}"
    if err.get("type") == "missing":
        return f"{option_name(prefix + field, model)}: required"
    shown = err.get("input")
    got = "" if isinstance(shown, (dict, type(None))) else f" (got {shown!r})"
    return f"{option_name(prefix + field, model) if field else 'request'}: {message}{got}"



def _parameters(request: BaseModel | Mapping | None) -> dict[str, Any]:
    if request is None:
        return {}
    if isinstance(request, BaseModel):
        return request.model_dump()
    if not isinstance(request, Mapping):
        raise ConfigError(f"request: expected a mapping of parameters, got {type(request).__name__}")
    return dict(request)



def coerce(model: type[R], request: R | Mapping | None, allowed: Sequence[str] | None = None) -> R:
    """The one coercer: a request of type ``model`` from itself, from CLI options or from deployment parameters,
    normalised (``model.normalise``), validated and cross-checked (``check``); every error one line naming the
    option. ``coerce(TagRequest, {"input": "a.txt", "lang": "ZH", "out": "o.jsonl"}).lang == "zh"``."""
    data = model.normalise(_parameters(request))
    try:
        req = model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(pydantic_line(exc, model=model, allowed=allowed)) from None
    req.check()
    return req



def coerce_request(request: EvalRequest | Mapping | None,
                   execution: ExecutionOptions | Mapping | None = None) -> tuple[EvalRequest, ExecutionOptions]:
    """``(EvalRequest, ExecutionOptions)`` from ``eat run``'s options or the ``full_eval`` flow's parameters.
    Execution options inside ``request`` (deployments pass ``concurrency_tag`` and the Dask options there) are
    split off; ``execution``'s own values win over them."""
    fields, moved = split_execution(_parameters(request))
    allowed = [*EvalRequest.model_fields, *ExecutionOptions.model_fields]
    return (coerce(EvalRequest, fields, allowed),
            coerce(ExecutionOptions, {**moved, **_parameters(execution)}))



def resolve_request(request: BaseRequest, **changes: Any) -> RunConfig:
    """``request.to_run_config(**changes)`` after the profile's name is checked; a bad value is one line."""
    check_choice("--profile", "profile", request.profile, PROFILES)
    try:
        return request.to_run_config(**changes)
    except ValidationError as exc:
        raise ConfigError(pydantic_line(exc)) from None



def existing_parent(path: Path, option: str, what: str) -> Path:
    """The directory ``path`` goes into must already exist (nothing is created under ``/`` by a typo) and be a
    directory (``notes.txt/x.duckdb`` names a file as one)."""
    parent = path.parent
    if not parent.exists():
        above = next((p for p in parent.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise ConfigError(f"{option}: {above} is a file, not a directory ({what} {path})")
        raise ConfigError(f"{option}: directory {parent} does not exist; create it first")
    if not parent.is_dir():
        raise ConfigError(f"{option}: {parent} is a file, not a directory ({what} {path})")
    return parent



def check_writable_dir(directory: Path, option: str, what: str) -> None:
    """A probe file created and removed in ``directory``: the one check that root, read-only mounts and ACLs all
    answer truthfully (``os.access`` says yes to root in a mode-555 directory that root can indeed write, and
    yes on a read-only mount that nobody can)."""
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=".eat-probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"{option}: cannot write in {directory} ({exc.strerror or exc}), where {what} must go; "
                          "choose a writable location") from None

