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

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from eat_core.config import EvalRequest, RunConfig
from eat_core.errors import ConfigError
from eat_core.languages import LANGUAGE_NAMES

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
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def option_name(field: str) -> str:
    return OPTIONS.get(field, "--" + field.replace("_", "-") if "." not in field else field)


def _hint(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_name(option: str, kind: str, name: str, choices: Sequence[str]) -> str:
    """``name`` must be one of ``choices`` (a registry's keys): else one line with the choices and a close match."""
    if name not in choices:
        raise ConfigError(f"{option}: unknown {kind} {name!r}; available: {', '.join(choices)}{_hint(name, choices)}")
    return name


def check_safe_name(option: str, value: str) -> str:
    """A name used in file names: refuse separators, ``..`` and anything outside ``[A-Za-z0-9._-]``."""
    if not SAFE_NAME.match(value) or ".." in value:
        raise ConfigError(f"{option}: {value!r} is not allowed; use 1 to 128 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit (it becomes a file name)")
    return value


def safe_file_stem(name: str) -> str:
    """Map any stored name (runs made before names were checked) onto a safe file stem."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".").replace("..", "_")
    return stem[:128] or "run"


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
        known = sorted(LANGUAGE_NAMES)
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{option}: unknown language code(s) {', '.join(map(repr, unknown))}{hint}; "
                          f"known: {', '.join(known)}")
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
    from eat_core.config import PROFILES

    check_name("--profile", "profile", request.profile, list(PROFILES))
    try:
        return request.resolve()
    except ValidationError as exc:
        raise ConfigError(pydantic_line(exc)) from None


def validate_request(request: EvalRequest | Mapping | None) -> RunConfig:
    """Everything about a run request that can be checked before a model loads; returns its ``RunConfig``."""
    req = coerce_request(request)
    check_db(req.db)
    cfg = resolve_request(req)
    validate_config(cfg)
    return cfg


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


DUCKDB_MAGIC = b"DUCK"
"""Bytes 8 to 11 of every DuckDB database file."""


def check_db(db: str | Path, option: str = "--db") -> Path:
    """The workspace file can be written before anything starts (a Prefect server, a model): an existing DuckDB
    file we may write, or a new one in an existing, writable directory; DuckDB also writes ``DB.wal`` beside it."""
    path = Path(db).expanduser()
    if path.is_dir():
        raise ConfigError(f"{option}: {path} is a directory; give a DuckDB file path")
    parent = existing_parent(path, option, "for the DuckDB file")
    from eat_core.store.base import opened_here

    if path.exists() and not opened_here(path):  # a file this process has open is known good, and must stay shut
        try:
            with path.open("r+b") as handle:
                head = handle.read(12)
        except OSError as exc:
            raise ConfigError(f"{option}: cannot open {path} for writing ({exc.strerror or exc})") from None
        if head[8:12] != DUCKDB_MAGIC:
            kind = "an empty file" if not head else "another kind of file"
            raise ConfigError(f"{option}: {path} is not a DuckDB file ({kind}); give a new path or a workspace "
                              "written by eat")
    check_writable_dir(parent, option, f"the DuckDB file {path.name} and its write-ahead log {path.name}.wal")
    return path


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~", ".\\")) or "\\" in model or model.count("/") > 1


def check_model(option: str, model: str, *, marker: str = "config.json", revision: str | None = None) -> None:
    """A model must be a ``tiny:`` name, an existing local directory, or a hub id (cached, when offline)."""
    if model.startswith("tiny:"):
        from eat_core.config import TINY_BUILDERS

        check_name(option, "tiny model", model, [f"tiny:{k}" for k in TINY_BUILDERS])
        return
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"{option}: {model} is a file; give a model directory or a hub id")
        return
    if _looks_like_path(model) or not _HUB_ID.match(model):
        raise ConfigError(f"{option}: no such model directory {model!r} (and not a hub id like 'org/name')")
    if _offline():
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(model, marker, revision=revision)
        if not isinstance(found, str):
            raise ConfigError(f"{option}: {model!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is "
                              "set; download it first or give a local directory")


def validate_config(cfg: RunConfig) -> None:
    """Registry names, model paths, prompts and data of a resolved configuration (data parsed with its limits)."""
    from eat_core.extractors import EXTRACTORS
    from eat_core.methods import METHODS, method_class

    check_name("--method", "method", cfg.method.name, list(METHODS))
    method = method_class(cfg.method.name)
    if cfg.method.name == "eat-ft" and not cfg.llm.adapter:
        raise ConfigError("--adapter: method 'eat-ft' needs a LoRA adapter directory (from `eat finetune`)")
    if cfg.method.name == "model-transfer":
        if cfg.extractor.name != "token-classification":
            raise ConfigError("--extractor: method 'model-transfer' tags target tokens with a token classifier; "
                              "use --extractor token-classification --extractor-model DIR (from `eat "
                              "train-extractor --kind token-classification`; the smoke profile uses tiny:bert-tc)")
        check_model("--extractor-model", cfg.extractor.model)
    if method.needs_llm:
        _validate_llm(cfg)
    if cfg.method.name == "direct" and cfg.method.demonstrations > 0:
        from eat_core.methods.direct import english_examples

        english_examples(cfg, cfg.method.demonstrations)  # the demonstrations file exists, parses, has entities
    if method.needs_extractor:
        check_name("--extractor", "extractor", cfg.extractor.name, list(EXTRACTORS))
        if cfg.extractor.name != "heuristic":
            check_model("--extractor-model", cfg.extractor.model)
    _validate_prompts_and_data(cfg)


def _validate_llm(cfg: RunConfig) -> None:
    from eat_core.llm import BACKENDS

    check_name("--llm-backend", "LLM backend", cfg.llm.backend, list(BACKENDS))
    if cfg.llm.backend == "openai":
        url = cfg.llm.base_url or ""
        entries = [entry.strip() for entry in url.split(",")]
        bad = next((entry for entry in entries if not re.match(r"^https?://[^/\s,]+\S*$", entry)), None)
        if bad is not None:
            got = f"bad entry {bad!r} in {url!r}" if len(entries) > 1 else f"got {url or 'nothing'!r}"
            raise ConfigError("--base-url: the openai backend needs an http(s) URL such as http://127.0.0.1:8000/v1, "
                              f"or several separated by commas ({got})")
    else:
        if cfg.llm.base_url:
            raise ConfigError(f"--base-url: only used with --llm-backend openai (backend is {cfg.llm.backend!r})")
        check_model("--llm", cfg.llm.model, revision=cfg.llm.revision)
        if cfg.llm.adapter and not (Path(cfg.llm.adapter).expanduser() / "adapter_config.json").is_file():
            raise ConfigError(f"--adapter: {cfg.llm.adapter!r} is not a PEFT adapter directory (no "
                              "adapter_config.json); `eat finetune` writes one to OUTPUT/adapter")


def _validate_prompts_and_data(cfg: RunConfig) -> None:
    if cfg.engine.prompts_dir and not Path(cfg.engine.prompts_dir).is_dir():
        raise ConfigError(f"engine.prompts_dir: no such directory {cfg.engine.prompts_dir!r}")
    from eat_core.prompts import PromptSet

    PromptSet.load(cfg.engine.prompts_dir)  # placeholders and template names, bundled or overridden
    if cfg.data.source == "local" and (not cfg.data.data_dir or not Path(cfg.data.data_dir).is_dir()):
        raise ConfigError(f"--data: no such directory {cfg.data.data_dir!r}")
    from eat_core.evaluate import load_language

    for lang in cfg.data.languages:
        load_language(cfg, lang)  # parses and checks limits; memoised, so planning reuses it
