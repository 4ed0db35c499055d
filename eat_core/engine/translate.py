"""The EAT dual-translation algorithm (EAT §3.1, App. B.2), batched across a shard of sentences.

MrCoT is sequential per sentence but independent across sentences, so a shard runs as a state machine: forward
round *k* of every sentence in one batched LLM request, then round *k+1*; the English extractor over all English
sentences at once; the English->target round trip (for BLEU and L_e, EAT §4.2) in one batch; then backward round
*k* for every entity of every sentence in one batch. The official code runs one sentence and one entity at a time.

Nothing here crashes on a bad LLM answer: an empty, overlong, wrong-language or refusing answer is recorded as a
failure reason on the sentence, which still gets a prediction.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from eat_core.config.run import EngineConfig
from eat_core.engine.align import place_entities, tags_from_placements
from eat_core.languages import join_tokens, language_name
from eat_core.llm.base import Chat, Completion, Decoding
from eat_core.prompts import PromptSet
from eat_core.types import EnglishEntity, Placement, Prediction, Sentence, Transcript

_REFUSAL = re.compile(r"\b(I cannot|I can't|I am unable|I'm unable|I'm sorry|As an AI)\b", re.IGNORECASE)
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:final\s+)?(?:english\s+)?(?:translation|result|answer)(?:\*\*)?\s*[:：]"
                    r"\s*(?:\*\*)?\s*", re.IGNORECASE)


class Generator(Protocol):
    """What the engine needs from an LLM: ``CachedLLM`` or any ``LLMBackend``."""

    def generate(self, chats: Sequence[Chat], decoding: Decoding) -> list[Completion]: ...  # pragma: no cover


class Extractor(Protocol):
    """What the engine needs from an English NER extractor (see ``eat_core.extractors``)."""

    def extract(self, sentences: Sequence[str]) -> list[list[EnglishEntity]]: ...  # pragma: no cover


@dataclass
class _Conversation:
    chat: Chat
    log: list[dict]


def latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    return sum("LATIN" in unicodedata.name(c, "") for c in letters) / len(letters)


def clean_translation(text: str) -> str:
    """The translation from a final-round answer: first non-empty line, without a label or quotes."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return ""
    return _LABEL.sub("", lines[0]).strip().strip('"“”「」').strip()


def answer_failures(text: str, *, kind: str, truncated: bool, max_chars: int, expect_english: bool) -> list[str]:
    """Reasons an answer is suspect; the answer is still used where possible."""
    reasons = []
    if not text.strip():
        reasons.append(f"{kind}_empty")
        return reasons
    if truncated or len(text) > max_chars:
        reasons.append(f"{kind}_overlong")
    if _REFUSAL.search(text):
        reasons.append(f"{kind}_refusal")
    if expect_english and latin_share(text) < 0.5:
        reasons.append(f"{kind}_not_english")
    return reasons


class DualTranslator:
    """Runs EAT on a shard. ``llm`` answers batches of chats; ``extractor`` tags English sentences."""

    def __init__(self, llm: Generator, extractor: Extractor, config: EngineConfig | None = None,
                 prompts: PromptSet | None = None, *, temperature: float = 0.0, seed: int | None = None,
                 fixed_lengths: bool = False, progress: Callable[[str], None] | None = None) -> None:
        self.llm = llm
        self.extractor = extractor
        self.config = config or EngineConfig()
        self.prompts = prompts or PromptSet.load(self.config.prompts_dir)
        self.temperature = temperature
        self.seed = seed
        self.fixed_lengths = fixed_lengths
        self.progress = progress or (lambda message: None)

    def _decoding(self, final: bool) -> Decoding:
        budget = self.config.max_new_tokens_answer if final else self.config.max_new_tokens_reason
        return Decoding(budget, self.temperature, self.seed, budget if self.fixed_lengths else 0)

    def _converse(self, direction: str, conversations: list[_Conversation], fields: list[dict]) -> list[Completion]:
        """Run every round of ``direction`` for all conversations, one batched request per round."""
        plan = self.prompts.plan(direction, self.config.rounds)
        last: list[Completion] = []
        for k, name in enumerate(plan):
            final = k == len(plan) - 1
            for conv, f in zip(conversations, fields, strict=True):
                conv.chat.append({"role": "user", "content": self.prompts.render(name, **f)})
            last = self.llm.generate([c.chat for c in conversations], self._decoding(final))
            for conv, completion in zip(conversations, last, strict=True):
                conv.chat.append({"role": "assistant", "content": completion.text})
                conv.log.append({"round": name, "answer": completion.text, "cached": completion.cached})
            self.progress(f"{direction} round {k + 1}/{len(plan)}: {len(conversations)} requests")
        return last

    def ask(self, system: str, template: str, fields: Sequence[dict], *,
            final: bool = False) -> tuple[list[Completion], list[list[dict]]]:
        """One-round requests, one per ``fields`` item, in one batch (the prompts of the competing methods)."""
        chats = [[{"role": "system", "content": self.prompts.render(system, **f)},
                  {"role": "user", "content": self.prompts.render(template, **f)}] for f in fields]
        answers = self.llm.generate(chats, self._decoding(final)) if chats else []
        self.progress(f"{template}: {len(chats)} requests")
        return answers, [[{"round": template, "answer": a.text, "cached": a.cached}] for a in answers]

    def _start(self, direction: str, lang: str) -> _Conversation:
        system = self.prompts.system(direction, language=language_name(lang))
        return _Conversation([{"role": "system", "content": system}], [])

    def run(self, sentences: Sequence[Sentence]) -> list[Prediction]:
        """EAT: forward translation, English NER, round trip, then every entity back onto the sentence."""
        if not sentences:
            return []
        shard = self.translate_and_tag(sentences)

        # 4. backward entity translation, English -> target span, for every entity of every sentence
        jobs = [(i, e) for i, ents in enumerate(shard.entities) for e in ents]
        convs = [self._start("backward", sentences[i].lang) for i, _ in jobs]
        answers = self._converse("backward", convs, [
            {"language": language_name(sentences[i].lang), "sentence": shard.texts[i], "phrase": e.text}
            for i, e in jobs
        ]) if jobs else []
        per_sentence: list[list[tuple[EnglishEntity, str]]] = [[] for _ in sentences]
        for (i, entity), conv, completion in zip(jobs, convs, answers, strict=True):
            per_sentence[i].append((entity, completion.text))
            shard.transcripts[i].backward[f"{entity.label}:{entity.text}"] = conv.log

        # 5. alignment onto the original tokens
        return self.align(sentences, shard, per_sentence)

    def translate_and_tag(self, sentences: Sequence[Sentence]) -> TaggedShard:
        """Steps every translate-test method shares: MrCoT forward translation, English NER, the round trip."""
        texts = [join_tokens(s.tokens, s.lang) for s in sentences]
        transcripts = [Transcript(s.id) for s in sentences]
        failures: list[list[str]] = [[] for _ in sentences]

        # 1. forward translation, target -> English
        forward = [self._start("forward", s.lang) for s in sentences]
        fields = [{"language": language_name(s.lang), "sentence": t} for s, t in zip(sentences, texts, strict=True)]
        finals = self._converse("forward", forward, fields)
        english = []
        for i, completion in enumerate(finals):
            translation = clean_translation(completion.text)
            failures[i] += answer_failures(translation, kind="forward", truncated=completion.truncated,
                                           max_chars=max(self.config.max_answer_chars, 4 * len(texts[i])),
                                           expect_english=True)
            english.append(translation)
            transcripts[i].forward = forward[i].log

        # 2. English NER over every translation at once
        entities = self.extractor.extract(english)
        if len(entities) != len(english):
            raise RuntimeError(f"extractor returned {len(entities)} results for {len(english)} sentences")

        # 3. round trip English -> target, for BLEU and entropy loss
        roundtrip = [""] * len(sentences)
        if self.config.roundtrip:
            todo = [i for i, e in enumerate(english) if e]
            convs = [self._start("roundtrip", sentences[i].lang) for i in todo]
            done = self._converse("roundtrip", convs, [{"language": language_name(sentences[i].lang),
                                                        "english": english[i]} for i in todo])
            for i, conv, completion in zip(todo, convs, done, strict=True):
                roundtrip[i] = clean_translation(completion.text)
                transcripts[i].roundtrip = conv.log
        return TaggedShard(texts, english, [list(e) for e in entities], roundtrip, failures, transcripts)

    def align(self, sentences: Sequence[Sentence], shard: TaggedShard,
              per_sentence: Sequence[Sequence[tuple[EnglishEntity, str]]]) -> list[Prediction]:
        """Place each (entity, answer) onto its sentence with the EAT aligner and build the predictions."""
        predictions = []
        for i, sentence in enumerate(sentences):
            placements = place_entities(sentence.tokens, sentence.lang, per_sentence[i],
                                        fuzzy_threshold=self.config.fuzzy_threshold,
                                        max_answer_chars=self.config.max_answer_chars)
            predictions.append(prediction_from(sentence, shard, i, placements))
        return predictions


@dataclass
class TaggedShard:
    """A shard after forward translation and English NER (and the round trip): what methods build on."""

    texts: list[str]
    english: list[str]
    entities: list[list[EnglishEntity]]
    roundtrip: list[str]
    failures: list[list[str]]
    transcripts: list[Transcript]

    @classmethod
    def untranslated(cls, sentences: Sequence[Sentence]) -> TaggedShard:
        """For methods that never translate (direct prompting, model transfer)."""
        n = len(sentences)
        return cls([join_tokens(s.tokens, s.lang) for s in sentences], [""] * n, [[] for _ in sentences],
                   [""] * n, [[] for _ in sentences], [Transcript(s.id) for s in sentences])


def prediction_from(sentence: Sentence, shard: TaggedShard, i: int, placements: Sequence[Placement],
                    extra_failures: Sequence[str] = ()) -> Prediction:
    """A sentence's prediction from its placements; every unplaced entity's reason is a failure."""
    failures = list(shard.failures[i]) + list(extra_failures) + [
        f"{'crop' if p.method == 'crop' else 'align'}_{p.reason}" for p in placements if p.reason]
    return Prediction(
        sentence=sentence, english=shard.english[i], roundtrip=shard.roundtrip[i], entities=shard.entities[i],
        placements=list(placements), tags=tags_from_placements(placements, len(sentence.tokens)),
        failures=failures, transcript=shard.transcripts[i],
    )
