"""``eat`` (and ``eat-ft``, the same with a LoRA adapter): entity-aligned translation, EAT §3 (the default)."""

from __future__ import annotations

from collections.abc import Sequence

from eat_core.engine.translate import DualTranslator
from eat_core.errors import ConfigError
from eat_core.types import Prediction, Sentence


class EatMethod:
    needs_llm = True
    needs_extractor = True

    def __init__(self, engine: DualTranslator) -> None:
        self.engine = engine

    @classmethod
    def from_config(cls, cfg, llm, extractor) -> EatMethod:
        if cfg.method.name == "eat-ft" and not cfg.llm.adapter:
            raise ConfigError("method 'eat-ft' needs a LoRA adapter (--adapter DIR, from `eat finetune`)")
        return cls(translator_for(cfg, llm, extractor))

    def run(self, sentences: Sequence[Sentence]) -> list[Prediction]:
        return self.engine.run(sentences)


def translator_for(cfg, llm, extractor) -> DualTranslator:
    """The shared translator (prompts, decoding, aligner) every LLM method is built on."""
    return DualTranslator(llm, extractor, cfg.engine, temperature=cfg.llm.temperature, seed=cfg.llm.seed)
