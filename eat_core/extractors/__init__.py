"""English NER extractors behind one interface, chosen by name (heavy libraries import only when chosen).

Contract: ``extract(["Obama visited Paris ."]) -> [[EnglishEntity("Obama", "PER", 0, 5),
EnglishEntity("Paris", "LOC", 14, 19)]]``: one list per sentence, character offsets into that sentence.
"""

from __future__ import annotations

from eat_core.registry import LazyRegistry

EXTRACTORS = LazyRegistry("extractor", {
    "t5": "eat_core.extractors.t5:T5Extractor",
    "token-classification": "eat_core.extractors.token_classification:TokenClassificationExtractor",
    "heuristic": "eat_core.extractors.heuristic:CapitalisedSpanExtractor",
})


def load_extractor(config):
    """Build the extractor named by ``config.name`` (an ``ExtractorConfig``)."""
    return EXTRACTORS.get(config.name).from_config(config)
