"""LLM backends behind one interface, chosen by name (lazy imports: heavy libraries load only when chosen)."""

from __future__ import annotations

from eat_core.llm.base import Chat, Completion, Decoding, LLMBackend
from eat_core.registry import LazyRegistry

BACKENDS = LazyRegistry("LLM backend", {
    "transformers": "eat_core.llm.transformers_backend:TransformersBackend",
    "openai": "eat_core.llm.openai_backend:OpenAIBackend",
})


def load_backend(config) -> LLMBackend:
    """Build the backend named by ``config.backend`` (an ``LLMConfig``)."""
    return BACKENDS.get(config.backend).from_config(config)


__all__ = ["BACKENDS", "Chat", "Completion", "Decoding", "LLMBackend", "load_backend"]
