"""English NER with any Hugging Face token-classification checkpoint (the mBERT role of EAT Table 6).

Words come from :func:`~eat_core.extractors.spans.word_spans`; a word takes the label of its first sub-token. Labels
are mapped onto PER/ORG/LOC through ``LABEL_MAP`` (CoNLL, OntoNotes and WikiANN names); anything else (MISC, DATE,
...) is dropped and counted in ``self.stats``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from eat_core.extractors.spans import word_spans
from eat_core.types import EnglishEntity
from eat_core.weights.devices import pick_device
from eat_core.weights.resolve import resolve_model_path

LABEL_MAP = {"PER": "PER", "PERSON": "PER", "ORG": "ORG", "ORGANIZATION": "ORG", "LOC": "LOC", "LOCATION": "LOC",
             "GPE": "LOC"}


def map_label(raw: str, label_map: dict[str, str] = LABEL_MAP) -> tuple[str, str | None]:
    """``"B-PERSON"`` -> ``("B", "PER")``; ``"I-MISC"`` -> ``("I", None)``; ``"O"`` -> ``("O", None)``."""
    if raw in ("O", "0", ""):
        return "O", None
    prefix, _, name = raw.partition("-") if "-" in raw else ("B", "", raw)
    return prefix.upper(), label_map.get(name.upper())


def words_to_entities(text: str, spans: Sequence[tuple[int, int]], labels: Sequence[str],
                      label_map: dict[str, str] = LABEL_MAP, stats: Counter | None = None) -> list[EnglishEntity]:
    """Decode word-level BIO labels into character-span entities (an ``I-`` without a matching start opens one)."""
    entities: list[EnglishEntity] = []
    current: list[int] | None = None  # [start_char, end_char]
    current_label = None
    for (start, end), raw in zip(spans, labels, strict=True):
        prefix, label = map_label(raw, label_map)
        if prefix != "O" and label is None and stats is not None:
            stats[f"dropped_{raw.split('-')[-1]}"] += 1
        continues = prefix == "I" and label is not None and label == current_label and current is not None
        if current is not None and not continues:
            entities.append(EnglishEntity(text[current[0] : current[1]], current_label, current[0], current[1]))
            current, current_label = None, None
        if label is not None and not continues:
            current, current_label = [start, end], label
        elif continues:
            current[1] = end
    if current is not None:
        entities.append(EnglishEntity(text[current[0] : current[1]], current_label, current[0], current[1]))
    return entities


class TokenClassificationExtractor:
    def __init__(self, model: str, *, batch_size: int = 32, device: str = "auto",
                 label_map: dict[str, str] | None = None) -> None:
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        path = resolve_model_path(model)
        self.device = pick_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForTokenClassification.from_pretrained(path).to(self.device).eval()
        self.id2label = {int(k): v for k, v in self.model.config.id2label.items()}
        self.batch_size = batch_size
        self.label_map = label_map or LABEL_MAP
        self.stats: Counter = Counter()

    @classmethod
    def from_config(cls, config) -> TokenClassificationExtractor:
        return cls(config.model, batch_size=config.batch_size)

    def word_labels(self, words: Sequence[Sequence[str]]) -> list[list[str]]:
        import torch

        out: list[list[str]] = []
        for start in range(0, len(words), self.batch_size):
            batch = [list(w) for w in words[start : start + self.batch_size]]
            enc = self.tokenizer(batch, is_split_into_words=True, return_tensors="pt", padding=True,
                                 truncation=True, max_length=256)
            with torch.inference_mode():
                logits = self.model(**{k: v.to(self.device) for k, v in enc.items()}).logits
            ids = logits.argmax(-1).tolist()
            for row, sentence_words in enumerate(batch):
                labels = ["O"] * len(sentence_words)
                seen = set()
                for position, word in enumerate(enc.word_ids(row)):
                    if word is not None and word not in seen:
                        seen.add(word)
                        labels[word] = self.id2label[ids[row][position]]
                out.append(labels)
        return out

    def extract(self, sentences: Sequence[str]) -> list[list[EnglishEntity]]:
        spans = [word_spans(s) for s in sentences]
        words = [[s[a:b] for a, b in sp] or [""] for s, sp in zip(sentences, spans, strict=True)]
        labels = self.word_labels(words)
        return [words_to_entities(s, sp, lab[: len(sp)], self.label_map, self.stats)
                for s, sp, lab in zip(sentences, spans, labels, strict=True)]
