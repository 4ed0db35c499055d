"""Where model weights come from: a local path, a hub id, or a tiny model built here from a config.

Checking that a model exists (``check_model``) and resolving the name the user gave to a directory live together
so that every entry point refuses a missing model with the same line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from eat_core.config.coerce import check_name
from eat_core.errors import ConfigError
from eat_core.weights import tiny as tiny_models


def resolve_model_path(model: str) -> str:
    """``tiny:qwen2``/``tiny:t5``/``tiny:bert-tc``/``tiny:xlmr`` build a local tiny model; anything else is returned
    unchanged."""
    if not model.startswith("tiny:"):
        return model

    kind = model.split(":", 1)[1]
    if kind not in TINY_BUILDERS:
        raise ConfigError(f"unknown tiny model {model!r}; available: {', '.join('tiny:' + k for k in TINY_BUILDERS)}")
    return str(getattr(tiny_models, TINY_BUILDERS[kind])())



TINY_BUILDERS: dict[str, str] = {"qwen2": "build_tiny_qwen2", "t5": "build_tiny_t5",
                                 "bert-tc": "build_tiny_token_classifier", "xlmr": "build_tiny_xlmr"}
"""``tiny:<name>`` -> the builder in ``eat_core.weights.tiny`` (a registry the validator checks names against)."""



_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")



def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")



def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~", ".\\")) or "\\" in model or model.count("/") > 1



def check_model(option: str, model: str, *, marker: str = "config.json", revision: str | None = None) -> None:
    """A model must be a ``tiny:`` name, an existing local directory, or a hub id (cached, when offline)."""
    if model.startswith("tiny:"):

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

