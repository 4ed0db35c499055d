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

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from eat_core.config.requests import EvalRequest
from eat_core.config.run import PROFILES, RunConfig
from eat_core.errors import ConfigError
from eat_core.languages import LANGUAGE_NAMES, unknown_languages
from eat_core.registry import check_choice

OPTIONS: dict[str, str] = {
    # EvalRequest field or RunConfig dotted field -> the `eat run` option that sets it
    "profile": "--profile", "db": "--db", "languages": "--languages", "data.languages": "--languages",
    "data_dir": "--data", "data.data_dir": "--data", "split": "--split", "data.split": "--split",
    "limit": "--limit", "data.limit": "--limit", "llm_backend": "--llm-backend", "llm.backend": "--llm-backend",
    "llm": "--llm", "llm.model": "--llm", "base_url": "--base-url", "llm.base_url": "--base-url",
    "adapter": "--adapter", "llm.adapter": "--adapter", "extractor": "--extractor", "extractor.name": "--extractor",
    "extractor_model": "--extractor-model", "extractor.model": "--extractor-model", "rounds": "--rounds",
    "engine.rounds": "--rounds", "shard_size": "--shard-size", "run_id": "--run-id", "data.overlong": "--overlong",
    "engine.prompts_dir": "engine.prompts_dir", "method": "--method", "method.name": "--method",
    "demonstrations": "--demonstrations", "method.demonstrations": "--demonstrations",
    "crop_matcher": "--crop-matcher", "method.crop_matcher": "--crop-matcher", "dask_workers": "--dask-workers",
    "dask_address": "--dask-address", "dask_gpus_per_shard": "--dask-gpus-per-shard",
}



SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""Names that become file names (run ids): letters, digits, ``.``, ``_``, ``-``; no separator, no leading dot."""



def option_name(field: str) -> str:
    return OPTIONS.get(field, "--" + field.replace("_", "-") if "." not in field else field)



def check_name(option: str, kind: str, name: str, choices: Sequence[str]) -> str:
    """``name`` must be one of ``choices``: :func:`eat_core.registry.check_choice` (kept for old callers)."""
    return check_choice(option, kind, name, choices)



def check_safe_name(option: str, value: str) -> str:
    """A name used in file names: refuse separators, ``..`` and anything outside ``[A-Za-z0-9._-]``."""
    if not SAFE_NAME.match(value) or ".." in value:
        raise ConfigError(f"{option}: {value!r} is not allowed; use 1 to 128 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit (it becomes a file name)")
    return value



def parse_languages(value: str | Sequence[str] | None, option: str = "--languages") -> tuple[str, ...] | None:
    """``" ZH, ja ,zh"`` -> ``("zh", "ja")``: case-insensitive, spaces around commas ignored, duplicates collapsed."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else [part for v in value for part in str(v).split(",")]
    codes = list(dict.fromkeys(item.strip().lower() for item in items if item.strip()))
    if not codes:
        raise ConfigError(f"{option}: no language given; known: {', '.join(sorted(LANGUAGE_NAMES))}")
    unknown = [c for c in codes if c not in LANGUAGE_NAMES]
    if unknown:
        raise ConfigError(unknown_languages(unknown, option))
    return tuple(codes)



def pydantic_line(exc: ValidationError, prefix: str = "") -> str:
    """The first error of a pydantic ``ValidationError`` as ``--option: message (got value)``."""
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int))
    message = err.get("msg", "invalid value")
    message = message.removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if err.get("type") == "extra_forbidden":
        return f"unknown parameter {prefix + field!r}; allowed: {', '.join(EvalRequest.model_fields)}"
    shown = err.get("input")
    got = "" if isinstance(shown, (dict, type(None))) else f" (got {shown!r})"
    return f"{option_name(prefix + field) if field else 'request'}: {message}{got}"



def coerce_request(request: EvalRequest | Mapping | None) -> EvalRequest:
    """An :class:`EvalRequest` from itself or from deployment parameters, languages normalised, one-line errors."""
    if request is None:
        return EvalRequest()
    data = request.model_dump() if isinstance(request, EvalRequest) else dict(request)
    if not isinstance(data, dict):
        raise ConfigError(f"request: expected a mapping of parameters, got {type(request).__name__}")
    if data.get("languages") is not None:
        data["languages"] = parse_languages(data["languages"])
    try:
        req = EvalRequest.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(pydantic_line(exc)) from None
    if req.run_id is not None:
        check_safe_name("--run-id", req.run_id)
    if req.dask_address and req.dask_workers:
        raise ConfigError("--dask-address: give either an existing scheduler or --dask-workers for a local cluster")
    if req.dask_address and not re.match(r"^(tcp|tls|ws|wss|inproc)://[^\s/]+$|^[^\s/:]+:\d+$", req.dask_address):
        raise ConfigError(f"--dask-address: {req.dask_address!r} is not a scheduler address like "
                          "tcp://10.0.0.5:8786")
    return req



def resolve_request(request: EvalRequest) -> RunConfig:

    check_choice("--profile", "profile", request.profile, PROFILES)
    try:
        return request.resolve()
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
    """Create and remove a probe file in ``directory``: the one check that root, read-only mounts and ACLs all
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

