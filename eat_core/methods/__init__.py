"""Methods of cross-lingual NER behind one interface, chosen by name: ``eat`` and its competitors.

A method turns a shard of target-language sentences into predictions (tags, transcripts, failure reasons):

    method = load_method(cfg, llm, extractor)      # cfg.method.name picks the module
    predictions = method.run(sentences)            # one Prediction per sentence, in order

``needs_llm`` / ``needs_extractor`` tell the caller what to load, so ``model-transfer`` never loads an LLM. Adding a
method means adding one module here and one line to ``METHODS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from eat_core.registry import LazyRegistry
from eat_core.types import Prediction, Sentence

METHODS = LazyRegistry("method", {
    "eat": "eat_core.methods.eat:EatMethod",
    "eat-ft": "eat_core.methods.eat:EatMethod",
    "direct": "eat_core.methods.direct:DirectMethod",
    "crop": "eat_core.methods.crop:CropMethod",
    "fusion": "eat_core.methods.fusion:FusionMethod",
    "model-transfer": "eat_core.methods.model_transfer:ModelTransferMethod",
})
"""Name -> ``module:Class``; imported only when chosen."""


class Method(Protocol):
    needs_llm: bool
    needs_extractor: bool

    def run(self, sentences: Sequence[Sentence]) -> list[Prediction]: ...  # pragma: no cover


def method_class(name: str):
    return METHODS.get(name)


def load_method(cfg, llm=None, extractor=None) -> Method:
    """The method ``cfg.method.name`` (a ``RunConfig``) over an LLM and an English extractor (when it needs them)."""
    return method_class(cfg.method.name).from_config(cfg, llm, extractor)
