"""Methods of cross-lingual NER behind one interface, chosen by name: ``eat`` and its competitors.

A method turns a shard of target-language sentences into predictions (tags, transcripts, failure reasons):

    method = load_method(cfg, llm, extractor)      # cfg.method.name picks the module
    predictions = method.run(sentences)            # one Prediction per sentence, in order

``needs_llm`` / ``needs_extractor`` tell the caller what to load, so ``model-transfer`` never loads an LLM. Adding a
method means adding one module here and one line to ``METHODS``.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Sequence
from typing import Protocol

from eat_core.errors import ConfigError
from eat_core.types import Prediction, Sentence

METHODS: dict[str, str] = {
    "eat": "eat_core.methods.eat:EatMethod",
    "eat-ft": "eat_core.methods.eat:EatMethod",
    "direct": "eat_core.methods.direct:DirectMethod",
    "crop": "eat_core.methods.crop:CropMethod",
    "fusion": "eat_core.methods.fusion:FusionMethod",
    "model-transfer": "eat_core.methods.model_transfer:ModelTransferMethod",
}
"""Name -> ``module:Class``; imported only when chosen."""


class Method(Protocol):
    needs_llm: bool
    needs_extractor: bool

    def run(self, sentences: Sequence[Sentence]) -> list[Prediction]: ...  # pragma: no cover


def method_class(name: str):
    if name not in METHODS:
        close = difflib.get_close_matches(name, METHODS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown method {name!r}; available: {', '.join(METHODS)}{hint}")
    module, cls = METHODS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def load_method(cfg, llm=None, extractor=None) -> Method:
    """The method ``cfg.method.name`` (a ``RunConfig``) over an LLM and an English extractor (when it needs them)."""
    return method_class(cfg.method.name).from_config(cfg, llm, extractor)
