"""English NER extractors behind one interface, chosen by name (heavy libraries import only when chosen).

Contract: ``extract(["Obama visited Paris ."]) -> [[EnglishEntity("Obama", "PER", 0, 5),
EnglishEntity("Paris", "LOC", 14, 19)]]``: one list per sentence, character offsets into that sentence.
"""

from __future__ import annotations

import difflib
import importlib

from eat_core.errors import ConfigError

EXTRACTORS: dict[str, str] = {
    "t5": "eat_core.extractors.t5:T5Extractor",
    "token-classification": "eat_core.extractors.token_classification:TokenClassificationExtractor",
    "heuristic": "eat_core.extractors.heuristic:CapitalisedSpanExtractor",
}


def load_extractor(config):
    """Build the extractor named by ``config.name`` (an ``ExtractorConfig``)."""
    if config.name not in EXTRACTORS:
        close = difflib.get_close_matches(config.name, EXTRACTORS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown extractor {config.name!r}; available: {', '.join(EXTRACTORS)}{hint}")
    module, cls = EXTRACTORS[config.name].split(":")
    return getattr(importlib.import_module(module), cls).from_config(config)
