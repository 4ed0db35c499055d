"""Checks of a run configuration against registries, weights, prompts and data, before any model loads.

``validate_request({"profile": "smoke", "rounds": 2})`` -> ``ConfigError("--rounds: ...")``: every entry point
calls ``validate_request`` (or ``validate_config``) first, so bad input is one line and exit 2.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eat_core.config.coerce import coerce_request, resolve_request
from eat_core.config.requests import BaseRequest, EvalRequest
from eat_core.config.run import RunConfig
from eat_core.errors import ConfigError
from eat_core.evaluation.data import load_language
from eat_core.extractors import EXTRACTORS, check_extractor_model
from eat_core.llm import BACKENDS
from eat_core.llm.endpoints import parse_base_urls
from eat_core.llm.served import check_served, parse_served_adapter
from eat_core.methods import METHODS, method_class
from eat_core.methods.direct import english_examples
from eat_core.prompts import PromptSet
from eat_core.store.location import check_db
from eat_core.weights.resolve import check_model


def validate_request(request: BaseRequest | Mapping | None, **changes: Any) -> RunConfig:
    """Everything about a run request that can be checked before a model loads; returns its ``RunConfig``.

    An ``EvalRequest`` or a mapping is coerced first; another request (``DistillRequest``), already coerced, is
    resolved with ``changes`` (``BaseRequest.to_run_config``): distillation's teacher is such a run."""
    req = request if isinstance(request, BaseRequest) and not isinstance(request, EvalRequest) \
        else coerce_request(request)[0]
    check_db(req.db)
    cfg = resolve_request(req, **changes)
    validate_config(cfg)
    return cfg



def validate_config(cfg: RunConfig, *, data: bool = True) -> None:
    """Registry names, model paths and prompts of a resolved configuration, and (``data``) its data parsed with its
    limits. ``eat tag`` checks its models here too (``data=False``: its corpus is checked as it is scanned), so both
    commands refuse the same options with the same line."""
    METHODS.check("--method", cfg.method.name)
    method = method_class(cfg.method.name)
    if cfg.method.name == "eat-ft" and not cfg.llm.adapter:
        raise ConfigError("--adapter: method 'eat-ft' needs a LoRA adapter (--adapter DIR, from `eat finetune`)")
    EXTRACTORS.check("--extractor", cfg.extractor.name)  # a typo is refused, used or not
    if cfg.extractor.label_map and cfg.extractor.name != "spacy":
        raise ConfigError(f"--extractor-label-map: only used with --extractor spacy (extractor is "
                          f"{cfg.extractor.name!r})")
    if cfg.method.name == "model-transfer" and cfg.extractor.name != "token-classification":
        raise ConfigError("--extractor: method 'model-transfer' tags target tokens with a token classifier; "
                          "use --extractor token-classification --extractor-model DIR (from `eat "
                          "train-extractor --kind token-classification`; the smoke profile uses tiny:bert-tc)")
    if method.needs_llm:
        _validate_llm(cfg)
    if cfg.method.name == "direct" and cfg.method.demonstrations > 0:
        english_examples(cfg, cfg.method.demonstrations)  # the demonstrations file exists, parses, has entities
    if (method.needs_extractor or cfg.method.name == "model-transfer") and cfg.extractor.name != "heuristic":
        check_extractor_model("--extractor-model", cfg.extractor)
    _validate_prompts(cfg)
    if data:
        _validate_data(cfg)


def _validate_llm(cfg: RunConfig) -> None:
    BACKENDS.check("--llm-backend", cfg.llm.backend)
    if cfg.llm.backend == "openai":
        url = cfg.llm.base_url or ""
        entries = [entry.strip() for entry in url.split(",")]
        bad = next((entry for entry in entries if not re.match(r"^https?://[^/\s,]+\S*$", entry)), None)
        if bad is not None:
            got = f"bad entry {bad!r} in {url!r}" if len(entries) > 1 else f"got {url or 'nothing'!r}"
            raise ConfigError("--base-url: the openai backend needs an http(s) URL such as http://127.0.0.1:8000/v1, "
                              f"or several separated by commas ({got})")
        _check_served_model(cfg)
    else:
        if cfg.llm.base_url:
            raise ConfigError(f"--base-url: only used with --llm-backend openai (backend is {cfg.llm.backend!r})")
        check_model("--llm", cfg.llm.model, revision=cfg.llm.revision)
        if cfg.llm.adapter and not (Path(cfg.llm.adapter).expanduser() / "adapter_config.json").is_file():
            raise ConfigError(f"--adapter: {cfg.llm.adapter!r} is not a PEFT adapter directory (no "
                              "adapter_config.json); `eat finetune` writes one to OUTPUT/adapter")



def _check_served_model(cfg: RunConfig) -> None:
    """The adapter files ``--adapter NAME=PATH`` names exist, and every server that answers ``GET /models`` serves
    the name requests will ask for (the adapter's, else ``--llm``). Checked once per process per answer."""
    if cfg.llm.adapter:
        name, path = parse_served_adapter(cfg.llm.adapter)
        if path is not None and not Path(path).expanduser().exists():
            raise ConfigError(f"--adapter: {path!r} (the files of served adapter {name!r}) does not exist")
        option = "--adapter"
    else:
        name, option = cfg.llm.model, "--llm"
    key = (cfg.llm.base_url, name)
    if key not in _SERVED_OK:
        check_served(parse_base_urls(cfg.llm.base_url), name, option=option)
        _SERVED_OK.add(key)


_SERVED_OK: set[tuple[str | None, str]] = set()


def _validate_prompts(cfg: RunConfig) -> None:
    if cfg.engine.prompts_dir and not Path(cfg.engine.prompts_dir).is_dir():
        raise ConfigError(f"engine.prompts_dir: no such directory {cfg.engine.prompts_dir!r}")

    PromptSet.load(cfg.engine.prompts_dir)  # placeholders and template names, bundled or overridden


def _validate_data(cfg: RunConfig) -> None:
    if cfg.data.source == "local" and (not cfg.data.data_dir or not Path(cfg.data.data_dir).is_dir()):
        raise ConfigError(f"--data: no such directory {cfg.data.data_dir!r}")

    for lang in cfg.data.languages:
        load_language(cfg, lang)  # parses and checks limits; memoised, so planning reuses it

