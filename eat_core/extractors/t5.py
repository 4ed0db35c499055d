"""Text-to-text English NER with a T5-family model (EAT §3.1 "Text-to-Text Generation for NER"; Flan-T5-base).

Input: a fixed instruction naming the entity types in a fixed order, then the sentence. Target:
``(PER, Barack Obama) (LOC, Paris)`` in sentence order, empty when there is no entity. Training and inference use
exactly the same input (the official code differs between the two, and builds its type list from a Python set, so
the order changes between runs).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from eat_core.extractors.spans import locate_in_text
from eat_core.types import ENTITY_TYPES, EnglishEntity
from eat_core.weights.devices import pick_device
from eat_core.weights.resolve import resolve_model_path

INSTRUCTION = "Label the named entities of the sentence. Entity types: {types}. Answer as (TYPE, entity) pairs."


def format_input(sentence: str, types: Sequence[str] = ENTITY_TYPES) -> str:
    return INSTRUCTION.format(types=", ".join(types)) + "\nSentence: " + sentence


def format_target(pairs: Sequence[tuple[str, str]]) -> str:
    """``[("PER", "Obama"), ("LOC", "Paris")]`` -> ``"(PER, Obama) (LOC, Paris)"``."""
    return " ".join(f"({label}, {surface})" for label, surface in pairs)


_PAIR_START = re.compile(r"\(\s*([A-Za-z]+)\s*,\s*")


def parse_output(text: str, types: Sequence[str] = ENTITY_TYPES) -> tuple[list[tuple[str, str]], Counter]:
    """Parse ``(TYPE, entity)`` pairs robustly; problems are counted, never raised.

    An entity may itself contain commas or parentheses ("(ORG, Smith, Barney & Co.)", "(LOC, Washington (state))"):
    a pair ends at the ``)`` that is followed by the next ``(TYPE,`` or by the end of the text, with parentheses
    inside the entity balanced where possible.
    """
    stats: Counter = Counter()
    pairs: list[tuple[str, str]] = []
    starts = [m for m in _PAIR_START.finditer(text) if m.group(1).upper() in {t.upper() for t in types}
              or m.group(1).isupper()]
    if not starts and text.strip():
        stats["malformed"] += 1
    for k, match in enumerate(starts):
        end_limit = starts[k + 1].start() if k + 1 < len(starts) else len(text)
        chunk = text[match.end() : end_limit].rstrip()
        close = _closing_paren(chunk)
        if close is None:
            stats["malformed"] += 1
            body = chunk.rstrip(") ").strip()
        else:
            body = chunk[:close].strip()
            if chunk[close + 1 :].strip():
                stats["trailing_text"] += 1
        label = match.group(1).upper()
        if label not in types:
            stats["unknown_type"] += 1
            continue
        if not body:
            stats["malformed"] += 1
            continue
        if (label, body) in pairs:
            stats["repeated_pair"] += 1
        pairs.append((label, body))
    if starts and text[: starts[0].start()].strip():
        stats["leading_text"] += 1
    return pairs, stats


def _closing_paren(chunk: str) -> int | None:
    """Index of the ``)`` closing the pair: the last one at depth 0 (inner parentheses stay in the entity)."""
    depth, last = 0, None
    for i, ch in enumerate(chunk):
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                last = i
            else:
                depth -= 1
    return last


class T5Extractor:
    """Batched inference with a (fine-tuned) T5 checkpoint; counts parse problems in ``self.stats``."""

    def __init__(self, model: str, *, batch_size: int = 32, max_new_tokens: int = 64, device: str = "auto") -> None:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        path = resolve_model_path(model)
        self.device = pick_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(path).to(self.device).eval()
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.stats: Counter = Counter()

    @classmethod
    def from_config(cls, config) -> T5Extractor:
        return cls(config.model, batch_size=config.batch_size, max_new_tokens=config.max_new_tokens)

    def generate(self, sentences: Sequence[str]) -> list[str]:
        import torch

        outputs: list[str] = []
        for start in range(0, len(sentences), self.batch_size):
            batch = [format_input(s) for s in sentences[start : start + self.batch_size]]
            enc = self.tokenizer(batch, return_tensors="pt", padding=True, truncation=True, max_length=256)
            with torch.inference_mode():
                out = self.model.generate(**enc.to(self.device), max_new_tokens=self.max_new_tokens, do_sample=False)
            outputs += self.tokenizer.batch_decode(out, skip_special_tokens=True)
        return outputs

    def extract(self, sentences: Sequence[str]) -> list[list[EnglishEntity]]:
        results = []
        for sentence, output in zip(sentences, self.generate(sentences), strict=True):
            if not sentence.strip():
                results.append([])
                continue
            pairs, stats = parse_output(output)
            entities, missing = locate_in_text(sentence, pairs)
            self.stats.update(stats)
            self.stats.update({k: v for k, v in missing.items() if v})
            results.append(entities)
        return results
