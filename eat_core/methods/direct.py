"""``direct``: the LLM tags the target sentence itself (EAT Table 7's LLM baseline; ICL with k English examples).

One request per sentence: the target sentence, ``k`` English demonstrations from the English training data (0
allowed), and an instruction to list ``TYPE: entity`` lines copied from the sentence. The answers go through the
EAT aligner, so "the LLM named it" and "it is a span of the sentence" are told apart (``align_not_found``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from eat_core.bio import spans_from_tags
from eat_core.data import SAMPLE_DIR
from eat_core.data.wikiann import find_split_file, read_wikiann_file
from eat_core.engine.translate import DualTranslator, TaggedShard, answer_failures
from eat_core.errors import ConfigError, DataError
from eat_core.languages import language_name
from eat_core.methods.answers import parse_entities
from eat_core.methods.eat import translator_for
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
        examples = english_examples(cfg, cfg.method.demonstrations)
        return cls(translator_for(cfg, llm, None), render_demonstrations(examples))

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
    """``k`` English training sentences with entities (first ones of :func:`demonstrations_file`, deterministic).

    A file that cannot be read or holds no sentence with entities is a ``DataError`` naming it: demonstrations are
    never silently replaced by other ones (they are part of the prompt, and of the run id).
    """
    if k <= 0:
        return []

    path = demonstrations_file(cfg)
    try:
        sentences, _ = read_wikiann_file(path, "en", repair=True)
    except OSError as exc:
        raise DataError(f"cannot read the English demonstrations ({exc.strerror or exc})", path) from None
    with_entities = [s for s in sentences if s.tags and spans_from_tags(s.tags)]
    if not with_entities:
        raise DataError("no English sentence with entities to use as demonstrations", path)
    return with_entities[:k]


def demonstrations_file(cfg) -> Path:
    """The English file the demonstrations of ``cfg`` (a ``RunConfig``) come from.

    ``method.demo_data`` is the user's choice: without an English train split it is a one-line ``ConfigError``.
    Otherwise the data directory's English train split when it has one, else the bundled sample (said once per
    process, as it is not the user's data).
    """
    if cfg.method.demo_data:
        try:
            return find_split_file(cfg.method.demo_data, "en", "train")
        except DataError as exc:
            raise ConfigError(f"method.demo_data: no English demonstrations: {exc}") from None
    if cfg.data.data_dir:
        try:
            return find_split_file(cfg.data.data_dir, "en", "train")
        except DataError:
            _note_once(f"{cfg.data.data_dir} has no English train split (en/train.tsv); the direct method's "
                       "demonstrations come from the bundled sample (set method.demo_data to choose them)",
                       logging.WARNING)
    else:
        _note_once("the direct method's English demonstrations come from the bundled sample (set method.demo_data "
                   "to choose them)", logging.INFO)
    return SAMPLE_DIR / "en" / "dev.tsv"


def _note_once(message: str, level: int) -> None:
    if message not in _NOTED:
        _NOTED.add(message)
        logging.getLogger("eat").log(level, "%s", message)


_NOTED: set[str] = set()


def render_demonstrations(examples: Sequence[Sentence]) -> str:
    blocks = []
    for s in examples:
        lines = [f"{span.label}: {' '.join(s.tokens[span.start:span.end])}" for span in spans_from_tags(s.tags)]
        blocks.append("English sentence: " + " ".join(s.tokens) + "\nEntities:\n" + "\n".join(lines) + "\n\n")
    return "".join(blocks)
