"""``model-transfer``: a multilingual token classifier trained on English, applied to the target tokens directly.

EAT Table 4's model-transfer rows (mBERT, XLM-R): no LLM, no translation. The checkpoint is the extractor's
(``eat train-extractor --kind token-classification --base-model bert-base-multilingual-cased``); labels are mapped
onto PER/ORG/LOC and an ``I-`` that continues nothing opens an entity (conlleval's reading).
"""

from __future__ import annotations

from collections.abc import Sequence

from eat_core.engine.translate import TaggedShard, prediction_from
from eat_core.extractors.token_classification import LABEL_MAP, TokenClassificationExtractor, map_label
from eat_core.types import Prediction, Sentence


class ModelTransferMethod:
    needs_llm = False
    needs_extractor = False  # it loads its own token classifier (the extractor's checkpoint) over target tokens

    def __init__(self, tagger: TokenClassificationExtractor) -> None:
        self.tagger = tagger

    @classmethod
    def from_config(cls, cfg, llm, extractor) -> ModelTransferMethod:
        return cls(TokenClassificationExtractor(cfg.extractor.model, batch_size=cfg.extractor.batch_size))

    def run(self, sentences: Sequence[Sentence]) -> list[Prediction]:
        if not sentences:
            return []
        shard = TaggedShard.untranslated(sentences)
        labels = self.tagger.word_labels([list(s.tokens) for s in sentences])
        out = []
        for i, (sentence, raw) in enumerate(zip(sentences, labels, strict=True)):
            prediction = prediction_from(sentence, shard, i, [])
            prediction.tags = iob2_from_labels(raw)
            out.append(prediction)
        return out


def iob2_from_labels(raw: Sequence[str]) -> tuple[str, ...]:
    """Word labels of any scheme (``B-PERSON``, ``I-LOC``, ``MISC``) -> valid IOB2 over PER/ORG/LOC."""
    tags, previous = [], None
    for label in raw:
        prefix, kind = map_label(label, LABEL_MAP)
        if kind is None:
            tags.append("O")
            previous = None
            continue
        tags.append(f"I-{kind}" if prefix == "I" and previous == kind else f"B-{kind}")
        previous = kind
    return tuple(tags)
