"""``direct``: the LLM tags the target sentence itself (EAT Table 7's LLM baseline; ICL with k English examples).

One request per sentence: the target sentence, ``k`` English demonstrations from the English training data (0
allowed), and an instruction to list ``TYPE: entity`` lines copied from the sentence. The answers go through the
EAT aligner, so "the LLM named it" and "it is a span of the sentence" are told apart (``align_not_found``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eat_core.bio import spans_from_tags
from eat_core.languages import language_name
from eat_core.methods.answers import parse_entities
from eat_core.methods.eat import engine_for
from eat_core.translate import DualTranslator, TaggedShard, answer_failures
from eat_core.types import EnglishEntity, Prediction, Sentence


class DirectMethod:
    needs_llm = True
    needs_extractor = False
    system, template, kind = "direct_system", "direct_tag", "direct"

    def __init__(self, engine: DualTranslator, demonstrations: str = "") -> None:
        self.engine = engine
        self.demonstrations = demonstrations

    @classmethod
    def from_config(cls, cfg, llm, extractor) -> DirectMethod:
        return cls(engine_for(cfg, llm, None), render_demonstrations(english_examples(cfg, cfg.method.demonstrations)))

    def run(self, sentences: Sequence[Sentence]) -> list[Prediction]:
        if not sentences:
            return []
        shard = TaggedShard.untranslated(sentences)
        fields = [{"language": language_name(s.lang), "sentence": shard.texts[i],
                   "demonstrations": self.demonstrations} for i, s in enumerate(sentences)]
        return tag_from_answers(self.engine, sentences, shard, fields, self.system, self.template, self.kind)


def tag_from_answers(engine: DualTranslator, sentences: Sequence[Sentence], shard: TaggedShard, fields: list[dict],
                     system: str, template: str, kind: str) -> list[Prediction]:
    """Ask for ``TYPE: entity`` lists, parse them, and place each entity with the EAT aligner."""
    answers, logs = engine.ask(system, template, fields, final=False)
    per_sentence: list[list[tuple[EnglishEntity, str]]] = []
    for i, answer in enumerate(answers):
        shard.transcripts[i].tagging = logs[i]
        parsed = parse_entities(answer.text)
        shard.failures[i] += answer_failures(answer.text, kind=kind, truncated=answer.truncated,
                                             max_chars=10 * engine.config.max_answer_chars, expect_english=False)
        if parsed.ignored_lines and not parsed.entities:
            shard.failures[i].append(f"{kind}_unparsed")
        entities = [EnglishEntity(text, label) for label, text in parsed.entities]
        shard.entities[i] = entities
        per_sentence.append([(e, e.text) for e in entities])
    return engine.align(sentences, shard, per_sentence)


def english_examples(cfg, k: int) -> list[Sentence]:
    """``k`` English training sentences with entities (first ones of the file, deterministic)."""
    if k <= 0:
        return []
    from eat_core.data import SAMPLE_DIR
    from eat_core.data.wikiann import load_wikiann_local

    source = cfg.method.demo_data or cfg.data.data_dir
    candidates = [(source, "train"), (SAMPLE_DIR, "dev")] if source else [(SAMPLE_DIR, "dev")]
    for directory, split in candidates:
        try:
            sentences, _ = load_wikiann_local(Path(directory), "en", split, repair=True)
        except Exception:  # no English split there: fall back to the bundled sample
            continue
        with_entities = [s for s in sentences if s.tags and spans_from_tags(s.tags)]
        if with_entities:
            return with_entities[:k]
    return []


def render_demonstrations(examples: Sequence[Sentence]) -> str:
    blocks = []
    for s in examples:
        lines = [f"{span.label}: {' '.join(s.tokens[span.start:span.end])}" for span in spans_from_tags(s.tags)]
        blocks.append("English sentence: " + " ".join(s.tokens) + "\nEntities:\n" + "\n".join(lines) + "\n\n")
    return "".join(blocks)
