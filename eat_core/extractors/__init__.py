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
    "spacy": "eat_core.extractors.spacy_ner:SpacyExtractor",
})


def load_extractor(config):
    """Build the extractor named by ``config.name`` (an ``ExtractorConfig``)."""
    return EXTRACTORS.get(config.name).from_config(config)


def check_extractor_model(option: str, config) -> None:
    """Before any model loads: an extractor with its own notion of a model (a spaCy pipeline name) checks it
    itself; the others name a Hugging Face checkpoint."""
    check = getattr(EXTRACTORS.get(config.name), "check_model", None)
    if check is not None:
        check(option, config.model)
        return
    from eat_core.weights.resolve import check_model  # lazy: only the checkpoint extractors need it

    check_model(option, config.model)


def extractor_fingerprint(config) -> tuple[str | None, str]:
    """(local path or None, content fingerprint) of the extractor's model, for run ids and cache keys: a spaCy
    pipeline by its meta name and version (a directory by content), a checkpoint by its weights or hub commit."""
    fingerprint = getattr(EXTRACTORS.get(config.name), "fingerprint", None)
    if fingerprint is not None:
        return fingerprint(config.model)
    from eat_core.weights.fingerprint import model_fingerprint  # lazy: only the checkpoint extractors need it

    return model_fingerprint(config.model)
