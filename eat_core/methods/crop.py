"""``crop``: the labelling stage of CROP (Yang et al., 2022) on our engine.

Forward translation and English NER as in EAT; then the *labelled sequence* (the English sentence with its entities
in numbered markers) is translated back by the same LLM in one request per sentence; the markers are parsed out and
each marked phrase is matched onto the original sentence, by CROP's lexical rule (``crop_matcher="crop"``, the
default) or by the EAT aligner (``"eat"``). CROP's self-trained student comes with ``eat distill``.
"""

from __future__ import annotations

from collections.abc import Sequence

from eat_core.engine.align import place_entities
from eat_core.engine.translate import DualTranslator, answer_failures, prediction_from
from eat_core.languages import language_name
from eat_core.methods.crop_projection import crop_match, labelled_sequence, parse_markers
from eat_core.methods.eat import translator_for
from eat_core.types import EnglishEntity, Placement, Prediction, Sentence, Span


class CropMethod:
    needs_llm = True
    needs_extractor = True

    def __init__(self, engine: DualTranslator, matcher: str = "crop") -> None:
        self.engine = engine
        self.matcher = matcher

    @classmethod
    def from_config(cls, cfg, llm, extractor) -> CropMethod:
        return cls(translator_for(cfg, llm, extractor), cfg.method.crop_matcher)

    def run(self, sentences: Sequence[Sentence]) -> list[Prediction]:
        if not sentences:
            return []
        shard = self.engine.translate_and_tag(sentences)
        todo = [i for i, ents in enumerate(shard.entities) if ents]
        answers, logs = self.engine.ask("crop_system", "crop_translate", [
            {"language": language_name(sentences[i].lang),
             "english": labelled_sequence(shard.english[i], shard.entities[i])} for i in todo])
        translations = dict(zip(todo, answers, strict=True))
        predictions = []
        for i, sentence in enumerate(sentences):
            if i not in translations:
                predictions.append(prediction_from(sentence, shard, i, []))
                continue
            answer = translations[i]
            shard.transcripts[i].tagging = logs[todo.index(i)]
            extra = answer_failures(answer.text, kind="crop", truncated=answer.truncated,
                                    max_chars=max(self.engine.config.max_answer_chars, 4 * len(shard.texts[i])),
                                    expect_english=False)
            placements = self.project(sentence, shard.entities[i], answer.text)
            predictions.append(prediction_from(sentence, shard, i, placements, extra))
        return predictions

    def project(self, sentence: Sentence, entities: Sequence[EnglishEntity], translation: str) -> list[Placement]:
        """One placement per English entity: its marked phrase matched onto the sentence, or the reason it is lost."""
        _, marked = parse_markers(translation, len(entities))
        results: list[Placement | None] = [None] * len(entities)
        found = []
        for k, (entity, mark) in enumerate(zip(entities, marked, strict=True)):
            if mark.phrase is None:
                results[k] = Placement(entity, "", reason=mark.reason, method="crop")
            else:
                found.append((k, entity, mark.phrase))
        if self.matcher == "eat":
            placed = place_entities(sentence.tokens, sentence.lang, [(e, p) for _, e, p in found],
                                    fuzzy_threshold=self.engine.config.fuzzy_threshold,
                                    max_answer_chars=self.engine.config.max_answer_chars)
            for (k, _, _), placement in zip(found, placed, strict=True):
                results[k] = placement
        else:
            taken: list[Span] = []
            for k, entity, phrase in found:
                span, reason = crop_match(sentence.tokens, sentence.lang, phrase, entity.label, taken)
                if span is not None:
                    taken.append(span)
                results[k] = Placement(entity, phrase, span=span, reason=reason, method="crop")
        return [r for r in results if r is not None]

