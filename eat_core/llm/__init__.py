"""LLM backends behind one interface, chosen by name (lazy imports: heavy libraries load only when chosen)."""

from __future__ import annotations

import difflib
import importlib

from eat_core.errors import ConfigError
from eat_core.llm.base import Chat, Completion, Decoding, LLMBackend

BACKENDS: dict[str, str] = {
    "transformers": "eat_core.llm.transformers_backend:TransformersBackend",
    "openai": "eat_core.llm.openai_backend:OpenAIBackend",
}


def load_backend(config) -> LLMBackend:
    """Build the backend named by ``config.backend`` (an ``LLMConfig``)."""
    name = config.backend
    if name not in BACKENDS:
        close = difflib.get_close_matches(name, BACKENDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown LLM backend {name!r}; available: {', '.join(BACKENDS)}{hint}")
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls).from_config(config)


__all__ = ["BACKENDS", "Chat", "Completion", "Decoding", "LLMBackend", "load_backend"]
